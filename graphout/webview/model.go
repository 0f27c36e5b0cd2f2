package webview

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/analyzer/audit"
	"github.com/kcmpgraph/kcmpgraph/analyzer/objname"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/escape"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
)

// Model is what the page shows, as JSON: the processes and the objects
// they hold, the boxes and edges of the diagram with their positions, the
// audit's findings and, for two snapshots, the changes. Every string in
// it that came from /proc or a snapshot is escaped with escape.Text
// already, so the page shows it as the terminal would; the page sets it
// as text, never as markup.
type Model struct {
	Title string `json:"title"`
	// Mode is "snapshot" or "diff".
	Mode string `json:"mode"`
	// Live is set when the server can rescan the host.
	Live  bool `json:"live"`
	Exact bool `json:"exact"`
	// Notes are legend lines: what was summarised, left out, not exact.
	Notes    []string   `json:"notes"`
	Types    []TypeInfo `json:"types"`
	Procs    []Proc     `json:"procs"`
	Objects  []Object   `json:"objects"`
	Boxes    []Box      `json:"boxes"`
	Edges    []Edge     `json:"edges"`
	Findings []Finding  `json:"findings"`
	Changes  []Change   `json:"changes"`
	// Width and Height are the diagram's extent in pixels.
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// TypeInfo is one edge type of the diagram, for its toggle.
type TypeInfo struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Edges int    `json:"edges"`
}

// Proc is one process.
type Proc struct {
	PID  int    `json:"pid"`
	PPID int    `json:"ppid"`
	Comm string `json:"comm"`
	// Cmd is the command line, each argument escaped, joined by spaces.
	Cmd   string `json:"cmd"`
	Exe   string `json:"exe"`
	User  string `json:"user"`
	UID   int    `json:"uid"`
	EUID  int    `json:"euid"`
	State string `json:"state"`
	// Place is the container or systemd unit ("" for none); Container
	// the container's details, one line each.
	Place     string   `json:"place"`
	Container []string `json:"container"`
	// NS lists the namespaces, those not the host's marked.
	NS      []string `json:"ns"`
	Threads int      `json:"threads"`
	FDs     []FD     `json:"fds"`
	// Tasks indexes the per-task objects (address space, fd table...)
	// the process shares.
	Tasks []int `json:"tasks"`
	// Box indexes the box that draws the process.
	Box int `json:"box"`
	// Status is the process's part in a diff: "started", "exited",
	// "changed" or "".
	Status string `json:"status"`
}

// FD is one file descriptor of a process.
type FD struct {
	FD  int `json:"fd"`
	TID int `json:"tid,omitempty"`
	// Name is what the fd holds (package objname), Kind its kind.
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Obj indexes the object when other fds hold it too, it is a
	// channel's end or an epoll instance watches it; -1 otherwise.
	Obj int `json:"obj"`
}

// Ref names a holder: an fd (FD >= 0) or a task (FD == -1, TID set).
type Ref struct {
	PID int `json:"pid"`
	FD  int `json:"fd"`
	TID int `json:"tid,omitempty"`
}

// Object is one kernel object: an open file description held by several
// fds, a channel's end, a watched description, or a per-task object.
type Object struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Holders []Ref  `json:"holders"`
	// Channel names the channel the description is an end of, End which
	// end, Peers the objects of its other ends.
	Channel string `json:"channel,omitempty"`
	End     string `json:"end,omitempty"`
	Peers   []int  `json:"peers,omitempty"`
	// Watchers are the epoll fds that watch the description.
	Watchers []Ref `json:"watchers,omitempty"`
}

// Box is one box of the diagram: one process, or processes drawn once.
type Box struct {
	X     float64  `json:"x"`
	Y     float64  `json:"y"`
	W     float64  `json:"w"`
	H     float64  `json:"h"`
	Lines []string `json:"lines"`
	PIDs  []int    `json:"pids"`
	// Parent indexes the box of the parent process, -1 for none.
	Parent int    `json:"parent"`
	Status string `json:"status"`
}

