//go:build linux

package analyzer

import (
	"context"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

func scanTree(t *testing.T, root int, threads bool) *snapshot.Snapshot {
	t.Helper()
	snap, err := Run(context.Background(), Options{Scan: procscan.Options{Tree: root, Threads: threads}})
	if err != nil {
		t.Fatal(err)
	}
	if err := snapshot.Validate(snap); err != nil {
		t.Fatalf("analyzer wrote an invalid snapshot: %v", err)
	}
	return snap
}

// groupOf returns the index of the group of type typ holding m, or -1.
func groupOf(snap *snapshot.Snapshot, typ string, m snapshot.Member) int {
	for i, g := range snap.Groups {
		if g.Type != typ {
			continue
		}
		for _, x := range g.Members {
			if x == m {
				return i
			}
		}
	}
	return -1
}

func task(pid, tid int) snapshot.Member { return snapshot.Member{PID: pid, TID: tid} }

// same asserts that all members are in one group of typ; distinct that
// no two of them are.
func same(t *testing.T, snap *snapshot.Snapshot, typ string, ms ...snapshot.Member) {
	t.Helper()
	g := groupOf(snap, typ, ms[0])
	if g < 0 {
		t.Errorf("%s %v: in no group, want shared with %v", typ, ms[0], ms[1:])
		return
	}
	for _, m := range ms[1:] {
		if groupOf(snap, typ, m) != g {
			t.Errorf("%s: %v and %v should be one object", typ, ms[0], m)
		}
	}
}

func distinct(t *testing.T, snap *snapshot.Snapshot, typ string, ms ...snapshot.Member) {
	t.Helper()
	for i, a := range ms {
		for _, b := range ms[i+1:] {
			if ga := groupOf(snap, typ, a); ga >= 0 && ga == groupOf(snap, typ, b) {
				t.Errorf("%s: %v and %v reported as one object", typ, a, b)
			}
		}
	}
}
