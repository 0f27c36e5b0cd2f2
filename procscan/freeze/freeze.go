//go:build linux

package freeze

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultMax is the longest a freeze lasts unless the caller says otherwise.
const DefaultMax = 5 * time.Second

// Method names how a Freeze stops processes, for the records of a scan.
const Method = "ptrace"

// maxStopWait bounds how long Stop and Add wait for one task to stop.
const maxStopWait = time.Second

// ErrTooLong is returned by Check once the freeze passed its maximum and
// the processes were resumed: a scan that continues is no longer
// consistent.
var ErrTooLong = errors.New("freeze exceeded its maximum time; processes were resumed")

// ErrOver is returned by Add once the freeze has ended.
var ErrOver = errors.New("freeze: the freeze has ended")

// Reason says why a selected process was left out of a freeze.
type Reason int

// Reasons a process is left out, running (or, for a kernel thread, as it
// is).
const (
	// KernelThread: kernel threads cannot be traced or stopped.
	KernelThread Reason = iota + 1
	// Self: the freezing process itself.
	Self
	// Ancestor: a parent (or grandparent...) of the freezing process,
	// such as the shell or session that waits for it.
	Ancestor
	// OwnTracer: the process tracing the freezing process (strace, gdb):
	// stopping it would stop the freezing process at its next system call.
	OwnTracer
	// Traced: another tracer (a debugger, strace) holds one of its
	// threads; a task has one tracer.
	Traced
	// Denied: ptrace was refused (Yama, an LSM, a seccomp filter, or no
	// CAP_SYS_PTRACE for another user's process).
	Denied
	// NotStopping: a thread did not stop within the stop wait (an
	// uninterruptible sleep: state D), or new threads kept appearing.
	NotStopping
)

