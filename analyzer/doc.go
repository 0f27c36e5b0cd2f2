// Package analyzer groups identical kernel objects: it turns a procscan
// result into a snapshot whose groups say which fds hold one open file
// description and which tasks share an address space, fd table, fs info,
// signal handler table, I/O context or SysV undo list, and what each epoll
// instance watches.
//
// kcmp(2) gives a strict total order per object type, so candidates are
// sorted with kcmp as the comparator and equal neighbours merged:
// O(n log n) calls instead of O(n²). Before sorting, fds are split into
// buckets by a key that is necessary for equality (device, inode, mount id,
// and for eventfds the eventfd id); hints that cost one call each remove
// most of the work: a process that shares its parent's fd table
// (KCMP_FILES) needs no per-fd call at all, and a child's fd N is usually
// its parent's fd N. Only what the hints leave is sorted, with a merge
// sort that drops duplicates as it finds them. A comparison that fails
// (the fd or task vanished) drops that member and sorts again; an
// Unordered result falls back to pairwise comparison within the bucket.
// No group is ever formed from anything but an Equal result.
//
// The NULL trap: kcmp reports two NULL objects as equal, and most tasks
// have no I/O context and no undo list. A zombie sentinel child
// (kcmp.NullSentinel) is sorted with the candidates; its class is the NULL
// class, reported under "null" and never as sharing.
//
// Fd tables, not processes, hold fds: a thread that called
// unshare(CLONE_FILES) has a table /proc/PID/fd does not show. One
// KCMP_FILES call per thread against its leader finds such threads; with
// threads (Options.Scan.Threads) each of their tables is read once
// (procscan.Result.ReadTaskTable) and grouped with the others, its fds
// named {pid, fd, tid}; without, they are counted (SkipTaskTablesUnread).
//
// Who answers for one description what Run answers for all, and Cmp for
// one pair of tasks, through the same Comparer, counter and channel
// pairing: a pid or any thread's tid names the task.
//
// Every kcmp call is counted per type; the counts go into the snapshot's
// stats. Reading /proc is procscan's: the analyzer gets the scan, the
// tables of threads, the fdinfo and tty index of a channel's ends and the
// sock_diag dumps from it, and reads only the host's boot id and kernel
// release and its own network namespace link itself. Who and Cmp answer
// the who and cmp commands on the live host. The package does not draw,
// judge or compare snapshots (packages graphout, audit and diff do).
package analyzer
