package graphout

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/encoding"
	"gonum.org/v1/gonum/graph/multi"

	"github.com/kcmpgraph/kcmpgraph/analyzer/diff"
)

// Colours of a diff diagram.
const (
	addedColor   = "#2ca02c" // green: began, joined, started
	removedColor = "#d62728" // red: ended, left, exited
	keptColor    = "#7f7f7f" // grey: unchanged holders
)

type diffLine struct {
	line
	color string
	style string
}

// ReversedLine keeps the colour: gonum's undirected encoder may write a
// line from its other end.
func (l *diffLine) ReversedLine() graph.Line {
	r := *l
	r.f, r.t = l.t, l.f
	return &r
}

func (l *diffLine) Attributes() []encoding.Attribute {
	a := []encoding.Attribute{{Key: "color", Value: quote(l.color)}}
	if l.style != "" {
		a = append(a, encoding.Attribute{Key: "style", Value: l.style})
	}
	if l.label != "" {
		a = append(a, encoding.Attribute{Key: "label", Value: l.label})
	}
	return a
}

// BuildDiff draws what changed in who shares what: each changed object is
// an ellipse; holders that joined are green edges, holders that left red
// dashed ones, holders that stayed grey; processes that started are green
// boxes, processes that exited red ones. Same quoting and limits as Build.
func BuildDiff(d *diff.Diff, opts Options) (*Diagram, error) {
	if opts.MaxNodes <= 0 {
		opts.MaxNodes = 2000
	}
	out := &Diagram{g: multi.NewUndirectedGraph(), nodes: map[int64]*node{}, layout: "dot", labels: true, ownLegend: true}
	status := map[int]string{}
	reused := map[int]bool{}
	for _, p := range d.Exited {
		status[p.PID] = removedColor
	}
	for _, p := range d.Started {
		if status[p.PID] == removedColor {
			reused[p.PID] = true
		}
		status[p.PID] = addedColor
	}
	procNode := map[int]*node{}
	comm := map[int]string{}
	getProc := func(pid int, c string) *node {
		if n := procNode[pid]; n != nil {
			return n
		}
		color := status[pid]
		if color == "" {
			color = "black"
		}
		if c == "" {
			c = comm[pid]
		}
		first := strconv.Itoa(pid)
		if reused[pid] {
			first += " (pid reused)"
		}
		n := &node{id: int64(pid), dotID: "p" + strconv.Itoa(pid), shape: "box",
			label: lines(quote(first), quote(c)), color: color}
		procNode[pid] = n
		out.g.AddNode(n)
		out.Processes++
		return n
	}
	var nextLine int64
	for i, s := range d.Sharing {
		o := &node{id: -int64(i + 1), dotID: "o" + strconv.Itoa(i+1), shape: "ellipse",
			label: lines(quote(s.Object), quote(s.Type+", "+s.Change)), color: keptColor}
		switch s.Change {
		case diff.Began:
			o.color = addedColor
		case diff.Ended:
			o.color = removedColor
		}
		if s.Leak {
			o.label = lines(quote(s.Object), quote(s.Type+", "+s.Change+", LEAK"))
		}
		out.g.AddNode(o)
		out.Objects++
		joined, left := map[string]bool{}, map[string]bool{}
		for _, h := range s.Joined {
			joined[h.String()] = true
		}
		for _, h := range s.Left {
			left[h.String()] = true
		}
		seen := map[string]bool{}
		for _, h := range append(append([]diff.Holder{}, s.Before...), s.After...) {
			if seen[h.String()] {
				continue
			}
			seen[h.String()] = true
			p := getProc(h.PID, h.Comm)
			l := &diffLine{line: line{f: p, t: o, id: nextLine}, color: keptColor}
			nextLine++
			switch {
			case joined[h.String()]:
				l.color = addedColor
			case left[h.String()]:
				l.color, l.style = removedColor, "dashed"
			}
			if h.FD != nil {
				l.label = quote("fd " + strconv.Itoa(*h.FD))
			}
			out.g.SetLine(l)
		}
	}
	for _, p := range append(append([]diff.Proc{}, d.Started...), d.Exited...) {
		getProc(p.PID, p.Comm)
	}
	total := out.Processes + out.Objects
	if total > opts.MaxNodes {
		return nil, fmt.Errorf("%w: %d nodes, the limit is %d; narrow the diff with --tree, --pid or --types", ErrTooLarge, total, opts.MaxNodes)
	}
	if total > 120 {
		out.layout = "sfdp"
	}
	out.legend = append(out.legend, fmt.Sprintf("kcmpgraph diff %s -> %s", filepath.Base(d.Before.File), filepath.Base(d.After.File)),
		"green: sharing began, holder joined, process started", "red: sharing ended, holder left (dashed), process exited; grey: unchanged")
	warnings := append([]string(nil), d.Warnings...)
	sort.Strings(warnings)
	out.legend = append(out.legend, warnings...)
	for _, n := range procNode {
		out.nodes[n.id] = n
	}
	return out, nil
}
