//go:build linux

package analyzer

import (
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
)

// SkipChurn counts group members dropped by the final verification: their
// fd or task changed while the scan ran.
const SkipChurn = "members_dropped_churn"

// verifyGroups re-checks every group against the kernel at the end of a
// run on live (unfrozen) processes: fds are closed and numbers reused, and
// tasks exit, while a scan runs. Each member is compared with the group's
// members; the largest set that kcmp still calls one object is kept (when
// it has two or more), the rest is dropped and counted. A reported group
// therefore held one object when the run ended: never a group that did
// not exist. It costs about one kcmp call per grouped member.
func (s *state) verifyGroups(groups []snapshot.Group) []snapshot.Group {
	// The calls are counted apart, under "verify", so that the per-type
	// counts stay the cost of grouping.
	cnt := newCounter(s.cmp)
	defer func() {
		var n int64
		for _, c := range cnt.calls {
			n += c
		}
		s.tally.mu.Lock()
		s.tally.calls["verify"] += n
		for k, v := range cnt.errors {
			s.tally.errors[k] += v
		}
		s.tally.mu.Unlock()
	}()
	out := groups[:0]
	for _, g := range groups {
		t, err := kcmp.ParseType(g.Type)
		if err != nil {
			continue
		}
		same := func(a, b snapshot.Member) bool {
			var o kcmp.Order
			var err error
			if t == kcmp.File {
				o, err = cnt.file(a.PID, a.FD, b.PID, b.FD)
			} else {
				o, err = cnt.task(t, a.TID, b.TID)
			}
			return err == nil && o == kcmp.Equal
		}
		// Partition by equality with a representative; almost always one
		// class, so about one call per member.
		var classes [][]snapshot.Member
	next:
		for _, m := range g.Members {
			for i, c := range classes {
				if same(c[0], m) {
					classes[i] = append(classes[i], m)
					continue next
				}
			}
			classes = append(classes, []snapshot.Member{m})
		}
		best := 0
		for i, c := range classes {
			if len(c) > len(classes[best]) {
				best = i
			}
		}
		kept := classes[best]
		s.skipped[SkipChurn] += len(g.Members) - len(kept)
		if len(kept) >= 2 {
			out = append(out, snapshot.Group{Type: g.Type, Members: kept})
		}
	}
	return out
}
