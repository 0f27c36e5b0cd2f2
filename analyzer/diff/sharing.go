package diff

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
)

// holderKey identifies a holder across snapshots: a task of a process,
// or an fd of a process together with what it points at, so that a
// number reused for another file is another holder.
type holderKey struct {
	proc procKey
	tid  int // 0 for an fd
	fd   fdKey
	// replaced marks, on the AFTER side, an fd with the key of one before
	// that holds another description now (fileMatch.replaced): another
	// holder.
	replaced bool
}

// holding is one side's holders of one group type.
type holding struct {
	group  map[holderKey]int      // holder -> index in groups
	groups []map[holderKey]Holder // each group's holders
	lowest []Holder               // each group's lowest holder
}

func (c *comparer) holding(v *view, typ string) holding {
	n := 0
	for _, g := range v.s.Groups {
		if g.Type == typ {
			n += len(g.Members)
		}
	}
	h := holding{group: make(map[holderKey]int, n)}
	for _, g := range v.s.Groups {
		if g.Type != typ {
			continue
		}
		held := make(map[holderKey]Holder, len(g.Members))
		var low Holder
		for _, m := range g.Members {
			p := v.proc(m.PID)
			if p == nil || v.partial[p.PID] {
				continue
			}
			k := holderKey{proc: v.key[p.PID]}
			show := Holder{PID: p.PID, StartTime: p.StartTime, Comm: p.Comm}
			if snapshot.IsTaskType(typ) {
				tid := m.TID
				k.tid, show.TID = tid, &tid
			} else {
				f := p.FDOf(m)
				if f == nil || !c.keepFD(f.FD) {
					continue
				}
				k.fd, show = fdKeyOf(f), fdHolder(p, f)
			}
			if _, dup := h.group[k]; dup {
				continue // not in a valid snapshot
			}
			if len(held) == 0 || show.less(low) {
				low = show
			}
			held[k] = show
			h.group[k] = len(h.groups)
		}
		if len(held) > 0 {
			h.groups = append(h.groups, held)
			h.lowest = append(h.lowest, low)
		}
	}
	return h
}

// match pairs the groups of the two sides that are one object. Groups
// carry no identity (kcmp's order is per boot), so an object is known by
// its holders: each group is paired with the group of the other side
// with which it shares the most holders, largest overlaps first, each
// group at most once. A holder key cannot prove that two groups are one
// object (a number dup2'd onto another description of the same file keeps
// its key), which is why the strongest overlap wins instead of any. Ties
// are broken by the groups' lowest holders, never by their order in the
// files.
func match(ha, hb holding) [][2]int {
	overlap := map[[2]int]int{}
	for k, ga := range ha.group {
		if gb, ok := hb.group[k]; ok {
			overlap[[2]int{ga, gb}]++
		}
	}
	type edge struct{ a, b, n int }
	edges := make([]edge, 0, len(overlap))
	for ab, n := range overlap {
		edges = append(edges, edge{ab[0], ab[1], n})
	}
	sort.Slice(edges, func(i, j int) bool {
		x, y := edges[i], edges[j]
		if x.n != y.n {
			return x.n > y.n
		}
		if la, lb := ha.lowest[x.a], ha.lowest[y.a]; la.less(lb) || lb.less(la) {
			return la.less(lb)
		}
		return hb.lowest[x.b].less(hb.lowest[y.b])
	})
	usedA, usedB := map[int]bool{}, map[int]bool{}
	var pairs [][2]int
	for _, e := range edges {
		if !usedA[e.a] && !usedB[e.b] {
			usedA[e.a], usedB[e.b] = true, true
			pairs = append(pairs, [2]int{e.a, e.b})
		}
	}
	for i := range ha.groups {
		if !usedA[i] {
			pairs = append(pairs, [2]int{i, -1})
		}
	}
	for i := range hb.groups {
		if !usedB[i] {
			pairs = append(pairs, [2]int{-1, i})
		}
	}
	return pairs
}

