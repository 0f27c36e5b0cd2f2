//go:build linux

package freeze

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// The tracer is one goroutine locked to one OS thread: ptrace makes that
// thread, not the process, the tracer of every task it seizes, so every
// ptrace call and every wait for a tracee's stop is made there. The thread
// is never ended (ending it would release the tracees, but it would also
// send the death signal, PR_SET_PDEATHSIG, to every child that thread ever
// forked for the rest of the program): every task is let go explicitly,
// and the thread is unlocked only when none is attached.

// task is one thread the tracer has seized.
type task struct {
	tid     int
	leader  bool     // a thread group leader: its exit may be a child's
	proc    *process // the process it is held for; nil when loose
	loose   bool     // in tracer.loose: to let go as soon as it can be
	stopped bool     // in a ptrace stop that the tracer has taken
	exited  bool     // a zombie still attached to the tracer
	// released: let go (detached, or its exit handed on); nothing of it
	// is attached any more.
	released bool
}

// gone reports whether the task will not stop: it exited or was let go.
func (tk *task) gone() bool { return tk.exited || tk.released }

// process is one selected process that the tracer is stopping or holds.
type process struct {
	pid   int
	comm  string
	state string // the state letter from /proc/PID/stat before the freeze
	tasks []*task
	out   *LeftOut // why it was left out, once it is
	// vanished: every thread exited before the process was held.
	vanished bool
}

// tracer is the state of the tracing thread; only that goroutine uses it.
type tracer struct {
	self      int
	tid       int // the tracing thread
	ancestors map[int]bool
	ownTracer int // the pid tracing this process, or 0
	stopWait  time.Duration
	tasks     map[int]*task
	procs     map[int]*process
	// loose are seized tasks not to hold: of processes left out, or
	// cloned by a tracee before it stopped. Each is let go as soon as it
	// stops or exits; the tracer keeps its thread until then.
	loose []*task
}

// batch is the outcome of one call to stop.
type batch struct {
	stopped, already, vanished []int
	leftOut                    []LeftOut
	states                     map[int]string
}

func newTracer(stopWait time.Duration) *tracer {
	t := &tracer{self: os.Getpid(), ancestors: map[int]bool{}, stopWait: stopWait,
		tasks: map[int]*task{}, procs: map[int]*process{}}
	for p, seen := os.Getppid(), 0; p > 0 && seen < 4096; seen++ {
		t.ancestors[p] = true
		st, err := readStat(strconv.Itoa(p))
		if err != nil || st.PPID == p {
			break
		}
		p = st.PPID
	}
	t.ownTracer, _ = tracerOf("self")
	return t
}

func readStat(path string) (procscan.Stat, error) {
	data, err := os.ReadFile("/proc/" + path + "/stat")
	if err != nil {
		return procscan.Stat{}, err
	}
	return procscan.ParseStat(data)
}

// tracerOf returns the pid of the process tracing the task at path
// ("PID" or "PID/task/TID") and the tid of its tracing thread; zeros when
// none.
func tracerOf(path string) (pid, tid int) {
	data, err := os.ReadFile("/proc/" + path + "/status")
	if err != nil {
		return 0, 0
	}
	ids, err := procscan.ParseStatusPIDs(data)
	if err != nil || ids.TracerPid == 0 {
		return 0, 0
	}
	tid = ids.TracerPid
	pid = tid
	if data, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status"); err == nil {
		if t, err := procscan.ParseStatusPIDs(data); err == nil {
			pid = t.Tgid
		}
	}
	return pid, tid
}

func commOf(pid int) string {
	st, err := readStat(strconv.Itoa(pid))
	if err != nil {
		return "?"
	}
	return st.Comm
}

