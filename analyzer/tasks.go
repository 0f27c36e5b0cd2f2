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

// taskGrouping is the grouping of tasks by one per-task type, phase by
// phase: candidates, hints that cost a call each or nothing, a kcmp sort
// of what the hints left, and the classes turned into groups and the NULL
// class.
type taskGrouping struct {
	s        *state
	t        kcmp.Type
	cnt      *counter
	cands    []taskCand
	leader   map[int]int // proc index -> candidate of its leader
	sentinel int         // the sentinel's candidate, or -1
	uf       unionFind
	dropped  []bool
	vanished int    // candidates whose task exited, for the stats
	warning  string // for the run's warnings
}

// groupTasks groups the tasks of the eligible processes by their object of
// type t. With threads false only thread-group leaders take part. It
// returns the groups (two or more members) and the NULL class.
func (s *state) groupTasks(t kcmp.Type, threads bool, owner []int) ([]snapshot.Group, []snapshot.Member) {
	g := s.taskCandidates(t, threads)
	defer g.report()
	g.hints(owner)
	g.sort()
	return g.output()
}

// taskCandidates lists the tasks that take part: each eligible process's
// leader, then (with threads) its other tasks, and the NULL sentinel for
// the types where it holds NULL.
func (s *state) taskCandidates(t kcmp.Type, threads bool) *taskGrouping {
	g := &taskGrouping{s: s, t: t, cnt: newCounter(s.cmp), leader: map[int]int{}, sentinel: -1}
	for pi, p := range s.procs {
		if !s.eligible[pi] {
			continue
		}
		g.leader[pi] = len(g.cands)
		g.cands = append(g.cands, taskCand{proc: pi, tid: p.PID})
		if threads {
			for _, tid := range p.Tasks {
				if tid != p.PID {
					g.cands = append(g.cands, taskCand{proc: pi, tid: tid})
				}
			}
		}
	}
	if s.sentinel != nil && isNullType(t) {
		g.sentinel = len(g.cands)
		g.cands = append(g.cands, taskCand{proc: -1, tid: s.sentinel.PID()})
	}
	g.uf = newUnionFind(len(g.cands))
	g.dropped = make([]bool, len(g.cands))
	return g
}

// report adds what the grouping saw about the run to the state: types are
// grouped concurrently, so under its lock.
func (g *taskGrouping) report() {
	g.s.tally.add(g.cnt)
	g.s.mu.Lock()
	defer g.s.mu.Unlock()
	if g.vanished > 0 {
		g.s.skipped[SkipTasksVanished] += g.vanished
	}
	if g.warning != "" {
		g.s.warnings = append(g.s.warnings, g.warning)
	}
}

func (g *taskGrouping) cmp(a, b int) (kcmp.Order, error) {
	return g.cnt.task(g.t, g.cands[a].tid, g.cands[b].tid)
}

func (g *taskGrouping) alive(a int) bool {
	_, err := g.cnt.task(g.t, g.cands[a].tid, g.cands[a].tid)
	return err == nil
}

// hint compares two candidates once and joins them if equal; a failure
// drops the side that is gone.
func (g *taskGrouping) hint(a, b int) {
	if g.dropped[a] || g.dropped[b] {
		return
	}
	o, err := g.cmp(a, b)
	if err != nil {
		for _, x := range []int{a, b} {
			if !g.alive(x) {
				g.dropped[x] = true
			}
		}
		return
	}
	if o == kcmp.Equal {
		g.uf.union(a, b)
	}
}

// hints joins what is already known or costs one call: threads almost
// always share their leader's object; for fd tables, KCMP_FILES has
// already been asked per process (tableOwners) and per thread
// (findTaskTables); most processes hold a NULL I/O context and undo list,
// as their parent does.
func (g *taskGrouping) hints(owner []int) {
	s := g.s
	byTID := map[int]int{} // for task tables: tid -> candidate
	if g.t == kcmp.Files {
		for c, tc := range g.cands {
			if tc.proc >= 0 {
				byTID[tc.tid] = c
			}
		}
	}
	for c, tc := range g.cands {
		if tc.proc < 0 || tc.tid == s.procs[tc.proc].PID {
			continue
		}
		if g.t == kcmp.Files {
			if table, known := s.threadTable[tc.tid]; known {
				if table == 0 {
					g.uf.union(c, g.leader[tc.proc])
				} else if tc2, ok := byTID[table]; ok {
					g.uf.union(c, tc2)
				}
				continue
			}
		}
		g.hint(c, g.leader[tc.proc])
	}
	switch g.t {
	case kcmp.Files:
		for ti, own := range owner {
			if own < 0 || ti >= len(s.procs) || !s.eligible[ti] || !s.tableEligible(own) {
				continue
			}
			if c, ok := byTID[s.task(own)]; ok {
				g.uf.union(g.leader[ti], c)
			}
		}
	case kcmp.IO, kcmp.Sysvsem:
		for pi := range s.procs {
			if par := s.parent[pi]; s.eligible[pi] && par >= 0 && s.eligible[par] {
				g.hint(g.leader[pi], g.leader[par])
			}
		}
		if g.sentinel >= 0 && len(g.cands) > 1 {
			// Settle the sentinel against the first process, so the big
			// NULL class merges before the sort.
			g.hint(0, g.sentinel)
		}
	}
}

// sort sorts one representative of each set the hints left with kcmp,
// joining the equal ones.
func (g *taskGrouping) sort() {
	var reps []int
	for c := range g.cands {
		if !g.dropped[c] && g.uf.find(c) == c {
			reps = append(reps, c)
		}
	}
	// Unions only ever make the lower index the root, and a dropped root
	// keeps its set: represent such a set by its lowest live member.
	reps = liveReps(g.uf, g.dropped, reps)
	_, lost, _ := groupDistinct(reps, g.cmp, g.uf.union, g.alive)
	for _, d := range lost {
		g.dropped[d] = true
	}
	if g.sentinel >= 0 && g.dropped[g.sentinel] {
		g.warning = "the NULL sentinel vanished; " + g.t.String() + " groups may include tasks with no object"
	}
}

// output turns the classes into groups of two or more and the NULL class.
func (g *taskGrouping) output() ([]snapshot.Group, []snapshot.Member) {
	s := g.s
	classes := map[int][]int{}
	for c := range g.cands {
		if g.dropped[c] {
			if g.cands[c].proc >= 0 {
				g.vanished++
			}
			continue
		}
		r := g.uf.find(c)
		classes[r] = append(classes[r], c)
	}
	nullRoot := -1
	if g.sentinel >= 0 && !g.dropped[g.sentinel] {
		nullRoot = g.uf.find(g.sentinel)
	}
	member := func(c int) snapshot.Member {
		return snapshot.Member{PID: s.procs[g.cands[c].proc].PID, TID: g.cands[c].tid}
	}
	var groups []snapshot.Group
	var null []snapshot.Member
	for r, members := range classes {
		if r == nullRoot {
			for _, c := range members {
				switch {
				case c == g.sentinel:
				case g.t == kcmp.IO || g.t == kcmp.Sysvsem:
					null = append(null, member(c))
				default:
					// No address space, fd table or fs: the task exited
					// after it was read.
					g.vanished++
				}
			}
			continue
		}
		if len(members) < 2 {
			continue
		}
		grp := snapshot.Group{Type: g.t.String()}
		for _, c := range members {
			grp.Members = append(grp.Members, member(c))
		}
		groups = append(groups, grp)
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
