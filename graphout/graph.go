package graphout

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/encoding"
	"gonum.org/v1/gonum/graph/encoding/dot"
	"gonum.org/v1/gonum/graph/multi"

	"github.com/kcmpgraph/kcmpgraph/analyzer/objname"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
)

// Views.
const (
	// ViewProcesses draws processes; an object held by exactly two
	// processes is an edge between them, one held by more is a hub node.
	ViewProcesses = "processes"
	// ViewObjects draws every shared object as a node of its own.
	ViewObjects = "objects"
)

// Options shape a diagram. Zero values mean the defaults.
type Options struct {
	View string
	// MaxNodes is the hard limit; past it Build refuses (default 2000).
	MaxNodes int
	// LabelNodes is the size past which edges carry no labels (default 150).
	LabelNodes int
	// NoCollapse keeps identical siblings as separate nodes.
	NoCollapse bool
}

// ErrTooLarge is returned when a diagram would exceed Options.MaxNodes.
var ErrTooLarge = errors.New("diagram too large")

// palette gives each object type (indexed by kcmp.Type) its edge colour,
// as DOT writes it and as the legend names it. It belongs to the diagrams,
// not to kcmp: colour is a choice of this medium; kcmp.Info holds what
// every output says about a type.
var palette = [...]struct{ hex, name string }{
	kcmp.File: {"#1f77b4", "blue"}, kcmp.VM: {"#d62728", "red"}, kcmp.Files: {"#ff7f0e", "orange"},
	kcmp.FS: {"#2ca02c", "green"}, kcmp.Sighand: {"#9467bd", "purple"}, kcmp.IO: {"#8c564b", "brown"},
	kcmp.Sysvsem: {"#e377c2", "pink"}, kcmp.EpollTFD: {"#7f7f7f", "grey"},
}

// channelColor draws the dotted edge between the two ends of a channel.
const channelColor = "#000000"

// typeColor returns the edge colour of a type name, or of "channel".
func typeColor(typ string) string {
	if t, ok := kcmp.Named(typ); ok {
		return palette[t].hex
	}
	return channelColor
}

// Diagram is a built sharing graph, ready to be written as DOT.
type Diagram struct {
	g      *multi.UndirectedGraph
	nodes  map[int64]*node
	layout string
	labels bool
	legend []string
	// ownLegend replaces the standard legend lines (diff diagrams).
	ownLegend bool
	// Processes and Objects count the drawn nodes of each kind.
	Processes, Objects int
}

type node struct {
	id    int64
	dotID string
	label string // already quoted
	shape string
	// pidNS groups processes into clusters when the snapshot spans
	// several PID namespaces.
	pidNS uint64
	color string // outline colour, "" for the default
}

func (n *node) ID() int64     { return n.id }
func (n *node) DOTID() string { return n.dotID }
func (n *node) Attributes() []encoding.Attribute {
	a := []encoding.Attribute{{Key: "label", Value: n.label}, {Key: "shape", Value: n.shape}}
	if n.color != "" {
		a = append(a, encoding.Attribute{Key: "color", Value: quote(n.color)})
	}
	return a
}

type line struct {
	f, t  *node
	id    int64
	typ   string
	count int
	label string // quoted, or ""
}

func (l *line) From() graph.Node         { return l.f }
func (l *line) To() graph.Node           { return l.t }
func (l *line) ID() int64                { return l.id }
func (l *line) ReversedLine() graph.Line { r := *l; r.f, r.t = l.t, l.f; return &r }
func (l *line) Attributes() []encoding.Attribute {
	a := []encoding.Attribute{{Key: "color", Value: quote(typeColor(l.typ))}}
	switch l.typ {
	case "epoll":
		a = append(a, encoding.Attribute{Key: "style", Value: "dashed"})
	case "channel":
		a = append(a, encoding.Attribute{Key: "style", Value: "dotted"})
	}
	if l.label != "" {
		a = append(a, encoding.Attribute{Key: "label", Value: l.label})
	}
	if l.count > 1 {
		a = append(a, encoding.Attribute{Key: "penwidth", Value: strconv.FormatFloat(min(1+float64(l.count)/4, 4), 'f', 2, 64)})
	}
	return a
}

