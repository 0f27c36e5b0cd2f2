// Package diff compares two snapshots of one host: which processes
// started and exited, which fds were opened and closed, which kernel
// objects gained or lost holders, and which epoll watches came and went.
//
// Identity survives pid reuse: a process is its pid and its start time,
// so a pid reused by another program is an exit and a start, never a
// change. An fd is its number and what it points at (target and inode): a
// number reused for another file is a close and an open.
//
// kcmp's order is per boot and groups carry no ids, so an object is matched
// across the two snapshots through its holders: two groups are the same
// object when they share a holder (the same process's same fd, still
// pointing at the same inode, or the same task). A change lists the holders
// that joined and left; a holder that joins from a process that held
// nothing of it before is marked as a leak, the case a before/after
// comparison exists to find.
//
// JSON form (stable; fields are only ever added):
//
//	{"before": {...side}, "after": {...side}, "warnings": [...],
//	 "started": [proc], "exited": [proc],
//	 "fds": [{"process": proc, "opened": [fd], "closed": [fd]}],
//	 "sharing": [{"type", "object", "change": "began"|"ended"|"changed",
//	              "before": [holder], "after": [holder],
//	              "joined": [holder], "left": [holder], "leak": bool}],
//	 "epoll": [{"process": proc, "fd", "added": [watch], "removed": [watch]}],
//	 "endpoints": [{"change": "appeared"|"gone", "kind", "name", "ends": [[holder]]}],
//	 "differences": N}
//
// where side is {"file", "hostname", "boot_id", "taken_at", "exact"},
// proc is {"pid", "start_time", "comm", "uid"}, fd is {"fd", "target"},
// holder is {"pid", "comm", "fd"} or {"pid", "comm", "tid"}, and watch is
// {"tfd", "object"}.
package diff
