//go:build linux

package analyzer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

const nobody = 65534

// TestUnprivilegedChild runs only inside the child started by
// TestUnprivilegedView, as an ordinary user.
func TestUnprivilegedChild(t *testing.T) {
	pids := os.Getenv("KCMPGRAPH_TEST_UNPRIV_PIDS")
	if pids == "" {
		t.Skip("helper process for TestUnprivilegedView")
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

// startSleeper starts a sleep holding extra as fds 3, 4, ... as uid.
func startSleeper(t *testing.T, uid int, extra ...*os.File) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.ExtraFiles = extra
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: unix.SIGKILL}
	if uid != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process.Pid
}

// executableCopy copies the test binary where another user can run it.
func executableCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(dir, "analyzer.test")
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUnprivilegedView(t *testing.T) {
	testkit.RequireKcmp(t)
	testkit.RequireRoot(t, "to start processes of two users")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	rootA := startSleeper(t, 0, r)
	rootB := startSleeper(t, 0, r)
	ownA := startSleeper(t, nobody, w)
	ownB := startSleeper(t, nobody, w)

	child := exec.Command(executableCopy(t), "-test.run=^TestUnprivilegedChild$")
	child.Dir = "/"
	child.Env = append(os.Environ(), "KCMPGRAPH_TEST_UNPRIV_PIDS="+strings.Join(
		[]string{strconv.Itoa(rootA), strconv.Itoa(rootB), strconv.Itoa(ownA), strconv.Itoa(ownB)}, ","))
	child.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}, Pdeathsig: unix.SIGKILL}
	var stderr bytes.Buffer
	child.Stderr = &stderr
	out, err := child.Output()
	if err != nil {
		t.Fatalf("child as uid %d: %v\n%s\n%s", nobody, err, out, stderr.String())
	}
	snap, err := snapshot.Parse(out[:bytes.LastIndex(out, []byte("}"))+1], "child")
	if err != nil {
		t.Fatalf("child's snapshot: %v\n%s", err, out)
	}
	if !snap.Exact {
		t.Error("an ordinary user's scan of its own processes is exact")
	}
	// Its own processes: exactly, the inherited write end is shared.
	if g := groupOf(snap, "file", snapshot.Member{PID: ownA, FD: 3}); g < 0 ||
		groupOf(snap, "file", snapshot.Member{PID: ownB, FD: 3}) != g {
		t.Errorf("own processes' shared pipe end not grouped: %v", snap.Groups)
	}
	// Root's processes: listed, not grouped, counted and explained.
	for _, pid := range []int{rootA, rootB} {
		p := snap.Process(pid)
		if p == nil {
			t.Fatalf("root's process %d not listed", pid)
		}
		if len(p.FDs) != 0 || len(p.Denied) == 0 {
			t.Errorf("root's process %d: fds %v denied %v; want no fds and a reason", pid, p.FDs, p.Denied)
		}
		if groupOf(snap, "file", snapshot.Member{PID: pid, FD: 3}) >= 0 {
			t.Errorf("root's process %d grouped without access", pid)
		}
	}
	if snap.Stats.Skipped[procscan.SkipFDTablesDenied] != 2 {
		t.Errorf("denied fds not counted: %v", snap.Stats.Skipped)
	}
	named := fmt.Sprintf("partial result: 2 processes could not be read or compared: pid %d %s (fds: EACCES, kcmp: EPERM), pid %d %s (fds: EACCES, kcmp: EPERM);",
		rootA, snap.Process(rootA).Comm, rootB, snap.Process(rootB).Comm)
	if len(snap.Warnings) == 0 || !strings.Contains(snap.Warnings[0], named) ||
		!strings.Contains(snap.Warnings[0], "CAP_SYS_PTRACE") {
		t.Errorf("warnings %q do not explain the partial result (%q)", snap.Warnings, named)
	}
}