// stop stops pids (those not handled before) and waits until each is
// held, left out or gone. It gives up waiting at the tracer's stop wait;
// when ctx is done it returns ctx's error (the caller then releases).
func (t *tracer) stop(ctx context.Context, pids []int) (batch, error) {
	b := batch{states: map[int]string{}}
	var candidates []*process
	for _, pid := range pids {
		if _, seen := t.procs[pid]; seen {
			continue
		}
		p, k := t.classify(pid)
		t.procs[pid] = p
		switch k {
		case gone:
			b.vanished = append(b.vanished, pid)
		case stoppedBefore:
			b.already = append(b.already, pid)
		case unstoppable:
			b.leftOut = append(b.leftOut, *p.out)
		case stoppable:
			candidates = append(candidates, p)
		}
	}
	deadline := time.Now().Add(t.stopWait)
	pending := append([]*process(nil), candidates...)
	for len(pending) > 0 {
		for _, p := range pending {
			t.seize(p)
		}
		if err := t.waitStops(ctx, pending, deadline); err != nil {
			return b, err
		}
		next := pending[:0]
		for _, p := range pending {
			switch {
			case p.out != nil || p.vanished:
			case t.allGone(p):
				p.vanished = true
			case t.waiting(p) != nil:
				tk := t.waiting(p)
				p.out = &LeftOut{PID: p.pid, Comm: p.comm, Reason: NotStopping,
					Detail: fmt.Sprintf("thread %d did not stop within %v (state %s)", tk.tid, t.stopWait, taskState(p.pid, tk.tid))}
			case t.untracked(p) && time.Now().After(deadline):
				p.out = &LeftOut{PID: p.pid, Comm: p.comm, Reason: NotStopping,
					Detail: fmt.Sprintf("it kept starting threads for %v", t.stopWait)}
			case t.untracked(p):
				// A thread appeared since the last listing: seize it too.
				next = append(next, p)
			}
		}
		pending = next
	}
	for _, p := range candidates {
		switch {
		case p.vanished:
			b.vanished = append(b.vanished, p.pid)
			t.letGo(p)
		case p.out != nil:
			b.leftOut = append(b.leftOut, *p.out)
			t.letGo(p)
		default:
			b.stopped = append(b.stopped, p.pid)
			b.states[p.pid] = p.state
		}
	}
	sort.Ints(b.stopped)
	sort.Ints(b.vanished)
	return b, nil
}

func taskState(pid, tid int) string {
	st, err := readStat(strconv.Itoa(pid) + "/task/" + strconv.Itoa(tid))
	if err != nil {
		return "?"
	}
	return st.State
}

// kind is what classify found a selected process to be.
type kind int

const (
	stoppable kind = iota
	gone
	zombie // nothing to stop; the scan reports it as a zombie
	stoppedBefore
	unstoppable
)

// classify reads a process before any ptrace call: kernel threads, this
// process, its ancestors and its tracer, and processes already stopped
// are never seized. (One that another tracer holds fails the seize, and
// is told apart then.)
func (t *tracer) classify(pid int) (*process, kind) {
	p := &process{pid: pid}
	st, err := readStat(strconv.Itoa(pid))
	if err != nil {
		return p, gone
	}
	p.comm, p.state = st.Comm, st.State
	leave := func(r Reason, detail string) (*process, kind) {
		p.out = &LeftOut{PID: pid, Comm: p.comm, Reason: r, Detail: detail}
		return p, unstoppable
	}
	switch {
	case st.KernelThread():
		return leave(KernelThread, "")
	case pid == t.self:
		return leave(Self, "")
	case pid == t.ownTracer:
		return leave(OwnTracer, "")
	case t.ancestors[pid]:
		return leave(Ancestor, "")
	}
	switch st.State {
	case "T":
		return p, stoppedBefore
	case "Z", "X":
		// A leader that exited while its other threads run shows Z:
		// those threads are stopped like any other.
		if st.Threads <= 1 {
			return p, zombie
		}
	}
	return p, stoppable
}

// listTasks lists the tids of pid's threads, exited ones included.
func listTasks(pid int) []int {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return nil
	}
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids
}

func exited(state string) bool { return state == "Z" || state == "X" }