// Edge joins two boxes through objects of one type.
type Edge struct {
	A       int    `json:"a"`
	B       int    `json:"b"`
	Type    string `json:"type"`
	Objects []int  `json:"objects"`
	// Status is "added" or "removed" in a diff, "" otherwise.
	Status string `json:"status"`
}

// Finding is one audit finding and what it accuses.
type Finding struct {
	Severity string   `json:"severity"`
	Rule     string   `json:"rule"`
	Title    string   `json:"title"`
	Message  string   `json:"message"`
	Expected string   `json:"expected"`
	Lines    []string `json:"lines"`
	PIDs     []int    `json:"pids"`
	Objects  []int    `json:"objects"`
}

// Change is one difference between two snapshots.
type Change struct {
	// Kind is what changed: process, fds, sharing, epoll or channel.
	Kind string `json:"kind"`
	// Status is "added", "removed" or "changed".
	Status string   `json:"status"`
	Text   string   `json:"text"`
	Leak   bool     `json:"leak"`
	Lines  []string `json:"lines"`
	PIDs   []int    `json:"pids"`
}

// Options shape a model.
type Options struct {
	// Title heads the page; "" names the host and the time of the scan.
	Title string
	// User names a uid; nil prints numbers.
	User func(uid int) string
	// Audit is the audit of the snapshot, nil for none.
	Audit *audit.Report
}

// text escapes hostile text for the model.
func text(s string) string { return escape.Text(s) }

// builder makes a model from one snapshot.
type builder struct {
	s     *snapshot.Snapshot
	opts  Options
	names *objname.Names
	m     *Model
	// obj maps an fd member to the object of its description.
	obj map[snapshot.Member]int
	// proc maps a pid to its index in m.Procs.
	proc map[int]int
}

// Build makes the model of a snapshot (select first with
// snapshot.Select).
func Build(s *snapshot.Snapshot, opts Options) *Model {
	b := newBuilder(s, opts)
	b.objects()
	b.layout()
	b.edges()
	b.findings()
	return b.m
}

func newBuilder(s *snapshot.Snapshot, opts Options) *builder {
	if opts.User == nil {
		opts.User = strconv.Itoa
	}
	title := opts.Title
	if title == "" {
		title = "kcmpgraph · " + s.Host.Hostname
		if !s.Host.TakenAt.IsZero() {
			title += " · " + s.Host.TakenAt.UTC().Format("2006-01-02 15:04 UTC")
		}
	}
	b := &builder{s: s, opts: opts, names: objname.New(s), obj: map[snapshot.Member]int{}, proc: map[int]int{},
		m: &Model{Title: text(title), Mode: "snapshot", Exact: s.Exact, Notes: []string{}, Findings: []Finding{}, Changes: []Change{}}}
	if !s.Exact {
		b.m.Notes = append(b.m.Notes, "NOT EXACT: kcmp was unavailable; file sharing is approximated by inode")
	}
	for i := range s.Processes {
		b.addProc(&s.Processes[i], "")
	}
	return b
}

// addProc adds one process of the snapshot with its fds (objects are
// set later).
func (b *builder) addProc(p *snapshot.Process, status string) { b.addProcNamed(p, status, b.names) }

