//go:build linux

package procscan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// The offline tree in testdata/proc (see its README) holds processes whose
// reads succeed, vanish or meet a reused fd: the reader's branches, tested
// without the kernel's timing.
const offlineProc = "testdata/proc"

// scanText is a scan as text: each process with what was read, then the
// counts, so that a test compares all of it at once.
func scanText(res *Result) string {
	var b strings.Builder
	for _, p := range res.Processes {
		fmt.Fprintf(&b, "%d %s ppid %d uid %d state %s tasks %v", p.PID, p.Comm, p.PPID, p.UID, p.State, p.Tasks)
		if p.KernelThread {
			b.WriteString(" kernel-thread")
		}
		if len(p.Denied) > 0 {
			fmt.Fprintf(&b, " denied %v", p.Denied)
		}
		b.WriteString("\n")
		for _, f := range p.FDs {
			fmt.Fprintf(&b, "  fd %d %s info %v pos %d\n", f.Num, f.Target, f.HasInfo, f.Pos)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(res.Skipped)) {
		fmt.Fprintf(&b, "skipped %s %d\n", k, res.Skipped[k])
	}
	for _, k := range slices.Sorted(maps.Keys(res.Errors)) {
		fmt.Fprintf(&b, "error %s %d\n", k, res.Errors[k])
	}
	fmt.Fprintf(&b, "tasks %d fds %d\n", res.Tasks, res.FDs)
	return b.String()
}

func scanOffline(t *testing.T, opts Options) *Result {
	t.Helper()
	if opts.ProcRoot == "" {
		opts.ProcRoot = offlineProc
	}
	res, err := Scan(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestOfflineTree reads the whole tree: the vanished process and fd are
// counted, the reused fd 6 is dropped because its fdinfo names another
// inode than its link reaches, the kernel thread and the zombie are read
// but not their fds.
func TestOfflineTree(t *testing.T) {
	got := scanText(scanOffline(t, Options{}))
	want := `2 kthreadd ppid 0 uid 0 state S tasks [2] kernel-thread
10 daemon ppid 1 uid 0 state S tasks [10 11]
  fd 3 ../../files/data info true pos 5
  fd 4 ../../files/data info true pos 0
20 worker ppid 10 uid 1000 state S tasks [20]
  fd 3 ../../files/data info true pos 5
30 helper ppid 20 uid 1000 state S tasks [30]
50 defunct ppid 10 uid 0 state Z tasks [50]
skipped fds_vanished 2
skipped kernel_threads 1
skipped processes_vanished 1
skipped zombies 1
error ENOENT 2
tasks 6 fds 3
`
	if got != want {
		t.Errorf("scan of %s:\n%s\nwant:\n%s", offlineProc, got, want)
	}
	// Without fdinfo the reuse cannot be seen: fd 6 is read as it is now.
	res := scanOffline(t, Options{FDInfo: FDInfoNeeded, PIDs: []int{10}})
	if p := res.Processes[0]; len(p.FDs) != 3 || p.FDs[2].Num != 6 || res.Skipped[SkipFDsVanished] != 1 {
		t.Errorf("FDInfoNeeded: fds %+v, skipped %v", p.FDs, res.Skipped)
	}
}

// TestOfflineSelection: pids, a tree, users, and the error that names a
// pid or tree root that is not there.
func TestOfflineSelection(t *testing.T) {
	pids := func(res *Result) []int {
		var out []int
		for _, p := range res.Processes {
			out = append(out, p.PID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		opts Options
		want []int
	}{
		{"pids", Options{PIDs: []int{20, 2}}, []int{2, 20}},
		{"tree", Options{Tree: 10}, []int{10, 20, 30, 50}},
		{"subtree", Options{Tree: 20}, []int{20, 30}},
		{"users", Options{Users: []int{1000}}, []int{20, 30}},
		{"tree and users", Options{Tree: 10, Users: []int{0}}, []int{10, 50}},
		{"excluded", Options{Tree: 10, Exclude: []int{20}}, []int{10, 30, 50}},
	} {
		if got := pids(scanOffline(t, tc.opts)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: pids %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		opts Options
		want NoProcessError
	}{
		{Options{PIDs: []int{10, 99}}, NoProcessError{PID: 99}},
		{Options{Tree: 98}, NoProcessError{PID: 98, TreeRoot: true}},
	} {
		_, err := Scan(context.Background(), Options{ProcRoot: offlineProc, PIDs: tc.opts.PIDs, Tree: tc.opts.Tree})
		var np *NoProcessError
		if !errors.As(err, &np) || *np != tc.want || !errors.Is(err, ErrNoSuchProcess) {
			t.Errorf("%+v: error %v, want %+v matching ErrNoSuchProcess", tc.opts, err, tc.want)
		}
	}
}

// deniedEnv names the copy of the tree a child of TestOfflineDenied reads
// as uid 65534.
const deniedEnv = "KCMPGRAPH_TEST_DENIED_PROC"

// TestOfflineDenied reads a copy of the tree in which some reads are
// refused (mode 000): a process whose stat is refused is counted and left
// out, one whose fd list is refused is kept with the reason, one whose
// fdinfo is refused loses its fds with the reason. Root reads through mode
// 000, so as root the check runs in a child of uid 65534.
func TestOfflineDenied(t *testing.T) {
	if dir := os.Getenv(deniedEnv); dir != "" {
		checkDenied(t, dir)
		return
	}
	dir := deniedCopy(t)
	if os.Geteuid() != 0 {
		checkDenied(t, dir)
		return
	}
	bin := filepath.Join(filepath.Dir(dir), "procscan.test")
	copySelf(t, bin, 0o755)
	cmd := exec.Command(bin, "-test.run=^TestOfflineDenied$", "-test.count=1", "-test.v")
	cmd.Dir = "/"
	cmd.Env = []string{deniedEnv + "=" + dir, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestOfflineDenied") {
		t.Errorf("child as uid 65534: %v\n%s", err, out)
	}
}

func checkDenied(t *testing.T, dir string) {
	got := scanText(scanOffline(t, Options{ProcRoot: dir}))
	want := `2 kthreadd ppid 0 uid 0 state S tasks [2] kernel-thread
10 daemon ppid 1 uid 0 state S tasks [10 11] denied [fds: EACCES]
30 helper ppid 20 uid 1000 state S tasks [30] denied [fds: EACCES]
50 defunct ppid 10 uid 0 state Z tasks [50]
skipped fd_tables_denied 1
skipped fds_denied 4
skipped kernel_threads 1
skipped processes_denied 1
skipped processes_vanished 1
skipped zombies 1
error EACCES 3
error ENOENT 1
tasks 5 fds 0
`
	if got != want {
		t.Errorf("scan of %s with refused reads:\n%s\nwant:\n%s", dir, got, want)
	}
}

// deniedCopy copies the tree where uid 65534 can read it and refuses
// three reads: 20's stat, 30's fd list and 10's fdinfo.
func deniedCopy(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	for d := base; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	dir := filepath.Join(base, "proc")
	// cp keeps the fd links as links (os.CopyFS refuses them).
	if out, err := exec.Command("cp", "-R", "--no-preserve=mode", offlineProc, dir).CombinedOutput(); err != nil {
		t.Fatalf("copy the tree: %v\n%s", err, out)
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	for _, p := range []string{"20/stat", "30/fd", "10/fdinfo"} {
		if err := os.Chmod(filepath.Join(dir, p), 0); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// copySelf copies the running test binary to path.
func copySelf(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
