//go:build linux

package analyzer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// stoppedNow reports whether pid's leader is stopped, by a freeze of any
// kind (t: ptrace, T: SIGSTOP).
func stoppedNow(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	st, err := procscan.ParseStat(data)
	return err == nil && (st.State == "t" || st.State == "T")
}

// tracedBy returns the pid of the process tracing pid's leader, or 0.
func tracedBy(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	ids, _ := procscan.ParseStatusPIDs(data)
	if ids.TracerPid == 0 {
		return 0
	}
	data, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", ids.TracerPid))
	if err != nil {
		return ids.TracerPid
	}
	t, _ := procscan.ParseStatusPIDs(data)
	return t.Tgid
}

// TestLiveFrozen scans a topology with known sharing while it is frozen:
// /proc and kcmp work on ptrace-stopped tasks, so the groups match the
// pairwise oracle, and the snapshot records the states from before the
// freeze.
func TestLiveFrozen(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m, mn := testkit.Must[int](t), testkit.Must[*fixture.Node](t)
	path := filepath.Join(t.TempDir(), "data")
	testkit.Check(t, os.WriteFile(path, []byte("x"), 0o600))
	a := m(root.Open(path, unix.O_RDONLY))
	m(root.Open(path, unix.O_RDONLY))
	aDup := m(root.Dup(a))
	pr, pw := testkit.Must2[int, int](t)(root.Pipe())
	child := mn(root.Fork())
	testkit.Check(t, child.Close(pw))
	testkit.Check(t, root.Close(pr))
	m(root.Thread())
	m(child.Thread())
	vmFiles := mn(root.Clone(unix.CLONE_VM | unix.CLONE_FILES))
	fs := mn(root.Clone(unix.CLONE_FS))
	pids := []int{root.PID(), child.PID(), vmFiles.PID(), fs.PID()}

	var mu sync.Mutex
	heldDuringScan := map[int]bool{}
	opts := Options{Scan: procscan.Options{Tree: root.PID(), Threads: true, Progress: func(done, total int) {
		// Called as the scan reads each process, inside the freeze.
		mu.Lock()
		defer mu.Unlock()
		for _, p := range pids {
			if tracedBy(p) == os.Getpid() {
				heldDuringScan[p] = true
			}
		}
	}}, Freeze: true}
	snap, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := snapshot.Validate(snap); err != nil {
		t.Fatal(err)
	}
	for _, p := range pids {
		if !heldDuringScan[p] {
			t.Errorf("process %d was not held by the freeze while the scan read it", p)
		}
		if tp := tracedBy(p); tp != 0 {
			t.Errorf("process %d still traced by %d after the scan", p, tp)
		}
	}
	checkAgainstOracle(t, snap, true)
	same(t, snap, "file", fdm(root, a), fdm(root, aDup), fdm(child, a))
	// Nothing in the topology changes: a scan without the freeze finds
	// the very same groups, of every type.
	running := scanTree(t, root.PID(), true)
	for _, typ := range kcmp.AllTypes {
		if got, want := snapGroups(snap, typ.String()), snapGroups(running, typ.String()); !equalStrings(got, want) {
			t.Errorf("%v groups of the frozen scan differ from a running scan's:\n frozen  %v\n running %v", typ, got, want)
		}
	}
	if !snap.Host.Scope.Frozen || snap.Host.Scope.FreezeMethod != "ptrace" || len(snap.Warnings) != 0 {
		t.Errorf("scope %+v, warnings %q: want frozen with ptrace, no warning", snap.Host.Scope, snap.Warnings)
	}
	for _, p := range snap.Processes {
		if p.State != "S" {
			t.Errorf("process %d recorded in state %q, want S (its state before the freeze)", p.PID, p.State)
		}
	}
}

// TestFreezeUserSelection: with a user in the selection, only that user's
// processes are frozen, not every process of the tree (or of the host).
func TestFreezeUserSelection(t *testing.T) {
	testkit.RequireKcmp(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a fixture process another uid")
	}
	f := fixture.New(t)
	root := f.Root()
	other := testkit.Must[*fixture.Node](t)(root.Fork())
	nobody := testkit.Must[*fixture.Node](t)(root.Fork())
	testkit.Check(t, nobody.Setuid(65534, 65534))
	var mu sync.Mutex
	held := map[int]bool{}
	opts := Options{Scan: procscan.Options{Tree: root.PID(), Users: []int{65534}, Progress: func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range []int{root.PID(), other.PID(), nobody.PID()} {
			if stoppedNow(p) {
				held[p] = true
			}
		}
	}}, Freeze: true}
	snap, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !held[nobody.PID()] || held[root.PID()] || held[other.PID()] {
		t.Errorf("held during the scan: %v; want only %d (uid 65534)", held, nobody.PID())
	}
	if len(snap.Processes) != 1 || snap.Processes[0].PID != nobody.PID() {
		t.Errorf("scanned %d processes, want only %d", len(snap.Processes), nobody.PID())
	}
}
