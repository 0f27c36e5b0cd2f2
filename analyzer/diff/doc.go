// Package diff compares two snapshots of one host, taken for example
// before and after a daemon upgrade: which processes started, exited or
// changed, which fds appeared, closed, hold another open file description
// under the same number or changed flags, which kernel objects gained
// or lost holders (and whether a descriptor leaked into another process),
// which epoll watches came and went, and which channels appeared or went
// away. It works offline on loaded snapshots; it does not scan, and it
// does not draw (graphout.BuildDiff draws a Diff).
//
// # Identity
//
// A process is its pid, its start time and the boot it ran in: a pid
// reused by another program is an exit and a start, never a change, and
// snapshots of different boots have no process in common (a warning says
// so). An fd is its process, its number and the inode it points at
// (device and inode; for an anonymous inode, which eventfds, timerfds,
// signalfds and epoll fds share, also the target): a number reused for
// another file is a close and an open, a file renamed or deleted while
// open is the same fd. A task is its process and its tid.
//
// An fd of a thread's own fd table (snapshot.FD.Thread, a thread that
// called unshare(CLONE_FILES)) is another fd than the process's of the
// same number: its holder is {pid, fd, tid}.
//
// # Same fd, another description
//
// kcmp's order is per boot and means nothing across snapshots, and groups
// carry no ids: an open file description is known only by what each side
// shows of it. A description is a file group, or an fd in no group (it
// holds one alone). An fd in both snapshots (one process, number and
// inode) keeps its description unless that is impossible or less likely
// than the other way round:
//
//   - Flags that open(2) set for the description's life differ (the
//     access mode, O_PATH, O_DIRECTORY...; all but O_APPEND, O_ASYNC,
//     O_DIRECT, O_NOATIME and O_NONBLOCK, which fcntl F_SETFL changes, and
//     O_CLOEXEC, which is the fd's, not the description's): another
//     description, for certain.
//   - Its fds part or merge. Each description of BEFORE is linked to the
//     descriptions of AFTER that its fds hold now; one description is one
//     object, so at most one link of each description on either side is
//     the description itself. The links are taken strongest first, each
//     description at most once: most fds, then most fds whose settable
//     flags are unchanged, then most whose file position is unchanged (a
//     position belongs to the description; a fresh open starts at 0, an
//     O_APPEND write moves to the end). The fds of the links left over hold
//     another description: they are replaced ("replaced" in fds, listed
//     with their flags, positions and why). When nothing tells two links
//     apart (a pair of fds that parted with equal flags and positions),
//     the one with the lowest holder is taken and the other fds are
//     marked not certain: either of them may be the one that changed.
//
// So a dup2 over one fd of a pair (a log reopen: nginx does it to fd 2)
// shows as the pair's sharing ended and that fd replaced, when its flags
// or position tell; an fd dup2'd onto another fd's description shows as
// replaced and joining it. Objects are then the matched descriptions: a
// file object's holders on each side are those of its description there,
// an fd alone included. Flags that changed on an fd that kept its
// description are listed apart ("flags": fcntl on the description, or
// FD_CLOEXEC on the fd alone). Per-task objects are matched by holders:
// each group with the group of the other side it shares the most tasks
// with; a task outside every group has an object of its own (after exec
// or unshare, a new one), so tasks that stopped sharing are all listed as
// having left. Objects whose holders all changed (every holder exited, a
// new set started) cannot be linked: they are reported as ended and
// began.
//
// Limits: an fd closed and reopened on the same file under the same
// number, with the same flags, at the same position and sharing with
// nothing on either side, looks unchanged; so does an eventfd, timerfd or
// epoll fd replaced by another of its kind (they share one anonymous
// inode); a description whose position moved while its process ran (a
// log being written) tells nothing by it. Flags and positions are what
// fdinfo said when each snapshot was read, of running processes unless
// the scans froze them.
//
// # Leaks
//
// A file object that had holders before and is now also held by a process
// that held none of it is a leak when that process ran before (it
// received the description: SCM_RIGHTS, pidfd_getfd) or started since and
// exec'd (the description survived the exec: its exe, or its comm when an
// exe is unknown, differs from its parent's; a parent that is not in the
// snapshot proves nothing, so that counts too). A child forked without
// exec inherits its parent's fds by design and is no leak.
//
// A regular file or directory that appeared in a process that ran before
// (in a new description or not, shared or alone) is a leak when the
// process's credentials, before and after, could not have opened it: the
// mode and owner of its inode against the access it has, as audit's
// KG001 judges (snapshot.MayOpen). A description that arrived in such a
// process was passed to it. Sockets, pipes and devices are passed on
// purpose too often to be judged so. A diff cannot tell an open from a
// dup or a receive: fds are said to appear, never to be opened.
//
// Each leaked holder and each leaking fd says why (Holder.Reason,
// FD.Leak). Leaks come first in every form.
//
// # Selection
//
// Options.Selection (--pid, --tree, --user, --types) is applied to both
// snapshots with snapshot.Select. Types that only one snapshot scanned are
// not compared. With Selection.LeadersOnly, a snapshot scanned with every
// thread is compared as one scanned with thread-group leaders only, so a
// snapshot with threads and one without compare without a warning. With IgnoreStdio, fds 0-2 are left out everywhere. Processes
// that could not be read completely on either side (Process.Denied: fds,
// fd, task, kcmp) keep their process-level changes but their fds, sharing
// and epoll watches are left out, with a warning.
//
// # JSON form
//
// WriteJSON writes the form below; it is stable: fields are only ever
// added, and a change of meaning gets a new schema value. Every list is
// present (empty, never null) and sorted as described. Strings are the
// snapshots' bytes, written as snapshots write them: a byte that is not
// part of valid UTF-8 is \udc80 to \udcff (see package snapshot).
//
//	{
//	  "schema":      "kcmpgraph.diff/v1",
//	  "before":      side,            // the BEFORE snapshot
//	  "after":       side,            // the AFTER snapshot
//	  "warnings":    [string],        // what limits the comparison (not exact,
//	                                  //   other boot or host, other scope, partial reads)
//	  "differences": int,             // every change below counted once; 0: none
//	  "leaks":       int,             // sharing changes with "leak": true, and fds
//	                                  //   with a "leak" no such change lists
//	  "started":     [proc],          // in AFTER only; by pid, start_time
//	  "exited":      [proc],          // in BEFORE only; by pid, start_time
//	  "changed":     [{"process": proc, "changes": [{"field": string,
//	                   "before": string, "after": string}]}],   // by pid
//	  "fds":         [{"process": proc, "opened": [fd], "closed": [fd],  // by pid; fds by table, number
//	                   "replaced": [replaced], "flags": [flags]}],
//	  "sharing":     [{"type": string, "object": string, "name": string,
//	                   "change": "began" | "ended" | "changed", "leak": bool,
//	                   "before": [holder], "after": [holder],
//	                   "joined": [holder], "left": [holder], "leaked": [holder]}],
//	  "epoll":       [{"process": proc, "fd": int, "tid": int /* omitted for the process's own table */,
//	                   "added": [watch], "removed": [watch]}],
//	  "endpoints":   [{"change": "gone" | "appeared", "kind": string,
//	                   "name": string /* omitted if empty */, "label": string,
//	                   "addresses": [string] /* tcp, udp: each end's local
//	                                            address, aligned with ends */,
//	                   "ends": [[holder]]}],
//	  "summary":     summary
//	}
//
//	side   = {"file": string, "hostname": string, "boot_id": string,
//	          "taken_at": RFC 3339 time, "exact": bool}
//	proc   = {"pid": int, "start_time": int /* clock ticks since boot */,
//	          "comm": string, "uid": int,   // AFTER's values for changed processes
//	          "place": string}              // its container or unit, if any
//	fd     = {"fd": int, "tid": int /* omitted for the process's own table */,
//	          "target": string, "name": string, "dev": int, "ino": int,
//	          "leak": string /* why an fd that appeared is a leak; omitted if none */}
//	replaced = fd + {"before_flags": string, "after_flags": string,   // FlagsText names
//	          "before_pos": int, "after_pos": int, "certain": bool, "evidence": [string]}
//	flags  = {"fd": int, "tid": int /* omitted ... */, "target": string, "name": string,
//	          "before": string, "after": string}
//	holder = {"pid": int, "start_time": int, "comm": string, "fd": int}   // file
//	       | {"pid": int, "start_time": int, "comm": string, "fd": int, "tid": int}  // file, a thread's own table
//	       | {"pid": int, "start_time": int, "comm": string, "tid": int}  // per-task types
//	         (+ "reason": string on a leaked holder)
//	summary = {"headline": string, "replaced": [{"comm": string, "parent": proc,
//	          "exited": [proc], "started": [proc]}], "started": int, "exited": int,
//	          "changed": int, "listeners_kept": [string], "listeners_gone": [string],
//	          "listeners_new": [string], "leaks": int,
//	          "fds": {"opened": int, "closed": int, "replaced": int, "flags": int},
//	          "sharing": {"began": int, "ended": int, "changed": int}}
//	watch  = {"tfd": int, "object": string,  // target of the watched description's
//	          "name": string}                // holder, or "(held by no scanned fd)"
//
// "changes" fields are comm, exe, uid, euid, gid, egid, cgroup, place
// (the container or systemd unit, when both snapshots name one), root,
// ns/TYPE (inode numbers) and zombie ("true"/"false"), in that order;
// values are text. "sharing" types are file, vm, files, fs, sighand, io
// and sysvsem; "object" is a file object's target (its lowest holder's,
// AFTER preferred) or the kernel structure a per-task type shares
// (mm_struct, files_struct, fs_struct, sighand_struct, io_context,
// sem_undo_list). Every "name" (of an fd, a watch's description, a
// sharing change's object) and an endpoint's "label" name the object for
// people the way show, who, audit and graph do (package objname: "tcp
// 127.0.0.1:8080 LISTEN", "pipe:[4711] write end", "address space"); the
// text forms print them. "began": at most one holder before, two or more now;
// "ended": the reverse; "changed": two or more on both sides. "before"
// and "after" list every holder, a sole one included; "joined" and "left"
// the difference; "leaked" the joined holders that leaked ("leak" is true
// when there is one); holders are ordered by pid, start_time, fd or tid.
// Sharing changes come leaks first, then by type in the order above, then
// by lowest holder. An epoll fd opened or closed between the snapshots in
// a process present in both lists all its watches. Endpoints come gone
// before appeared, then by kind and first holder; a channel whose holders
// changed is gone and appeared.
//
// "opened" lists the fds that appeared: opened, dup'd, received, or kept
// across an exec; a diff cannot tell which. "summary" is what WriteSummary
// prints: sets of processes "replaced" (some exited and some started with
// one comm under one parent that is in both snapshots: a master's
// workers), the other processes started, exited and changed, the
// listening sockets (state LISTEN, tcp and unix) held in both snapshots,
// gone or new (by name: "tcp 0.0.0.0:80 LISTEN"), and counts.
//
// # Text form
//
// WriteText writes a unified-diff-like report, WriteSummary a few lines
// for a reload or a deploy; see their documentation.
package diff