// addProcNamed adds a process whose fds names names (a process of
// another snapshot, in a diff).
func (b *builder) addProcNamed(p *snapshot.Process, status string, names *objname.Names) {
	args := make([]string, len(p.Cmdline))
	for i, a := range p.Cmdline {
		args[i] = text(a)
	}
	pr := Proc{PID: p.PID, PPID: p.PPID, Comm: text(p.Comm), Cmd: strings.Join(args, " "), Exe: text(p.Exe),
		User: text(b.opts.User(p.UID)), UID: p.UID, EUID: p.EUID, State: text(p.State), Place: text(p.Place()),
		Container: []string{}, NS: []string{}, Threads: len(p.Tasks), FDs: make([]FD, 0, len(p.FDs)), Tasks: []int{},
		Box: -1, Status: status}
	if p.KernelThread {
		pr.State += " (kernel thread)"
	}
	if c := p.Container; c != nil {
		pr.Container = append(pr.Container, text("runtime "+c.Runtime), text("id "+c.ID))
		if c.Name != "" {
			pr.Container = append(pr.Container, text("name "+c.Name))
		}
		if c.Pod != nil {
			pr.Container = append(pr.Container, text("pod "+c.Pod.Namespace+"/"+c.Pod.Name+" ("+c.Pod.UID+")"))
		}
		if c.Helper {
			pr.Container = append(pr.Container, "runtime helper on the host")
		}
	}
	if p.Unit != "" {
		pr.Container = append(pr.Container, text("unit "+p.Unit))
	}
	var kinds []string
	for k := range p.Namespaces {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		ns := text(k) + " " + strconv.FormatUint(p.Namespaces[k], 10)
		if host, ok := b.s.Host.Namespaces[k]; ok && host != p.Namespaces[k] {
			ns += " (not the host's)"
		}
		pr.NS = append(pr.NS, ns)
	}
	for i := range p.FDs {
		fd := &p.FDs[i]
		name := names.FD(p.MemberOf(fd))
		pr.FDs = append(pr.FDs, FD{FD: fd.FD, TID: fd.Thread, Name: text(name.String()), Kind: string(name.Kind), Obj: -1})
	}
	b.proc[p.PID] = len(b.m.Procs)
	b.m.Procs = append(b.m.Procs, pr)
}

func ref(m snapshot.Member) Ref {
	if m.IsTask() {
		return Ref{PID: m.PID, FD: -1, TID: m.TID}
	}
	return Ref{PID: m.PID, FD: m.FD, TID: m.Thread}
}

// fdOf returns the model's fd of member m, or nil.
func (b *builder) fdOf(m snapshot.Member) *FD {
	i, ok := b.proc[m.PID]
	if !ok {
		return nil
	}
	fds := b.m.Procs[i].FDs
	for j := range fds {
		if fds[j].FD == m.FD && fds[j].TID == m.Thread {
			return &fds[j]
		}
	}
	return nil
}

// objectOf returns the object of the description fd member m holds,
// making one (held by m alone) if there is none yet.
func (b *builder) objectOf(m snapshot.Member) int {
	if i, ok := b.obj[m]; ok {
		return i
	}
	name := b.names.FD(m)
	i := len(b.m.Objects)
	b.m.Objects = append(b.m.Objects, Object{Type: snapshot.TypeFile, Name: text(name.Text), Kind: string(name.Kind),
		Holders: []Ref{ref(m)}})
	b.obj[m] = i
	if fd := b.fdOf(m); fd != nil {
		fd.Obj = i
	}
	return i
}

