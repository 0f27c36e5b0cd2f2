//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// TestFreeze runs the real binary's frozen scans, killed in the ways a
// host kills programs, under churn, and inside a PID namespace.
func TestFreeze(t *testing.T) {
	testkit.RequireKcmp(t)
	bin := filepath.Join(t.TempDir(), "kcmpgraph")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for name, test := range map[string]func(*testing.T, string){
		"KilledProcessGroup": testFreezeSurvivesKilledProcessGroup,
		"KilledCgroup":       testFreezeSurvivesKilledCgroup,
		"Churn":              testFreezeUnderChurn,
		"PIDNamespaceInit":   testFreezePIDNamespaceInit,
		"NamesLeftOut":       testFreezeNamesLeftOut,
	} {
		t.Run(name, func(t *testing.T) { test(t, bin) })
	}
}

// heldTree builds a fixture tree with threads, plus a process waiting in
// vfork, which no freeze can stop: kcmpgraph waits a second for it with
// the rest of the tree frozen, long enough to be killed in the middle of
// the freeze. It returns the root and the pids that a freeze stops.
func heldTree(t *testing.T) (root int, stoppable []int) {
	t.Helper()
	f := fixture.New(t)
	r := f.Root()
	a := testkit.Must[*fixture.Node](t)(r.Fork())
	b := testkit.Must[*fixture.Node](t)(a.Fork())
	for _, n := range []*fixture.Node{r, a, a} {
		testkit.Must[int](t)(n.Thread())
	}
	holder := testkit.Must[int](t)(r.VforkHold())
	for taskState(holder, holder) != "D" {
		time.Sleep(time.Millisecond)
	}
	return r.PID(), []int{r.PID(), a.PID(), b.PID()}
}

func tasksOf(pid int) []int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var tids []int
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids
}

func taskState(pid, tid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/stat", pid, tid))
	if err != nil {
		return ""
	}
	st, err := procscan.ParseStat(data)
	if err != nil {
		return ""
	}
	return st.State
}

func tracerPidOf(pid, tid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/status", pid, tid))
	if err != nil {
		return 0
	}
	ids, _ := procscan.ParseStatusPIDs(data)
	return ids.TracerPid
}

