// Package freeze stops a set of processes for a consistent scan and
// guarantees that they run again: on success, on error, on panic, on
// SIGINT/SIGTERM (through the caller's context), when the freeze outlasts
// its maximum, and whatever kills the freezing process, SIGKILL of its
// process group or of every process in its cgroup included.
//
// Every thread of every selected process is seized with ptrace
// (PTRACE_SEIZE, then PTRACE_INTERRUPT), the way CRIU freezes a tree. The
// kernel itself resumes a tracer's tracees when the tracer exits, however
// it exits, so no watchdog is needed and none can be killed with it. The
// stop is a ptrace stop: the processes' parents and shells see no
// SIGSTOP and no SIGCONT, signals sent to the processes meanwhile are
// delivered once they run, and /proc and kcmp(2) work on them as on any
// process. One goroutine, locked to one OS thread, makes every ptrace
// call, since the tracer is that thread.
//
// The freeze leaves out, with the reason (LeftOut), what it must not or
// cannot stop: kernel threads, the freezing process, its ancestors and
// its own tracer (no ptrace call is made on those), processes that
// another tracer (strace, gdb) holds or that ptrace refuses, and processes
// with a thread that does not stop within a second (an uninterruptible
// sleep). It never waits for the maximum because of one of them.
// Processes already stopped (state T) are left as they were. A process
// that exits before it is stopped is counted (Vanished), never an error;
// one that is killed while stopped simply ends.
//
// The kernel reports a tracee's stops to every thread of the tracing
// process that waits without __WNOTHREAD (the tracer itself waits with
// it), so nothing else in the process may wait for any child (wait4(-1)),
// and a child of the process that another goroutine waits for must not be
// frozen: that wait would see the ptrace stop. Freezes of one process
// stop its processes independently; one that a freeze of the same process
// holds already is left out of the next as traced.
//
// A stopped freezing process (SIGSTOP, Ctrl-Z) holds the freeze until it
// runs again; the maximum then ends it at once. This package does not
// decide what to freeze; the caller (analyzer) passes the pids.
package freeze
