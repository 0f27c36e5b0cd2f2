// Package snapshot defines the kcmpgraph snapshot: the versioned JSON
// document that is the contract between live scanning and everything that
// works offline (show, graph, audit, diff, and any tool of yours).
//
// It holds the types, their JSON form, the loader that checks a file
// before any other code trusts it, the encoder, and Select, which cuts a
// snapshot to the processes and types a live scan with the same options
// would have covered. It does not scan, compare or draw anything.
//
// # Guarantees of schema v1
//
// "schema" is "kcmpgraph.snapshot/v1". Within v1, fields are only ever
// added, as optional fields that older snapshots lack; no field changes
// meaning, and a change of meaning gets a new schema value, which this
// package refuses to read (ErrSchema) rather than misread. Readers must
// ignore fields they do not know (Load does). Load accepts a snapshot only
// when every reference in it resolves: a group member, NULL entry, epoll
// entry, watch holder or channel end names a listed process and one of its
// tasks or fds; a member is in at most one group per type; pids, tids and
// fds are listed once. kcmpgraph writes snapshots in the canonical order
// of Normalize (the orders given below), so two snapshots of the same
// content are the same bytes; Load does not require it. The order of
// kernel objects that kcmp gives is never stored: it is meaningless
// outside one boot.
//
// # JSON form
//
//	{
//	  "schema":    "kcmpgraph.snapshot/v1",
//	  "exact":     bool,          // false: no kcmp; file groups are inode groups (below)
//	  "host":      host,
//	  "processes": [process],     // by pid
//	  "groups":    [group],       // by type (file vm files fs sighand io sysvsem), then first member
//	  "null":      {type: [task]},// per-task type -> tasks whose object is NULL (below)
//	  "epoll":     [epoll],       // by pid, fd
//	  "endpoints": [endpoint],    // channels between scanned fds; omitted if none
//	  "sockets":   [socket],      // sockets scanned fds hold; omitted if none
//	  "stats":     stats,
//	  "warnings":  [string]       // one line each, what a reader must know; omitted if none
//	}
//
//	host = {
//	  "hostname": string, "boot_id": string, "kernel": string,
//	  "taken_at": RFC 3339 time,
//	  "clock_ticks": int,          // USER_HZ: the unit of start_time
//	  "proc_root": string,         // the proc mount scanned ("/proc")
//	  "scope": {                   // what the scan was asked to cover, not what
//	    "pids": [int], "tree": int, "users": [int],   //   a later selection kept
//	    "threads": bool,           // every thread compared, not only leaders
//	    "types": [string],         // type names scanned, epoll included
//	    "frozen": bool, "freeze_method": "cgroup" | "sigstop"},
//	  "netns": int,                // the host's network namespace inode
//	  "namespaces": {type: int}, "namespaces_of": "pid 1" | "self"}
//
//	process = {
//	  "pid": int, "ppid": int, "comm": string, "cmdline": [string], "exe": string,
//	  "state": string,             // one letter, as in /proc/PID/stat
//	  "uid": int, "euid": int, "gid": int, "egid": int,
//	  "start_time": int,           // clock ticks since boot: with pid and boot_id,
//	                               //   a process's identity across pid reuse
//	  "kernel_thread": bool, "zombie": bool,   // never grouped; omitted when false
//	  "namespaces": {type: int},   // mnt pid net user ipc uts cgroup time -> inode
//	  "cgroup": string, "container": container, "unit": string, "slice": string,
//	  "root": string,              // /proc/PID/root as the scanner saw it
//	  "tasks": [int],              // every tid, ascending, whatever the scope
//	  "fds": [fd],                 // by table (own first), then number
//	  "denied": [string]}          // what could not be read: "fds: EACCES", "kcmp: EPERM"
//
//	fd = {
//	  "fd": int,
//	  "tid": int,                  // only for an fd of a thread's own table (below)
//	  "target": string,            // the link text: "/etc/passwd", "socket:[5521]"
//	  "dev": int, "ino": int,      // the opened inode
//	  "mnt_id": int,
//	  "flags": int, "pos": int,    // from fdinfo; O_CLOEXEC is the fd's, the rest
//	                               //   the description's; pos when read
//	  "mode": int, "owner_uid": int, "owner_gid": int,   // the inode's
//	  "foreign_mount_ns": int}     // see FD.ForeignMountNS; omitted if none
//
//	group    = {"type": string, "members": [member]}   // two or more, by pid, tid, fd
//	member   = {"pid": int, "fd": int}                 // file groups
//	         | {"pid": int, "fd": int, "tid": int}     // an fd of a thread's own table
//	         | {"pid": int, "tid": int}                // per-task types: a task
//	task     = {"pid": int, "tid": int}
//	epoll    = {"pid": int, "fd": int, "tid": int /* own table only */,
//	            "watches": [{"tfd": int, "events": int, "holder": member | null}]}
//	endpoint = {"kind": string, "name": string, "addresses": [string], "ends": [[member]]}
//	socket   = {"ino": int, "protocol": string, "netns": int, "state": string,
//	            "local": string, "remote": string, "peer": int}
//	container = {"runtime": string, "id": string, "name": string, "source": string,
//	             "helper": bool, "pod": {"uid", "namespace", "name", "qos": string}}
//	stats    = {"processes": int, "tasks": int, "fds": int,
//	            "kcmp_calls": {type: int, "verify": int}, "errors": {errno: int},
//	            "skipped": {reason: int},
//	            "seconds": float, "scan_seconds": float, "group_seconds": float,
//	            "endpoint_seconds": float}
//
// # Groups and what they do not say
//
// A group lists the holders of one kernel object held by two or more of
// them; an object held once is implied by the process list and appears in
// no group. File groups hold open file descriptions: the fds that dup,
// fork or SCM_RIGHTS made from one open(), never a second open() of the
// same file. Processes that share one fd table each list their own fds in
// a file group. Per-task groups (vm, files, fs, sighand, io, sysvsem) hold
// tasks; without scope.threads only thread-group leaders (tid == pid) are
// compared and listed.
//
// # The NULL class
//
// kcmp calls two tasks equal when neither has the object: most tasks have
// no I/O context and no SysV undo list, and exited tasks have no address
// space, fd table or fs info. Such tasks share nothing, so they are never
// a group: "null" lists them per type instead. A task is in a type's
// group or in its null list, never both.
//
// # Epoll watches
//
// Each epoll entry is one epoll fd. A watch gives the fd number its target
// was registered under ("tfd": closed or reused since, perhaps) and
// "holder": the lowest member in the scan that holds the watched open file
// description now, or null when no scanned fd holds it (closed, or held
// only outside the scope). kcmp (KCMP_EPOLL_TFD) decides the holder, not
// the number.
//
// # Endpoints
//
// An endpoint is a channel whose two or more ends are held by scanned
// fds: "kind" is pipe, fifo, unix-stream, unix-dgram, unix-seqpacket, tcp,
// udp or pty. Each end lists the holders of one open file description;
// the order says which end is which: a pipe's or fifo's read end first,
// a pty's master first and then each description of its slave, unix
// socket pairs in inode order, connections by first holder. "name" is a
// unix socket's bound path or "@abstract" name, a pty slave's /dev/pts
// name or a fifo's path; "addresses" (tcp and udp only) is each end's
// local address and port, aligned with "ends". TCP and UDP connections
// are paired only between two scanned sockets of one network namespace.
//
// # Threads' own fd tables
//
// A thread that called unshare(CLONE_FILES) has an fd table that
// /proc/PID/fd does not show. A scan with threads reads it, and its fds
// are listed with the process's own, each with "tid" (FD.Thread): the
// lowest tid of the tasks holding that table, never the pid. A member, an
// epoll entry or a holder that is such an fd has both "fd" and "tid"; a
// member with only "tid" is a task. A reader that ignores "tid" on fds
// sees two fds with one number in one process. A scan without threads
// counts such tables in stats.skipped.tasks_own_fd_table_unread.
//
// # Stats
//
// Every run reports its own cost: processes, tasks and fds read, kcmp
// calls by type ("verify": the final re-check of every group when the
// processes were not frozen), failures by errno name, wall time split into
// reading /proc and comparing, and in "skipped" what was left out and
// why: processes_vanished, processes_denied, processes_kcmp_denied,
// fd_tables_denied, fds_vanished, fds_denied, fds_dropped_changed,
// tasks_vanished, members_dropped_churn, kernel_threads, zombies,
// sockets_unnamed, tasks_own_fd_table_unread. Stats describe the run:
// Select keeps them as they were.
//
// # Exactness
//
// "exact" is false when kcmp could not be used (a kernel without
// CONFIG_KCMP, a seccomp filter): file groups are then every fd on one
// inode, which merges a second open() of a file with its dups, and epoll
// holders are found by inode as well; per-task groups, the NULL class and
// endpoints are absent. A warning says so, and every output that shows
// such a snapshot says NOT EXACT.
//
// # Strings that are not UTF-8
//
// A command name, a command line or a path from /proc is bytes, not
// always UTF-8, and a JSON string holds Unicode only. Each byte that is
// not part of valid UTF-8 is written as the escape of a lone low
// surrogate, \udc80 to \udcff for the bytes 0x80 to 0xff (Python's
// "surrogateescape"): the file name "caf\xe9.txt" is "caf\udce9.txt".
// Valid UTF-8 never encodes a surrogate, so nothing else reads the same,
// and Load gives the bytes back exactly, in every string. A reader that
// does not know the form (encoding/json, jq, older kcmpgraph) reads U+FFFD
// for each such byte, which is what snapshots held there before the form
// was added within v1. Package escape writes and reads it.
//
// # Loading
//
// Load decodes as it reads, element by element, and never holds the JSON
// text whole. It refuses what cannot be a snapshot at the byte where that
// shows, naming its line and column: input that is not a JSON object, bad
// JSON, nesting deeper than 64, a string over 4 MiB, another schema. A
// snapshot is at most LoadOptions.MaxBytes (DefaultMaxBytes, 160 MiB), as input and as the
// memory its decoded form takes (estimated as it is read); a
// regular file over it is refused before it is read. The loaded snapshot
// is in canonical process and fd order, so Process and FDIn are binary
// searches.
//
// # Where a process runs
//
// "container", "unit" and "slice" on each process, "namespaces" and
// "namespaces_of" in "host", and "foreign_mount_ns" on fds were added
// within v1 and are absent in older snapshots. Process.Place and
// Process.PlaceKey name and key a process's container or unit for outputs
// that tag or cluster processes.
package snapshot
