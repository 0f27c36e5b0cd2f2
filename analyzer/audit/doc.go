// Package audit judges a snapshot: it finds sharing that crosses a
// boundary it should not — host descriptors inside containers, a
// runtime's API socket or the host's namespaces in a container,
// descriptors leaked to another user, writable sensitive files in
// unprivileged hands, address spaces or fd tables shared across users —
// and reports each pattern once, with the evidence a person needs to act.
//
// Rules (ids are stable):
//
//	KG001 high      an open file the less privileged holder could not open itself
//	KG002 medium    a socket or pipe of a root process held by another user
//	KG003 medium    a description crossing a mount, PID or user namespace
//	KG004 critical  a writable description of a sensitive file, block device or
//	                /proc/PID/mem held by a non-root process
//	KG005 critical/high  vm or files (critical), fs or sighand (high) shared across users
//	KG006 low       a regular file or directory inherited across exec into another program
//	KG007 low/medium  a channel (pipe, unix socket, local TCP/UDP connection,
//	                pty) between users (low) or across a user, network or
//	                mount namespace (medium)
//	KG008 critical  a directory or regular file inside a container that the
//	                process could not have opened: not reachable from its
//	                root, on a mount of the host or another container (the
//	                runc CVE-2024-21626 shape, whether or not anyone else
//	                holds it; snapshot FD.ForeignMountNS)
//	KG009 critical  a container runtime's API socket (docker.sock,
//	                containerd.sock, crio.sock, podman.sock, a containerd
//	                shim's...) held inside a container
//	KG010 critical/high  a namespace file of the host (critical) or of another
//	                namespace (high) held inside a container
//
// One finding per pattern, not per fd: the raws a rule finds are merged
// when they are of one severity and design and held by the same processes
// (for a master and its workers, by the family; for KG008 to KG010, by the
// container; for KG006, by the parent and the program its children run).
// A finding lists its objects (named by package objname) and, per holder,
// every fd with the object it opens and the rule's note on it ("cannot
// open", "host mount", "runtime API", "host namespace").
//
// Known designs are findings of severity info, with the reason in
// Finding.Expected; they never fail --fail-on:
//
//   - a root master and its direct children running as another user (the
//     prefork design of nginx, apache, postfix) sharing listening sockets
//     (KG002), logs opened for appending (KG001), or pipes and socketpairs
//     among themselves (KG002, KG007);
//   - a container and its runtime's host-side helper (conmon, a shim)
//     sharing the container's stdio and control descriptors and what it
//     was asked to pass in (KG003, KG006, KG007);
//   - pid 1 and a service sharing a listening socket: socket activation
//     (KG003).
//
// The runtime's own processes (snapshot Container.Helper) are never held
// to a container's boundary: they hold such descriptors by design.
//
// Each finding has a Fingerprint, stable across rescans and hosts: a hash
// of the rule, its objects without inode numbers or ephemeral ports, and
// where and as whom the holders run (container name or systemd unit,
// program, user, role) — never pids or fd numbers. SARIF output carries
// it as partialFingerprints["kcmpgraph/v1"].
//
// Allow-list files name sharing that is known to be fine, one entry per
// line: a rule id, then conditions key=glob that must all match one holder
// of the finding (keys: comm, exe, target (of any of its fds), uid,
// user-ns, container (id, name or label), unit). "#" starts a comment.
// Example:
//
//	# the build agent talks to docker on purpose
//	KG009 container=ci-agent
//	KG003 exe=/usr/bin/containerd-shim-runc-v2
//
// The package reads only the snapshot; it knows nothing about /proc.
package audit
