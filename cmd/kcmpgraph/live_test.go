//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

func TestCmpLive(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m, mn := testkit.Must[int](t), testkit.Must[*fixture.Node](t)
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a := m(root.Open(path, unix.O_RDONLY))
	b := m(root.Open(path, unix.O_RDONLY))
	dup := m(root.Dup(a))
	child := mn(root.Fork())
	r, c := strconv.Itoa(root.PID()), strconv.Itoa(child.PID())

	out, _, code := runCLI(t, "cmp", r, c)
	if code != exitFound {
		t.Errorf("cmp parent child: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"vm       different\n", "io       different: both have no I/O context (most tasks never get one) — nothing shared\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("cmp output lacks %q:\n%s", want, out)
		}
	}
	if out, _, code := runCLI(t, "cmp", r, r, "--fd", strconv.Itoa(a)+":"+strconv.Itoa(dup)); code != 0 || out != "file     same\n" {
		t.Errorf("cmp of a dup: exit %d %q", code, out)
	}
	if out, _, code := runCLI(t, "cmp", r, c, "--fd", strconv.Itoa(a)+":"+strconv.Itoa(a)); code != 0 || out != "file     same\n" {
		t.Errorf("cmp of an inherited fd: exit %d %q", code, out)
	}
	if out, _, code := runCLI(t, "cmp", r, r, "--fd", strconv.Itoa(a)+":"+strconv.Itoa(b)); code != exitFound || out != "file     different\n" {
		t.Errorf("cmp of two opens: exit %d %q", code, out)
	}
	if _, stderr, code := runCLI(t, "cmp", r, "4194305", "--type", "vm"); code != exitUsage || !strings.Contains(stderr, "no such process") {
		t.Errorf("cmp with a missing pid: exit %d %q", code, stderr)
	}
	if _, stderr, code := runCLI(t, "cmp", r, r, "--fd", strconv.Itoa(a)+":999"); code != exitUsage || !strings.Contains(stderr, "fd not open") {
		t.Errorf("cmp with a closed fd: exit %d %q", code, stderr)
	}
	wantUsageError(t, "--type file needs --fd", "cmp", r, c, "--type", "file")
	wantUsageError(t, "use 'kcmpgraph who PID:FD'", "cmp", r, c, "--type", "epoll")
	wantUsageError(t, `"x" is not a pid`, "cmp", "x", c)
	wantUsageError(t, `--fd: "3" is not FD1:FD2`, "cmp", r, c, "--fd", "3")
}

func TestWhoLive(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m, mn := testkit.Must[int](t), testkit.Must[*fixture.Node](t)
	pr, pw, err := root.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c1 := mn(root.Fork())
	c2 := mn(root.Fork())
	ep := m(c2.EpollCreate())
	if err := c2.EpollAdd(ep, pr); err != nil {
		t.Fatal(err)
	}
	other := m(c1.Dup(pr))
	if err := root.Close(pr); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCLI(t, "who", strconv.Itoa(c1.PID())+":"+strconv.Itoa(pr), "--tree", strconv.Itoa(root.PID()))
	if code != 0 {
		t.Fatalf("who: exit %d %s", code, stderr)
	}
	if !strings.Contains(out, "held by 3 fds in 2 processes") {
		t.Errorf("who holders:\n%s", out)
	}
	for _, want := range []string{
		"  " + strconv.Itoa(c1.PID()) + " ", strconv.Itoa(other), "  " + strconv.Itoa(c2.PID()) + " ",
		"watched by 1 epoll registration:", "fd " + strconv.Itoa(pr),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("who output lacks %q:\n%s", want, out)
		}
	}
	// The root holds only the write end: listed as the other end.
	if !strings.Contains(out, ":"+strconv.Itoa(pr)+" pipe:[") || !strings.Contains(out, "] read end\n") {
		t.Errorf("who does not say the read end was asked about:\n%s", out)
	}
	before, rest, _ := strings.Cut(out, "other end of pipe:[")
	if strings.Contains(before, "  "+strconv.Itoa(root.PID())+" ") {
		t.Errorf("who lists the root among the holders, which holds only the other end:\n%s", out)
	}
	if !strings.Contains(rest, "], the write end, held by 3 fds") || !strings.Contains(rest, "  "+strconv.Itoa(root.PID())+" ") ||
		!strings.Contains(rest, strconv.Itoa(pw)) {
		t.Errorf("who does not show the write end as the other end:\n%s", out)
	}
	wantUsageError(t, "has no fd 999", "who", strconv.Itoa(c1.PID())+":999")
	wantUsageError(t, `"1234" is not PID:FD`, "who", "1234")
}

