//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/denykcmp"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// sharedFile makes a root node holding a file and a fork that inherits
// it, and returns the two and the fd.
func sharedFile(t *testing.T) (root, child *fixture.Node, fd int) {
	t.Helper()
	f := fixture.New(t)
	root = f.Root()
	path := filepath.Join(t.TempDir(), "shared")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fd = testkit.Must[int](t)(root.Open(path, unix.O_RDONLY))
	child = testkit.Must[*fixture.Node](t)(root.Fork())
	return root, child, fd
}

func TestScanFormats(t *testing.T) {
	testkit.RequireKcmp(t)
	root, child, fd := sharedFile(t)
	pids := strconv.Itoa(root.PID()) + "," + strconv.Itoa(child.PID())

	// Into a pipe (here a buffer): JSON, the snapshot contract.
	out, stderr, code := runCLI(t, "scan", "--pid", pids)
	s, err := snapshot.Parse([]byte(out), "stdout")
	if code != 0 || err != nil {
		t.Fatalf("scan: exit %d, %v\n%s", code, err, stderr)
	}
	if groupWith(s, snapshot.Member{PID: child.PID(), FD: fd}) == nil {
		t.Errorf("inherited fd %d not grouped: %v", fd, s.Groups)
	}

	// On a terminal: a table.
	tty := onTerminal(t, 100, "scan", "--pid", pids)
	if !strings.HasPrefix(tty, "kcmpgraph snapshot of ") || !strings.Contains(tty, "TYPE  ") {
		t.Errorf("scan on a terminal did not print a table:\n%s", tty)
	}

	out, _, code = runCLI(t, "scan", "--pid", pids, "--format", "table", "--types", "file")
	row := strconv.Itoa(child.PID()) + "  "
	if code != 0 || !strings.Contains(out, "exact (kcmp)") || !strings.Contains(out, row) || strings.Contains(out, "address space") {
		t.Errorf("scan --format table --types file: exit %d\n%s", code, out)
	}

	// Into a file: JSON however stdout looks, nothing on stdout.
	path := filepath.Join(t.TempDir(), "s.json")
	out, _, code = runCLI(t, "scan", "--pid", pids, "-o", path)
	if _, err := snapshot.LoadFile(path, snapshot.LoadOptions{}); code != 0 || out != "" || err != nil {
		t.Errorf("scan -o: exit %d, stdout %q, %v", code, out, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("snapshot mode %v, want 0600", st.Mode())
	}
	wantUsageError(t, `--format: "dot" is not supported (valid: table, json)`, "scan", "--format", "dot")
}

func groupWith(s *snapshot.Snapshot, m snapshot.Member) *snapshot.Group {
	for i, g := range s.Groups {
		for _, x := range g.Members {
			if x == m {
				return &s.Groups[i]
			}
		}
	}
	return nil
}

// TestScanVanished asks for a pid that existed a moment ago.
func TestScanVanished(t *testing.T) {
	testkit.RequireKcmp(t)
	root, gone := exitedChild(t)
	_, stderr, code := runCLI(t, "scan", "--pid", strconv.Itoa(root.PID())+","+strconv.Itoa(gone))
	if code != exitUsage || stderr != "kcmpgraph: --pid: pid "+strconv.Itoa(gone)+": no such process\n" {
		t.Errorf("scan of an exited pid: exit %d, %q", code, stderr)
	}
}

// exitedChild makes a child, lets it exit and reaps it: its pid is free.
func exitedChild(t *testing.T) (*fixture.Node, int) {
	t.Helper()
	root := fixture.New(t).Root()
	c := testkit.Must[*fixture.Node](t)(root.Fork())
	if err := c.Exit(); err != nil {
		t.Fatal(err)
	}
	if err := root.Reap(c); err != nil {
		t.Fatal(err)
	}
	return root, c.PID()
}

// TestUnprivilegedScan runs the real binary as uid 65534 against a forest
// whose root is root's: what nobody may see is shown, the rest counted;
// --quiet silences the warning; a scan of root's process alone is refused.
func TestUnprivilegedScan(t *testing.T) {
	testkit.RequireKcmp(t)
	bin := buildForNobody(t)
	f := fixture.New(t)
	root := f.Root()
	mine := testkit.Must[*fixture.Node](t)(root.Fork())
	if err := mine.Setuid(65534, 65534); err != nil {
		t.Fatal(err)
	}
	r, w := testkit.Must2[int, int](t)(mine.Pipe())
	kid := testkit.Must[*fixture.Node](t)(mine.Fork())
	rootPID, minePID, kidPID := strconv.Itoa(root.PID()), strconv.Itoa(mine.PID()), strconv.Itoa(kid.PID())

	out, stderr, code := runAsNobody(t, bin, "scan", "--pid", rootPID+","+minePID+","+kidPID, "--format", "table")
	if code != 0 {
		t.Fatalf("scan as nobody: exit %d %s", code, stderr)
	}
	for _, want := range []string{"not readable: 1 process", "pipe:[", minePID + "  ", kidPID + "  "} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr, "partial result: 1 process could not be read or compared: pid "+rootPID+" ") {
		t.Errorf("no warning about the unreadable process: %q", stderr)
	}

	out, stderr, code = runAsNobody(t, bin, "scan", "--tree", rootPID, "--quiet")
	s, err := snapshot.Parse([]byte(out), "stdout")
	if code != 0 || err != nil || stderr != "" {
		t.Fatalf("scan --quiet as nobody: exit %d, %v, stderr %q", code, err, stderr)
	}
	for _, fd := range []int{r, w} {
		if g := groupWith(s, snapshot.Member{PID: kid.PID(), FD: fd}); g == nil || len(g.Members) != 2 {
			t.Errorf("nobody's pipe fd %d not grouped with its child's: %v", fd, g)
		}
	}

	_, stderr, code = runAsNobody(t, bin, "scan", "--pid", rootPID)
	if code != exitUsage || strings.Count(stderr, "\n") != 1 ||
		!strings.Contains(stderr, "not permitted: none of the 1 process selected could be read or compared") ||
		!strings.Contains(stderr, "needs root or CAP_SYS_PTRACE") {
		t.Errorf("scan of root's process alone as nobody: exit %d %q", code, stderr)
	}
}

