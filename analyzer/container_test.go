//go:build linux

package analyzer

import (
	"context"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/containertest"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// TestRealContainersIdentityAndForeignFDs runs two real runc containers,
// one handed a host directory with --preserve-fds: both are named by
// runc's state files (pid and start time checked), and only the leaky
// one's fd 3 is a mount of the host's namespace it could not have opened.
func TestRealContainersIdentityAndForeignFDs(t *testing.T) {
	testkit.RequireKcmp(t)
	rt := containertest.NewRunc(t)
	leaky := rt.Run("leaky", containertest.HostDir(t))
	clean := rt.Run("clean")
	snap, err := Run(context.Background(), Options{Scan: procscan.Options{PIDs: []int{leaky.PID, clean.PID}}})
	if err != nil {
		t.Fatal(err)
	}
	hostMnt := snap.Host.Namespaces["mnt"]
	if hostMnt == 0 {
		t.Fatalf("no host mount namespace in the snapshot: %+v", snap.Host)
	}
	for _, c := range []*containertest.Container{leaky, clean} {
		p := snap.Process(c.PID)
		if p == nil {
			t.Fatalf("container %s (pid %d) not scanned", c.ID, c.PID)
		}
		want := snapshot.Container{Runtime: "runc", ID: c.ID, Source: "state"}
		if p.Container == nil || *p.Container != want {
			t.Errorf("pid %d: container %+v, want %+v", c.PID, p.Container, want)
		}
		if !snap.Confined(p) {
			t.Errorf("pid %d is not confined", c.PID)
		}
		for _, fd := range p.FDs {
			leak := c == leaky && fd.FD == 3
			if got := fd.ForeignMountNS; (got == hostMnt) != leak || (!leak && got != 0) {
				t.Errorf("%s fd %d (%s): foreign mount ns %d, want %v (host %d)", c.ID, fd.FD, fd.Target, got, leak, hostMnt)
			}
		}
	}
}

// TestUnshareKeepsReachableFiles: a process that enters a new mount
// namespace after opening a file keeps a descriptor on the host's mount,
// but the same file is reachable from its root: it is not foreign.
func TestUnshareKeepsReachableFiles(t *testing.T) {
	testkit.RequireKcmp(t)
	testkit.RequireRoot(t, "to enter a new mount namespace")
	f := fixture.New(t)
	root := f.Root()
	dirFD, err := root.Open(t.TempDir(), unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		t.Fatal(err)
	}
	c, err := root.Clone(unix.CLONE_NEWNS)
	if err != nil {
		t.Skipf("cannot make a mount namespace here: %v", err)
	}
	snap, err := Run(context.Background(), Options{Scan: procscan.Options{Tree: root.PID()}})
	if err != nil {
		t.Fatal(err)
	}
	p := snap.Process(c.PID())
	if p == nil || !snap.Confined(p) {
		t.Fatalf("child %d not scanned or not confined: %+v", c.PID(), p)
	}
	if fd := p.FDByNumber(dirFD); fd == nil || fd.ForeignMountNS != 0 {
		t.Errorf("the inherited directory, reachable in the child's root, is marked foreign: %+v", fd)
	}
}
