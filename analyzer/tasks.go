//go:build linux

package analyzer

import (
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
)

type taskCand struct {
	proc int // index into state.procs; -1 for the sentinel
	tid  int
}

// groupTasks groups the tasks of the eligible processes by their object of
// type t. With threads false only thread-group leaders take part. It
// returns the groups (two or more members) and the NULL class.
func (s *state) groupTasks(t kcmp.Type, threads bool, filesParent []int) ([]snapshot.Group, []snapshot.Member) {
	cnt := newCounter(s.cmp)
	defer s.tally.add(cnt)
	// Types are grouped concurrently: what they report about the run is
	// merged under the state's lock when the type is done.
	vanished := 0
	var warning string
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if vanished > 0 {
			s.skipped[SkipTasksVanshed] += vanished
		}
		if warning != "" {
			s.warnings = append(s.warnings, warning)
		}
	}()
	var cands []taskCand
	leader := map[int]int{} // proc index -> candidate of its leader
	for pi, p := range s.procs {
		if !s.eligible[pi] {
			continue
		}
		leader[pi] = len(cands)
		cands = append(cands, taskCand{proc: pi, tid: p.PID})
		if threads {
			for _, tid := range p.Tasks {
				if tid != p.PID {
					cands = append(cands, taskCand{proc: pi, tid: tid})
				}
			}
		}
	}
	sentinel := -1
	if s.sentinel != nil && isNullType(t) {
		sentinel = len(cands)
		cands = append(cands, taskCand{proc: -1, tid: s.sentinel.PID()})
	}
	uf := newUnionFind(len(cands))
	dropped := make([]bool, len(cands))
	cmp := func(a, b int) (kcmp.Order, error) {
		return cnt.task(t, cands[a].tid, cands[b].tid)
	}
	alive := func(a int) bool {
		_, err := cnt.task(t, cands[a].tid, cands[a].tid)
		return err == nil
	}
	hint := func(a, b int) {
		if dropped[a] || dropped[b] {
			return
		}
		o, err := cmp(a, b)
		if err != nil {
			for _, x := range []int{a, b} {
				if !alive(x) {
					dropped[x] = true
				}
			}
			return
		}
		if o == kcmp.Equal {
			uf.union(a, b)
		}
	}
	// Threads almost always share their leader's object.
	for c, tc := range cands {
		if tc.proc >= 0 && tc.tid != s.procs[tc.proc].PID {
			hint(c, leader[tc.proc])
		}
	}
	switch t {
	case kcmp.Files:
		// Already proven with one KCMP_FILES call per process.
		for pi, owner := range filesParent {
			if owner >= 0 && s.eligible[pi] && s.eligible[owner] {
				uf.union(leader[pi], leader[owner])
			}
		}
	case kcmp.IO, kcmp.Sysvsem:
		// Most processes hold NULL here, as their parent does; one call
		// per process settles them, and the sort sees few survivors.
		for pi := range s.procs {
			if par := s.parent[pi]; s.eligible[pi] && par >= 0 && s.eligible[par] {
				hint(leader[pi], leader[par])
			}
		}
		if sentinel >= 0 && len(cands) > 1 {
			// Settle the sentinel against the first process, so the big
			// NULL class merges before the sort.
			hint(0, sentinel)
		}
	}
	var reps []int
	for c := range cands {
		if !dropped[c] && uf.find(c) == c {
			reps = append(reps, c)
		}
	}
	// Unions only ever make the lower index the root, and a dropped root
	// keeps its set: represent such a set by its lowest live member.
	reps = liveReps(uf, dropped, reps)
	_, lost, _ := groupDistinct(reps, cmp, uf.union, alive)
	for _, d := range lost {
		dropped[d] = true
	}
	if sentinel >= 0 && dropped[sentinel] {
		warning = "the NULL sentinel vanished; " + t.String() + " groups may include tasks with no object"
	}

	classes := map[int][]int{}
	for c := range cands {
		if dropped[c] {
			if cands[c].proc >= 0 {
				vanished++
			}
			continue
		}
		r := uf.find(c)
		classes[r] = append(classes[r], c)
	}
	var nullRoot = -1
	if sentinel >= 0 && !dropped[sentinel] {
		nullRoot = uf.find(sentinel)
	}
	var groups []snapshot.Group
	var null []snapshot.Member
	for r, members := range classes {
		if r == nullRoot {
			for _, c := range members {
				if c == sentinel {
					continue
				}
				m := snapshot.Member{PID: s.procs[cands[c].proc].PID, TID: cands[c].tid}
				if t == kcmp.IO || t == kcmp.Sysvsem {
					null = append(null, m)
				} else {
					// No address space, fd table or fs: the task exited
					// after it was read.
					vanished++
				}
			}
			continue
		}
		if len(members) < 2 {
			continue
		}
		g := snapshot.Group{Type: t.String()}
		for _, c := range members {
			g.Members = append(g.Members, snapshot.Member{PID: s.procs[cands[c].proc].PID, TID: cands[c].tid})
		}
		groups = append(groups, g)
	}
	return groups, null
}

func isNullType(t kcmp.Type) bool {
	for _, n := range kcmp.NullTypes {
		if n == t {
			return true
		}
	}
	return false
}

// liveReps adds, for each set whose root was dropped but which still has
// live members, its lowest live member.
func liveReps(uf unionFind, dropped []bool, reps []int) []int {
	seen := map[int]bool{}
	for _, r := range reps {
		seen[r] = true
	}
	for c := range dropped {
		if dropped[c] {
			continue
		}
		r := uf.find(c)
		if !seen[r] {
			seen[r] = true
			reps = append(reps, c)
		}
	}
	return reps
}