// buildForNobody builds kcmpgraph into a directory uid 65534 can read.
func buildForNobody(t *testing.T) string {
	t.Helper()
	testkit.RequireRoot(t, "to run a child as another uid")
	return kcmpgraphBinary(t)
}

// runAsNobody runs the binary as uid and gid 65534 with the HOME that
// system accounts have: one that does not exist.
func runAsNobody(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}, Pdeathsig: syscall.SIGKILL}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestWithoutKcmp runs the command line in a child process whose seccomp
// filter makes kcmp fail with ENOSYS, as container runtimes do: scan
// degrades to inode groups and says NOT EXACT everywhere, who says so
// too and lists a second open() of the file, and cmp refuses with exit 2.
func TestWithoutKcmp(t *testing.T) {
	testkit.RequireKcmp(t)
	root, child, fd := sharedFile(t)
	path := filepath.Join(t.TempDir(), "other")
	os.WriteFile(path, nil, 0o600)
	// A second open of the file the fork inherited: same inode, another
	// description.
	again := testkit.Must[int](t)(child.Open(fmt.Sprintf("/proc/%d/fd/%d", child.PID(), fd), unix.O_RDONLY))
	pids := strconv.Itoa(root.PID()) + "," + strconv.Itoa(child.PID())

	out, stderr, code := withoutKcmp(t, "scan", "--pid", pids, "--format", "table")
	if code != 0 || !strings.Contains(out, "*** NOT EXACT: kcmp was unavailable") || !strings.Contains(out, "NOT EXACT (no kcmp)") {
		t.Errorf("scan without kcmp: exit %d\n%s", code, out)
	}
	if !strings.Contains(stderr, "kcmpgraph: warning: NOT EXACT: kcmp unavailable") || !strings.Contains(stderr, "ENOSYS") && !strings.Contains(stderr, "function not implemented") {
		t.Errorf("scan without kcmp warns %q", stderr)
	}

	out, _, code = withoutKcmp(t, "who", strconv.Itoa(child.PID())+":"+strconv.Itoa(fd), "--pid", pids)
	if code != 0 || !strings.HasPrefix(out, "NOT EXACT: kcmp is unavailable") || !strings.Contains(out, "held by 3 fds in 2 processes") {
		t.Errorf("who without kcmp (fd %d, second open %d): exit %d\n%s", fd, again, code, out)
	}

	out, stderr, code = withoutKcmp(t, "cmp", strconv.Itoa(root.PID()), strconv.Itoa(child.PID()))
	if code != exitUsage || out != "" || strings.Count(stderr, "\n") != 1 ||
		!strings.Contains(stderr, "cannot compare: kcmp unavailable: the kernel lacks CONFIG_KCMP or a seccomp filter blocks the call") {
		t.Errorf("cmp without kcmp: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

type childResult struct {
	Stdout, Stderr string
	Code           int
}

// withoutKcmp runs the command line in a re-executed test binary under a
// seccomp filter that denies kcmp.
func withoutKcmp(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skip("the seccomp filter is written for amd64")
	}
	result := filepath.Join(t.TempDir(), "result.json")
	child := exec.Command(os.Args[0], "-test.run=^TestWithoutKcmpChild$", "-test.count=1")
	child.Env = append(os.Environ(), "KCMPGRAPH_TEST_NOKCMP_ARGS="+strings.Join(args, "\x1f"), "KCMPGRAPH_TEST_NOKCMP_RESULT="+result)
	if out, err := child.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	data, err := os.ReadFile(result)
	var r childResult
	if err == nil {
		err = json.Unmarshal(data, &r)
	}
	if err != nil {
		t.Fatal(err)
	}
	return r.Stdout, r.Stderr, r.Code
}

// TestWithoutKcmpChild runs only inside the child of withoutKcmp.
func TestWithoutKcmpChild(t *testing.T) {
	args := os.Getenv("KCMPGRAPH_TEST_NOKCMP_ARGS")
	if args == "" {
		t.Skip("helper process for TestWithoutKcmp")
	}
	if err := denykcmp.Install(); err != nil {
		t.Fatalf("install seccomp filter: %v", err)
	}
	if err := kcmp.Probe(); !errors.Is(err, unix.ENOSYS) {
		t.Fatalf("kcmp still usable under the filter: %v", err)
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), &stdout, &stderr, strings.Split(args, "\x1f"))
	code := exitCode(err, &stderr)
	data, _ := json.Marshal(childResult{stdout.String(), stderr.String(), code})
	if err := os.WriteFile(os.Getenv("KCMPGRAPH_TEST_NOKCMP_RESULT"), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestErrorsAreOneLine checks the errors a user meets every day: one line
// that says what to do, and the documented exit status.
func TestErrorsAreOneLine(t *testing.T) {
	wantUsageError(t, `--types: unknown kcmp type "mm" (valid: file, vm, files, fs, sighand, io, sysvsem, epoll)`, "scan", "--types", "file,mm")
	wantUsageError(t, `--type: unknown kcmp type "mm" (valid: file, vm, files, fs, sighand, io, sysvsem, epoll)`, "cmp", "1", "2", "--type", "mm")
	wantUsageError(t, "pid 4194305: no such process", "scan", "--pid", "4194305")
	wantUsageError(t, "--tree: pid 4194305: no such process", "scan", "--tree", "4194305")
	wantUsageError(t, "pid 4194305: no such process", "who", "4194305:1")
	wantUsageError(t, "pid 4194305: no such process", "cmp", "1", "4194305")
	wantUsageError(t, `--pid: "abc" is not a pid`, "scan", "--pid", "abc")
	wantUsageError(t, `"1:x" is not PID:FD`, "who", "1:x")
	wantUsageError(t, "unknown shorthand flag: 'z' in -z", "show", "-z")
}

// TestQuiet checks that --quiet is one flag of the root command, accepted
// before or after the subcommand.
func TestQuiet(t *testing.T) {
	for _, args := range [][]string{{"-q", "show", "testdata/host.json"}, {"show", "--quiet", "testdata/host.json"}} {
		if _, stderr, code := runCLI(t, args...); code != 0 || stderr != "" {
			t.Errorf("%v: exit %d %q", args, code, stderr)
		}
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out, _, code := runCLI(t, "completion", shell)
		if code != 0 || !strings.Contains(out, "kcmpgraph") || len(out) < 500 {
			t.Errorf("completion %s: exit %d, %d bytes", shell, code, len(out))
		}
	}
	// What a shell gets on TAB, through cobra's hidden __complete command.
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"scan", "--types", "file,"}, []string{"file,vm\n", "file,epoll\n", ":6\n"}},
		{[]string{"show", "testdata/host.json", "--format", ""}, []string{"table\n", "json\n"}},
		{[]string{"show", ""}, []string{"json\n", ":8\n"}},
		{[]string{"show", "testdata/host.json", "--pid", "10"}, []string{"100\tnginx\n", "101\tnginx\n", "102\tnginx\n"}},
		{[]string{"cmp", "--type", ""}, []string{"sighand\n"}},
		{[]string{"who", strconv.Itoa(os.Getpid()) + ":"}, []string{strconv.Itoa(os.Getpid()) + ":0\t"}},
		{[]string{"cmp", strconv.Itoa(os.Getpid())}, []string{strconv.Itoa(os.Getpid()) + "\t"}},
	} {
		out, _, code := runCLI(t, append([]string{"__complete"}, tc.args...)...)
		for _, want := range tc.want {
			if code != 0 || !strings.Contains(out, want) {
				t.Errorf("completion of %q: exit %d, lacks %q:\n%s", tc.args, code, want, out)
			}
		}
	}
}

func TestHelpHasExamples(t *testing.T) {
	for _, c := range newRootCmd(&bytes.Buffer{}, &bytes.Buffer{}).Commands() {
		if c.Name() == "completion" || c.Name() == "help" {
			continue
		}
		if c.Example == "" {
			t.Errorf("%s has no examples in --help", c.Name())
		}
		out, _, code := runCLI(t, c.Name(), "--help")
		if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "--quiet") {
			t.Errorf("%s --help: exit %d\n%s", c.Name(), code, out)
		}
	}
}
