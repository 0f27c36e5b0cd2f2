//go:build linux

package analyzer

import (
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// fileGroupsOut turns the union-find into groups of {pid, fd}, adding the
// fds of processes that share an owner's fd table: their fd N is the
// owner's fd N. Members are counted first and then laid into one array:
// no per-group slice grows and is thrown away (9 MB of garbage on a
// 100k-fd host before).
func (s *state) fileGroupsOut(g *fileGroups, filesParent []int) []snapshot.Group {
	size := make([]int32, len(g.cands))
	total := 0
	s.fileMembers(g, filesParent, func(r int, _ snapshot.Member) { size[r]++ }, true)
	for _, n := range size {
		if n >= 2 {
			total += int(n)
		}
	}
	// Each group gets its exact share of one array; gi is a root's group
	// index plus one, 0 for roots of a single fd.
	all := make([]snapshot.Member, 0, total)
	gi := make([]int32, len(g.cands))
	var groups []snapshot.Group
	for r, n := range size {
		if n >= 2 {
			lo := len(all)
			all = all[:lo+int(n)]
			groups = append(groups, snapshot.Group{Type: snapshot.TypeFile, Members: all[lo:lo:len(all)]})
			gi[r] = int32(len(groups))
		}
	}
	s.fileMembers(g, filesParent, func(r int, m snapshot.Member) {
		if i := gi[r]; i > 0 {
			groups[i-1].Members = append(groups[i-1].Members, m)
		}
	}, false)
	return groups
}

// fileMembers calls fn with the root and member of every fd that took part
// in file grouping, then of every fd of a process sharing an owner's
// table; count says whether dropped and raced fds are counted as skipped
// on this pass.
func (s *state) fileMembers(g *fileGroups, filesParent []int, fn func(root int, m snapshot.Member), count bool) {
	for c, cand := range g.cands {
		if g.dropped[c] {
			if count {
				s.skipped[SkipFDsRaced]++
			}
			continue
		}
		fn(g.uf.find(c), snapshot.Member{PID: s.procs[cand.proc].PID, FD: int(cand.fd)})
	}
	for pi, owner := range filesParent {
		if owner < 0 || !s.eligible[pi] {
			continue
		}
		p := s.procs[pi]
		for i := range p.FDs {
			fd := &p.FDs[i]
			c := g.candOf(s, owner, fd.Num)
			if c < 0 || g.dropped[c] || g.keyOf(s, c) != g.keys.key(fd) {
				// The tables were read at different moments and differ
				// here: the fd changed in between.
				if count {
					s.skipped[SkipFDsRaced]++
				}
				continue
			}
			fn(g.uf.find(c), snapshot.Member{PID: p.PID, FD: fd.Num})
		}
	}
}

// holdersOf sets, for each description (union-find root) that is a key
// of low, the lowest {pid, fd} holding it, counting processes that share
// an fd table. Only the descriptions asked for are kept: a map of every
// description on a 100k-fd host was a megabyte or two for the few that
// epoll watches.
func (s *state) holdersOf(g *fileGroups, filesParent []int, low map[int]snapshot.Member) {
	if len(low) == 0 {
		return
	}
	consider := func(r int, m snapshot.Member) {
		if cur, ok := low[r]; ok && (cur == (snapshot.Member{}) || m.Less(cur)) {
			low[r] = m
		}
	}
	for c, cand := range g.cands {
		if g.dropped[c] {
			continue
		}
		consider(g.uf.find(c), snapshot.Member{PID: s.procs[cand.proc].PID, FD: int(cand.fd)})
	}
	for pi, owner := range filesParent {
		if owner < 0 || !s.eligible[pi] {
			continue
		}
		p := s.procs[pi]
		for i := range p.FDs {
			if c := g.candOf(s, owner, p.FDs[i].Num); c >= 0 && !g.dropped[c] && g.keyOf(s, c) == g.keys.key(&p.FDs[i]) {
				consider(g.uf.find(c), snapshot.Member{PID: p.PID, FD: p.FDs[i].Num})
			}
		}
	}
}

// approximateFileGroups groups fds by bucket key alone, for hosts without
// kcmp: a dup and a second open() of one file cannot be told apart.
func (s *state) approximateFileGroups() []snapshot.Group {
	sets := map[bucketKey][]snapshot.Member{}
	var order []bucketKey
	keys := newKeyer(s.procs, func(pi int) bool { return s.eligible[pi] })
	for pi, p := range s.procs {
		if !s.eligible[pi] {
			continue
		}
		for i := range p.FDs {
			k := keys.key(&p.FDs[i])
			if _, ok := sets[k]; !ok {
				order = append(order, k)
			}
			sets[k] = append(sets[k], snapshot.Member{PID: p.PID, FD: p.FDs[i].Num})
		}
	}
	var groups []snapshot.Group
	for _, k := range order {
		if m := sets[k]; len(m) >= 2 {
			groups = append(groups, snapshot.Group{Type: snapshot.TypeFile, Members: m})
		}
	}
	return groups
}