// TestThreadsLive: who and cmp take a thread's tid, name its process, and
// see the fds of a thread's own fd table, which /proc/PID/fd does not.
func TestThreadsLive(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m, mn := testkit.Must[int](t), testkit.Must[*fixture.Node](t)
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	own := mn(root.ThreadNode(unix.CLONE_FILES))
	a := m(own.Open(path, unix.O_RDONLY))
	dup := m(own.Dup(a))
	plain := mn(root.ThreadNode(0))
	r, tid, ptid := strconv.Itoa(root.PID()), strconv.Itoa(own.TID()), strconv.Itoa(plain.TID())

	out, stderr, code := runCLI(t, "who", tid+":"+strconv.Itoa(a), "--tree", r)
	if code != 0 {
		t.Fatalf("who by tid: exit %d %s", code, stderr)
	}
	for _, want := range []string{
		"task " + tid + " is a thread of pid " + r + " (forest), with an fd table of its own",
		r + "/" + tid + ":" + strconv.Itoa(a) + " ",
		"held by 2 fds in 1 process", "TID", "  " + r + "  " + tid + "  " + strconv.Itoa(dup) + " ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("who %s:%d output lacks %q:\n%s", tid, a, want, out)
		}
	}
	out, _, code = runCLI(t, "who", ptid+":0", "--tree", r)
	if code != 0 || !strings.Contains(out, "task "+ptid+" is a thread of pid "+r+" (forest), with its process's fd table") ||
		!strings.Contains(out, "\n"+r+":0 ") {
		t.Errorf("who by the tid of a thread sharing its process's table: exit %d\n%s", code, out)
	}
	wantUsageError(t, "task "+tid+" (of pid "+r+") has no fd 999", "who", tid+":999")

	out, _, code = runCLI(t, "cmp", r, tid, "--type", "files")
	if code != exitFound || out != tid+" is a thread of pid "+r+" (forest)\nfiles    different\n" {
		t.Errorf("cmp pid tid --type files: exit %d %q", code, out)
	}
	out, _, code = runCLI(t, "cmp", tid, tid, "--fd", strconv.Itoa(a)+":"+strconv.Itoa(dup))
	if code != 0 || !strings.HasSuffix(out, "file     same\n") {
		t.Errorf("cmp of a dup in the thread's table: exit %d %q", code, out)
	}
	out, _, code = runCLI(t, "cmp", r, ptid, "--type", "files")
	if code != 0 || !strings.HasSuffix(out, "files    same\n") {
		t.Errorf("cmp pid tid of a thread sharing the table: exit %d %q", code, out)
	}
}

func TestGraphCLI(t *testing.T) {
	out, stderr, code := runCLI(t, "graph", "../../graphout/testdata/small.json")
	if code != 0 || !strings.HasPrefix(out, "digraph kcmpgraph {") {
		t.Fatalf("graph of a snapshot: exit %d %s\n%s", code, stderr, out)
	}
	out, _, code = runCLI(t, "graph", "../../graphout/testdata/small.json", "--pid", "100,101", "--types", "file")
	if code != 0 || strings.Contains(out, "pid102") || !strings.Contains(out, "pid101") {
		t.Errorf("graph --pid --types:\n%s", out)
	}
	dir := t.TempDir()
	if _, stderr, code := runCLI(t, "graph", "../../graphout/testdata/small.json", "-o", filepath.Join(dir, "g.dot")); code != 0 {
		t.Errorf("graph -o: exit %d %s", code, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "g.dot")); err != nil || !strings.HasPrefix(string(b), "digraph kcmpgraph {") {
		t.Errorf("graph -o wrote %q, %v", b, err)
	}
	wantUsageError(t, "--format", "graph", "../../graphout/testdata/small.json", "--format", "png")
	wantUsageError(t, "--view", "graph", "../../graphout/testdata/small.json", "--view", "tree")
	wantUsageError(t, "diagram too large", "graph", "../../graphout/testdata/small.json", "--max-nodes", "1")
	wantUsageError(t, "missing.json: cannot open", "graph", "missing.json")
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"schema": "kcmpgraph.snapshot/v1", "processes": [{"pid": -4}]}`), 0o644)
	wantUsageError(t, "bad.json: processes[0].pid: pid -4 is not positive", "graph", bad)
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("failed runs left files behind: %v", entries)
	}
}

// TestUnprivilegedCLI runs the real binary as uid 65534: kcmp on root's
// processes is refused with a clear message, and a scan of its own
// processes works with a warning about the rest.
func TestUnprivilegedCLI(t *testing.T) {
	testkit.RequireKcmp(t)
	bin := buildForNobody(t)
	f := fixture.New(t)
	mine := testkit.Must[*fixture.Node](t)(f.Root().Fork())
	if err := mine.Setuid(65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runAsNobody(t, bin, "cmp", strconv.Itoa(f.Root().PID()), strconv.Itoa(mine.PID()), "--type", "vm")
	if code != exitUsage || !strings.Contains(stderr, "not permitted") || !strings.Contains(stderr, "CAP_SYS_PTRACE") {
		t.Errorf("cmp as nobody against root: exit %d %q", code, stderr)
	}
	out, stderr, code := runAsNobody(t, bin, "scan", "--tree", strconv.Itoa(f.Root().PID()), "--format", "json")
	if code != 0 || !strings.Contains(out, `"pid":`+strconv.Itoa(mine.PID())) || !strings.Contains(stderr, "partial result") {
		t.Errorf("scan as nobody: exit %d\nstderr %q", code, stderr)
	}
}