// Build makes the diagram of a snapshot (select first with
// snapshot.Select for --pid, --tree and --types).
func Build(s *snapshot.Snapshot, opts Options) (*Diagram, error) {
	if opts.View == "" {
		opts.View = ViewProcesses
	}
	if opts.View != ViewProcesses && opts.View != ViewObjects {
		return nil, fmt.Errorf("unknown view %q (valid: %s, %s)", opts.View, ViewProcesses, ViewObjects)
	}
	if opts.MaxNodes <= 0 {
		opts.MaxNodes = 2000
	}
	if opts.LabelNodes <= 0 {
		opts.LabelNodes = 150
	}
	type edgeGroup struct {
		typ     string
		name    string
		members []int // pids, distinct, sorted
		// sig identifies the group in sibling signatures: the group
		// itself, or for epoll the process watched.
		sig string
	}
	var groups []edgeGroup
	names := objname.New(s)
	for _, g := range s.Groups {
		pids := map[int]bool{}
		for _, m := range g.Members {
			pids[m.PID] = true
		}
		eg := edgeGroup{typ: g.Type, name: names.Group(g).String(), sig: "g" + strconv.Itoa(len(groups))}
		for p := range pids {
			eg.members = append(eg.members, p)
		}
		sort.Ints(eg.members)
		if len(eg.members) >= 2 || opts.View == ViewObjects {
			groups = append(groups, eg)
		}
	}
	// Epoll watches whose holder is another process: the watcher sees
	// events of a description it may not hold itself.
	// Channels: a pipe, unix socket, local TCP/UDP connection or pty whose
	// ends are in two processes is who talks to whom, drawn dotted.
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		if len(e.Ends) < 2 {
			continue
		}
		pids := map[int]bool{}
		for _, end := range e.Ends {
			for _, m := range end {
				pids[m.PID] = true
			}
		}
		if len(pids) < 2 {
			continue
		}
		var members []int
		for p := range pids {
			members = append(members, p)
		}
		sort.Ints(members)
		groups = append(groups, edgeGroup{typ: "channel", name: names.Channel(e).Text, members: members,
			sig: "c" + strconv.Itoa(len(groups))})
	}
	watched := map[[2]int]bool{}
	for _, e := range s.Epoll {
		for _, w := range e.Watches {
			if w.Holder == nil || w.Holder.PID == e.PID || watched[[2]int{e.PID, w.Holder.PID}] {
				continue
			}
			watched[[2]int{e.PID, w.Holder.PID}] = true
			members := []int{e.PID, w.Holder.PID}
			sort.Ints(members)
			groups = append(groups, edgeGroup{typ: "epoll", name: "epoll watch", members: members,
				sig: "e" + strconv.Itoa(w.Holder.PID)})
		}
	}
	d := &Diagram{g: multi.NewUndirectedGraph(), nodes: map[int64]*node{}}
	if !s.Exact {
		d.legend = append(d.legend, "NOT EXACT: kcmp was unavailable; file sharing is approximated by inode")
	}

	involved := map[int]bool{}
	for _, g := range groups {
		for _, p := range g.members {
			involved[p] = true
		}
	}
	// Ubiquitous objects (held by most processes of a large diagram) are
	// summarised; in a small one every object is drawn.
	limit := len(involved)/2 + 1
	if len(involved) < 20 {
		limit = len(involved) + 1
	}
	kept := groups[:0]
	type summary struct {
		name, typ string
		objects   int
		most      int
	}
	var summaries []*summary
	byName := map[[2]string]*summary{}
	for _, g := range groups {
		if len(g.members) >= limit && len(g.members) > 2 {
			k := [2]string{g.name, g.typ}
			if byName[k] == nil {
				byName[k] = &summary{name: g.name, typ: g.typ}
				summaries = append(summaries, byName[k])
			}
			byName[k].objects++
			byName[k].most = max(byName[k].most, len(g.members))
			continue
		}
		kept = append(kept, g)
	}
	groups = kept
	sort.SliceStable(summaries, func(i, j int) bool { return summaries[i].most > summaries[j].most })
	for i, sm := range summaries {
		if i == 6 {
			d.legend = append(d.legend, "not drawn: "+plural.Count(len(summaries)-i, "more object", "more objects")+" held by most processes")
			break
		}
		what := sm.name
		if sm.objects > 1 {
			what = fmt.Sprintf("%s (%d objects)", sm.name, sm.objects)
		}
		d.legend = append(d.legend, fmt.Sprintf("not drawn: %s, %s, held by up to %d processes", what, sm.typ, sm.most))
	}
	involved = map[int]bool{}
	memberOf := map[int][]int{}
	for gi, g := range groups {
		for _, p := range g.members {
			involved[p] = true
			memberOf[p] = append(memberOf[p], gi)
		}
	}

	// Identical siblings collapse: same parent, same comm, same groups
	// apart from the ones only they share among themselves.
	sigOf := func(p int) uint64 {
		h := fnv.New64a()
		var sigs []string
		for _, gi := range memberOf[p] {
			sigs = append(sigs, groups[gi].sig)
		}
		sort.Strings(sigs)
		for _, sg := range sigs {
			fmt.Fprintf(h, "%s,", sg)
		}
		return h.Sum64()
	}
	var pids []int
	for p := range involved {
		pids = append(pids, p)
	}
	sort.Ints(pids)
	rep, count := collapse(s, pids, opts.NoCollapse, sigOf)
	similar := !opts.NoCollapse && len(count) > similarAbove
	merged := "siblings"
	if similar {
		merged = "similar"
		// Too many boxes to read (and for graphviz to lay out in time):
		// merge siblings by parent and command alone, and the children of
		// merged parents with them, so a forest of workers becomes a few
		// boxes whose edges are the union of theirs.
		n := len(count)
		rep, count = collapse(s, pids, false, nil)
		d.legend = append(d.legend, fmt.Sprintf(
			"%d boxes were too many: similar processes (same parent and command) merged, ×N; --tree PID shows them apart", n))
	}
	nsCount := map[uint64]bool{}
	for p, r := range rep {
		if p != r {
			continue
		}
		proc := s.Process(p)
		n := &node{id: int64(p), dotID: "p" + strconv.Itoa(p), shape: "box"}
		id, comm := quote(strconv.Itoa(p)), quote("?")
		if proc != nil {
			comm = quote(proc.Comm)
			n.pidNS = proc.Namespaces["pid"]
			nsCount[n.pidNS] = true
		}
		if count[p] > 1 {
			id = quote(fmt.Sprintf("%d +%d %s", p, count[p]-1, merged))
			comm = strings.TrimSuffix(comm, `"`) + fmt.Sprintf(` ×%d"`, count[p])
		}
		n.label = lines(id, comm)
		d.nodes[n.id] = n
		d.g.AddNode(n)
		d.Processes++
	}
	nextObj := int64(-1)
	type hub struct {
		node             *node
		name             string
		objects, holders int
	}
	hubs := map[string]*hub{}
	pairs := map[[3]string]*line{}
	var nextLine int64
	for _, g := range groups {
		var ends []int
		seen := map[int]bool{}
		for _, p := range g.members {
			if r := rep[p]; !seen[r] {
				seen[r] = true
				ends = append(ends, r)
			}
		}
		sort.Ints(ends)
		switch {
		case len(ends) == 2 && opts.View == ViewProcesses:
			k := [3]string{strconv.Itoa(ends[0]), strconv.Itoa(ends[1]), g.typ}
			if l := pairs[k]; l != nil {
				l.count++
				continue
			}
			l := &line{f: d.nodes[int64(ends[0])], t: d.nodes[int64(ends[1])], id: nextLine, typ: g.typ, count: 1}
			nextLine++
			pairs[k] = l
			if g.typ == "file" || g.typ == "channel" {
				l.label = quote(g.name)
			} else {
				l.label = quote(g.typ)
			}
			d.g.SetLine(l)
		case len(ends) >= 2 || opts.View == ViewObjects:
			// Merged boxes: objects of one type between the same boxes
			// are one ellipse, counted.
			hubKey := fmt.Sprint(g.typ, ends)
			if similar {
				if h := hubs[hubKey]; h != nil {
					h.objects++
					h.holders += len(g.members)
					h.node.label = lines(quote(h.name+fmt.Sprintf(" and %d more", h.objects-1)),
						quote(fmt.Sprintf("%s, %d objects, %d holders", g.typ, h.objects, h.holders)))
					continue
				}
			}
			o := &node{id: nextObj, dotID: "o" + strconv.FormatInt(-nextObj, 10), shape: "ellipse",
				label: lines(quote(g.name), quote(fmt.Sprintf("%s, %d holders", g.typ, len(g.members))))}
			if similar {
				hubs[hubKey] = &hub{node: o, name: g.name, objects: 1, holders: len(g.members)}
			}
			nextObj--
			d.nodes[o.id] = o
			d.g.AddNode(o)
			d.Objects++
			for _, e := range ends {
				l := &line{f: d.nodes[int64(e)], t: o, id: nextLine, typ: g.typ, count: 1}
				nextLine++
				d.g.SetLine(l)
			}
		}
	}
	for _, l := range pairs {
		if l.count > 1 {
			l.label = quote(fmt.Sprintf("%s ×%d", l.typ, l.count))
		}
	}
	total := d.Processes + d.Objects
	if total > opts.MaxNodes {
		return nil, fmt.Errorf("%w: %d nodes, the limit is %d; narrow it with --tree PID, --pid LIST or --types (for example --types vm,files,sighand)",
			ErrTooLarge, total, opts.MaxNodes)
	}
	d.labels = total <= opts.LabelNodes
	if !d.labels {
		for _, l := range pairs {
			l.label = ""
		}
		d.legend = append(d.legend, fmt.Sprintf("edge labels left out: %d nodes", total))
	}
	d.layout = "dot"
	if total > 120 {
		d.layout = "sfdp"
	}
	if len(nsCount) > 1 {
		d.legend = append(d.legend, "boxes with a frame: one PID namespace each")
	} else {
		for _, n := range d.nodes {
			n.pidNS = 0
		}
	}
	if total == 0 {
		d.legend = append(d.legend, "no sharing between the selected processes")
	}
	return d, nil
}

