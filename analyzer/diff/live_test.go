//go:build linux

package diff

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// scanTree snapshots a live process tree.
func scanTree(t *testing.T, root int) *snapshot.Snapshot {
	t.Helper()
	s, err := analyzer.Run(context.Background(), analyzer.Options{Scan: procscan.Options{Tree: root}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fdList(fds []FD) []int {
	out := []int{}
	for _, f := range fds {
		out = append(out, f.FD)
	}
	return out
}

// TestLiveDiff snapshots a live tree, makes it dup, close, fork and pass
// an fd with SCM_RIGHTS, snapshots again, and checks that the diff
// reports exactly those changes: one process started, three fds opened or
// closed, sharing changes that each follow from one of the four steps,
// and one leak, the passed fd.
func TestLiveDiff(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m, mn := testkit.Must[int](t), testkit.Must[*fixture.Node](t)
	path := filepath.Join(t.TempDir(), "data")
	secretPath := filepath.Join(t.TempDir(), "secret")
	for _, p := range []string{path, secretPath} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a := m(root.Open(path, unix.O_RDONLY))
	x := m(root.Open(path, unix.O_RDWR))
	c1 := mn(root.Fork())
	c2 := mn(root.Fork())
	secret := m(c1.Open(secretPath, unix.O_RDONLY))
	before := scanTree(t, root.PID())

	dup := m(root.Dup(a))
	if err := root.Close(x); err != nil {
		t.Fatal(err)
	}
	c3 := mn(root.Fork())
	recv := m(c1.SendFD(secret, c2))
	after := scanTree(t, root.PID())

	d := Compare(before, after, "before", "after", Options{})
	var text bytes.Buffer
	if err := d.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("diff:\n%s", text.String())

	if len(d.Warnings) != 0 {
		t.Errorf("warnings: %q", d.Warnings)
	}
	if len(d.Exited)+len(d.Changed)+len(d.Epoll)+len(d.Endpoints) != 0 {
		t.Errorf("exited %v, changed %v, epoll %v, endpoints %v: want none", d.Exited, d.Changed, d.Epoll, d.Endpoints)
	}
	if len(d.Started) != 1 || d.Started[0].PID != c3.PID() {
		t.Errorf("started %v, want only %d", d.Started, c3.PID())
	}
	wantFDs := map[int]string{
		root.PID(): fmt.Sprint("opened ", []int{dup}, " closed ", []int{x}),
		c2.PID():   fmt.Sprint("opened ", []int{recv}, " closed ", []int{}),
	}
	gotFDs := map[int]string{}
	for _, ch := range d.FDs {
		gotFDs[ch.Process.PID] = fmt.Sprint("opened ", fdList(ch.Opened), " closed ", fdList(ch.Closed))
	}
	if !reflect.DeepEqual(gotFDs, wantFDs) {
		t.Errorf("fd changes %v, want %v", gotFDs, wantFDs)
	}

	// Each sharing change follows from one step: c3 joins every object
	// root held at the fork under root's own numbers (inherited, no
	// leak); root's dup joins a's object; root's closed x leaves; c2's
	// received fd makes c1's secret shared, the one leak.
	is := func(h Holder, pid, fd int) bool { return h.PID == pid && h.FD != nil && *h.FD == fd }
	var sawDup, sawClose, sawLeak bool
	for _, s := range d.Sharing {
		rootFDs := map[int]bool{}
		for _, h := range s.After {
			if h.PID == root.PID() {
				rootFDs[*h.FD] = true
			}
		}
		for _, h := range s.Joined {
			switch {
			case h.PID == c3.PID() && rootFDs[*h.FD]:
			case is(h, root.PID(), dup):
				sawDup = true
			case is(h, c2.PID(), recv):
				sawLeak = s.Change == Began && len(s.Before) == 1 && is(s.Before[0], c1.PID(), secret) &&
					len(s.Leaked) == 1 && is(s.Leaked[0], c2.PID(), recv)
			default:
				t.Errorf("unexplained joined holder %s in %+v", h, s)
			}
		}
		for _, h := range s.Left {
			if !is(h, root.PID(), x) {
				t.Errorf("unexplained holder that left, %s, in %+v", h, s)
				continue
			}
			sawClose = s.Change == Changed && len(s.After) == 2 // c1 and c2 still hold x's description
		}
	}
	if !sawDup || !sawClose || !sawLeak {
		t.Errorf("dup seen %v, close seen %v, SCM_RIGHTS leak seen %v", sawDup, sawClose, sawLeak)
	}
	if d.Leaks != 1 || !d.Sharing[0].Leak {
		t.Errorf("%d leaks, want 1 (the passed fd), listed first", d.Leaks)
	}
	if want := fmt.Sprintf("! LEAK file %s: now also held by %d:%d ", secretPath, c2.PID(), recv); !strings.Contains(text.String(), want) {
		t.Errorf("text does not lead with %q", want)
	}
	if want := 1 + 3 + len(d.Sharing); d.Differences != want {
		t.Errorf("%d differences, want %d", d.Differences, want)
	}

	var js bytes.Buffer
	if err := d.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Diff
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, d) {
		t.Errorf("the JSON form does not read back into the same diff")
	}
	if self := Compare(after, after, "a", "a", Options{}); self.Differences != 0 {
		t.Errorf("live snapshot differs from itself: %d", self.Differences)
	}
	if slices.ContainsFunc(d.Sharing, func(s SharingChange) bool { return s.Type != snapshot.TypeFile }) {
		t.Errorf("per-task sharing changed, though no step touched it: %+v", d.Sharing)
	}
}