// seize seizes and interrupts every thread of p not seized yet.
// PTRACE_O_TRACECLONE makes a thread that a seized thread starts before
// it stops a tracee too; a thread started by one not seized yet shows up
// in the next listing.
func (t *tracer) seize(p *process) {
	for _, tid := range listTasks(p.pid) {
		if tk, ok := t.tasks[tid]; ok {
			if !tk.released {
				if tk.proc == nil {
					// Cloned by a tracee before it was selected itself.
					t.claim(p, tk)
				}
				continue
			}
			delete(t.tasks, tid) // let go before, or the tid was reused
		}
		_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(tid), 0, unix.PTRACE_O_TRACECLONE, 0, 0)
		switch errno {
		case 0:
		case unix.ESRCH:
			continue // the thread exited
		case unix.EPERM:
			if exited(taskState(p.pid, tid)) {
				continue // an exited thread: nothing to stop
			}
			fallthrough
		default:
			tp, tt := tracerOf(strconv.Itoa(p.pid) + "/task/" + strconv.Itoa(tid))
			if tt == t.tid {
				// Attached already: started by a seized thread, its clone
				// event not yet taken.
				break
			}
			if tp != 0 {
				p.out = &LeftOut{PID: p.pid, Comm: p.comm, Reason: Traced, Detail: fmt.Sprintf("thread %d traced by %d (%s)", tid, tp, commOf(tp))}
			} else {
				p.out = &LeftOut{PID: p.pid, Comm: p.comm, Reason: Denied, Detail: fmt.Sprintf("ptrace of thread %d: %v", tid, errno)}
			}
			return
		}
		tk := &task{tid: tid, leader: tid == p.pid, proc: p}
		t.tasks[tid] = tk
		p.tasks = append(p.tasks, tk)
		if errno == 0 {
			// ESRCH: it is exiting; poll sees the exit.
			unix.PtraceInterrupt(tid)
		}
	}
}

// claim moves a loose task to p.
func (t *tracer) claim(p *process, tk *task) {
	for i, l := range t.loose {
		if l == tk {
			t.loose = append(t.loose[:i], t.loose[i+1:]...)
			break
		}
	}
	tk.loose = false
	tk.proc = p
	p.tasks = append(p.tasks, tk)
}

func (t *tracer) allGone(p *process) bool {
	for _, tk := range p.tasks {
		if !tk.gone() {
			return false
		}
	}
	return true
}

// waiting returns a task of p that is neither stopped nor gone.
func (t *tracer) waiting(p *process) *task {
	for _, tk := range p.tasks {
		if !tk.stopped && !tk.gone() {
			return tk
		}
	}
	return nil
}

// untracked reports whether p has a live thread the tracer does not hold.
// num_threads counts every thread not yet released, as the tracer's tasks
// do: when the two agree, no listing is needed.
func (t *tracer) untracked(p *process) bool {
	if st, err := readStat(strconv.Itoa(p.pid)); err == nil {
		held := 0
		for _, tk := range p.tasks {
			if !tk.released {
				held++
			}
		}
		if st.Threads == held {
			return false
		}
	}
	for _, tid := range listTasks(p.pid) {
		if tk, ok := t.tasks[tid]; ok && !tk.released {
			continue
		}
		if s := taskState(p.pid, tid); s != "?" && !exited(s) {
			return true
		}
	}
	return false
}

// waitStops polls the threads of pending until each has stopped or gone,
// or until deadline.
func (t *tracer) waitStops(ctx context.Context, pending []*process, deadline time.Time) error {
	pause := 20 * time.Microsecond
	for {
		waiting := false
		for _, p := range pending {
			if p.out != nil {
				continue
			}
			for i := 0; i < len(p.tasks); i++ { // poll may add cloned threads
				if tk := p.tasks[i]; !tk.stopped && !tk.gone() {
					t.poll(tk)
					waiting = waiting || (!tk.stopped && !tk.gone())
				}
			}
		}
		if !waiting || time.Now().After(deadline) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(pause)
		pause = min(2*pause, 2*time.Millisecond)
	}
}

// childInfo is siginfo_t as waitid fills it for a child (x/sys/unix
// leaves the union opaque).
type childInfo struct {
	Signo, Errno, Code, _ int32
	Pid                   int32
	UID                   uint32
	Status                int32
	_                     [100]byte
}

