// Package freeze stops a set of processes for a consistent scan and
// guarantees that they run again: on success, on error, on panic, on
// SIGINT/SIGTERM (through the caller's context), when the freeze outlasts
// its maximum, and even when the freezing process is killed with SIGKILL.
//
// When the selection is exactly the processes of one cgroup v2 subtree,
// the cgroup freezer stops them (cgroup.freeze), invisibly to their
// parents; otherwise they are stopped with SIGSTOP. Processes (or a
// cgroup) already stopped when the freeze began stay stopped afterwards.
//
// A watchdog, a child forked without exec that runs only raw system calls
// and never Go code, holds the list of pids to resume (or the
// cgroup.freeze file to write "0" to). It resumes them when told, when the
// maximum freeze time passes, or when its parent dies (PR_SET_PDEATHSIG),
// whichever comes first.
//
// SIGSTOP is visible to the stopped processes' parents (a shell reports a
// stopped job); the freeze is short and always undone, but a shell's job
// may stay in the background afterwards. This package does not decide
// what to freeze; the caller (analyzer) passes the pids.
package freeze
