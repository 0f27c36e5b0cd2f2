package graphout

import (
	"fmt"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/graph/encoding"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
)

// picture is what Build decided to draw: boxes, bundles and links.
type picture struct {
	s       *snapshot.Snapshot
	opts    Options
	n       namer
	boxes   []*box
	of      boxOf
	bundles []*bundle
	links   []*link
	hubs    []*hub
	// attach maps each bundle's node to the node of the box it is drawn
	// beside.
	attach map[*dnode]*dnode
	// flat holds the pairs of box nodes a link keeps on one rank.
	flat [][2]*dnode
	// edgeKinds are the kinds of link edge drawn, for the legend.
	edgeKinds map[string]bool
}

// comm names a pid for tooltips.
func (p *picture) comm(pid int) string {
	if proc := p.s.Process(pid); proc != nil {
		return proc.Comm
	}
	return "?"
}

// draw turns the picture into a Diagram: a node per box and bundle, an
// edge from each bundle to its holders, one per link and one from each
// box to its children, the legend on top and the layout for its size.
func (p *picture) draw(common, notes []string) *Diagram {
	d := newDiagram()
	p.attach = map[*dnode]*dnode{}
	node := p.drawBoxes(d)
	p.drawTree(d, node)
	p.drawBundles(d, node)
	p.drawLinks(d, node)
	p.drawHubs(d, node)
	p.pack(d, node)
	p.layout(d, common, notes)
	return d
}

func (p *picture) drawBoxes(d *Diagram) map[*box]*dnode {
	node := map[*box]*dnode{}
	for _, b := range p.boxes {
		id := "pid" + strconv.Itoa(b.pids[0])
		a := []encoding.Attribute{
			lines("label", p.n.boxLines(b), maxLabelRunes, `\n`),
			lines("tooltip", p.n.boxTooltip(b), tooltipRunes, `\n`),
		}
		if b.size() > 1 {
			a = append(a, plain("peripheries", "2"))
		}
		if b.uid == 0 {
			a = append(a, plain("penwidth", "1.6"))
		}
		n := d.addNode(id, a...)
		if b.cluster != "" {
			n.cluster = b.cluster
			d.clusters[b.cluster] = quote(b.cluster)
		}
		node[b] = n
		d.Processes++
	}
	return node
}

// drawTree draws an arrow from each box to the boxes of its children (a
// dotted one to a descendant whose ancestors between share nothing).
func (p *picture) drawTree(d *Diagram, node map[*box]*dnode) {
	for _, b := range p.boxes {
		if !p.treeEdge(b) {
			continue
		}
		style, tip := "dashed", "parent → child"
		if !b.direct {
			style, tip = "dotted", "ancestor → descendant (the processes between share nothing drawn)"
		}
		d.addEdge(node[b.parent], node[b], plain("style", style), plain("color", parentColor), plain("arrowsize", "0.6"), attr("tooltip", tip))
	}
}

// treeEdge says whether b hangs from its parent box in the drawing: not
// from pid 1 (it adopts orphans and starts every service; that is no
// relation worth a line) and not across clusters (a service started by
// another).
func (p *picture) treeEdge(b *box) bool {
	return b.parent != nil && !(b.parent.size() == 1 && b.parent.pids[0] == 1) && b.parent.cluster == b.cluster
}

// drawBundles draws each bundle as a note beside the holder highest in
// the tree, with a line to each holder; one inherited by everything
// below its top holder gets one line, to that holder.
func (p *picture) drawBundles(d *Diagram, node map[*box]*dnode) {
	pairs := map[[2]*box][]*bundle{}
	var pairOrder [][2]*box
	defer func() {
		for _, k := range pairOrder {
			p.drawPair(d, node[k[0]], node[k[1]], pairs[k])
		}
	}()
	for i, bd := range p.bundles {
		if len(bd.sides) == 2 && p.opts.View != ViewObjects && (len(bd.items) <= 2 || partial(bd)) {
			k := [2]*box{bd.sides[0].b, bd.sides[1].b}
			if pairs[k] == nil {
				pairOrder = append(pairOrder, k)
			}
			pairs[k] = append(pairs[k], bd)
			continue
		}
		n := d.addNode("shared"+strconv.Itoa(i+1),
			plain("shape", "note"), plain("style", "filled"), plain("fillcolor", noteFill), plain("color", noteColor),
			lines("label", p.n.bundleLines(bd), maxLabelRunes, leftBreak),
			lines("tooltip", p.n.bundleTooltip(bd, p.comm), tooltipRunes, `\n`))
		if c := commonCluster(bd.sides); c != "" {
			n.cluster = c
		}
		d.Objects++
		top := highest(bd.sides)
		for _, sd := range bd.sides {
			if bd.inherited != nil && sd.b != bd.inherited {
				continue
			}
			a := []encoding.Attribute{plain("dir", "none"), plain("color", noteColor),
				attr("tooltip", "holders: "+p.n.sidesPhrase([]side{sd}, bd.each))}
			if sd.b != top {
				a = append(a, plain("constraint", "false"), plain("weight", "0"))
			}
			d.addEdge(n, node[sd.b], a...)
		}
		p.attach[n] = node[top]
		if len(bd.sides) > 1 && top.cluster == n.cluster {
			d.sameRank(n, node[top])
		}
	}
}

