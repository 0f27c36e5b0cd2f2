// Package audit judges a snapshot: it finds sharing that crosses a
// boundary it should not — descriptors leaked to another user or into a
// container, writable sensitive files in unprivileged hands, address
// spaces or fd tables shared across users — and reports each as a finding
// with a rule, a severity, and the evidence (pids, comms, users, fds,
// paths, namespaces) a person needs to act.
//
// Rules (ids are stable):
//
//	KG001 high      an open file the less privileged holder could not open itself
//	KG002 medium    a socket or pipe of a root process held by another user
//	KG003 medium/critical  a description crossing a mount, PID or user namespace or cgroup
//	                (critical for directories and regular files across mount namespaces:
//	                the runc CVE-2024-21626 class)
//	KG004 critical  a writable description of a sensitive file, block device or
//	                /proc/PID/mem held by a non-root process
//	KG005 critical/high  vm or files (critical), fs or sighand (high) shared across users
//	KG006 low       a regular file or directory inherited across exec into another program
//	KG007 low/medium  a channel (pipe, unix socket, local TCP/UDP connection,
//	                pty) between users (low) or across a user, network or
//	                mount namespace (medium)
//
// Allow-list files name sharing that is known to be fine, one entry per
// line: a rule id, then conditions key=glob that must all match one holder
// of the finding (keys: comm, exe, target, uid, user-ns). "#" starts a
// comment. Example:
//
//	# nginx workers inherit the master's listening sockets by design
//	KG002 comm=nginx target=socket:*
//	KG003 exe=/usr/bin/containerd-shim-runc-v2
//
// The package reads only the snapshot; it knows nothing about /proc.
package audit
