// Package snapshot defines the kcmpgraph snapshot: the versioned JSON
// document that is the contract between live scanning and everything that
// works offline (show, graph, audit, diff).
//
// It holds the types, their JSON form, the loader that checks a file
// before any other code trusts it, and the encoder. It does not scan,
// compare or draw anything.
//
// Schema v1 (see DESIGN.md): processes with their fds, groups of members
// that hold one kernel object, the per-type NULL class, epoll watches,
// endpoints (the ends of pipes, fifos, unix sockets, local tcp/udp
// connections and ptys; see Endpoint), sockets (protocol, state and
// addresses of every socket a scanned fd holds; see Socket) and the run's
// own statistics. Fields may be added; the ones in DESIGN.md do
// not change meaning without a new schema version.
//
// Fds of a task's own fd table (added within v1): a thread that called
// unshare(CLONE_FILES) has an fd table that /proc/PID/fd does not show.
// A scan with threads reads it, and its fds are listed with the process's
// own, each with "tid" (FD.Thread): the lowest tid of the tasks holding
// that table. A member, an epoll entry or a watch's holder that is such an
// fd has both "fd" and "tid" ({"pid": 1234, "fd": 3, "tid": 1240}); a
// member with only "tid" is still a task. A reader that ignores "tid" on
// fds sees two fds with one number in one process.
//
// Where a process runs (added within v1, absent in older snapshots):
// "container" ({runtime, id, name, pod: {uid, namespace, name, qos},
// source, helper}; see Container), "unit" and "slice" (its systemd unit
// and slice) on each process; "namespaces" and "namespaces_of" in "host"
// (what the host's namespaces are); and "foreign_mount_ns" on an fd a
// confined process could not have opened itself (see FD.ForeignMountNS).
// Process.Place and Process.PlaceKey name and key a process's container
// or unit for outputs that tag or cluster processes.
package snapshot
