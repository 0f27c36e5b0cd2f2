//go:build linux

package freeze

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func startSleepers(t *testing.T, n int) []int {
	t.Helper()
	var pids []int
	for range n {
		cmd := exec.Command("sleep", "60")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Skipf("cannot start sleep: %v", err)
		}
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGCONT)
			cmd.Process.Kill()
			cmd.Wait()
		})
		pids = append(pids, cmd.Process.Pid)
	}
	return pids
}

func state(t *testing.T, pid int) byte {
	t.Helper()
	s, err := processState(pid)
	if err != nil {
		t.Fatalf("state of %d: %v", pid, err)
	}
	return s
}

// waitRunning waits up to limit for every pid to leave the stopped state.
func waitRunning(t *testing.T, pids []int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for _, pid := range pids {
		for state(t, pid) == 'T' {
			if time.Now().After(deadline) {
				t.Fatalf("process %d still stopped after %v", pid, limit)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func TestStopAndThaw(t *testing.T) {
	pids := startSleepers(t, 3)
	// One is stopped by someone else before the freeze: it stays stopped.
	syscall.Kill(pids[2], syscall.SIGSTOP)
	for state(t, pids[2]) != 'T' {
		time.Sleep(time.Millisecond)
	}
	f, err := Stop(context.Background(), pids, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if s := state(t, pid); s != 'T' {
			t.Errorf("process %d in state %c during the freeze", pid, s)
		}
	}
	if got := f.AlreadyStopped(); len(got) != 1 || got[0] != pids[2] {
		t.Errorf("AlreadyStopped = %v, want [%d]", got, pids[2])
	}
	f.Thaw()
	f.Thaw()
	waitRunning(t, pids[:2], time.Second)
	time.Sleep(20 * time.Millisecond)
	if s := state(t, pids[2]); s != 'T' {
		t.Errorf("process stopped before the freeze was resumed (state %c)", s)
	}
}

func TestWatchdogTimeout(t *testing.T) {
	pids := startSleepers(t, 2)
	f, err := Stop(context.Background(), pids, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Thaw()
	time.Sleep(50 * time.Millisecond)
	if state(t, pids[0]) != 'T' {
		t.Fatal("not stopped")
	}
	// Nobody thaws: the watchdog must, once the maximum has passed.
	waitRunning(t, pids, 1200*time.Millisecond)
	if err := f.Check(); err != ErrTooLong {
		t.Errorf("Check after the maximum = %v, want ErrTooLong", err)
	}
}

// TestFreezerChild runs only in the child of TestFreezerDies: it freezes
// the given pids, says so on stdout and then ends as told.
func TestFreezerChild(t *testing.T) {
	mode := os.Getenv("KCMPGRAPH_FREEZE_MODE")
	if mode == "" {
		t.Skip("helper process for TestFreezerDies")
	}
	var pids []int
	for _, s := range strings.Split(os.Getenv("KCMPGRAPH_FREEZE_PIDS"), ",") {
		p, _ := strconv.Atoi(s)
		pids = append(pids, p)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	f, err := Stop(ctx, pids, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Thaw()
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

func TestFreezerDies(t *testing.T) {
	for _, mode := range []string{"sigkill", "sigterm", "panic"} {
		t.Run(mode, func(t *testing.T) {
			pids := startSleepers(t, 3)
			var list []string
			for _, p := range pids {
				list = append(list, strconv.Itoa(p))
			}
			child := exec.Command(os.Args[0], "-test.run=^TestFreezerChild$")
			child.Env = append(os.Environ(), "KCMPGRAPH_FREEZE_MODE="+mode, "KCMPGRAPH_FREEZE_PIDS="+strings.Join(list, ","))
			out, err := child.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			in, err := child.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 7)
			if _, err := out.Read(buf); err != nil || string(buf) != "frozen\n" {
				child.Process.Kill()
				child.Wait()
				t.Fatalf("child did not freeze: %q %v", buf, err)
			}
			for _, pid := range pids {
				if s := state(t, pid); s != 'T' {
					t.Errorf("process %d in state %c during the freeze", pid, s)
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
			waitRunning(t, pids, time.Second)
		})
	}
}