func (r Reason) String() string {
	switch r {
	case KernelThread:
		return "a kernel thread"
	case Self:
		return "the freezing process itself"
	case Ancestor:
		return "an ancestor of the freezing process"
	case OwnTracer:
		return "the tracer of the freezing process"
	case Traced:
		return "traced by another process"
	case Denied:
		return "ptrace denied"
	case NotStopping:
		return "did not stop"
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// LeftOut is a selected process that a freeze did not stop.
type LeftOut struct {
	PID    int
	Comm   string
	Reason Reason
	// Detail says more where there is more to say: who traces it, the
	// errno, which thread did not stop and its state.
	Detail string
}

func (l LeftOut) String() string {
	s := fmt.Sprintf("pid %d (%s): %v", l.PID, l.Comm, l.Reason)
	if l.Detail != "" {
		s += ": " + l.Detail
	}
	return s
}

// Freeze is a set of stopped processes. Thaw resumes them.
type Freeze struct {
	reqs     chan request
	released chan struct{} // closed once every stopped process runs again
	deadline time.Time
	expired  atomic.Bool

	mu       sync.Mutex
	stopped  []int
	already  []int
	vanished []int
	leftOut  []LeftOut
	states   map[int]string
}

type request struct {
	ctx   context.Context
	pids  []int // nil: thaw
	reply chan reply
}

type reply struct {
	b   batch
	err error
}

// Stop freezes pids for at most max (DefaultMax if zero): every thread of
// each process is seized with ptrace (PTRACE_SEIZE, PTRACE_INTERRUPT).
// The caller must call Thaw (defer it at once). The processes run again
// when Thaw is called, when max has passed, when ctx is done, or when this
// process ends in any way, SIGKILL included: the kernel resumes the
// tracees of a tracer that exits.
//
// Stop returns once every process is stopped, gone, or left out; it never
// fails because of one process. Kernel threads, this process, its
// ancestors and its tracer are left out without any ptrace call;
// processes traced by someone else or refused by ptrace are left out when
// the seize fails; a process with a thread that does not stop within a
// second (or a quarter of max) is let go and left out. Processes already
// stopped (state T) are left as they are; processes that exited are
// counted. Stop's error is ctx's error.
func Stop(ctx context.Context, pids []int, max time.Duration) (*Freeze, error) {
	if max <= 0 {
		max = DefaultMax
	}
	f := &Freeze{reqs: make(chan request), released: make(chan struct{}),
		deadline: time.Now().Add(max), states: map[int]string{}}
	t := newTracer(min(maxStopWait, max/4))
	go f.trace(ctx, t)
	if err := f.Add(ctx, pids); err != nil {
		f.Thaw()
		return nil, err
	}
	return f, nil
}

// trace is the tracer goroutine: it serves Add and Thaw until the freeze
// ends, then lets every tracee go.
func (f *Freeze) trace(ctx context.Context, t *tracer) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t.tid = unix.Gettid()
	timer := time.NewTimer(time.Until(f.deadline))
	defer timer.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last, res := f.serve(ctx, t, timer.C, tick.C)
	t.releaseAll()
	close(f.released)
	if last != nil {
		last.reply <- res
	}
	// A task seized but never stopped (an uninterruptible sleep) stops
	// as soon as it wakes, and is let go then.
	for len(t.loose) > 0 {
		<-tick.C
		t.tidyLoose()
	}
}

// serve answers requests until the freeze ends; it returns the request
// that ended it, if one did, and its answer, to be sent once everything
// is let go.
func (f *Freeze) serve(ctx context.Context, t *tracer, expire, tick <-chan time.Time) (*request, reply) {
	for {
		select {
		case req := <-f.reqs:
			if req.pids == nil {
				return &req, reply{}
			}
			b, err := t.stop(req.ctx, req.pids)
			if err != nil {
				return &req, reply{b, err}
			}
			req.reply <- reply{b, nil}
		case <-expire:
			f.expired.Store(true)
			return nil, reply{}
		case <-ctx.Done():
			return nil, reply{}
		case <-tick:
			t.tidyLoose()
		}
	}
}

// Add stops more processes (for a selection that grew while the first
// ones were being stopped, such as a tree whose members forked), with the
// same rules as Stop. Pids seen before are skipped. After an error the
// freeze is over.
func (f *Freeze) Add(ctx context.Context, pids []int) error {
	r := make(chan reply, 1)
	select {
	case f.reqs <- request{ctx: ctx, pids: append([]int{}, pids...), reply: r}:
	case <-f.released:
		if f.expired.Load() {
			return ErrTooLong
		}
		return ErrOver
	}
	res := <-r
	if res.err != nil {
		return fmt.Errorf("freeze: %w", res.err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = append(f.stopped, res.b.stopped...)
	f.already = append(f.already, res.b.already...)
	f.vanished = append(f.vanished, res.b.vanished...)
	f.leftOut = append(f.leftOut, res.b.leftOut...)
	for pid, s := range res.b.states {
		f.states[pid] = s
	}
	return nil
}

// Stopped returns the pids this freeze stopped, every thread of each.
func (f *Freeze) Stopped() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.stopped...)
}

// AlreadyStopped returns the pids that were stopped (state T) before the
// freeze; they are left as they are.
func (f *Freeze) AlreadyStopped() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.already...)
}

// Vanished returns the pids that exited before they could be stopped.
func (f *Freeze) Vanished() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.vanished...)
}

// LeftOut returns the processes that were not stopped, with the reason.
func (f *Freeze) LeftOut() []LeftOut {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]LeftOut(nil), f.leftOut...)
}

// StateBefore returns the state letter that /proc/PID/stat showed for a
// stopped process before the freeze (during it, every one shows "t").
func (f *Freeze) StateBefore(pid int) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.states[pid]
	return s, ok
}

// Check returns ErrTooLong once the freeze passed its maximum and the
// processes were resumed.
func (f *Freeze) Check() error {
	if f.expired.Load() || time.Now().After(f.deadline) {
		return ErrTooLong
	}
	return nil
}

// Thaw resumes every process the freeze stopped and returns when they
// run. It is safe to call more than once, from any goroutine, and from a
// deferred function during a panic.
func (f *Freeze) Thaw() {
	r := make(chan reply, 1)
	select {
	case f.reqs <- request{reply: r}:
		<-r
	case <-f.released:
	}
}
