//go:build linux

package procscan

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

func TestParseTTYIndex(t *testing.T) {
	i, ino, err := ParseTTYIndex([]byte("pos:\t0\nflags:\t0100002\nmnt_id:\t24\nino:\t91\ntty-index:\t7\n"))
	if err != nil || i != 7 || ino != 91 {
		t.Errorf("got %d, %d, %v", i, ino, err)
	}
	if _, _, err := ParseTTYIndex([]byte("pos:\t0\nino:\t3\n")); !errors.Is(err, ErrNoTTYIndex) {
		t.Errorf("slave fdinfo: %v, want ErrNoTTYIndex", err)
	}
	if _, _, err := ParseTTYIndex([]byte("tty-index:\t-1\n")); !errors.Is(err, ErrFDInfoSyntax) {
		t.Errorf("bad index: %v, want ErrFDInfoSyntax", err)
	}
}

// TestLivePTY: masters opened through devtmpfs /dev/ptmx and through
// devpts's own /dev/pts/ptmx are both found on the devpts of their slave,
// with the slave's index, as a scan records them.
func TestLivePTY(t *testing.T) {
	f := fixture.New(t)
	root := f.Root()
	for _, ptmx := range []string{"/dev/ptmx", "/dev/pts/ptmx"} {
		m, s, n, err := root.OpenPTY(ptmx)
		if err != nil {
			t.Skipf("no pty through %s here: %v", ptmx, err)
		}
		res, err := Scan(context.Background(), Options{PIDs: []int{root.PID()}})
		if err != nil {
			t.Fatal(err)
		}
		var master, slave *FD
		for _, p := range res.Processes {
			for i := range p.FDs {
				switch p.FDs[i].Num {
				case m:
					master = &p.FDs[i]
				case s:
					slave = &p.FDs[i]
				}
			}
		}
		if master == nil || slave == nil {
			t.Fatalf("%s: scan lacks fd %d or %d", ptmx, m, s)
		}
		if !master.IsPTYMaster() {
			t.Errorf("%s: master %+v is not a pty master", ptmx, master)
		}
		if idx, ok := slave.PTYSlaveIndex(); !ok || idx != n {
			t.Errorf("%s: slave index %d, %v; want %d", ptmx, idx, ok, n)
		}
		if _, ok := master.PTYSlaveIndex(); ok || slave.IsPTYMaster() {
			t.Errorf("%s: master and slave confused: %+v %+v", ptmx, master, slave)
		}
		idx, err := ReadTTYIndex("", root.PID(), master)
		if err != nil || idx != n {
			t.Errorf("%s: tty index %d, %v; want %d", ptmx, idx, err, n)
		}
		dev, err := MasterDevpts("", root.PID(), master)
		if err != nil || dev != slave.Dev {
			t.Errorf("%s: devpts %d:%d, %v; want the slave's %d:%d", ptmx, unix.Major(dev), unix.Minor(dev), err,
				unix.Major(slave.Dev), unix.Minor(slave.Dev))
		}
		// The Inode is shared with other fds: change a copy.
		stale, staleInode := *master, *master.Inode
		staleInode.Ino++
		stale.Inode = &staleInode
		if _, err := MasterDevpts("", root.PID(), &stale); !errors.Is(err, unix.EBADF) {
			t.Errorf("%s: a master fd whose inode changed: %v, want EBADF", ptmx, err)
		}
		if _, err := ReadTTYIndex("", root.PID(), &stale); !errors.Is(err, unix.EBADF) {
			t.Errorf("%s: tty index of a master fd whose inode changed: %v, want EBADF", ptmx, err)
		}
		if ptmx == "/dev/ptmx" {
			// The devpts is looked up next to the node the master was
			// opened through, only while its path still leads there.
			moved, movedInode := *master, *master.Inode
			movedInode.Target = "/dev/null"
			moved.Inode = &movedInode
			if dev, err := MasterDevpts("", root.PID(), &moved); !errors.Is(err, ErrDevptsUnknown) {
				t.Errorf("%s: a path to another node gave devpts %d:%d, %v; want ErrDevptsUnknown", ptmx, unix.Major(dev), unix.Minor(dev), err)
			}
		}
	}
}

// FuzzParseTTYIndex: any fdinfo text gives a non-negative index and nil,
// or an error that is ErrNoTTYIndex or ErrFDInfoSyntax; never a panic.
func FuzzParseTTYIndex(f *testing.F) {
	f.Add([]byte("pos:\t0\nflags:\t0100002\nmnt_id:\t24\nino:\t85\ntty-index:\t3\n"))
	f.Add([]byte("pos:\t0\nflags:\t02\nmnt_id:\t24\nino:\t85\n"))
	f.Add([]byte("tty-index:\t-1\n"))
	f.Add([]byte("tty-index: 99999999999999999999\nino: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		index, _, err := ParseTTYIndex(data)
		switch {
		case err == nil && index < 0:
			t.Fatalf("index %d without an error", index)
		case err != nil && !errors.Is(err, ErrNoTTYIndex) && !errors.Is(err, ErrFDInfoSyntax):
			t.Fatalf("unexpected error %v", err)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Fatalf("error is not one line: %q", err)
		}
	})
}