// similarAbove is the number of process boxes past which siblings are
// merged by parent and command alone: graphviz lays out a few hundred
// boxes in seconds, two thousand not within a minute.
const similarAbove = 300

// collapse maps each pid to the representative of its collapsed node and
// counts the pids of each representative. With sig, siblings (same parent
// and command) collapse when their signatures match; without, all
// siblings collapse, and so do the children of collapsed parents, down
// the tree. none keeps every pid apart.
func collapse(s *snapshot.Snapshot, pids []int, none bool, sig func(int) uint64) (rep, count map[int]int) {
	type key struct {
		parent int
		comm   string
		sig    uint64
	}
	rep = map[int]int{}
	for _, p := range pids {
		rep[p] = p
	}
	if !none {
		// Without signatures, a parent's merge is passed on to its
		// children: repeat until the tree is stable (its depth at most).
		for pass := 0; pass < 64; pass++ {
			byKey := map[key][]int{}
			for _, p := range pids {
				proc := s.Process(p)
				if proc == nil {
					continue
				}
				k := key{parent: proc.PPID, comm: proc.Comm}
				if sig != nil {
					k.sig = sig(p)
				} else if r, ok := rep[proc.PPID]; ok {
					k.parent = r
				}
				byKey[k] = append(byKey[k], p)
			}
			changed := false
			for _, ps := range byKey {
				for _, p := range ps {
					if rep[p] != ps[0] {
						rep[p], changed = ps[0], true
					}
				}
			}
			if sig != nil || !changed {
				break
			}
		}
	}
	count = map[int]int{}
	for _, r := range rep {
		count[r]++
	}
	return rep, count
}

