//go:build linux

package diff

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestLiveDiff snapshots a tree, makes it dup, close, fork and pass an fd
// with SCM_RIGHTS, snapshots again, and checks the diff reports exactly
// those changes.
func TestLiveDiff(t *testing.T) {
	if err := kcmp.Probe(); err != nil {
		t.Skipf("kcmp not available: %v", err)
	}
	f := fixture.New(t)
	root := f.Root()
	m, mn := must[int](t), must[*fixture.Node](t)
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a := m(root.Open(path, unix.O_RDONLY))
	x := m(root.Open(path, unix.O_RDWR))
	c1 := mn(root.Fork())
	c2 := mn(root.Fork())
	secret := m(c1.Open(path, unix.O_RDONLY))
	scan := func() *snapshot.Snapshot {
		s, err := analyzer.Run(context.Background(), analyzer.Options{Scan: procscan.Options{Tree: root.PID()}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := scan()

	dup := m(root.Dup(a))
	if err := root.Close(x); err != nil {
		t.Fatal(err)
	}
	c3 := mn(root.Fork())
	recv := m(c1.SendFD(secret, c2))
	after := scan()

	d := Compare(before, after, "before", "after", Options{})
	if len(d.Exited) != 0 || len(d.Started) != 1 || d.Started[0].PID != c3.PID() {
		t.Errorf("started %v exited %v; want only %d started", d.Started, d.Exited, c3.PID())
	}
	wantFDs := map[int]string{
		root.PID(): fmt.Sprintf("opened [%d] closed [%d]", dup, x),
		c2.PID():   fmt.Sprintf("opened [%d] closed []", recv),
	}
	for _, ch := range d.FDs {
		var o, c []int
		for _, fd := range ch.Opened {
			o = append(o, fd.FD)
		}
		for _, fd := range ch.Closed {
			c = append(c, fd.FD)
		}
		got := fmt.Sprintf("opened %v closed %v", o, c)
		if c == nil {
			got = fmt.Sprintf("opened %v closed []", o)
		}
		if want, ok := wantFDs[ch.Process.PID]; !ok || got != want {
			t.Errorf("process %d: %s, want %q", ch.Process.PID, got, want)
		}
		delete(wantFDs, ch.Process.PID)
	}
	if len(wantFDs) != 0 {
		t.Errorf("fd changes not reported: %v", wantFDs)
	}
	// Every sharing change is explained by the dup, the close, the fork
	// or the passed fd; the passed description is marked as a leak.
	explained := func(h Holder) bool {
		switch {
		case h.PID == c3.PID():
			return true
		case h.PID == root.PID() && h.FD != nil && (*h.FD == dup || *h.FD == x):
			return true
		case h.PID == c2.PID() && h.FD != nil && *h.FD == recv:
			return true
		}
		return false
	}
	var sawLeak, sawDup, sawClose bool
	for _, s := range d.Sharing {
		for _, h := range append(append([]Holder{}, s.Joined...), s.Left...) {
			if !explained(h) {
				t.Errorf("unexplained holder %s in %+v", h, s)
			}
		}
		for _, h := range s.Joined {
			if h.PID == c2.PID() && *h.FD == recv && s.Leak && s.Change == Began && len(s.Before) == 1 {
				sawLeak = true
			}
			if h.PID == root.PID() && *h.FD == dup {
				sawDup = true
			}
		}
		for _, h := range s.Left {
			if h.PID == root.PID() && *h.FD == x {
				sawClose = true
			}
		}
	}
	if !sawDup || !sawClose {
		t.Errorf("dup seen %v, close seen %v in %+v", sawDup, sawClose, d.Sharing)
	}
	// The passed description was c1's alone: sharing began, and c2 is a
	// process that held none of it.
	if !sawLeak {
		t.Errorf("SCM_RIGHTS pass not reported as new sharing: %+v", d.Sharing)
	}
	if self := Compare(after, after, "a", "a", Options{}); self.Differences != 0 {
		t.Errorf("live snapshot differs from itself: %d", self.Differences)
	}
}
