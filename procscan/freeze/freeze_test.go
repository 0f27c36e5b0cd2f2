//go:build linux

package freeze

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// tree is a fixture forest of a few processes, some with threads; all of
// them are the test's own.
type tree struct {
	forest *fixture.Forest
	pids   []int
}

func newTree(t *testing.T) *tree {
	t.Helper()
	f := fixture.New(t)
	root := f.Root()
	a, err := root.Fork()
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.Fork()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*fixture.Node{root, b, b} {
		if _, err := n.Thread(); err != nil {
			t.Fatal(err)
		}
	}
	return &tree{forest: f, pids: []int{root.PID(), a.PID(), b.PID()}}
}

// tasks lists every thread of pid.
func tasks(t *testing.T, pid int) []int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatalf("tasks of %d: %v", pid, err)
	}
	var tids []int
	for _, e := range ents {
		tid, _ := strconv.Atoi(e.Name())
		tids = append(tids, tid)
	}
	return tids
}

func taskStat(t *testing.T, pid, tid int) procscan.Stat {
	t.Helper()
	st, err := readStat(fmt.Sprintf("%d/task/%d", pid, tid))
	if err != nil {
		t.Fatalf("stat of %d/%d: %v", pid, tid, err)
	}
	return st
}

// wantHeld checks that every thread of pids is in a ptrace stop of this
// process.
func wantHeld(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		for _, tid := range tasks(t, pid) {
			if s := taskStat(t, pid, tid).State; s != "t" {
				t.Errorf("thread %d of %d in state %s during the freeze, want t", tid, pid, s)
			}
			if tp, _ := tracerOf(fmt.Sprintf("%d/task/%d", pid, tid)); tp != os.Getpid() {
				t.Errorf("thread %d of %d traced by %d, want %d", tid, pid, tp, os.Getpid())
			}
		}
	}
}

