// Package diff compares two snapshots of one host, taken for example
// before and after a daemon upgrade: which processes started, exited or
// changed, which fds were opened and closed, which kernel objects gained
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
// kcmp's order is per boot and groups carry no ids, so kernel objects are
// matched through their holders: each group is paired with the group of
// the other side with which it shares the most holders, each group at most
// once; a group left without a partner began or ended. An fd that is
// in a group on one side only may exist, unshared, on the other: it held
// the object alone (or holds it alone now) and neither joined nor left.
// A task gets no such completion: outside every group it has an object of
// its own (after exec or unshare, a new one), so tasks that stopped
// sharing are all listed as having left. Objects whose holders all changed (every holder exited, a new set
// started) cannot be linked: they are reported as ended and began.
//
// Limits: an fd closed and reopened on the same file under the same
// number looks unchanged, and so does an eventfd, timerfd or epoll fd
// replaced by another of its kind (they share one anonymous inode); the
// snapshot carries nothing that tells those descriptions apart.
//
// # Leaks
//
// A file object that had holders before and is now also held by a process
// that held none of it is a leak when that process ran before (it
// received the description: SCM_RIGHTS, pidfd_getfd) or started since and
// exec'd (the description survived the exec: its exe, or its comm when an
// exe is unknown, differs from its parent's; a parent that is not in the
// snapshot proves nothing, so that counts too). A child forked without
// exec inherits its parent's fds by design and is no leak. Leaks come
// first in every form.
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
// present (empty, never null) and sorted as described.
//
//	{
//	  "schema":      "kcmpgraph.diff/v1",
//	  "before":      side,            // the BEFORE snapshot
//	  "after":       side,            // the AFTER snapshot
//	  "warnings":    [string],        // what limits the comparison (not exact,
//	                                  //   other boot or host, other scope, partial reads)
//	  "differences": int,             // every change below counted once; 0: none
//	  "leaks":       int,             // sharing changes with "leak": true
//	  "started":     [proc],          // in AFTER only; by pid, start_time
//	  "exited":      [proc],          // in BEFORE only; by pid, start_time
//	  "changed":     [{"process": proc, "changes": [{"field": string,
//	                   "before": string, "after": string}]}],   // by pid
//	  "fds":         [{"process": proc, "opened": [fd], "closed": [fd]}],  // by pid; fds by number
//	  "sharing":     [{"type": string, "object": string,
//	                   "change": "began" | "ended" | "changed", "leak": bool,
//	                   "before": [holder], "after": [holder],
//	                   "joined": [holder], "left": [holder], "leaked": [holder]}],
//	  "epoll":       [{"process": proc, "fd": int, "added": [watch], "removed": [watch]}],
//	  "endpoints":   [{"change": "gone" | "appeared", "kind": string,
//	                   "name": string /* omitted if empty */,
//	                   "addresses": [string] /* tcp, udp: each end's local
//	                                            address, aligned with ends */,
//	                   "ends": [[holder]]}]
//	}
//
//	side   = {"file": string, "hostname": string, "boot_id": string,
//	          "taken_at": RFC 3339 time, "exact": bool}
//	proc   = {"pid": int, "start_time": int /* clock ticks since boot */,
//	          "comm": string, "uid": int,   // AFTER's values for changed processes
//	          "place": string}              // its container or unit, if any
//	fd     = {"fd": int, "target": string, "dev": int, "ino": int}
//	holder = {"pid": int, "start_time": int, "comm": string, "fd": int}   // file
//	       | {"pid": int, "start_time": int, "comm": string, "tid": int}  // per-task types
//	watch  = {"tfd": int, "object": string}  // target of the watched description's
//	                                         // holder, or "(held by no scanned fd)"
//
// "changes" fields are comm, exe, uid, euid, gid, egid, cgroup, place
// (the container or systemd unit, when both snapshots name one), root,
// ns/TYPE (inode numbers) and zombie ("true"/"false"), in that order;
// values are text. "sharing" types are file, vm, files, fs, sighand, io
// and sysvsem; "object" is a file object's target (its lowest holder's,
// AFTER preferred) or the kernel structure a per-task type shares
// (mm_struct, files_struct, fs_struct, sighand_struct, io_context,
// sem_undo_list). "began": at most one holder before, two or more now;
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
// # Text form
//
// WriteText writes a unified-diff-like report; see its documentation.
package diff