// objects makes the objects: file groups, per-task groups, channel ends
// and epoll targets.
func (b *builder) objects() {
	for _, g := range b.s.Groups {
		i := len(b.m.Objects)
		o := Object{Type: g.Type}
		if g.Type == snapshot.TypeFile {
			name := b.names.Group(g)
			o.Name, o.Kind = text(name.Text), string(name.Kind)
		} else if t, ok := kcmp.Named(g.Type); ok {
			o.Name, o.Kind = t.Info().Object, "task"
		}
		seen := map[int]bool{}
		for _, m := range g.Members {
			o.Holders = append(o.Holders, ref(m))
			if m.IsTask() {
				if !seen[m.PID] {
					seen[m.PID] = true
					if pi, ok := b.proc[m.PID]; ok {
						b.m.Procs[pi].Tasks = append(b.m.Procs[pi].Tasks, i)
					}
				}
				continue
			}
			b.obj[m] = i
			if fd := b.fdOf(m); fd != nil {
				fd.Obj = i
			}
		}
		b.m.Objects = append(b.m.Objects, o)
	}
	for k := range b.s.Endpoints {
		e := &b.s.Endpoints[k]
		c := b.names.Channel(e)
		ends := make([]int, len(e.Ends))
		for j, end := range e.Ends {
			ends[j] = -1
			if len(end) == 0 {
				continue
			}
			ends[j] = b.objectOf(end[0])
			o := &b.m.Objects[ends[j]]
			for _, m := range end[1:] {
				if _, ok := b.obj[m]; !ok {
					b.obj[m] = ends[j]
					o.Holders = append(o.Holders, ref(m))
					if fd := b.fdOf(m); fd != nil {
						fd.Obj = ends[j]
					}
				}
			}
			o.Channel = text(c.Text)
			if j < len(c.Ends) {
				o.End = text(c.Ends[j])
			}
		}
		for j, oj := range ends {
			if oj < 0 {
				continue
			}
			for l, ol := range ends {
				if l != j && ol >= 0 {
					b.m.Objects[oj].Peers = append(b.m.Objects[oj].Peers, ol)
				}
			}
		}
	}
	for _, e := range b.s.Epoll {
		b.objectOf(e.Member())
		for _, w := range e.Watches {
			if w.Holder == nil {
				continue
			}
			t := b.objectOf(*w.Holder)
			b.m.Objects[t].Watchers = append(b.m.Objects[t].Watchers, ref(e.Member()))
		}
	}
}

// findings turns the audit's findings into the model's.
func (b *builder) findings() {
	if b.opts.Audit == nil {
		return
	}
	for _, f := range b.opts.Audit.Findings {
		mf := Finding{Severity: f.Severity.String(), Rule: text(f.Rule), Title: text(f.Title), Message: text(f.Message),
			Expected: text(f.Expected), Lines: []string{}, PIDs: []int{}, Objects: []int{}}
		seen := map[int]bool{}
		for _, h := range f.Holders {
			mf.PIDs = append(mf.PIDs, h.PID)
			line := fmt.Sprintf("%s %d (%s)", text(h.Comm), h.PID, text(b.opts.User(h.UID)))
			if h.Place != "" {
				line += " in " + text(h.Place)
			}
			if h.Role != "" {
				line += ", " + text(h.Role)
			}
			mf.Lines = append(mf.Lines, line)
			for _, fd := range h.FDs {
				mf.Lines = append(mf.Lines, fmt.Sprintf("  fd %d: %s (%s)", fd.FD, text(fd.Object), text(fd.Access)))
				if i, ok := b.obj[snapshot.Member{PID: h.PID, FD: fd.FD, Thread: fd.TID}]; ok && !seen[i] {
					seen[i] = true
					mf.Objects = append(mf.Objects, i)
				}
			}
		}
		b.m.Findings = append(b.m.Findings, mf)
	}
}

// boxOf returns the box of a pid, -1 for none.
func (b *builder) boxOf(pid int) int {
	if i, ok := b.proc[pid]; ok {
		return b.m.Procs[i].Box
	}
	return -1
}

