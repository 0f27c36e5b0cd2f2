//go:build linux

package analyzer

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// TestChurn scans a tree again and again while a churner forks and exits
// hundreds of processes per second and recycles fd numbers. Every scan
// must succeed, the static part of the tree must come out exactly right,
// and every reported group must still be one object when re-checked with
// kcmp while the churn is stopped.
func TestChurn(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m, mn := testkit.Must[int](t), testkit.Must[*fixture.Node](t)
	shared := m(root.Open("/etc/hostname", unix.O_RDONLY))
	a := mn(root.Fork())
	b := mn(root.Fork())
	churner := m(root.Churn())
	time.Sleep(50 * time.Millisecond)
	dropped := 0
	for i := range 15 {
		snap, err := Run(context.Background(), Options{Scan: procscan.Options{Tree: root.PID(), Threads: true}})
		if err != nil {
			t.Fatalf("scan %d under churn: %v", i, err)
		}
		if err := snapshot.Validate(snap); err != nil {
			t.Fatalf("scan %d: invalid snapshot: %v", i, err)
		}
		same(t, snap, "file", fdm(root, shared), fdm(a, shared), fdm(b, shared))
		dropped += snap.Stats.Skipped[SkipChurn]
		// Stop the churner's whole process group member by member: the
		// churner itself is enough, its children live a few ms.
		unix.Kill(churner, unix.SIGSTOP)
		time.Sleep(10 * time.Millisecond)
		for _, g := range snap.Groups {
			if g.Type != "file" {
				continue
			}
			first := g.Members[0]
			for _, x := range g.Members[1:] {
				o, err := SystemComparer{}.FileDescs(first.PID, first.FD, x.PID, x.FD)
				if err != nil {
					continue // exited since: not a wrong group
				}
				if o != 0 && x.PID != churner && first.PID != churner {
					t.Errorf("scan %d: group %v: %v and %v are no longer one object", i, g.Members, first, x)
				}
			}
		}
		unix.Kill(churner, unix.SIGCONT)
	}
	t.Logf("members dropped by verification over 15 scans: %d", dropped)
}
