//go:build linux

package freeze

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// makeCgroup makes a cgroup v2 holding n new sleepers; it skips when the
// machine has no cgroup v2 freezer or forbids making cgroups.
func makeCgroup(t *testing.T, n int) (string, []int) {
	t.Helper()
	mnt := cgroupV2Mount()
	if mnt == "" {
		t.Skip("no cgroup v2 hierarchy mounted")
	}
	dir := filepath.Join(mnt, fmt.Sprintf("kcmpgraph-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot make a cgroup: %v", err)
	}
	t.Cleanup(func() {
		writeFreeze(dir, "0")
		for i := 0; i < 100; i++ {
			if os.Remove(dir) == nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	if _, err := os.Stat(filepath.Join(dir, "cgroup.freeze")); err != nil {
		t.Skipf("no cgroup v2 freezer: %v", err)
	}
	pids := startSleepers(t, n)
	for _, p := range pids {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(p)), 0); err != nil {
			t.Skipf("cannot move a process into the cgroup: %v", err)
		}
	}
	return dir, pids
}

func waitFrozen(t *testing.T, dir string, want bool, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		frozen, err := cgroupFrozen(dir)
		if err != nil {
			t.Fatal(err)
		}
		if frozen == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cgroup frozen=%v after %v, want %v", frozen, limit, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCgroupFreeze(t *testing.T) {
	dir, pids := makeCgroup(t, 3)
	f, err := Stop(context.Background(), pids, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if f.Method() != "cgroup" {
		t.Fatalf("method %s, want cgroup", f.Method())
	}
	waitFrozen(t, dir, true, 0)
	for _, p := range pids {
		if s := state(t, p); s == 'T' {
			t.Errorf("process %d shows a SIGSTOP under the cgroup freezer", p)
		}
	}
	f.Thaw()
	waitFrozen(t, dir, false, time.Second)

	// A cgroup frozen by someone else stays frozen.
	if err := writeFreeze(dir, "1"); err != nil {
		t.Fatal(err)
	}
	waitFrozen(t, dir, true, time.Second)
	f, err = Stop(context.Background(), pids, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	f.Thaw()
	time.Sleep(20 * time.Millisecond)
	waitFrozen(t, dir, true, 0)
	writeFreeze(dir, "0")
	waitFrozen(t, dir, false, time.Second)

	// A selection that is not the whole cgroup falls back to SIGSTOP.
	f, err = Stop(context.Background(), pids[:2], time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if f.Method() != "sigstop" {
		t.Errorf("part of a cgroup frozen with method %s", f.Method())
	}
	f.Thaw()
	waitRunning(t, pids, time.Second)
}

func TestCgroupFreezerKilled(t *testing.T) {
	dir, pids := makeCgroup(t, 2)
	var list []string
	for _, p := range pids {
		list = append(list, strconv.Itoa(p))
	}
	child := exec.Command(os.Args[0], "-test.run=^TestFreezerChild$")
	child.Env = append(os.Environ(), "KCMPGRAPH_FREEZE_MODE=sigkill", "KCMPGRAPH_FREEZE_PIDS="+strings.Join(list, ","))
	out, err := child.StdoutPipe()
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
	waitFrozen(t, dir, true, 0)
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	waitFrozen(t, dir, false, time.Second)
}
