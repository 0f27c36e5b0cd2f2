package webview

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/kcmpgraph/kcmpgraph/analyzer/diff"
	"github.com/kcmpgraph/kcmpgraph/analyzer/objname"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
)

// Diff statuses of boxes, edges and changes.
const (
	added   = "added"
	removed = "removed"
	changed = "changed"
)

// BuildDiff makes the before/after model of two snapshots (selected as
// d was) from their diff d: the AFTER snapshot's processes and sharing,
// with the processes that exited since drawn too; boxes of processes
// that started are green, those that exited red, those that changed
// orange; sharing that began or holders that joined are green edges,
// sharing that ended or holders that left red ones; the changes are the
// list beside the diagram.
func BuildDiff(before, after *snapshot.Snapshot, d *diff.Diff, opts Options) *Model {
	if opts.Title == "" {
		opts.Title = "kcmpgraph diff · " + filepath.Base(d.Before.File) + " → " + filepath.Base(d.After.File)
	}
	opts.Audit = nil
	b := newBuilder(after, opts)
	b.m.Mode = "diff"
	b.m.Exact = before.Exact && after.Exact
	status := map[int]string{}
	for _, p := range d.Changed {
		status[p.Process.PID] = changed
	}
	for _, p := range d.Started {
		status[p.PID] = "started"
	}
	beforeNames := objname.New(before)
	for _, p := range d.Exited {
		if _, ok := b.proc[p.PID]; ok {
			continue // the pid was reused: the process that started has it
		}
		if bp := before.Process(p.PID); bp != nil {
			b.addProcNamed(bp, "exited", beforeNames)
		}
	}
	for i := range b.m.Procs {
		if s, ok := status[b.m.Procs[i].PID]; ok {
			b.m.Procs[i].Status = s
		}
	}
	b.objects()
	b.layout()
	b.edges()
	b.diffEdges(d)
	b.changes(d)
	for _, w := range d.Warnings {
		b.m.Notes = append(b.m.Notes, text(w))
	}
	return b.m
}

// diffEdges draws the holders that joined and left each object whose
// sharing changed, from the holder that stayed (or the first one).
func (b *builder) diffEdges(d *diff.Diff) {
	for _, s := range d.Sharing {
		if len(s.Joined) == 0 && len(s.Left) == 0 {
			continue
		}
		o := len(b.m.Objects)
		obj := Object{Type: s.Type, Name: text(s.Object), Kind: s.Change}
		for _, h := range s.After {
			obj.Holders = append(obj.Holders, diffRef(h))
		}
		if len(obj.Holders) == 0 {
			for _, h := range s.Before {
				obj.Holders = append(obj.Holders, diffRef(h))
			}
		}
		b.m.Objects = append(b.m.Objects, obj)
		anchor := -1
		moved := map[int]bool{}
		for _, h := range append(append([]diff.Holder{}, s.Joined...), s.Left...) {
			moved[h.PID] = true
		}
		for _, h := range append(append([]diff.Holder{}, s.After...), s.Before...) {
			if !moved[h.PID] {
				anchor = b.boxOf(h.PID)
				break
			}
		}
		draw := func(hs []diff.Holder, st string) {
			for _, h := range hs {
				x := b.boxOf(h.PID)
				if anchor < 0 {
					anchor = x
					continue
				}
				if x >= 0 && x != anchor {
					b.m.Edges = append(b.m.Edges, Edge{A: anchor, B: x, Type: s.Type, Objects: []int{o}, Status: st})
				}
			}
		}
		draw(s.Joined, added)
		draw(s.Left, removed)
	}
	b.m.Types = nil
	b.setTypes()
}

func diffRef(h diff.Holder) Ref {
	r := Ref{PID: h.PID, FD: -1}
	if h.FD != nil {
		r.FD = *h.FD
	}
	if h.TID != nil {
		r.TID = *h.TID
	}
	return r
}

func holderLine(h diff.Holder) string {
	return text(h.Comm) + " " + h.String()
}

