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
// one side and in a group on the other.
type soleFD struct {
	key holderKey
	p   *snapshot.Process
	fd  *snapshot.FD
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
	return map[holderKey]Holder{s.key: fdHolder(s.p, s.fd)}
}

// markReplaced returns after holders with the keys of replaced fds
// marked (holderKey.replaced): a copy if there are any, else after.
func (m *fileMatch) markReplaced(after map[holderKey]Holder) map[holderKey]Holder {
	found := false
	for k := range after {
		if m.replaced[k] != nil {
			found = true
			break
		}
	}
	if !found {
		return after
	}
	out := make(map[holderKey]Holder, len(after))
	for k, h := range after {
		k.replaced = m.replaced[k] != nil
		out[k] = h
	}
	return out
}

// persistFD is an fd in both snapshots: its key, before and after, and
// its process after.
type persistFD struct {
	key    holderKey
	fa, fb *snapshot.FD
	q      *snapshot.Process
}

// order sorts persistFDs the way holders sort.
func (f *persistFD) order() [4]uint64 {
	return [4]uint64{uint64(f.q.PID), f.q.StartTime, uint64(f.fa.Thread), uint64(f.fa.FD)}
}

func lessOrder(a, b [4]uint64) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// descEdge joins a description of each side through the fds that are in
// both snapshots and hold the one before and the other after.
type descEdge struct {
	a, b int
	fds  []persistFD
	// How much of what belongs to a description agrees on the edge's
	// fds: the flags fcntl can change (O_CLOEXEC left out, it is the
	// fd's), and the file position.
	sameFlags, samePos int
	low                [4]uint64 // its lowest fd, as persistFD.order
}

// matchFiles matches the open file descriptions of the two snapshots, as
// the package documentation says ("Same fd, another description"): by
// the fds in both that hold them, strongest links first (most fds, then
// most settable flags kept, then most positions kept), each description
// at most once; the fds of the links left over, and those whose
// immutable flags changed, hold another description.
func (c *comparer) matchFiles() *fileMatch {
	m := &fileMatch{ha: c.holding(c.a, snapshot.TypeFile), hb: c.holding(c.b, snapshot.TypeFile), replaced: map[holderKey]*FDReplaced{}}
	edges := map[[2]int]*descEdge{}
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
			if immutable := ^(snapshot.SettableFlags | snapshot.FDOnlyFlags); (fa.Flags^fb.Flags)&immutable != 0 {
				m.replaced[k] = replacedFD(fa, fb, true, "flags that open(2) sets for a description's life differ")
				continue
			}
			a, inA := m.ha.group[k]
			b, inB := m.hb.group[k]
			if !inA && !inB {
				// Alone on both sides: its edge is the only one of
				// either description, so it keeps its description.
				continue
			}
			if !inA {
				a = len(m.ha.groups) + len(m.soleA)
				m.soleA = append(m.soleA, soleFD{k, p, fa})
			}
			if !inB {
				b = len(m.hb.groups) + len(m.soleB)
				m.soleB = append(m.soleB, soleFD{k, q, fb})
			}
			pf := persistFD{k, fa, fb, q}
			e := edges[[2]int{a, b}]
			if e == nil {
				e = &descEdge{a: a, b: b, low: pf.order()}
				edges[[2]int{a, b}] = e
			}
			e.fds = append(e.fds, pf)
			if o := pf.order(); lessOrder(o, e.low) {
				e.low = o
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
		return lessOrder(list[i].low, list[j].low)
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
		for _, f := range kept.fds {
			others = append(others, fdHolder(f.q, f.fb))
		}
		sortHolders(others)
		if len(others) > 3 {
			others = others[:3]
		}
		why := holdersText(others) + " kept the description they shared"
		if usedA[e.a] == nil {
			why = "it shares the description " + holdersText(others) + " kept"
		}
		for _, f := range e.fds {
			r := replacedFD(f.fa, f.fb, certain, why)
			if !certain {
				r.Evidence = append(r.Evidence, "or they changed instead: the snapshots show nothing that tells which")
			}
			m.replaced[f.key] = r
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
