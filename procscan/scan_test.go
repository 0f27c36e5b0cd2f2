//go:build linux

package procscan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// TestSelectUsers: Select applies Users, as the scan does, so that a
// caller acting on the selection (a freeze) touches only those processes.
func TestSelectUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a fixture process another uid")
	}
	f := fixture.New(t)
	root := f.Root()
	nobody, err := root.Fork()
	if err != nil {
		t.Fatal(err)
	}
	if err := nobody.Setuid(65534, 65534); err != nil {
		t.Fatal(err)
	}
	all, err := Select(Options{Tree: root.PID()})
	if err != nil || fmt.Sprint(all) != fmt.Sprint([]int{root.PID(), nobody.PID()}) {
		t.Errorf("tree: %v, %v", all, err)
	}
	some, err := Select(Options{Tree: root.PID(), Users: []int{65534}})
	if err != nil || fmt.Sprint(some) != fmt.Sprint([]int{nobody.PID()}) {
		t.Errorf("tree of uid 65534: %v, %v; want [%d]", some, err, nobody.PID())
	}
}

// TestScanAllowVanished: a listed pid that is gone fails a scan unless
// the list came from an earlier selection; then it is counted.
func TestScanAllowVanished(t *testing.T) {
	f := fixture.New(t)
	root := f.Root()
	child, err := root.Fork()
	if err != nil {
		t.Fatal(err)
	}
	dead := child.PID()
	if err := child.Exit(); err != nil {
		t.Fatal(err)
	}
	if err := root.Reap(child); err != nil {
		t.Fatal(err)
	}
	pids := []int{root.PID(), dead}
	if _, err := Scan(context.Background(), Options{PIDs: pids}); !errors.Is(err, ErrNoSuchProcess) {
		t.Errorf("scan of a gone pid: %v, want ErrNoSuchProcess", err)
	}
	res, err := Scan(context.Background(), Options{PIDs: pids, AllowVanished: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Processes) != 1 || res.Processes[0].PID != root.PID() || res.Skipped[SkipVanished] != 1 {
		t.Errorf("scanned %d processes, skipped %v; want the root, one vanished", len(res.Processes), res.Skipped)
	}
}
