//go:build linux

package containertest

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestCleanupRemovesEverything starts a runc container inside a subtest
// and checks, once the subtest's cleanups ran, that its process, runc's
// state and its cgroups are gone and that runc's state root is as before.
func TestCleanupRemovesEverything(t *testing.T) {
	_, rootErr := os.Stat("/run/runc")
	var c *Container
	t.Run("run", func(t *testing.T) {
		c = NewRunc(t).Run("cleanup")
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(c.PID))); err != nil {
			t.Fatalf("container init %d not running: %v", c.PID, err)
		}
		if len(CgroupsLeft(c.ID)) == 0 {
			t.Fatalf("no cgroup named after %s while it runs", c.ID)
		}
	})
	if c == nil {
		t.Skip("no container was started")
	}
	// Dead: gone, or a zombie the init of the pid namespace (the
	// container's parent since runc exited) has not reaped yet.
	if alive(c.PID) {
		t.Errorf("container init %d still running", c.PID)
	}
	if _, err := os.Stat(filepath.Join("/run/runc", c.ID)); !os.IsNotExist(err) {
		t.Errorf("runc state of %s left: %v", c.ID, err)
	}
	if left := CgroupsLeft(c.ID); len(left) > 0 {
		t.Errorf("cgroups left: %q", left)
	}
	// runc's state root, made for this container, goes with it; other
	// packages' tests may run containers meanwhile, whose state keeps it.
	if entries, err := os.ReadDir("/run/runc"); os.IsNotExist(rootErr) && err == nil && len(entries) == 0 {
		t.Error("/run/runc did not exist before and is left empty")
	}
}