// drawHubs draws the links of each hub as one note beside it.
func (p *picture) drawHubs(d *Diagram, node map[*box]*dnode) {
	for i, h := range p.hubs {
		n := d.addNode("hub"+strconv.Itoa(i+1),
			plain("shape", "note"), plain("style", "filled"), plain("fillcolor", noteFill), plain("color", linkColor),
			lines("label", p.n.hubLines(h), maxLabelRunes, leftBreak),
			lines("tooltip", p.n.hubTooltip(h, p.comm), tooltipRunes, `\n`))
		if h.b.cluster != "" {
			n.cluster = h.b.cluster
		}
		d.Objects++
		d.addEdge(n, node[h.b], plain("color", linkColor), plain("penwidth", "1.4"))
		p.attach[n] = node[h.b]
		d.sameRank(n, node[h.b])
	}
}

// partial reports whether some holder box of a bundle holds it only in
// part: per-member details, drawn as an edge rather than a note.
func partial(bd *bundle) bool {
	for _, sd := range bd.sides {
		if sd.cov != all {
			return true
		}
	}
	return false
}

// drawPair draws the bundles two boxes alone hold as one gold line:
// their names when there are one or two, else how many.
func (p *picture) drawPair(d *Diagram, a, b *dnode, bds []*bundle) {
	var items []*object
	var tip []string
	for _, bd := range bds {
		items = append(items, bd.items...)
		tip = append(tip, p.n.bundleTooltip(bd, p.comm)...)
	}
	names, _ := itemNames(items)
	label := names
	if len(names) > 2 {
		label = []string{plural.Count(len(items), "shared object", "shared objects"), names[0] + ", …"}
	}
	if partial(bds[0]) || len(bds) > 1 {
		label = append(label, "(some of them)")
	}
	if len(tip) > 60 {
		tip = append(tip[:60], fmt.Sprintf("… (%d lines in all)", len(tip)))
	}
	d.addEdge(a, b, plain("dir", "none"), plain("color", noteColor), plain("penwidth", "1.4"),
		plain("constraint", "false"), plain("weight", "0"), lines("label", label, maxLabelRunes, `\n`),
		lines("tooltip", tip, tooltipRunes, `\n`))
}

// drawLinks draws the links between each two boxes as one edge: a
// pipe, a socketpair and an epoll watch between the same boxes are one
// line that names all three (parallel lines, each with a label, would
// spread around the boxes). One between siblings that flows one way
// keeps them on one rank, ordered along its direction: a pipeline reads
// left to right.
func (p *picture) drawLinks(d *Diagram, node map[*box]*dnode) {
	p.edgeKinds = map[string]bool{}
	byPair := map[[2]*box][]*link{}
	var order [][2]*box
	for _, l := range p.links {
		if l.from == l.to && l.from.size() == 1 {
			continue
		}
		k := l.boxes()
		if byPair[k] == nil {
			order = append(order, k)
		}
		byPair[k] = append(byPair[k], l)
	}
	for _, k := range order {
		ls := byPair[k]
		// from and to of the drawn edge: the direction every link agrees
		// on, both ways if directed links disagree, none if some link has
		// no direction (each label line says its own).
		from, to := ls[0].from, ls[0].to
		dir := "forward"
		for _, l := range ls {
			switch {
			case !l.directed:
				dir = ""
			case dir == "forward" && l.from != from:
				dir = "both"
			}
			if dir == "" {
				break
			}
		}
		label := p.n.linkLabel(ls[0])
		var tip []string
		var objs []*object
		watches := true
		for _, l := range ls {
			tip = append(tip, p.n.linkTooltip(l, p.comm)...)
			objs = append(objs, l.objs...)
			watches = watches && l.objs[0].typ == "epoll"
		}
		if len(ls) > 1 {
			label = countedNames(objs, 4)
		}
		p.edgeKinds[edgeKind(ls)] = true
		if len(tip) > 60 {
			tip = append(tip[:60], fmt.Sprintf("… (%d lines in all)", len(tip)))
		}
		a := []encoding.Attribute{lines("label", label, maxLabelRunes, `\n`),
			lines("tooltip", tip, tooltipRunes, `\n`),
			plain("color", linkColor), plain("penwidth", "1.4")}
		if dir == "forward" && from != to && from.parent != nil && from.parent == to.parent && from.cluster == to.cluster {
			d.sameRank(node[from], node[to])
			p.flat = append(p.flat, [2]*dnode{node[from], node[to]})
		} else {
			a = append(a, plain("constraint", "false"), plain("weight", "0"))
		}
		if watches {
			a = append(a, plain("style", "dashed"), plain("color", watchColor))
		}
		switch dir {
		case "":
			a = append(a, plain("dir", "none"))
		case "both":
			a = append(a, plain("dir", "both"))
		}
		d.addEdge(node[from], node[to], a...)
	}
}

