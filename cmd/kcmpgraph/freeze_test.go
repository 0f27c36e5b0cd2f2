//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

func stateOf(pid int) byte {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(data)
	return s[strings.LastIndexByte(s, ')')+2]
}

// TestFrozenScanKilled SIGKILLs kcmpgraph in the middle of a frozen scan
// of a 300-process forest: every process must run again within a second.
func TestFrozenScanKilled(t *testing.T) {
	testkit.RequireKcmp(t)
	bin := filepath.Join(t.TempDir(), "kcmpgraph")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	f := fixture.New(t)
	master, made, err := f.Root().Grow(fixture.GrowSpec{Procs: 300, FDsPerProc: 60, Seed: 3})
	if err != nil || made != 300 {
		t.Fatalf("grow: %d, %v", made, err)
	}
	cmd := exec.Command(bin, "scan", "--tree", strconv.Itoa(master), "--freeze", "--freeze-max", "60s", "--threads", "-q", "-o", filepath.Join(t.TempDir(), "s.json"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the master is stopped: the freeze is on.
	deadline := time.Now().Add(10 * time.Second)
	for stateOf(master) != 'T' {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("the forest was never frozen")
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	killed := time.Now()
	// Every process of the tree runs again within a second.
	var pids []int
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(data)
		ppid, _ := strconv.Atoi(strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[1])
		children[ppid] = append(children[ppid], pid)
	}
	pids = []int{master}
	for i := 0; i < len(pids); i++ {
		pids = append(pids, children[pids[i]]...)
	}
	for _, pid := range pids {
		for stateOf(pid) == 'T' {
			if time.Since(killed) > time.Second {
				t.Fatalf("process %d still stopped a second after kcmpgraph was killed", pid)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if len(pids) < 300 {
		t.Errorf("found %d processes of the forest, want 300", len(pids))
	}
}