// Layout returns the graphviz layout engine chosen for the diagram's size.
func (d *Diagram) Layout() string { return d.layout }

func (d *Diagram) legendText() string {
	var parts []string
	if d.ownLegend {
		for _, l := range d.legend {
			parts = append(parts, quoteN(l, 160))
		}
		return lines(parts...)
	}
	parts = append(parts, quoteN("kcmpgraph: boxes are processes (×N: identical siblings), ellipses are objects held by 3+ processes", 200))
	var colors []string
	for _, t := range kcmp.AllTypes {
		colors = append(colors, t.String()+" "+palette[t].name)
	}
	parts = append(parts, quoteN("edges: "+strings.Join(colors, ", ")+" (dashed); dotted black: the two ends of a channel (pipe, socket, pty)", 220))
	for _, l := range d.legend {
		parts = append(parts, quoteN(l, 120))
	}
	return lines(parts...)
}

type attrs []encoding.Attribute

func (a attrs) Attributes() []encoding.Attribute { return a }

// dotGraph adds graph attributes and PID-namespace clusters to the
// multigraph for gonum's encoder.
type dotGraph struct {
	*multi.UndirectedGraph
	d *Diagram
}

func (g dotGraph) DOTAttributers() (graph, node, edge encoding.Attributer) {
	ga := attrs{
		{Key: "layout", Value: d(g).layout},
		{Key: "label", Value: d(g).legendText()},
		{Key: "labelloc", Value: "b"},
		{Key: "fontsize", Value: "10"},
		{Key: "overlap", Value: "false"},
		{Key: "outputorder", Value: "edgesfirst"},
	}
	return ga, attrs{{Key: "fontsize", Value: "10"}}, attrs{{Key: "fontsize", Value: "8"}}
}

