package graphout

import (
	"bytes"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/encoding"
	"gonum.org/v1/gonum/graph/encoding/dot"
	"gonum.org/v1/gonum/graph/multi"
)

// Diagram is a built diagram, ready to be written as DOT: a gonum
// directed multigraph of drawn nodes and edges with their attributes,
// the clusters they are drawn in and the graph's own attributes.
type Diagram struct {
	g        *multi.DirectedGraph
	nodes    []*dnode
	lines    []*dline
	clusters map[string]string // cluster key -> quoted label
	// graph, node and edge hold the graph-wide attributes.
	graph, node, edge []encoding.Attribute
	layout            string
	// least is the fewest nodes and edges a diagram too large to draw
	// would have had (see build); 0 for one that was drawn.
	least int
	// Processes and Objects count the drawn process boxes and object
	// nodes (bundles, summaries).
	Processes, Objects int
}

// dnode is one drawn node. Every attribute value is quoted already.
type dnode struct {
	id    int64
	dotID string
	attrs []encoding.Attribute
	// cluster is the key of the cluster the node is drawn in, "" none.
	cluster string
	// rank names the group of nodes drawn on one rank, "" for none.
	rank string
}

func (n *dnode) ID() int64                        { return n.id }
func (n *dnode) DOTID() string                    { return n.dotID }
func (n *dnode) Attributes() []encoding.Attribute { return n.attrs }

// dline is one drawn edge.
type dline struct {
	f, t  *dnode
	id    int64
	attrs []encoding.Attribute
	// order marks an invisible edge that only orders dot's ranks.
	order bool
}

func (l *dline) From() graph.Node                 { return l.f }
func (l *dline) To() graph.Node                   { return l.t }
func (l *dline) ID() int64                        { return l.id }
func (l *dline) ReversedLine() graph.Line         { r := *l; r.f, r.t = l.t, l.f; return &r }
func (l *dline) Attributes() []encoding.Attribute { return l.attrs }

func newDiagram() *Diagram {
	return &Diagram{g: multi.NewDirectedGraph(), clusters: map[string]string{}}
}

// addNode adds a node with a synthetic DOT id (never a name from /proc).
func (d *Diagram) addNode(dotID string, attrs ...encoding.Attribute) *dnode {
	n := &dnode{id: int64(len(d.nodes)), dotID: dotID, attrs: attrs}
	d.nodes = append(d.nodes, n)
	d.g.AddNode(n)
	return n
}

// sameRank puts two nodes on one rank, joining the groups they are in.
func (d *Diagram) sameRank(a, b *dnode) {
	switch {
	case a.rank == "" && b.rank == "":
		a.rank, b.rank = b.dotID, b.dotID
	case a.rank == "":
		a.rank = b.rank
	case b.rank == "":
		b.rank = a.rank
	case a.rank != b.rank:
		old := b.rank
		for _, n := range d.nodes {
			if n.rank == old {
				n.rank = a.rank
			}
		}
	}
}

func (d *Diagram) addEdge(f, t *dnode, attrs ...encoding.Attribute) *dline {
	l := &dline{f: f, t: t, id: int64(len(d.lines)), attrs: attrs}
	d.lines = append(d.lines, l)
	d.g.SetLine(l)
	return l
}

// attr is an attribute whose value is quoted here: hostile text, or one
// of ours.
func attr(key, raw string) encoding.Attribute { return encoding.Attribute{Key: key, Value: quote(raw)} }

// lines is an attribute of several lines of hostile text: each cut to n
// runes in its middle (a path's file name and a socket's state are at its
// end), quoted, and joined with br (`\n` centres each line, leftBreak
// left-justifies it and ends the last one too).
func lines(key string, text []string, n int, br string) encoding.Attribute {
	parts := make([]string, len(text))
	for i, t := range text {
		parts[i] = labelText(quoteN(cutMiddle(t, n), n))
	}
	v := strings.Join(parts, br)
	if br == leftBreak {
		v += br
	}
	return encoding.Attribute{Key: key, Value: `"` + v + `"`}
}

// plain is an attribute whose value is a constant keyword or number.
func plain(key, value string) encoding.Attribute { return encoding.Attribute{Key: key, Value: value} }

// Layout returns the graphviz layout engine chosen for the diagram's size.
func (d *Diagram) Layout() string { return d.layout }

type attrs []encoding.Attribute

func (a attrs) Attributes() []encoding.Attribute { return a }

// dotGraph adds the graph attributes and the clusters and rank groups to
// the multigraph for gonum's encoder.
type dotGraph struct {
	*multi.DirectedGraph
	d *Diagram
}

func (g dotGraph) DOTAttributers() (graph, node, edge encoding.Attributer) {
	return attrs(g.d.graph), attrs(g.d.node), attrs(g.d.edge)
}

// subgraph is a cluster or a rank group.
type subgraph struct {
	*multi.DirectedGraph
	name  string
	attrs attrs
}

func (c subgraph) DOTID() string { return c.name }
func (c subgraph) DOTAttributers() (graph, node, edge encoding.Attributer) {
	return c.attrs, attrs{}, attrs{}
}

// Structure returns the clusters, then the rank groups.
func (g dotGraph) Structure() []dot.Multigraph {
	byCluster := map[string][]*dnode{}
	byRank := map[string][]*dnode{}
	for _, n := range g.d.nodes {
		if n.cluster != "" {
			byCluster[n.cluster] = append(byCluster[n.cluster], n)
		}
		if n.rank != "" {
			byRank[n.rank] = append(byRank[n.rank], n)
		}
	}
	var out []dot.Multigraph
	add := func(groups map[string][]*dnode, name func(i int, key string) (string, attrs)) {
		ks := make([]string, 0, len(groups))
		for k := range groups {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for i, k := range ks {
			sub := multi.NewDirectedGraph()
			for _, n := range groups[k] {
				sub.AddNode(n)
			}
			id, a := name(i, k)
			out = append(out, subgraph{DirectedGraph: sub, name: id, attrs: a})
		}
	}
	add(byCluster, func(i int, k string) (string, attrs) {
		return "cluster_" + strconv.Itoa(i+1), attrs{{Key: "label", Value: g.d.clusters[k]},
			plain("style", `"rounded,dashed"`), plain("color", `"#8c8c8c"`), plain("fontcolor", `"#555555"`)}
	})
	add(byRank, func(i int, _ string) (string, attrs) {
		return "rank_" + strconv.Itoa(i+1), attrs{plain("rank", "same")}
	})
	return out
}

// DOT writes the diagram in the DOT language.
func (d *Diagram) DOT() ([]byte, error) {
	b, err := dot.MarshalMulti(dotGraph{DirectedGraph: d.g, d: d}, "kcmpgraph", "", "  ")
	if err != nil {
		return nil, err
	}
	return bytes.ReplaceAll(b, []byte(leftBreak), []byte(`\l`)), nil
}
