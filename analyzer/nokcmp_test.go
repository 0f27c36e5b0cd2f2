//go:build linux

package analyzer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/denykcmp"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// TestNoKcmpChild runs only inside the child started by TestNoKcmpFallback:
// it denies kcmp to itself, scans the pids it is given and prints the
// snapshot.
func TestNoKcmpChild(t *testing.T) {
	pids := os.Getenv("KCMPGRAPH_TEST_NOKCMP_PIDS")
	if pids == "" {
		t.Skip("helper process for TestNoKcmpFallback")
	}
	if err := denykcmp.Install(); err != nil {
		t.Fatalf("install seccomp filter: %v", err)
	}
	if err := kcmp.Probe(); !errors.Is(err, unix.ENOSYS) {
		t.Fatalf("kcmp still usable under the filter: %v", err)
	}
	var opts Options
	for _, s := range strings.Split(pids, ",") {
		p, _ := strconv.Atoi(s)
		opts.Scan.PIDs = append(opts.Scan.PIDs, p)
	}
	snap, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Encode(os.Stdout); err != nil {
		t.Fatal(err)
	}
}

func TestNoKcmpFallback(t *testing.T) {
	testkit.RequireKcmp(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	shared, err := os.Open(path) // one description, inherited by both
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	var pids []string
	for range 2 {
		other, err := os.Open(path) // one description each, same inode
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sleep", "60")
		cmd.ExtraFiles = []*os.File{shared, other}
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: unix.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Skipf("cannot start sleep: %v", err)
		}
		other.Close()
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		pids = append(pids, strconv.Itoa(cmd.Process.Pid))
	}
	child := exec.Command(os.Args[0], "-test.run=^TestNoKcmpChild$", "-test.v=false")
	child.Env = append(os.Environ(), "KCMPGRAPH_TEST_NOKCMP_PIDS="+strings.Join(pids, ","))
	var stderr bytes.Buffer
	child.Stderr = &stderr
	out, err := child.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s\n%s", err, out, stderr.String())
	}
	// The test binary prints PASS after the snapshot.
	js := out[:bytes.LastIndex(out, []byte("}"))+1]
	snap, err := snapshot.Parse(js, "child")
	if err != nil {
		t.Fatalf("child's snapshot: %v\n%s", err, out)
	}
	if snap.Exact {
		t.Error("snapshot without kcmp is marked exact")
	}
	if len(snap.Warnings) == 0 || !strings.Contains(snap.Warnings[0], "NOT EXACT") || !strings.Contains(snap.Warnings[0], "ENOSYS") {
		t.Errorf("warnings %q do not say NOT EXACT and why", snap.Warnings)
	}
	a, _ := strconv.Atoi(pids[0])
	b, _ := strconv.Atoi(pids[1])
	// By inode, fds 3 and 4 of both sleeps look like one object: the
	// approximation cannot tell the inherited description from the
	// second opens, and says so.
	if g := groupOf(snap, "file", snapshot.Member{PID: a, FD: 3}); g < 0 || len(snap.Groups[g].Members) != 4 {
		t.Errorf("approximate file group of %d:3 = %v, want all four fds on the inode", a, snap.Groups)
	} else if groupOf(snap, "file", snapshot.Member{PID: b, FD: 4}) != g {
		t.Errorf("%d:4 not in the inode group", b)
	}
	for _, g := range snap.Groups {
		if g.Type != "file" {
			t.Errorf("per-task group %v reported without kcmp", g)
		}
	}
	if n := snap.Stats.TotalKcmpCalls(); n != 0 {
		t.Errorf("%d kcmp calls counted without kcmp", n)
	}
	// The same processes with kcmp: only fd 3 is shared.
	exact, err := Run(context.Background(), Options{Scan: procscan.Options{PIDs: []int{a, b}}})
	if err != nil {
		t.Fatal(err)
	}
	if g := groupOf(exact, "file", snapshot.Member{PID: a, FD: 3}); g < 0 || len(exact.Groups[g].Members) != 2 {
		t.Errorf("exact group of %d:3 = %v, want {%d:3 %d:3}", a, exact.Groups, a, b)
	}
	if groupOf(exact, "file", snapshot.Member{PID: a, FD: 4}) >= 0 {
		t.Errorf("second opens merged with kcmp available")
	}
}
