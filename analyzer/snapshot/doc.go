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
package snapshot