func d(g dotGraph) *Diagram { return g.d }

// cluster is one PID namespace's subgraph.
type cluster struct {
	*multi.UndirectedGraph
	name  string
	label string
}

func (c cluster) DOTID() string { return c.name }
func (c cluster) DOTAttributers() (graph, node, edge encoding.Attributer) {
	return attrs{{Key: "label", Value: c.label}}, attrs{}, attrs{}
}

// Structure returns the PID-namespace clusters, if there are several.
func (g dotGraph) Structure() []dot.Multigraph {
	byNS := map[uint64][]*node{}
	for _, n := range g.d.nodes {
		if n.pidNS != 0 {
			byNS[n.pidNS] = append(byNS[n.pidNS], n)
		}
	}
	var nss []uint64
	for ns := range byNS {
		nss = append(nss, ns)
	}
	sort.Slice(nss, func(i, j int) bool { return nss[i] < nss[j] })
	var out []dot.Multigraph
	for _, ns := range nss {
		sub := multi.NewUndirectedGraph()
		for _, n := range byNS[ns] {
			sub.AddNode(n)
		}
		out = append(out, cluster{UndirectedGraph: sub, name: "cluster_ns" + strconv.FormatUint(ns, 10),
			label: quote("pid namespace " + strconv.FormatUint(ns, 10))})
	}
	return out
}

// DOT writes the diagram in the DOT language.
func (d *Diagram) DOT() ([]byte, error) {
	return dot.MarshalMulti(dotGraph{UndirectedGraph: d.g, d: d}, "kcmpgraph", "", "  ")
}