// waitRunning waits up to limit until no thread of pids is stopped or
// traced.
func waitRunning(t *testing.T, pids []int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for _, pid := range pids {
		for _, tid := range tasks(t, pid) {
			for {
				s := taskStat(t, pid, tid).State
				tp, _ := tracerOf(fmt.Sprintf("%d/task/%d", pid, tid))
				if s != "t" && s != "T" && tp == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("thread %d of %d in state %s (tracer %d) %v after the end of the freeze", tid, pid, s, tp, limit)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
	}
}

func TestStopAndThaw(t *testing.T) {
	tr := newTree(t)
	f, err := Stop(context.Background(), tr.pids, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Thaw()
	wantHeld(t, tr.pids)
	if got := f.Stopped(); fmt.Sprint(got) != fmt.Sprint(tr.pids) {
		t.Errorf("Stopped = %v, want %v", got, tr.pids)
	}
	if s, ok := f.StateBefore(tr.pids[0]); !ok || s != "S" {
		t.Errorf("StateBefore = %q, %v; want S (the node sleeps on its socket)", s, ok)
	}
	// A second freeze at once finds them held, by this very process.
	g, err := Stop(context.Background(), tr.pids, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if lo := g.LeftOut(); len(lo) != len(tr.pids) || lo[0].Reason != Traced || !strings.Contains(lo[0].Detail, fmt.Sprintf("traced by %d", os.Getpid())) {
		t.Errorf("a second freeze of the same processes left out %v, want all, traced by %d", lo, os.Getpid())
	}
	g.Thaw()
	wantHeld(t, tr.pids)
	f.Thaw()
	f.Thaw()
	waitRunning(t, tr.pids, time.Second)
	// The nodes answer again.
	if _, err := tr.forest.Root().Thread(); err != nil {
		t.Errorf("root after the thaw: %v", err)
	}
	// And a new freeze may start at once.
	g, err = Stop(context.Background(), tr.pids[:1], time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	wantHeld(t, tr.pids[:1])
	g.Thaw()
	waitRunning(t, tr.pids, time.Second)
}

// TestAlreadyStopped: a process stopped before the freeze is not seized
// and stays stopped after it.
func TestAlreadyStopped(t *testing.T) {
	tr := newTree(t)
	stopped := tr.pids[2]
	unix.Kill(stopped, unix.SIGSTOP)
	defer unix.Kill(stopped, unix.SIGCONT)
	for taskStat(t, stopped, stopped).State != "T" {
		time.Sleep(time.Millisecond)
	}
	f, err := Stop(context.Background(), tr.pids, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.AlreadyStopped(); len(got) != 1 || got[0] != stopped {
		t.Errorf("AlreadyStopped = %v, want [%d]", got, stopped)
	}
	if tp, _ := tracerOf(strconv.Itoa(stopped)); tp != 0 {
		t.Errorf("a process stopped before was seized (tracer %d)", tp)
	}
	wantHeld(t, tr.pids[:2])
	f.Thaw()
	waitRunning(t, tr.pids[:2], time.Second)
	time.Sleep(20 * time.Millisecond)
	if s := taskStat(t, stopped, stopped).State; s != "T" {
		t.Errorf("process stopped before the freeze is in state %s after it, want T", s)
	}
}

// exitedBy waits until pid has ended (a zombie, or reaped) and reports
// whether it did within limit.
func exitedBy(pid int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		st, err := readStat(strconv.Itoa(pid))
		if err != nil || st.State == "Z" || st.State == "X" {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

// TestSignalsKept: a signal sent to a frozen process takes effect once it
// runs again, not during the freeze and not never.
func TestSignalsKept(t *testing.T) {
	tr := newTree(t)
	victim := tr.pids[1]
	f, err := Stop(context.Background(), tr.pids, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Thaw()
	unix.Kill(victim, unix.SIGUSR1) // no handler: it ends the process
	if exitedBy(victim, 50*time.Millisecond) {
		t.Fatal("a signal took effect on a frozen process")
	}
	f.Thaw()
	if !exitedBy(victim, time.Second) {
		t.Error("a signal sent during the freeze was lost")
	}
}

// TestSignalOnItsWay: a signal that a task was about to take when it was
// seized (a signal-delivery stop) is delivered, not held: held, it would
// be lost if the freezer died.
func TestSignalOnItsWay(t *testing.T) {
	tr := newTree(t)
	victim := tr.pids[1]
	stopped := make(chan bool)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tc := newTracer(time.Second)
		tc.tid = unix.Gettid()
		p := &process{pid: victim}
		tc.procs[victim] = p
		// Seize without the interrupt, then signal: the task stops to
		// show its tracer the signal. Interrupt only then.
		if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(victim), 0, 0, 0, 0); e != 0 {
			t.Error(e)
			stopped <- false
			return
		}
		unix.Kill(victim, unix.SIGUSR1)
		for {
			if st, err := readStat(strconv.Itoa(victim)); err != nil || st.State == "t" {
				break
			}
			time.Sleep(time.Millisecond)
		}
		tk := &task{tid: victim, proc: p}
		tc.tasks[victim] = tk
		p.tasks = []*task{tk}
		unix.PtraceInterrupt(victim)
		tc.waitStops(context.Background(), []*process{p}, time.Now().Add(time.Second))
		stopped <- tk.stopped
		tc.releaseAll()
	}()
	if <-stopped {
		t.Fatal("the task stopped with a signal on its way, which was taken for the freeze")
	}
	if !exitedBy(victim, time.Second) {
		t.Error("the signal on its way when the task was seized was lost")
	}
}

func TestMaxResumes(t *testing.T) {
	tr := newTree(t)
	f, err := Stop(context.Background(), tr.pids, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Thaw()
	wantHeld(t, tr.pids)
	// Nobody thaws: the maximum must.
	waitRunning(t, tr.pids, time.Second)
	if err := f.Check(); !errors.Is(err, ErrTooLong) {
		t.Errorf("Check after the maximum = %v, want ErrTooLong", err)
	}
	if err := f.Add(context.Background(), tr.pids); !errors.Is(err, ErrTooLong) {
		t.Errorf("Add after the maximum = %v, want ErrTooLong", err)
	}
}

func TestContextEndsFreeze(t *testing.T) {
	tr := newTree(t)
	ctx, cancel := context.WithCancel(context.Background())
	f, err := Stop(ctx, tr.pids, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Thaw()
	wantHeld(t, tr.pids)
	cancel()
	waitRunning(t, tr.pids, time.Second)
}

// TestVanished: processes that exited before the freeze, or whose pid is
// free, are counted, never an error.
func TestVanished(t *testing.T) {
	tr := newTree(t)
	child, err := tr.forest.Root().Fork()
	if err != nil {
		t.Fatal(err)
	}
	dead := child.PID()
	if err := child.Exit(); err != nil {
		t.Fatal(err)
	}
	if err := tr.forest.Root().Reap(child); err != nil {
		t.Fatal(err)
	}
	f, err := Stop(context.Background(), append([]int{dead}, tr.pids...), time.Minute)
	if err != nil {
		t.Fatalf("a vanished pid failed the freeze: %v", err)
	}
	defer f.Thaw()
	if got := f.Vanished(); len(got) != 1 || got[0] != dead {
		t.Errorf("Vanished = %v, want [%d]", got, dead)
	}
	wantHeld(t, tr.pids)
}

// TestChurnNeverFails freezes a churner and the children it forks and
// reaps hundreds of times a second, again and again: the freeze never
// fails and holds every selected process that still exists.
func TestChurnNeverFails(t *testing.T) {
	tr := newTree(t)
	churner, err := tr.forest.Root().Churn()
	if err != nil {
		t.Fatal(err)
	}
	vanished := 0
	for i := range 15 {
		pids, err := procscan.Select(procscan.Options{Tree: churner})
		if err != nil {
			t.Fatal(err)
		}
		f, err := Stop(context.Background(), pids, time.Minute)
		if err != nil {
			t.Fatalf("freeze %d under churn: %v", i, err)
		}
		vanished += len(f.Vanished())
		if lo := f.LeftOut(); len(lo) > 0 {
			t.Errorf("freeze %d left out %v", i, lo)
		}
		wantHeld(t, f.Stopped())
		f.Thaw()
	}
	waitRunning(t, []int{churner}, time.Second)
	t.Logf("vanished between selection and freeze over 15 freezes: %d", vanished)
}

// TestNotStopping: a process waiting in vfork (uninterruptible) is left
// out after the stop wait, not after the maximum, and let go; everything
// else stays frozen.
func TestNotStopping(t *testing.T) {
	tr := newTree(t)
	holder, err := tr.forest.Root().VforkHold()
	if err != nil {
		t.Fatal(err)
	}
	for taskStat(t, holder, holder).State != "D" {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	f, err := Stop(context.Background(), append([]int{holder}, tr.pids...), 4*time.Second)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Thaw()
	if took > 1500*time.Millisecond {
		t.Errorf("Stop took %v with an unstoppable process (stop wait 1s)", took)
	}
	lo := f.LeftOut()
	if len(lo) != 1 || lo[0].PID != holder || lo[0].Reason != NotStopping || !strings.Contains(lo[0].String(), "state D") {
		t.Errorf("LeftOut = %v, want the vfork holder %d, not stopping in state D", lo, holder)
	}
	wantHeld(t, tr.pids)
	// It is let go: once its vfork child is killed, it runs (and exits)
	// instead of stopping in the freeze.
	below, err := procscan.Select(procscan.Options{Tree: holder})
	if err != nil || len(below) != 2 {
		t.Fatalf("the vfork holder's tree: %v, %v", below, err)
	}
	unix.Kill(below[1], unix.SIGKILL)
	if !exitedBy(holder, time.Second) {
		t.Errorf("the process left out is held after its vfork ended")
	}
}

// report is what the "report" helper prints.
type report struct {
	Stopped []int
	LeftOut []LeftOut
}

// TestFreezerChild runs only as a child of the tests below: it freezes
// the given pids, reports on stdout and then ends as told.
func TestFreezerChild(t *testing.T) {
	mode := os.Getenv("KCMPGRAPH_FREEZE_MODE")
	if mode == "" {
		t.Skip("helper process for TestFreezerDies and TestLeftOut")
	}
	var pids []int
	for _, s := range strings.Split(os.Getenv("KCMPGRAPH_FREEZE_PIDS"), ",") {
		if p, err := strconv.Atoi(s); err == nil {
			pids = append(pids, p)
		}
	}
	switch mode {
	case "parent-of-sleep":
		// Be the parent of a sleep and print every stop or continue the
		// kernel reports about it.
		child := exec.Command("sleep", "60")
		child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("%d\n", child.Process.Pid)
		for {
			var ws syscall.WaitStatus
			if _, err := syscall.Wait4(child.Process.Pid, &ws, syscall.WUNTRACED|unix.WCONTINUED, nil); err != nil {
				return
			}
			switch {
			case ws.Stopped():
				fmt.Printf("stopped by %v\n", ws.StopSignal())
			case ws.Continued():
				fmt.Println("continued")
			default:
				return
			}
		}
	case "trace":
		// Hold pids[0] as its tracer (as strace would), until killed.
		runtime.LockOSThread()
		if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pids[0]), 0, 0, 0, 0); e != 0 {
			t.Fatal(e)
		}
		os.Stdout.WriteString("tracing\n")
		select {}
	case "parent":
		// Be the parent of a freezer asked to freeze this process too.
		child := exec.Command(os.Args[0], "-test.run=^TestFreezerChild$")
		child.Env = append(os.Environ(), "KCMPGRAPH_FREEZE_MODE=report",
			fmt.Sprintf("KCMPGRAPH_FREEZE_PIDS=%d,%s", os.Getpid(), os.Getenv("KCMPGRAPH_FREEZE_PIDS")))
		child.Stdout, child.Stderr = os.Stdout, os.Stderr
		child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := child.Run(); err != nil {
			t.Fatal(err)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	f, err := Stop(ctx, pids, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Thaw()
	switch mode {
	case "report":
		json.NewEncoder(os.Stdout).Encode(report{Stopped: f.Stopped(), LeftOut: f.LeftOut()})
		return
	}
	os.Stdout.WriteString("frozen\n")
	switch mode {
	case "panic":
		// Wait for the parent to check the freeze, then fail.
		os.Stdin.Read(make([]byte, 1))
		panic("injected panic during a frozen scan")
	case "sigterm":
		<-ctx.Done()
	case "sigkill":
		select {}
	}
}

func helper(t *testing.T, mode string, pids []int) (*exec.Cmd, *bufio.Reader, io.Writer) {
	t.Helper()
	var list []string
	for _, p := range pids {
		list = append(list, strconv.Itoa(p))
	}
	child := exec.Command(os.Args[0], "-test.run=^TestFreezerChild$")
	child.Env = append(os.Environ(), "KCMPGRAPH_FREEZE_MODE="+mode, "KCMPGRAPH_FREEZE_PIDS="+strings.Join(list, ","))
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		child.Process.Kill()
		child.Wait()
	})
	return child, bufio.NewReader(out), in
}

func TestFreezerDies(t *testing.T) {
	for _, mode := range []string{"sigkill", "sigterm", "panic"} {
		t.Run(mode, func(t *testing.T) {
			tr := newTree(t)
			child, out, in := helper(t, mode, tr.pids)
			line, err := out.ReadString('\n')
			if err != nil || line != "frozen\n" {
				t.Fatalf("child did not freeze: %q %v", line, err)
			}
			for _, pid := range tr.pids {
				for _, tid := range tasks(t, pid) {
					if s := taskStat(t, pid, tid).State; s != "t" {
						t.Errorf("thread %d of %d in state %s during the freeze", tid, pid, s)
					}
				}
			}
			switch mode {
			case "sigkill":
				child.Process.Kill()
			case "sigterm":
				child.Process.Signal(syscall.SIGTERM)
			case "panic":
				in.Write([]byte("go\n"))
			}
			child.Wait()
			waitRunning(t, tr.pids, time.Second)
		})
	}
}

// TestInvisibleToParent: the parent of a frozen process (a shell, a
// supervisor) is told nothing: no stop, no continue.
func TestInvisibleToParent(t *testing.T) {
	parent, out, _ := helper(t, "parent-of-sleep", nil)
	var pid int
	if _, err := fmt.Fscanf(out, "%d\n", &pid); err != nil {
		t.Fatal(err)
	}
	f, err := Stop(context.Background(), []int{pid}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	wantHeld(t, []int{pid})
	time.Sleep(20 * time.Millisecond)
	f.Thaw()
	waitRunning(t, []int{pid}, time.Second)
	time.Sleep(20 * time.Millisecond)
	parent.Process.Kill()
	told, err := io.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(told) > 0 {
		t.Errorf("the frozen process's parent was told:\n%s", told)
	}
}

// TestLeftOut: a selection holding a kernel thread, the freezer's parent
// and a process traced by another tracer freezes the rest at once and
// names each of those with its reason, without touching them.
func TestLeftOut(t *testing.T) {
	tr := newTree(t)
	traced := tr.pids[2]
	tracer, out, _ := helper(t, "trace", []int{traced})
	if line, err := out.ReadString('\n'); err != nil || line != "tracing\n" {
		t.Fatalf("tracer: %q %v", line, err)
	}
	pids := append([]int(nil), tr.pids...)
	kthread := 0
	if st, err := readStat("2"); err == nil && st.KernelThread() {
		kthread = 2
		pids = append(pids, kthread)
	}
	start := time.Now()
	parent, out, _ := helper(t, "parent", pids)
	var rep report
	if err := json.NewDecoder(out).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	parent.Wait()
	lo := rep.LeftOut
	if fmt.Sprint(rep.Stopped) != fmt.Sprint(tr.pids[:2]) {
		t.Errorf("stopped %v, want the rest of the selection %v", rep.Stopped, tr.pids[:2])
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the freeze took %v to answer", took)
	}
	want := map[int]Reason{parent.Process.Pid: Ancestor, traced: Traced}
	if kthread != 0 {
		want[kthread] = KernelThread
	}
	for _, l := range lo {
		if want[l.PID] != l.Reason {
			t.Errorf("left out %v, want reason %v", l, want[l.PID])
		}
		if l.Reason == Traced && !strings.Contains(l.Detail, fmt.Sprintf("traced by %d", tracer.Process.Pid)) {
			t.Errorf("%v does not name its tracer %d", l, tracer.Process.Pid)
		}
		delete(want, l.PID)
	}
	if len(want) > 0 {
		t.Errorf("not reported as left out: %v (got %v)", want, lo)
	}
}