// changes lists the diff's changes, leaks first as the diff does.
func (b *builder) changes(d *diff.Diff) {
	add := func(c Change) {
		if c.Lines == nil {
			c.Lines = []string{}
		}
		b.m.Changes = append(b.m.Changes, c)
	}
	for _, s := range d.Sharing {
		st := changed
		switch s.Change {
		case diff.Began:
			st = added
		case diff.Ended:
			st = removed
		}
		c := Change{Kind: "sharing", Status: st, Leak: s.Leak, Text: text(s.Type + " " + s.Object + ": " + s.Change)}
		for _, h := range s.Joined {
			c.Lines = append(c.Lines, "+ "+holderLine(h))
			c.PIDs = append(c.PIDs, h.PID)
		}
		for _, h := range s.Left {
			c.Lines = append(c.Lines, "- "+holderLine(h))
			c.PIDs = append(c.PIDs, h.PID)
		}
		for _, h := range s.Leaked {
			c.Lines = append(c.Lines, "LEAK "+holderLine(h))
		}
		add(c)
	}
	for _, p := range d.Started {
		add(Change{Kind: "process", Status: added, Text: "started: " + text(p.Comm) + " " + strconv.Itoa(p.PID), PIDs: []int{p.PID}})
	}
	for _, p := range d.Exited {
		add(Change{Kind: "process", Status: removed, Text: "exited: " + text(p.Comm) + " " + strconv.Itoa(p.PID), PIDs: []int{p.PID}})
	}
	for _, p := range d.Changed {
		c := Change{Kind: "process", Status: changed, Text: "changed: " + text(p.Process.Comm) + " " + strconv.Itoa(p.Process.PID),
			PIDs: []int{p.Process.PID}}
		for _, f := range p.Changes {
			c.Lines = append(c.Lines, text(f.Field)+": "+text(f.Before)+" → "+text(f.After))
		}
		add(c)
	}
	for _, f := range d.FDs {
		c := Change{Kind: "fds", Status: changed, PIDs: []int{f.Process.PID},
			Text: fmt.Sprintf("%s %d: %s opened, %s closed", text(f.Process.Comm), f.Process.PID,
				plural.Count(len(f.Opened), "fd", "fds"), plural.Count(len(f.Closed), "fd", "fds"))}
		for _, x := range f.Opened {
			c.Lines = append(c.Lines, fmt.Sprintf("+ fd %d %s", x.FD, text(x.Target)))
		}
		for _, x := range f.Closed {
			c.Lines = append(c.Lines, fmt.Sprintf("- fd %d %s", x.FD, text(x.Target)))
		}
		add(c)
	}
	for _, e := range d.Epoll {
		c := Change{Kind: "epoll", Status: changed, PIDs: []int{e.Process.PID},
			Text: fmt.Sprintf("epoll %s %d fd %d: %d added, %d removed", text(e.Process.Comm), e.Process.PID, e.FD, len(e.Added), len(e.Removed))}
		for _, w := range e.Added {
			c.Lines = append(c.Lines, fmt.Sprintf("+ tfd %d %s", w.TFD, text(w.Object)))
		}
		for _, w := range e.Removed {
			c.Lines = append(c.Lines, fmt.Sprintf("- tfd %d %s", w.TFD, text(w.Object)))
		}
		add(c)
	}
	for _, e := range d.Endpoints {
		st := added
		if e.Change == diff.Gone {
			st = removed
		}
		label := (&snapshot.Endpoint{Kind: e.Kind, Name: e.Name, Addresses: e.Addresses}).Label()
		c := Change{Kind: "channel", Status: st, Text: text(label) + ": " + e.Change}
		for i, end := range e.Ends {
			for _, h := range end {
				c.Lines = append(c.Lines, fmt.Sprintf("end %d: %s", i, holderLine(h)))
				c.PIDs = append(c.PIDs, h.PID)
			}
		}
		add(c)
	}
	for i := range b.m.Changes {
		if b.m.Changes[i].PIDs == nil {
			b.m.Changes[i].PIDs = []int{}
		}
	}
}