// sharing reports the objects of one type whose holders changed.
// File objects are the descriptions matchFiles matched; per-task objects
// are matched by match.
func (c *comparer) sharing(typ string) []SharingChange {
	if !c.compares(typ) {
		return nil
	}
	var out []SharingChange
	if typ == snapshot.TypeFile {
		m := c.files
		for _, pair := range m.pairs {
			before, after := m.holders(m.ha, m.soleA, pair[0]), m.holders(m.hb, m.soleB, pair[1])
			after = m.markReplaced(after)
			if ch, ok := c.change(typ, before, after); ok {
				out = append(out, ch)
			}
		}
		return out
	}
	ha, hb := c.holding(c.a, typ), c.holding(c.b, typ)
	for _, pair := range match(ha, hb) {
		before, after := map[holderKey]Holder{}, map[holderKey]Holder{}
		if pair[0] >= 0 {
			before = ha.groups[pair[0]]
		}
		if pair[1] >= 0 {
			after = hb.groups[pair[1]]
		}
		if ch, ok := c.change(typ, before, after); ok {
			out = append(out, ch)
		}
	}
	return out
}

// change describes one object held by before and by after, if its
// holders changed and it is shared on either side.
func (c *comparer) change(typ string, before, after map[holderKey]Holder) (SharingChange, bool) {
	ch := SharingChange{Type: typ, Before: []Holder{}, After: []Holder{}, Joined: []Holder{}, Left: []Holder{}, Leaked: []Holder{}}
	procsBefore := map[procKey]bool{}
	for k, h := range before {
		ch.Before = append(ch.Before, h)
		procsBefore[k.proc] = true
		if _, ok := after[k]; !ok {
			ch.Left = append(ch.Left, h)
		}
	}
	for k, h := range after {
		ch.After = append(ch.After, h)
		if _, ok := before[k]; !ok {
			ch.Joined = append(ch.Joined, h)
			if typ == snapshot.TypeFile {
				if why := c.leakReason(k, len(before) > 0 && !procsBefore[k.proc]); why != "" {
					h.Reason = why
					ch.Leaked = append(ch.Leaked, h)
				}
			}
		}
	}
	if len(ch.Joined)+len(ch.Left) == 0 || len(ch.Before) < 2 && len(ch.After) < 2 {
		return ch, false
	}
	switch {
	case len(ch.Before) <= 1 && len(ch.After) > 1:
		ch.Change = Began
	case len(ch.After) <= 1 && len(ch.Before) > 1:
		ch.Change = Ended
	default:
		ch.Change = Changed
	}
	ch.Leak = len(ch.Leaked) > 0
	for _, l := range [][]Holder{ch.Before, ch.After, ch.Joined, ch.Left, ch.Leaked} {
		sortHolders(l)
	}
	if t, ok := kcmp.Named(typ); ok {
		ch.Object, ch.Name = t.Info().Struct, c.b.names.Group(snapshot.Group{Type: typ}).Text
	}
	if typ == snapshot.TypeFile {
		ch.Object, ch.Name = c.fileObjectName(before, after)
	}
	return ch, true
}

// Leak reasons (Holder.Reason, FD.Leak).
const (
	// LeakReceived: the description had holders before, and a process
	// that ran before and held none of it holds it now.
	LeakReceived = "it ran before and received a description that existed before (SCM_RIGHTS, pidfd_getfd)"
	// LeakExec: the process started since, and holds the description
	// across an exec into another program.
	LeakExec = "it started since and holds the description across an exec into another program"
)

// leakReason says why the file holder k that joined an object is a leak,
// or "". shared says the object had holders before, none in k's process.
// Two rules: a description that existed before now also held by a
// process that did not hold it (received while it ran, or kept across an
// exec: leaked); and a description that arrived in a process that ran
// before whose credentials could not have opened it, new or not
// (cannotOpen).
func (c *comparer) leakReason(k holderKey, shared bool) string {
	var why []string
	if shared && c.leaked(k.proc) {
		if _, ran := c.a.procs[k.proc]; ran {
			why = append(why, LeakReceived)
		} else {
			why = append(why, LeakExec)
		}
	}
	if q := c.b.procs[k.proc]; q != nil {
		if f := q.FDIn(k.fd.thread, k.fd.fd); f != nil {
			if r := c.cannotOpen(q, f); r != "" {
				why = append(why, r)
			}
		}
	}
	return strings.Join(why, "; ")
}

