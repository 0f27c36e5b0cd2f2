package graphout

import (
	"sort"
	"unicode/utf8"

	"gonum.org/v1/gonum/graph/encoding"
)

// Sizes graphviz gives the diagram, in points, for packing (estimates:
// Verdana 11 pt averages about 6.8 points a character).
const (
	charWidth   = 6.8
	nodeMargin  = 20
	minNodeSize = 54   // graphviz's default minimum width, 0.75 inch
	nodeSep     = 21.6 // nodesep 0.3 inch
	unitGap     = 40
	// rowWidth is how wide a row of the drawing may grow: 1150 points is
	// about 1530 pixels, legible on a screen 1600 pixels wide.
	rowWidth = 1150
)

// unit is a part of the drawing dot lays out as one piece: boxes tied by
// parent arrows, the bundles beside them, siblings a pipeline keeps on
// one rank, and everything in one cluster.
type unit struct {
	nodes []*dnode
	depth map[*dnode]int
	width float64
	first int // order of its first node
}

// pack lays the drawing's units out in rows no wider than rowWidth: dot
// puts independent pieces side by side, so a host of fifty services was
// one strip 18 times wider than high. Each row hangs below the deepest
// node of the row above by invisible edges, which only order ranks.
func (p *picture) pack(d *Diagram, node map[*box]*dnode) {
	depthOf := map[*dnode]int{}
	byNode := map[*dnode]*box{}
	for b, n := range node {
		byNode[n] = b
	}
	var depth func(b *box) int
	depth = func(b *box) int {
		if !p.treeEdge(b) {
			return 0
		}
		return depth(b.parent) + 1
	}
	parent := map[*dnode]*dnode{}
	var find func(n *dnode) *dnode
	find = func(n *dnode) *dnode {
		if parent[n] == nil || parent[n] == n {
			return n
		}
		r := find(parent[n])
		parent[n] = r
		return r
	}
	union := func(a, b *dnode) {
		if ra, rb := find(a), find(b); ra != rb {
			parent[ra] = rb
		}
	}
	clusterRoot := map[string]*dnode{}
	for _, n := range d.nodes {
		if b := byNode[n]; b != nil {
			depthOf[n] = depth(b)
			if p.treeEdge(b) {
				union(n, node[b.parent])
			}
		}
	}
	for bn, top := range p.attach {
		depthOf[bn] = depthOf[top]
		union(bn, top)
	}
	// A note is laid out with every box holding it, not only the one it
	// hangs beside: its lines to holders in another row crossed the
	// drawing.
	for _, l := range d.lines {
		if _, ok := p.attach[l.f]; ok {
			union(l.f, l.t)
		}
	}
	for _, f := range p.flat {
		union(f[0], f[1])
	}
	for _, n := range d.nodes {
		if n.cluster == "" {
			continue
		}
		if r := clusterRoot[n.cluster]; r != nil {
			union(n, r)
		} else {
			clusterRoot[n.cluster] = n
		}
	}
	units := map[*dnode]*unit{}
	var order []*unit
	for i, n := range d.nodes {
		r := find(n)
		u := units[r]
		if u == nil {
			u = &unit{depth: map[*dnode]int{}, first: i}
			units[r] = u
			order = append(order, u)
		}
		u.nodes = append(u.nodes, n)
		u.depth[n] = depthOf[n]
	}
	if len(order) < 2 {
		return
	}
	for _, u := range order {
		levels := map[int]float64{}
		for _, n := range u.nodes {
			if levels[u.depth[n]] > 0 {
				levels[u.depth[n]] += nodeSep
			}
			levels[u.depth[n]] += nodeWidth(n)
		}
		for _, w := range levels {
			u.width = max(u.width, w)
		}
	}
	// Edge labels widen a unit too: dot puts them beside the edge, and
	// loops and edges between far nodes beside the nodes.
	unitOf := map[*dnode]*unit{}
	for _, u := range order {
		for _, n := range u.nodes {
			unitOf[n] = u
		}
	}
	for _, l := range d.lines {
		for _, a := range l.attrs {
			if u := unitOf[l.f]; a.Key == "label" && u != nil && u == unitOf[l.t] {
				u.width += float64(longestLine(a)) * charWidth / 4
			}
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].first < order[j].first })
	var rows [][]*unit
	used := 0.0
	for _, u := range order {
		if len(rows) == 0 || used+unitGap+u.width > rowWidth {
			rows = append(rows, nil)
			used = -unitGap
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], u)
		used += unitGap + u.width
	}
	for k := 1; k < len(rows); k++ {
		anchor := deepest(rows[k-1])
		for _, u := range rows[k] {
			d.addEdge(anchor, top(u), plain("style", "invis"), plain("weight", "0")).order = true
		}
	}
}

// deepest is the node lowest in the tree of a row's widest unit.
func deepest(row []*unit) *dnode {
	var best *dnode
	bd := -1
	for _, u := range row {
		for _, n := range u.nodes {
			if u.depth[n] > bd {
				best, bd = n, u.depth[n]
			}
		}
	}
	return best
}

// top is a unit's highest node.
func top(u *unit) *dnode {
	best := u.nodes[0]
	for _, n := range u.nodes {
		if u.depth[n] < u.depth[best] {
			best = n
		}
	}
	return best
}

// nodeWidth estimates a node's width from its label's longest line.
func nodeWidth(n *dnode) float64 {
	for _, a := range n.attrs {
		if a.Key == "label" {
			return max(minNodeSize, float64(longestLine(a))*charWidth+nodeMargin)
		}
	}
	return minNodeSize
}

// longestLine counts the runes of a label's longest line.
func longestLine(a encoding.Attribute) int {
	best, cur := 0, 0
	v := a.Value
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		if r == '\\' && i+1 < len(v) && (v[i+1] == 'n' || v[i+1] == 'l') || v[i:i+size] == leftBreak {
			best, cur = max(best, cur), 0
			if r == '\\' {
				size = 2
			}
		} else {
			cur++
		}
		i += size
	}
	return max(best, cur)
}