// edges draws the sharing between boxes: one edge per pair of boxes and
// type, listing its objects. An object held in several boxes joins them
// to the box nearest the root of the tree (the one it was inherited
// from, as a rule): a star, not every pair. Objects held in most boxes
// of a large diagram are named in the notes instead.
func (b *builder) edges() {
	type key struct {
		a, b int
		typ  string
	}
	index := map[key]int{}
	add := func(x, y int, typ string, obj int) {
		if x < 0 || y < 0 || x == y {
			return
		}
		if x > y {
			x, y = y, x
		}
		k := key{x, y, typ}
		i, ok := index[k]
		if !ok {
			i = len(b.m.Edges)
			index[k] = i
			b.m.Edges = append(b.m.Edges, Edge{A: x, B: y, Type: typ})
		}
		e := &b.m.Edges[i]
		if n := len(e.Objects); n == 0 || e.Objects[n-1] != obj {
			e.Objects = append(e.Objects, obj)
		}
	}
	nboxes := len(b.m.Boxes)
	type skipped struct {
		name  string
		count int
		most  int
	}
	var left []*skipped
	leftBy := map[string]*skipped{}
	for i := range b.m.Objects {
		o := &b.m.Objects[i]
		boxes := b.holderBoxes(o.Holders)
		if len(boxes) < 2 {
			continue
		}
		if nboxes >= 20 && len(boxes) > nboxes/2 {
			k := o.Type + " " + o.Name
			if leftBy[k] == nil {
				leftBy[k] = &skipped{name: o.Name + " (" + o.Type + ")"}
				left = append(left, leftBy[k])
			}
			leftBy[k].count++
			leftBy[k].most = max(leftBy[k].most, len(boxes))
			continue
		}
		anchor := boxes[0]
		for _, x := range boxes[1:] {
			add(anchor, x, o.Type, i)
		}
	}
	sort.SliceStable(left, func(i, j int) bool { return left[i].most > left[j].most })
	for i, l := range left {
		if i == 6 {
			b.m.Notes = append(b.m.Notes, "not drawn: "+plural.Count(len(left)-i, "more object", "more objects")+" held by most processes")
			break
		}
		what := l.name
		if l.count > 1 {
			what += fmt.Sprintf(", %d objects", l.count)
		}
		b.m.Notes = append(b.m.Notes, fmt.Sprintf("not drawn: %s, held in up to %d boxes", what, l.most))
	}
	// Channels: a line between the boxes that hold one end and the boxes
	// that hold the other, for who talks to whom; between every pair of
	// them when they are few, else from each side's first box.
	for i := range b.m.Objects {
		o := &b.m.Objects[i]
		for _, p := range o.Peers {
			if p < i {
				continue
			}
			b0, b1 := b.holderBoxes(o.Holders), b.holderBoxes(b.m.Objects[p].Holders)
			if len(b0) == 0 || len(b1) == 0 || nboxes >= 20 && (len(b0) > nboxes/2 || len(b1) > nboxes/2) {
				continue
			}
			for _, x := range b0 {
				for _, y := range b1 {
					if len(b0)*len(b1) <= 64 || x == b0[0] || y == b1[0] {
						add(x, y, "channel", i)
					}
				}
			}
		}
	}
	// Epoll: the watcher and the holder of what it watches.
	for i := range b.m.Objects {
		o := &b.m.Objects[i]
		for _, w := range o.Watchers {
			if len(o.Holders) > 0 {
				add(b.boxOf(w.PID), b.boxOf(o.Holders[0].PID), "epoll", i)
			}
		}
	}
	b.setTypes()
}

// holderBoxes returns the distinct boxes of holders, the one nearest the
// root first (then by index).
func (b *builder) holderBoxes(hs []Ref) []int {
	seen := map[int]bool{}
	var out []int
	for _, h := range hs {
		if x := b.boxOf(h.PID); x >= 0 && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	depth := func(x int) int {
		d := 0
		for p := b.m.Boxes[x].Parent; p >= 0 && d < len(b.m.Boxes); p = b.m.Boxes[p].Parent {
			d++
		}
		return d
	}
	sort.Slice(out, func(i, j int) bool {
		di, dj := depth(out[i]), depth(out[j])
		if di != dj {
			return di < dj
		}
		return out[i] < out[j]
	})
	return out
}

// setTypes lists the edge types drawn, in kcmp's order, channels last.
func (b *builder) setTypes() {
	count := map[string]int{}
	for _, e := range b.m.Edges {
		count[e.Type]++
	}
	for _, t := range kcmp.AllTypes {
		b.m.Types = append(b.m.Types, TypeInfo{Name: t.String(), Label: t.Info().Object, Edges: count[t.String()]})
	}
	b.m.Types = append(b.m.Types, TypeInfo{Name: "channel", Label: "channel ends (pipes, sockets, ptys)", Edges: count["channel"]})
}
