package graphout

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"gonum.org/v1/gonum/graph/encoding"
)

// Layout budgets, in nodes plus edges, measured with the WebAssembly
// graphviz that renders SVG (go-graphviz 0.2, BenchmarkRender on 2 shared
// CPUs): dot lays out a clustered diagram of about 180 in 1-1.5 s and
// slows steeply past it (a 220 took 3-5 s); sfdp with overlap=scale and
// straight edges without labels lays out 700 in about 2 s. That build has
// no GTS, so overlap=false and prism fall back to the Voronoi overlap
// removal: a minute for 60 processes. Nothing past sfdpBudget is drawn.
const (
	dotBudget  = 180
	sfdpBudget = 700
)

// cost is what the layout engines' time grows with: nodes and edges (not
// the invisible ones that order ranks).
func (d *Diagram) cost() int {
	if d.least > 0 {
		return d.least
	}
	n := len(d.nodes)
	for _, l := range d.lines {
		if !l.order {
			n++
		}
	}
	return n
}

// finish chooses the layout engine for the diagram's size (see
// dotBudget) and refuses one past maxNodes nodes or too large to lay out
// in a few seconds.
func (d *Diagram) finish(maxNodes int) error {
	if maxNodes <= 0 {
		maxNodes = 2000
	}
	cost := d.cost()
	hint := "narrow it with --tree PID, --around PID, --pid LIST or --types (for example --types vm,files,sighand)"
	if total := d.Processes + d.Objects; total > maxNodes {
		return fmt.Errorf("%w: %d nodes, the limit is %d; %s", ErrTooLarge, total, maxNodes, hint)
	}
	switch {
	case cost <= dotBudget:
		d.layout = "dot"
		d.outerLabels()
	case cost <= sfdpBudget:
		d.layout = "sfdp"
		d.graph = append(d.graph, plain("overlap", "scale"), plain("splines", "false"))
		// Edge labels cost sfdp most of its time; they stay in tooltips.
		// The edges that order dot's ranks would pull nodes together.
		kept := d.lines[:0]
		for _, l := range d.lines {
			if l.order {
				d.g.RemoveLine(l.f.id, l.t.id, l.id)
				continue
			}
			l.attrs = dropKey(l.attrs, "label")
			kept = append(kept, l)
		}
		d.lines = kept
	default:
		return fmt.Errorf("%w: %d nodes and edges, more than the %d graphviz lays out in a few seconds; %s",
			ErrTooLarge, cost, sfdpBudget, hint)
	}
	d.graph = setKey(d.graph, "layout", d.layout)
	return nil
}

// setAttributes sets the graph-wide attributes: the legend on top, left
// aligned, in a font whose widths graphviz knows (Verdana: its built-in
// metrics match Verdana and DejaVu Sans, what a browser shows).
func (d *Diagram) setAttributes(legend []string) {
	d.graph = []encoding.Attribute{
		plain("layout", "dot"),
		lines("label", wrapLegend(legend, legendRunes), 2*legendRunes, leftBreak),
		plain("labelloc", "t"), plain("labeljust", "l"),
		plain("fontname", quote(fontName)), plain("fontsize", "13"),
		plain("newrank", "true"), plain("outputorder", "edgesfirst"),
		plain("nodesep", "0.3"), plain("ranksep", "0.5"), plain("pad", "0.2"),
	}
	d.node = []encoding.Attribute{
		plain("shape", "box"), plain("style", `"rounded,filled"`), plain("fillcolor", boxFill), plain("color", boxColor),
		plain("fontname", quote(fontName)), plain("fontsize", "11"), plain("margin", `"0.12,0.05"`),
	}
	d.edge = []encoding.Attribute{plain("fontname", quote(fontName)), plain("fontsize", "10"), plain("arrowsize", "0.7")}
}

// outerLabels turns the labels of edges between two clusters into
// xlabels, placed after the layout: dot routes such an edge around the
// clusters between, and a label of its own widened the drawing by its
// width at every rank it crossed (a host map 1600 points wide for 950
// points of boxes).
func (d *Diagram) outerLabels() {
	for _, l := range d.lines {
		if l.order || l.f.cluster == l.t.cluster {
			continue
		}
		for i := range l.attrs {
			if l.attrs[i].Key == "label" {
				l.attrs[i].Key = "xlabel"
			}
		}
	}
}

func dropKey(a []encoding.Attribute, key string) []encoding.Attribute {
	out := a[:0]
	for _, x := range a {
		if x.Key != key {
			out = append(out, x)
		}
	}
	return out
}

func setKey(a []encoding.Attribute, key, value string) []encoding.Attribute {
	for i := range a {
		if a[i].Key == key {
			a[i].Value = value
			return a
		}
	}
	return append(a, plain(key, value))
}

// legendRunes is how long a legend line grows before it wraps: about 1000
// points at 13 points, so the legend does not widen a diagram past what
// a screen 1600 pixels wide shows.
const legendRunes = 130

// wrapLegend breaks legend lines longer than n runes at spaces, the
// continuation indented.
func wrapLegend(legend []string, n int) []string {
	var out []string
	for _, l := range legend {
		for utf8.RuneCountInString(l) > n {
			r := []rune(l)
			cut := n
			for cut > n/2 && r[cut] != ' ' {
				cut--
			}
			out = append(out, string(r[:cut]))
			l = "    " + strings.TrimLeft(string(r[cut:]), " ")
		}
		out = append(out, l)
	}
	return out
}