// cannotOpen says why fd f that appeared in process q of AFTER (or holds
// another description than before) is a leak, or "": q ran before, f
// opens a regular file or directory, and q's credentials, before and
// after, could not have opened it (snapshot.MayOpen, the test audit's
// KG001 makes). Sockets, pipes and devices are passed on purpose too
// often to be judged this way.
func (c *comparer) cannotOpen(q *snapshot.Process, f *snapshot.FD) string {
	p := c.a.procs[c.b.key[q.PID]]
	if p == nil || !f.IsFileOrDir() || snapshot.MayOpen(q, f) || snapshot.MayOpen(p, f) {
		return ""
	}
	return fmt.Sprintf("it ran before, and uid %d could not have opened it (%s, mode %04o, owner %d:%d)",
		q.EUID, accessText(f.Flags), f.Mode&0o7777, f.OwnerUID, f.OwnerGID)
}

func accessText(flags int) string {
	switch flags & snapshot.OAccMode {
	case snapshot.OWrOnly:
		return "for writing"
	case snapshot.ORdWr:
		return "for reading and writing"
	}
	return "for reading"
}

// leaked reports whether a process that now holds a file object it did
// not hold before (next to other holders) got it by a leak: it ran before
// (so it received the description), or it started since and exec'd (so
// the description survived the exec), rather than being forked and
// inheriting its parent's table. Without a parent to compare with, it is
// a leak: nothing proves otherwise.
func (c *comparer) leaked(k procKey) bool {
	if _, ran := c.a.procs[k]; ran {
		return true
	}
	p := c.b.procs[k]
	parent := c.b.full.Process(p.PPID)
	if parent == nil || parent.PID == p.PID {
		return true
	}
	if p.Exe != "" && parent.Exe != "" {
		return p.Exe != parent.Exe
	}
	return p.Comm != parent.Comm
}

// fileObjectName is the target and the name of the object's lowest
// holder, on the AFTER side if it has holders.
func (c *comparer) fileObjectName(before, after map[holderKey]Holder) (string, string) {
	for _, side := range []struct {
		v       *view
		holders map[holderKey]Holder
	}{{c.b, after}, {c.a, before}} {
		var low *Holder
		for _, h := range side.holders {
			if low == nil || h.less(*low) {
				low = &h
			}
		}
		if low != nil {
			m := snapshot.Member{PID: low.PID, FD: *low.FD}
			if low.TID != nil {
				m.Thread = *low.TID
			}
			p := side.v.proc(low.PID)
			if f := p.FDOf(m); f != nil {
				return f.Target, side.v.name(p, f)
			}
		}
	}
	return "", ""
}

func sortHolders(hs []Holder) { sort.Slice(hs, func(i, j int) bool { return hs[i].less(hs[j]) }) }

func holdersText(hs []Holder) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = h.String()
	}
	return strings.Join(parts, " ")
}

// lowest is the lowest holder of a change, on either side.
func lowest(s SharingChange) Holder {
	var l Holder
	first := true
	for _, side := range [][]Holder{s.Before, s.After} {
		if len(side) > 0 && (first || side[0].less(l)) {
			l, first = side[0], false
		}
	}
	return l
}

// changeRank puts, between changes alike, what ended before what began,
// like "-" before "+".
var changeRank = map[string]int{Ended: 0, Changed: 1, Began: 2}

// sortSharing orders changes: leaks first, then by type, lowest holder,
// object, change and holders, so the order never depends on map
// iteration or on the order of the snapshots' groups.
func sortSharing(out []SharingChange) {
	rank := map[string]int{}
	for i, t := range snapshot.GroupTypes {
		rank[t] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.Leak != y.Leak {
			return x.Leak
		}
		if rank[x.Type] != rank[y.Type] {
			return rank[x.Type] < rank[y.Type]
		}
		lx, ly := lowest(x), lowest(y)
		if lx.less(ly) || ly.less(lx) {
			return lx.less(ly)
		}
		if x.Object != y.Object {
			return x.Object < y.Object
		}
		if x.Change != y.Change {
			return changeRank[x.Change] < changeRank[y.Change]
		}
		if a, b := holdersText(x.Before), holdersText(y.Before); a != b {
			return a < b
		}
		return holdersText(x.After) < holdersText(y.After)
	})
}