// waitFrozen waits until every thread of pids is stopped, however it was
// stopped (a ptrace stop "t", or a SIGSTOP "T").
func waitFrozen(t *testing.T, pids []int, cmd *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for _, pid := range pids {
		for _, tid := range tasksOf(pid) {
			for s := taskState(pid, tid); s != "t" && s != "T"; s = taskState(pid, tid) {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatalf("thread %d of %d never frozen (state %s)", tid, pid, s)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
}

// wantRunning fails unless, within limit, no thread of pids is stopped or
// traced any more.
func wantRunning(t *testing.T, pids []int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for _, pid := range pids {
		for _, tid := range tasksOf(pid) {
			for {
				s, tp := taskState(pid, tid), tracerPidOf(pid, tid)
				if s != "t" && s != "T" && tp == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("thread %d of %d still in state %s (tracer %d) %v after kcmpgraph was killed", tid, pid, s, tp, limit)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
}

// testFreezeSurvivesKilledProcessGroup SIGKILLs kcmpgraph's whole process
// group (what timeout -s KILL does) in the middle of a frozen scan: every
// thread of the tree must run again.
func testFreezeSurvivesKilledProcessGroup(t *testing.T, bin string) {
	root, pids := heldTree(t)
	cmd := exec.Command(bin, "scan", "--tree", strconv.Itoa(root), "--freeze", "--freeze-max", "60s", "--threads", "-q", "-o", filepath.Join(t.TempDir(), "s.json"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	waitFrozen(t, pids, cmd)
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	wantRunning(t, pids, 2*time.Second)
}

// cgroup2Mount returns where the cgroup v2 hierarchy is mounted.
func cgroup2Mount(t *testing.T) string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		for i, x := range fields {
			if x == "-" && i+1 < len(fields) && fields[i+1] == "cgroup2" && len(fields) > 4 {
				return fields[4]
			}
		}
	}
	t.Skip("no cgroup v2 hierarchy mounted")
	return ""
}

// killCgroup SIGKILLs every process of a cgroup, as systemd's
// KillMode=control-group does, until it is empty.
func killCgroup(dir string) {
	if os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0) == nil {
		return
	}
	for range 100 {
		data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil || len(strings.TrimSpace(string(data))) == 0 {
			return
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testFreezeSurvivesKilledCgroup runs kcmpgraph in a cgroup of its own and
// SIGKILLs every process of that cgroup (kcmpgraph and everything it
// started) in the middle of a frozen scan: every thread of the tree must
// run again.
func testFreezeSurvivesKilledCgroup(t *testing.T, bin string) {
	mnt := cgroup2Mount(t)
	dir := filepath.Join(mnt, fmt.Sprintf("kcmpgraph-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot make a cgroup: %v", err)
	}
	t.Cleanup(func() {
		for range 200 {
			killCgroup(dir)
			if os.Remove(dir) == nil || errors.Is(os.Remove(dir), os.ErrNotExist) {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Errorf("cgroup %s not removed", dir)
	})
	cg, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Close()
	root, pids := heldTree(t)
	cmd := exec.Command(bin, "scan", "--tree", strconv.Itoa(root), "--freeze", "--freeze-max", "60s", "--threads", "-q", "-o", filepath.Join(t.TempDir(), "s.json"))
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd()), Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start a process in a new cgroup (clone3 CLONE_INTO_CGROUP): %v", err)
	}
	defer cmd.Wait()
	waitFrozen(t, pids, cmd)
	data, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if !strings.Contains(" "+strings.Join(strings.Fields(string(data)), " ")+" ", fmt.Sprintf(" %d ", cmd.Process.Pid)) {
		t.Fatalf("kcmpgraph %d is not in its cgroup (%q)", cmd.Process.Pid, data)
	}
	killCgroup(dir)
	cmd.Wait()
	wantRunning(t, pids, 2*time.Second)
}

func readSnapshot(t *testing.T, path string) *snapshot.Snapshot {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s snapshot.Snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &s
}

// testFreezeUnderChurn runs a frozen scan of a tree again and again while
// three shell loops in it fork and reap short-lived processes: a process
// that exits between the selection and the freeze is counted, and every
// run succeeds. (Before, about one scan in four failed here.)
func testFreezeUnderChurn(t *testing.T, bin string) {
	// Each loop ends once the test process is gone ($PPID), so nothing
	// outlives a test that is killed.
	churn := exec.Command("sh", "-c", `for i in 1 2 3; do (while kill -0 $PPID 2>/dev/null; do sleep 0.005; done) & done; wait`)
	churn.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := churn.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-churn.Process.Pid, syscall.SIGKILL)
		churn.Wait()
	})
	time.Sleep(20 * time.Millisecond)
	out := filepath.Join(t.TempDir(), "s.json")
	vanished := 0
	for i := range 15 {
		cmd := exec.Command(bin, "scan", "--tree", strconv.Itoa(churn.Process.Pid), "--freeze", "--threads", "-q", "-o", out)
		msg, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("frozen scan %d under churn: %v\n%s", i, err, msg)
		}
		s := readSnapshot(t, out)
		if !s.Host.Scope.Frozen {
			t.Fatalf("scan %d: scope %+v, want frozen", i, s.Host.Scope)
		}
		vanished += s.Stats.Skipped[procscan.SkipVanished]
	}
	t.Logf("processes that exited between selection and freeze, over 15 scans: %d", vanished)
}

// testFreezePIDNamespaceInit runs kcmpgraph inside a PID namespace (as in
// a container) on a selection that holds the namespace's init: a signal
// from inside cannot stop an init, ptrace can. The scan answers within 3
// seconds with init frozen.
func testFreezePIDNamespaceInit(t *testing.T, bin string) {
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		t.Skip("nsenter (util-linux) not installed")
	}
	f := fixture.New(t)
	init, err := f.Root().Clone(unix.CLONE_NEWPID | unix.CLONE_NEWNS)
	if err != nil {
		t.Skipf("no new PID and mount namespace here: %v", err)
	}
	// Private mounts first: the namespace's own /proc must not reach the
	// host's mount table.
	if err := init.MakeMountsPrivate(); err != nil {
		t.Fatal(err)
	}
	if err := init.Mount("proc", "/proc", ""); err != nil {
		t.Skipf("cannot mount proc in the namespace: %v", err)
	}
	child := testkit.Must[*fixture.Node](t)(init.Fork())
	testkit.Must[int](t)(child.Thread())
	out := filepath.Join(t.TempDir(), "s.json")
	cmd := exec.Command(nsenter, "--target", strconv.Itoa(init.PID()), "--pid", "--mount", "--",
		bin, "scan", "--tree", "1", "--freeze", "--threads", "-o", out)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	msg, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("frozen scan of a PID namespace's init: %v after %v\n%s", err, took, msg)
	}
	if took > 3*time.Second {
		t.Errorf("frozen scan of a PID namespace's init took %v", took)
	}
	if strings.Contains(string(msg), "not frozen") {
		t.Errorf("a process of the namespace was not frozen:\n%s", msg)
	}
	s := readSnapshot(t, out)
	if !s.Host.Scope.Frozen {
		t.Errorf("snapshot not frozen: %+v", s.Host.Scope)
	}
	seen := map[int]bool{}
	for _, p := range s.Processes {
		seen[p.PID] = true
		if p.State == "t" {
			t.Errorf("pid %d recorded in state t (the freeze's own stop), not its state before", p.PID)
		}
	}
	if !seen[1] || !seen[2] {
		t.Errorf("the namespace's init (1) and its child (2) are not in the snapshot: %v", seen)
	}
}

// testFreezeNamesLeftOut: kcmpgraph's own parent in the selection (here a
// shell running kcmpgraph on its own tree) is left out at once with a
// warning that names it; the shell's other child is frozen.
func testFreezeNamesLeftOut(t *testing.T, bin string) {
	out := filepath.Join(t.TempDir(), "s.json")
	cmd := exec.Command("sh", "-c", `sleep 30 & "$0" scan --tree $$ --freeze -o "$1"; s=$?; kill $!; echo "shell $$"; exit $s`, bin, out)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	msg, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, msg)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v", took)
	}
	var shell int
	fmt.Sscanf(string(msg[strings.LastIndex(string(msg), "shell "):]), "shell %d", &shell)
	want := fmt.Sprintf("warning: not frozen, scanned as it ran: pid %d (sh): an ancestor of the freezing process", shell)
	if !strings.Contains(string(msg), want) {
		t.Errorf("output lacks %q:\n%s", want, msg)
	}
	s := readSnapshot(t, out)
	for _, p := range s.Processes {
		if p.Comm == "sleep" && p.State != "S" {
			t.Errorf("the frozen sleep is recorded in state %q, want its state before the freeze, S", p.State)
		}
	}
	if !s.Host.Scope.Frozen || len(s.Processes) != 2 {
		t.Errorf("want the shell and its sleep in a frozen snapshot, got %d processes, scope %+v", len(s.Processes), s.Host.Scope)
	}
}
