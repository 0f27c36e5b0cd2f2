package graphout

import (
	"sort"
	"strconv"
	"strings"
)

// coverage says how much of a box holds an object.
type coverage int

const (
	all  coverage = iota // every member
	one                  // exactly one member (of a box of several)
	some                 // more than one, not all
)

// side is one box's part in an object.
type side struct {
	b   *box
	cov coverage
	n   int // members holding it
}

// bundle is a set of items held by the same boxes in the same way: drawn
// as one note that lists them, with an edge to each holder box.
type bundle struct {
	sides []side
	items []*object
	// each is set when every item is held by one member of a box and
	// every member holds one: the box's members each have their own.
	each *box
	// inherited is set when the bundle is held, whole, by one box and
	// every box below it that holds it: drawn with one line to that box.
	inherited *box
}

// link is the channels (or epoll watches) between two boxes, drawn as
// one edge: from and to are the ends (from writes, to reads, when
// directed).
type link struct {
	from, to *box
	directed bool
	objs     []*object
	each     *box // as bundle.each
}

// boxes is the link's two boxes in a fixed order (by first pid), whatever
// its direction: the links between two boxes are drawn as one edge.
func (l *link) boxes() [2]*box {
	if l.from.pids[0] > l.to.pids[0] {
		return [2]*box{l.to, l.from}
	}
	return [2]*box{l.from, l.to}
}

// aggregate groups the objects by the boxes holding them: items held the
// same way by the same boxes make one bundle, links between the same two
// boxes one edge.
func aggregate(objs []*object, of boxOf) ([]*bundle, []*link) {
	bundles := map[string]*bundle{}
	var border []string
	links := map[string]*link{}
	var lorder []string
	for _, o := range objs {
		if o.link {
			for _, fb := range boxesOf(o.from, of) {
				for _, tb := range boxesOf(o.to, of) {
					key := strconv.Itoa(fb.b.pids[0]) + ">" + strconv.Itoa(tb.b.pids[0]) + "/" + o.typ
					if !o.directed {
						a, b := fb.b.pids[0], tb.b.pids[0]
						if a > b {
							a, b = b, a
						}
						key = strconv.Itoa(a) + "-" + strconv.Itoa(b) + "/" + o.typ
					}
					l := links[key]
					if l == nil {
						l = &link{from: fb.b, to: tb.b, directed: o.directed}
						links[key] = l
						lorder = append(lorder, key)
					}
					l.objs = append(l.objs, o)
				}
			}
			continue
		}
		sides := boxesOf(o.pids, of)
		var parts []string
		for _, sd := range sides {
			parts = append(parts, strconv.Itoa(sd.b.pids[0])+":"+strconv.Itoa(int(sd.cov)))
		}
		key := strings.Join(parts, ",")
		bd := bundles[key]
		if bd == nil {
			bd = &bundle{sides: sides}
			bundles[key] = bd
			border = append(border, key)
		}
		bd.items = append(bd.items, o)
		for i := range bd.sides {
			bd.sides[i].n = max(bd.sides[i].n, sides[i].n)
		}
	}
	out := make([]*bundle, 0, len(border))
	for _, k := range border {
		bd := bundles[k]
		bd.each = eachOf(bd.sides, bd.items, of)
		bd.inherited = inheritedBy(bd.sides)
		sort.SliceStable(bd.items, func(i, j int) bool { return itemLess(bd.items[i], bd.items[j]) })
		out = append(out, bd)
	}
	lout := make([]*link, 0, len(lorder))
	for _, k := range lorder {
		l := links[k]
		l.each = eachOfLink(l, of)
		lout = append(lout, l)
	}
	return out, lout
}

// boxesOf lists the boxes of pids with how much of each holds them, in
// box order (by first pid).
func boxesOf(pids []int, of boxOf) []side {
	n := map[*box]int{}
	var order []*box
	for _, p := range pids {
		b := of[p]
		if b == nil {
			continue
		}
		if n[b] == 0 {
			order = append(order, b)
		}
		n[b]++
	}
	sort.Slice(order, func(i, j int) bool { return order[i].pids[0] < order[j].pids[0] })
	out := make([]side, len(order))
	for i, b := range order {
		c := all
		switch {
		case n[b] == b.size():
		case n[b] == 1:
			c = one
		default:
			c = some
		}
		out[i] = side{b: b, cov: c, n: n[b]}
	}
	return out
}

// inheritedBy is the box a bundle of four or more boxes is inherited
// from: every box holds every item, and all but the highest hang below it.
func inheritedBy(sides []side) *box {
	if len(sides) < 4 {
		return nil
	}
	top := highest(sides)
	for _, sd := range sides {
		if sd.cov != all {
			return nil
		}
		if sd.b == top {
			continue
		}
		b := sd.b.parent
		for b != nil && b != top {
			b = b.parent
		}
		if b == nil {
			return nil
		}
	}
	return top
}

// eachOf finds the box whose members each hold one of the items and no
// two the same one: "each worker has its own".
func eachOf(sides []side, items []*object, of boxOf) *box {
	for _, sd := range sides {
		if sd.cov != one || len(items) != sd.b.size() {
			continue
		}
		seen := map[int]bool{}
		for _, o := range items {
			for _, p := range o.pids {
				if of[p] == sd.b {
					seen[p] = true
				}
			}
		}
		if len(seen) == sd.b.size() {
			return sd.b
		}
	}
	return nil
}

// eachOfLink is eachOf for the ends of a link.
func eachOfLink(l *link, of boxOf) *box {
	for _, b := range []*box{l.from, l.to} {
		if b.size() < 2 || len(l.objs) != b.size() {
			continue
		}
		seen := map[int]bool{}
		ok := true
		for _, o := range l.objs {
			n := 0
			for _, p := range o.pids {
				if of[p] == b {
					seen[p] = true
					n++
				}
			}
			ok = ok && n == 1
		}
		if ok && len(seen) == b.size() {
			return b
		}
	}
	return nil
}

// kindRank orders a bundle's items: listeners first, then the other
// sockets, pipes and fifos, files, devices and the rest, per-task objects
// last.
var kindRank = map[string]int{"listener": 0, "socket": 1, "pipe": 2, "fifo": 2, "pty": 3, "file": 4, "deleted": 4,
	"dir": 5, "device": 6, "memfd": 7, "anon": 8, "namespace": 9, "other": 10, "task": 11}

func itemLess(a, b *object) bool {
	ra, rb := kindRank[string(a.kind)], kindRank[string(b.kind)]
	if ra != rb {
		return ra < rb
	}
	if a.brief != b.brief {
		return a.brief < b.brief
	}
	return a.name < b.name
}
