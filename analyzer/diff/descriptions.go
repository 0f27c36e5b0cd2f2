package diff

import (
	"fmt"
	"sort"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// fileMatch is the open file descriptions of the two sides, matched. A
// description is a file group, or an fd in no group (it holds one alone);
// ids below len(groups) are groups, the rest index sole.
type fileMatch struct {
	ha, hb       holding
	soleA, soleB []soleFD
	// pairs are the matched descriptions (a before id, an after id), then
	// the groups no description of the other side is: -1 there.
	pairs [][2]int
	// replaced holds the fds in both snapshots, with one number and
	// inode, that hold another description after; by their key.
	replaced map[holderKey]*FDReplaced
}

// soleFD is an fd of a process in both snapshots that is in no group on
// one side.
type soleFD struct {
	key holderKey
	h   Holder
}

// holders returns the holders of description id on one side.
func (m *fileMatch) holders(h holding, sole []soleFD, id int) map[holderKey]Holder {
	switch {
	case id < 0:
		return map[holderKey]Holder{}
	case id < len(h.groups):
		return h.groups[id]
	}
	s := sole[id-len(h.groups)]
	return map[holderKey]Holder{s.key: s.h}
}

// descEdge joins a description of each side through the fds that are in
// both snapshots and hold the one before and the other after.
type descEdge struct {
	a, b int
	fds  []holderKey
	// How much of what belongs to a description agrees on the edge's
	// fds: the flags fcntl can change (O_CLOEXEC left out, it is the
	// fd's), and the file position.
	sameFlags, samePos int
	low                Holder
}

// matchFiles matches the open file descriptions of the two snapshots, as
// the package documentation says ("Same fd, another description"): by
// the fds in both that hold them, strongest links first (most fds, then
// most settable flags kept, then most positions kept), each description
// at most once; the fds of the links left over, and those whose
// immutable flags changed, hold another description.
func (c *comparer) matchFiles() *fileMatch {
	m := &fileMatch{ha: c.holding(c.a, snapshot.TypeFile), hb: c.holding(c.b, snapshot.TypeFile), replaced: map[holderKey]*FDReplaced{}}
	soleIDA, soleIDB := map[holderKey]int{}, map[holderKey]int{}
	descOf := func(h holding, sole *[]soleFD, ids map[holderKey]int, k holderKey, show Holder) int {
		if g, ok := h.group[k]; ok {
			return g
		}
		if id, ok := ids[k]; ok {
			return id
		}
		id := len(h.groups) + len(*sole)
		*sole = append(*sole, soleFD{k, show})
		ids[k] = id
		return id
	}
	edges := map[[2]int]*descEdge{}
	type persisting struct {
		fa, fb *snapshot.FD
		h      Holder // after's
	}
	both := map[holderKey]persisting{}
	for pk, q := range c.b.procs {
		p, ok := c.a.procs[pk]
		if !ok || c.a.partial[p.PID] || c.b.partial[q.PID] {
			continue
		}
		for i := range p.FDs {
			fa := &p.FDs[i]
			if !c.keepFD(fa.FD) {
				continue
			}
			fb := q.FDIn(fa.Thread, fa.FD)
			if fb == nil || fdKeyOf(fb) != fdKeyOf(fa) {
				continue
			}
			k := holderKey{proc: pk, fd: fdKeyOf(fa)}
			both[k] = persisting{fa, fb, fdHolder(q, fb)}
			if immutable := ^(snapshot.SettableFlags | snapshot.FDOnlyFlags); (fa.Flags^fb.Flags)&immutable != 0 {
				m.replaced[k] = replacedFD(fa, fb, true, "flags that open(2) sets for a description's life differ")
				continue
			}
			show := fdHolder(p, fa)
			a := descOf(m.ha, &m.soleA, soleIDA, k, show)
			b := descOf(m.hb, &m.soleB, soleIDB, k, fdHolder(q, fb))
			e := edges[[2]int{a, b}]
			if e == nil {
				e = &descEdge{a: a, b: b, low: show}
				edges[[2]int{a, b}] = e
			}
			e.fds = append(e.fds, k)
			if show.less(e.low) {
				e.low = show
			}
			if (fa.Flags^fb.Flags)&^snapshot.FDOnlyFlags == 0 {
				e.sameFlags++
			}
			if fa.Pos == fb.Pos {
				e.samePos++
			}
		}
	}
	list := make([]*descEdge, 0, len(edges))
	for _, e := range edges {
		list = append(list, e)
	}
	score := func(e *descEdge) [3]int { return [3]int{len(e.fds), e.sameFlags, e.samePos} }
	sort.Slice(list, func(i, j int) bool {
		x, y := score(list[i]), score(list[j])
		if x != y {
			return x[0] > y[0] || x[0] == y[0] && (x[1] > y[1] || x[1] == y[1] && x[2] > y[2])
		}
		return list[i].low.less(list[j].low)
	})
	usedA, usedB := map[int]*descEdge{}, map[int]*descEdge{}
	for _, e := range list {
		kept := usedA[e.a]
		if kept == nil {
			kept = usedB[e.b]
		}
		if kept == nil {
			usedA[e.a], usedB[e.b] = e, e
			m.pairs = append(m.pairs, [2]int{e.a, e.b})
			continue
		}
		// Another edge took one of these descriptions: this edge's fds
		// hold another one now, for certain unless that edge won a tie.
		certain := score(kept) != score(e)
		var others []Holder
		for _, k := range kept.fds {
			others = append(others, both[k].h)
		}
		sortHolders(others)
		if len(others) > 3 {
			others = others[:3]
		}
		why := holdersText(others) + " kept the description they shared"
		if usedA[e.a] == nil {
			why = "it shares the description " + holdersText(others) + " kept"
		}
		for _, k := range e.fds {
			p := both[k]
			r := replacedFD(p.fa, p.fb, certain, why)
			if !certain {
				r.Evidence = append(r.Evidence, "or they changed instead: the snapshots show nothing that tells which")
			}
			m.replaced[k] = r
		}
	}
	for i := range m.ha.groups {
		if usedA[i] == nil {
			m.pairs = append(m.pairs, [2]int{i, -1})
		}
	}
	for i := range m.hb.groups {
		if usedB[i] == nil {
			m.pairs = append(m.pairs, [2]int{-1, i})
		}
	}
	return m
}

// replacedFD describes fd fa of a process, fb after, as holding another
// description: why, then what changed of what a description owns.
func replacedFD(fa, fb *snapshot.FD, certain bool, why string) *FDReplaced {
	r := &FDReplaced{FD: fdOf(fb), BeforeFlags: snapshot.FlagsText(fa.Flags), AfterFlags: snapshot.FlagsText(fb.Flags),
		BeforePos: fa.Pos, AfterPos: fb.Pos, Certain: certain, Evidence: []string{why}}
	if fa.Flags != fb.Flags {
		r.Evidence = append(r.Evidence, fmt.Sprintf("flags %s → %s", r.BeforeFlags, r.AfterFlags))
	}
	if fa.Pos != fb.Pos {
		r.Evidence = append(r.Evidence, fmt.Sprintf("position %d → %d", fa.Pos, fb.Pos))
	}
	return r
}

// fdHolder is fd f of process p as a holder.
func fdHolder(p *snapshot.Process, f *snapshot.FD) Holder {
	fd := f.FD
	h := Holder{PID: p.PID, StartTime: p.StartTime, Comm: p.Comm, FD: &fd}
	if f.Thread != 0 {
		tid := f.Thread
		h.TID = &tid
	}
	return h
}