func waitid(tid int, info *childInfo, options int) error {
	for {
		// WNOTHREAD: this thread's tracees only, not another freeze's.
		err := unix.Waitid(unix.P_PID, tid, (*unix.Siginfo)(unsafe.Pointer(info)), options|unix.WALL|unix.WNOTHREAD|unix.WNOHANG, nil)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// Values of childInfo.Code (CLD_* in <signal.h>).
const (
	cldExited  = 1
	cldKilled  = 2
	cldDumped  = 3
	cldTrapped = 4
	cldStopped = 5
)

// poll takes a tracee's stop if it has one. An exit is only looked at
// (WNOWAIT), never taken: the exited task's parent, which may be this very
// process, reaps it once it is released.
func (t *tracer) poll(tk *task) {
	var si childInfo
	err := waitid(tk.tid, &si, unix.WSTOPPED|unix.WEXITED|unix.WNOWAIT)
	if err != nil {
		// ECHILD: not a tracee of this thread (any more).
		tk.released = true
		return
	}
	switch si.Code {
	case cldExited, cldKilled, cldDumped:
		tk.exited = true
		return
	case cldTrapped, cldStopped:
	default:
		return // nothing to report yet
	}
	if err := waitid(tk.tid, &si, unix.WSTOPPED); err != nil || si.Pid == 0 {
		return // taken by nobody else; looked at again on the next poll
	}
	sig, event := int(si.Status&0xff), int(si.Status>>8)
	switch event {
	case 0:
		// A signal-delivery stop: the signal was on its way before the
		// interrupt. Let it be delivered (a handler frame is set up, or
		// the default action taken); the pending interrupt then stops
		// the thread before any of its own code runs. Held here instead,
		// the signal would be lost if this process died.
		unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_CONT, uintptr(tk.tid), 0, uintptr(sig), 0, 0)
		return
	case unix.PTRACE_EVENT_CLONE:
		// The thread started another task before it stopped; that task
		// is a tracee now, held until it stops.
		if msg, err := unix.PtraceGetEventMsg(tk.tid); err == nil {
			t.adopt(tk, int(msg))
		}
	}
	tk.stopped = true
}

// adopt takes on a task that a tracee cloned: a thread of a selected
// process is held with it; anything else is let go once it stops.
func (t *tracer) adopt(parent *task, tid int) {
	if _, ok := t.tasks[tid]; ok {
		return
	}
	nt := &task{tid: tid}
	t.tasks[tid] = nt
	if p := parent.proc; p != nil && p.out == nil {
		if _, err := os.Stat("/proc/" + strconv.Itoa(p.pid) + "/task/" + strconv.Itoa(tid)); err == nil {
			nt.proc = p
			p.tasks = append(p.tasks, nt)
			return
		}
	}
	nt.leader = true // a new process
	t.setLoose(nt)
}

// setLoose stops holding tk for its process.
func (t *tracer) setLoose(tk *task) {
	tk.proc = nil
	if !tk.loose {
		tk.loose = true
		t.loose = append(t.loose, tk)
	}
}

// letGo stops holding p's threads: those stopped are detached now, the
// others as soon as they stop.
func (t *tracer) letGo(p *process) {
	for _, tk := range p.tasks {
		t.setLoose(tk)
	}
	p.tasks = nil
	t.tidyLoose()
}

// tidyLoose lets go of the loose tasks that have stopped or exited.
func (t *tracer) tidyLoose() {
	kept := t.loose[:0]
	for _, tk := range t.loose {
		if t.release(tk) {
			tk.loose = false
		} else {
			kept = append(kept, tk)
		}
	}
	t.loose = kept
}

// releaseAll lets go of every task. Those that cannot be let go yet
// (seized, but not stopped: an uninterruptible sleep) stay loose, to be
// let go as soon as they stop.
func (t *tracer) releaseAll() {
	for _, tk := range t.tasks {
		if !t.release(tk) {
			t.setLoose(tk)
		}
	}
}

// release lets go of one task and reports whether nothing of it is
// attached any more. A stopped task is detached (it runs again, or
// returns to a group stop that someone else began). A task that exited is
// handed on to its parent by taking its exit here, except the exit of a
// child of this very process: that is its parent's to take (it can,
// traced or not).
func (t *tracer) release(tk *task) bool {
	for try := 0; !tk.released; try++ {
		if try == 4 {
			return false // changing under us: look again later
		}
		if tk.stopped && !tk.exited {
			_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(tk.tid), 0, 0, 0, 0)
			if errno == 0 {
				tk.released = true
				break
			}
			// ESRCH: killed while held; its exit is waiting.
			tk.stopped = false
		}
		if !tk.exited {
			t.poll(tk)
			if !tk.stopped && !tk.exited && !tk.released {
				return false // not stopped yet
			}
			continue
		}
		if st, err := readStat(strconv.Itoa(tk.tid)); !tk.leader || err != nil || st.PPID != t.self {
			var si childInfo
			waitid(tk.tid, &si, unix.WEXITED)
		}
		tk.released = true
	}
	return true
}
