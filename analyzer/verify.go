//go:build linux

package analyzer

import (
	"runtime"
	"sync"
	"sync/atomic"

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
	// Groups are independent: workers on all CPUs take them in chunks.
	// The calls are counted apart, under "verify", so that the per-type
	// counts stay the cost of grouping.
	kept := make([][]snapshot.Member, len(groups))
	const chunk = 64
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(1, len(groups)/chunk)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cnt := newCounter(s.cmp)
			dropped := 0
			for {
				lo := int(next.Add(chunk) - chunk)
				if lo >= len(groups) {
					break
				}
				for i := lo; i < min(lo+chunk, len(groups)); i++ {
					kept[i] = verifyGroup(cnt, &groups[i])
					dropped += len(groups[i].Members) - len(kept[i])
				}
			}
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
			s.mu.Lock()
			s.skipped[SkipChurn] += dropped
			s.mu.Unlock()
		}()
	}
	wg.Wait()
	out := groups[:0]
	for i := range groups {
		if len(kept[i]) >= 2 {
			out = append(out, snapshot.Group{Type: groups[i].Type, Members: kept[i]})
		}
	}
	return out
}

// verifyGroup returns the members of g that kcmp still calls one object:
// the largest class of members equal among themselves. Almost always all
// members equal the first, and that costs one call per member and no
// allocation.
func verifyGroup(cnt *counter, g *snapshot.Group) []snapshot.Member {
	t, err := kcmp.ParseType(g.Type)
	if err != nil {
		return nil
	}
	same := func(a, b snapshot.Member) bool {
		var o kcmp.Order
		var err error
		if t == kcmp.File {
			o, err = cnt.file(a.TaskID(), a.FD, b.TaskID(), b.FD)
		} else {
			o, err = cnt.task(t, a.TID, b.TID)
		}
		return err == nil && o == kcmp.Equal
	}
	first := -1
	for i := 1; i < len(g.Members); i++ {
		if !same(g.Members[0], g.Members[i]) {
			first = i
			break
		}
	}
	if first < 0 {
		return g.Members
	}
	// Partition by equality with a representative of each class.
	classes := [][]snapshot.Member{append([]snapshot.Member(nil), g.Members[:first]...), {g.Members[first]}}
next:
	for _, m := range g.Members[first+1:] {
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
	return classes[best]
}
