package graphout

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"

	"gonum.org/v1/gonum/graph/encoding"

	"github.com/kcmpgraph/kcmpgraph/analyzer/diff"
)

// Colours of a diff diagram.
const (
	addedColor   = `"#2ca02c"` // green: began, joined, started
	removedColor = `"#d62728"` // red: ended, left, exited
	keptColor    = `"#7f7f7f"` // grey: unchanged holders
)

// BuildDiff draws what changed in who shares what: each changed object is
// an ellipse; holders that joined are green edges, holders that left red
// dashed ones, holders that stayed grey; processes that started are green
// boxes, processes that exited red ones. Same quoting and limits as Build.
func BuildDiff(d *diff.Diff, opts Options) (*Diagram, error) {
	out := newDiagram()
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
	procNode := map[int]*dnode{}
	getProc := func(pid int, comm string) *dnode {
		if n := procNode[pid]; n != nil {
			return n
		}
		color := status[pid]
		if color == "" {
			color = "black"
		}
		first := strconv.Itoa(pid)
		if reused[pid] {
			first += " (pid reused)"
		}
		n := out.addNode("pid"+strconv.Itoa(pid), plain("shape", "box"), plain("color", color),
			lines("label", []string{first, comm}, maxLabelRunes, `\n`), attr("tooltip", comm+" "+first))
		procNode[pid] = n
		out.Processes++
		return n
	}
	for i, s := range d.Sharing {
		change := s.Type + ", " + s.Change
		if s.Leak {
			change += ", LEAK"
		}
		color := keptColor
		switch s.Change {
		case diff.Began:
			color = addedColor
		case diff.Ended:
			color = removedColor
		}
		o := out.addNode("object"+strconv.Itoa(i+1), plain("shape", "ellipse"), plain("color", color),
			lines("label", []string{s.Object, change}, maxLabelRunes, `\n`), attr("tooltip", s.Object+": "+change))
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
			a := []encoding.Attribute{plain("dir", "none"), plain("color", keptColor)}
			switch {
			case joined[h.String()]:
				a[1] = plain("color", addedColor)
			case left[h.String()]:
				a[1] = plain("color", removedColor)
				a = append(a, plain("style", "dashed"))
			}
			if h.FD != nil {
				a = append(a, attr("label", "fd "+strconv.Itoa(*h.FD)))
			}
			out.addEdge(getProc(h.PID, h.Comm), o, a...)
		}
	}
	for _, p := range append(append([]diff.Proc{}, d.Started...), d.Exited...) {
		getProc(p.PID, p.Comm)
	}
	legend := []string{fmt.Sprintf("kcmpgraph diff %s -> %s", filepath.Base(d.Before.File), filepath.Base(d.After.File)),
		"green: sharing began, holder joined, process started", "red: sharing ended, holder left (dashed), process exited; grey: unchanged"}
	warnings := append([]string(nil), d.Warnings...)
	sort.Strings(warnings)
	legend = append(legend, warnings...)
	out.setAttributes(legend)
	if err := out.finish(opts.MaxNodes); err != nil {
		return nil, err
	}
	return out, nil
}