// edgeKind is what the legend calls an edge drawn for links ls.
func edgeKind(ls []*link) string {
	kinds := map[string]bool{}
	for _, l := range ls {
		switch k := l.objs[0].typ; {
		case k == "pipe" || k == "fifo":
			kinds["pipe"] = true
		case k == "epoll":
			kinds["epoll"] = true
		case l.directed:
			kinds["connection"] = true
		default:
			kinds["plain"] = true
		}
	}
	if len(kinds) > 1 {
		return "mixed"
	}
	for k := range kinds {
		return k
	}
	return ""
}

// labelText strips the quotes quote added.
func labelText(q string) string { return strings.TrimSuffix(strings.TrimPrefix(q, `"`), `"`) }

// commonCluster is the cluster all holders are drawn in, "" if they are
// not all in one.
func commonCluster(sides []side) string {
	c := sides[0].b.cluster
	for _, sd := range sides[1:] {
		if sd.b.cluster != c {
			return ""
		}
	}
	return c
}

// highest is the holder box nearest the top of the process tree.
func highest(sides []side) *box {
	var top *box
	best := 1 << 30
	for _, sd := range sides {
		depth := 0
		for b := sd.b.parent; b != nil; b = b.parent {
			depth++
		}
		if depth < best {
			best, top = depth, sd.b
		}
	}
	return top
}

// layout sets the graph attributes: the legend on top, saying what the
// drawing holds and what each kind of line in it means.
func (p *picture) layout(d *Diagram, common, notes []string) {
	title := p.opts.Title
	if title == "" {
		title = "host " + p.s.Host.Hostname
		if !p.s.Host.TakenAt.IsZero() {
			title += ", " + p.s.Host.TakenAt.UTC().Format("2006-01-02 15:04 UTC")
		}
	}
	procs := 0
	for _, b := range p.boxes {
		procs += b.size()
	}
	head := fmt.Sprintf("kcmpgraph · %s · %s in %s", title, plural.Count(procs, "process", "processes"),
		plural.Count(d.Processes, "box", "boxes"))
	if len(p.s.Processes) > procs {
		head += fmt.Sprintf(" (of %d in the snapshot; the others share nothing drawn)", len(p.s.Processes))
	}
	legend := []string{head}
	if !p.s.Exact {
		legend = []string{"NOT EXACT: kcmp was unavailable; open files are grouped by inode (a dup and a second open() look the same)", head}
	}
	legend = append(legend, p.key()...)
	legend = append(legend, notes...)
	legend = append(legend, common...)
	if d.Processes == 0 {
		legend = append(legend, "no sharing between the selected processes")
	}
	d.setAttributes(legend)
}

// key explains the kinds of box and line the drawing has, one line for
// boxes and notes, one for lines.
func (p *picture) key() []string {
	merged, tree, kinds := false, false, map[string]bool{}
	for _, b := range p.boxes {
		merged = merged || b.size() > 1
		tree = tree || p.treeEdge(b)
	}
	for k := range p.edgeKinds {
		kinds[k] = true
	}
	for _, h := range p.hubs {
		kinds["hub"] = len(h.links) > 0
	}
	boxes := "boxes: processes (command, user, pids)"
	if merged {
		boxes = "boxes: processes (command, user, pids; N ×: similar processes drawn once)"
	}
	if len(p.bundles) > 0 {
		boxes += " · notes and gold lines: what they hold in common"
	}
	var lines []string
	if tree {
		lines = append(lines, "grey dashed arrows: parent → child")
	}
	if kinds["pipe"] {
		lines = append(lines, "black arrows: pipes (write end → read end)")
	}
	if kinds["connection"] {
		lines = append(lines, "black arrows: connections (client → server)")
	}
	if kinds["plain"] {
		lines = append(lines, "black lines: socketpairs, ptys, peer connections")
	}
	if kinds["epoll"] {
		lines = append(lines, "purple dashed arrows: epoll watches (watcher → watched)")
	}
	if kinds["mixed"] {
		lines = append(lines, "black lines of several names: the channels between two boxes, counted")
	}
	if kinds["hub"] {
		lines = append(lines, "black notes: the connections of a process most others talk to")
	}
	out := []string{boxes}
	if len(lines) > 0 {
		out = append(out, strings.Join(lines, " · "))
	}
	return out
}
