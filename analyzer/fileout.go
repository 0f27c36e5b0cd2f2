//go:build linux

package analyzer

import (
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// fileGroupsOut turns the union-find into groups of {pid, fd} (and {pid,
// fd, tid} for task tables), adding the fds of tables that are an owner's
// fd table: their fd N is the owner's fd N. Members are counted first and then laid into one array:
// no per-group slice grows and is thrown away (9 MB of garbage on a
// 100k-fd host before).
func (s *state) fileGroupsOut(g *fileGroups, owner []int) []snapshot.Group {
	size := make([]int32, len(g.cands))
	total := 0
	s.fileMembers(g, owner, func(r int, _ snapshot.Member) { size[r]++ }, true)
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
	s.fileMembers(g, owner, func(r int, m snapshot.Member) {
		if i := gi[r]; i > 0 {
			groups[i-1].Members = append(groups[i-1].Members, m)
		}
	}, false)
	return groups
}

// fileMembers calls fn with the root and member of every fd that took part
// in file grouping, then of every fd of a table that is an owner's; count
// says whether dropped and raced fds are counted as skipped on this pass.
func (s *state) fileMembers(g *fileGroups, owner []int, fn func(root int, m snapshot.Member), count bool) {
	for c := range g.cands {
		if g.dropped[c] {
			if count {
				s.skipped[SkipFDsRaced]++
			}
			continue
		}
		fn(g.uf.find(c), g.memberOf(s, c))
	}
	for ti, own := range owner {
		if own < 0 || !s.tableEligible(ti) {
			continue
		}
		fds := s.tables[ti].FDs()
		for i := range fds {
			fd := &fds[i]
			c := g.candOf(s, own, fd.Num)
			if c < 0 || g.dropped[c] || g.keyOf(s, c) != g.keys.key(fd) {
				// The tables were read at different moments and differ
				// here: the fd changed in between.
				if count {
					s.skipped[SkipFDsRaced]++
				}
				continue
			}
			fn(g.uf.find(c), s.member(ti, fd.Num))
		}
	}
}

// holdersOf sets, for each description (union-find root) that is a key
// of low, the lowest fd member holding it, counting tables that are an
// owner's. Only the descriptions asked for are kept: a map of every
// description on a 100k-fd host was a megabyte or two for the few that
// epoll watches.
func (s *state) holdersOf(g *fileGroups, owner []int, low map[int]snapshot.Member) {
	if len(low) == 0 {
		return
	}
	consider := func(r int, m snapshot.Member) {
		if cur, ok := low[r]; ok && (cur == (snapshot.Member{}) || m.Less(cur)) {
			low[r] = m
		}
	}
	for c := range g.cands {
		if g.dropped[c] {
			continue
		}
		consider(g.uf.find(c), g.memberOf(s, c))
	}
	for ti, own := range owner {
		if own < 0 || !s.tableEligible(ti) {
			continue
		}
		fds := s.tables[ti].FDs()
		for i := range fds {
			if c := g.candOf(s, own, fds[i].Num); c >= 0 && !g.dropped[c] && g.keyOf(s, c) == g.keys.key(&fds[i]) {
				consider(g.uf.find(c), s.member(ti, fds[i].Num))
			}
		}
	}
}

// approximateFileGroups groups fds by bucket key alone, for hosts without
// kcmp: a dup and a second open() of one file cannot be told apart.
func (s *state) approximateFileGroups() []snapshot.Group {
	sets := map[bucketKey][]snapshot.Member{}
	var order []bucketKey
	keys := newKeyer(s.tables, s.tableEligible)
	for ti := range s.tables {
		if !s.tableEligible(ti) {
			continue
		}
		fds := s.tables[ti].FDs()
		for i := range fds {
			k := keys.key(&fds[i])
			if _, ok := sets[k]; !ok {
				order = append(order, k)
			}
			sets[k] = append(sets[k], s.member(ti, fds[i].Num))
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
