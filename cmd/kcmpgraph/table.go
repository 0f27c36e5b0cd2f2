//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/rivo/uniseg"
	"golang.org/x/term"

	"github.com/kcmpgraph/kcmpgraph/analyzer/objname"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/escape"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// typeInfo returns what kcmp says about a snapshot type name.
func typeInfo(name string) kcmp.Info {
	if t, ok := kcmp.Named(name); ok {
		return t.Info()
	}
	return kcmp.Info{}
}

// tableOptions shape the table view.
type tableOptions struct {
	// width is the terminal width: long cells are cut so that no row is
	// wider. 0 never cuts (files, pipes, --wide).
	width int
	// users names a uid; nil looks names up on this machine.
	users func(uid int) string
	// filter describes the selection show applied, "" for none.
	filter string
	// total is the number of processes before that selection.
	total int
}

// terminalWidth returns the width of w if it is a terminal, else 0.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return width
}

// displayWidth is the number of terminal columns s takes: East Asian wide
// characters take two, combining marks none.
func displayWidth(s string) int { return uniseg.StringWidth(s) }

// cutWidth cuts s to at most n terminal columns, ending in "…" when cut.
// It cuts between grapheme clusters, never inside one.
func cutWidth(s string, n int) string {
	if n <= 0 || displayWidth(s) <= n {
		return s
	}
	var b strings.Builder
	used, state := 0, -1
	for rest := s; rest != ""; {
		var cluster string
		var w int
		cluster, rest, w, state = uniseg.FirstGraphemeClusterInString(rest, state)
		if used+w > n-1 {
			break
		}
		b.WriteString(cluster)
		used += w
	}
	b.WriteString("…")
	return b.String()
}

// textTable lays out printable cells in columns aligned by display width,
// which text/tabwriter (one column per rune) gets wrong for wide
// characters. The last column is the one cut to fit a terminal. A table
// without a header prints its rows only.
type textTable struct {
	indent string
	header []string
	rows   [][]string
}

func (t *textTable) add(cells ...string) { t.rows = append(t.rows, cells) }

const (
	columnGap = 2
	// minLastColumn keeps the last column readable on a narrow terminal;
	// such rows wrap rather than show nothing.
	minLastColumn = 12
	// minColumn is as narrow as fitColumns makes any other column.
	minColumn = 8
)

// fitColumns narrows columns (widths, every column's widest cell) until
// they fit in room: always the widest column by one, so a long column
// gives way before a short one and no column is cut while a wider one
// is whole. No column goes below its own width or minColumn, whichever
// is less (the last one minLastColumn); past that, rows are wider than
// room and wrap.
func fitColumns(widths []int, room int) {
	floor := make([]int, len(widths))
	used := 0
	for i, w := range widths {
		floor[i] = min(w, minColumn)
		if i == len(widths)-1 {
			floor[i] = min(w, minLastColumn)
		}
		used += w
	}
	for used > room {
		widest := -1
		for i, w := range widths {
			if w > floor[i] && (widest < 0 || w > widths[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			return
		}
		widths[widest]--
		used--
	}
}

// write prints the table; with width > 0 no row is wider than width
// unless the terminal is too narrow for even the narrowest columns.
func (t *textTable) write(w io.Writer, width int) {
	rows := t.rows
	if t.header != nil {
		rows = append([][]string{t.header}, rows...)
	}
	n := 0
	for _, r := range rows {
		n = max(n, len(r))
	}
	if n == 0 {
		return
	}
	widths := make([]int, n)
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	if width > 0 {
		fitColumns(widths, width-displayWidth(t.indent)-(n-1)*columnGap)
	}
	var b strings.Builder
	for _, r := range rows {
		b.Reset()
		b.WriteString(t.indent)
		for i, c := range r {
			c = cutWidth(c, widths[i])
			b.WriteString(c)
			if i < n-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(c)+columnGap))
			}
		}
		io.WriteString(w, strings.TrimRight(b.String(), " ")+"\n")
	}
}

// tableView holds what writeTable looks up while printing.
type tableView struct {
	s     *snapshot.Snapshot
	opts  tableOptions
	users func(int) string
	procs map[int]*snapshot.Process
	names *objname.Names
}

func (v *tableView) comm(pid int) string {
	p := v.procs[pid]
	if p == nil {
		return "?"
	}
	return v.cut(escape.Text(p.Comm), 20)
}

func (v *tableView) user(pid int) string {
	p := v.procs[pid]
	if p == nil {
		return "?"
	}
	return v.cut(escape.Text(v.users(p.UID)), 16)
}

// target names the description fd m holds, printable.
func (v *tableView) target(m snapshot.Member) string {
	return escape.Text(v.names.FD(m).String())
}

// cut shortens a cell on a terminal only: files get the full text.
func (v *tableView) cut(s string, n int) string {
	if v.opts.width <= 0 {
		return s
	}
	return cutWidth(s, n)
}

// object names a group's object: the description of a file group as
// objname names it, or the kind of per-task object.
func (v *tableView) object(g snapshot.Group) string {
	if g.Type != snapshot.TypeFile {
		return typeInfo(g.Type).Object
	}
	return v.target(g.Members[0])
}

// writeTable prints a snapshot as a readable table: a header, one row per
// holder of each shared object, the NULL classes as counts, epoll watches,
// channels and warnings. Every string from the snapshot goes through
// printable: a snapshot is untrusted input.
func writeTable(w io.Writer, s *snapshot.Snapshot, opts tableOptions) error {
	v := &tableView{s: s, opts: opts, users: opts.users, procs: make(map[int]*snapshot.Process, len(s.Processes)),
		names: objname.New(s)}
	if v.users == nil {
		v.users = userNames{}.name
	}
	for i := range s.Processes {
		v.procs[s.Processes[i].PID] = &s.Processes[i]
	}
	v.header(w)
	writePlaces(w, s, v.opts.width)
	v.groups(w)
	v.nulls(w)
	v.epoll(w)
	v.endpoints(w)
	if len(s.Warnings) > 0 {
		fmt.Fprintln(w, "\nwarnings:")
		for _, warn := range s.Warnings {
			for _, l := range wrap(escape.Text(warn), v.opts.width, "  - ", "    ") {
				fmt.Fprintln(w, l)
			}
		}
	}
	return nil
}

// wrap breaks text into lines of at most width columns at spaces, the
// first line starting with first and the others with rest; width <= 0
// keeps it on one line. A word longer than a line is cut.
func wrap(text string, width int, first, rest string) []string {
	if width <= 0 || displayWidth(first+text) <= width {
		return []string{first + text}
	}
	width = max(width, displayWidth(rest)+minLastColumn)
	var lines []string
	cur, empty := first, true
	for _, word := range strings.Fields(text) {
		switch {
		case empty:
			cur += word
		case displayWidth(cur)+1+displayWidth(word) <= width:
			cur += " " + word
		default:
			lines = append(lines, cutWidth(cur, width))
			cur = rest + word
		}
		empty = false
	}
	return append(lines, cutWidth(cur, width))
}

// line prints a line of text, wrapped at the terminal width.
func (v *tableView) line(w io.Writer, format string, args ...any) {
	for _, l := range wrap(fmt.Sprintf(format, args...), v.opts.width, "", "    ") {
		fmt.Fprintln(w, l)
	}
}

func (v *tableView) header(w io.Writer) {
	s, h := v.s, v.s.Host
	boot := escape.Text(h.BootID)
	if i := strings.IndexByte(boot, '-'); i > 0 {
		boot = boot[:i]
	}
	v.line(w, "kcmpgraph snapshot of %s (kernel %s, boot %s), taken %s", v.cut(escape.Text(h.Hostname), 40),
		v.cut(escape.Text(h.Kernel), 30), v.cut(boot, 12), h.TakenAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	st := s.Stats
	exact := "exact (kcmp)"
	if !s.Exact {
		exact = "NOT EXACT (no kcmp)"
	}
	v.line(w, "scanned %s, %s, %s; %s; %.2f s; %s", plural.Count(st.Processes, "process", "processes"), plural.Count(st.Tasks, "task", "tasks"),
		plural.Count(st.FDs, "fd", "fds"), plural.Count(int(st.TotalKcmpCalls()), "kcmp call", "kcmp calls"), st.Seconds, exact)
	if n := unreadable(s); n > 0 {
		v.line(w, "not readable: %s, whose sharing is not shown", plural.Count(n, "process", "processes"))
	}
	v.line(w, "scope: %s", v.scope())
	if v.opts.filter != "" {
		v.line(w, "showing: %s (%d of %s)", v.opts.filter, len(s.Processes), plural.Count(v.opts.total, "process", "processes"))
	}
	if !s.Exact {
		for _, l := range wrap("kcmp was unavailable when this snapshot was taken. Open files are grouped by inode: a dup and a second open() of one file look the same.",
			v.opts.width, "*** NOT EXACT: ", "*** ") {
			fmt.Fprintln(w, l)
		}
	}
}

// unreadable counts the processes whose fds or kcmp were denied, and those
// left out entirely.
func unreadable(s *snapshot.Snapshot) int {
	n := s.Stats.Skipped[procscan.SkipDenied]
	for _, p := range s.Processes {
		for _, d := range p.Denied {
			if strings.HasPrefix(d, "fds:") || strings.HasPrefix(d, "kcmp:") {
				n++
				break
			}
		}
	}
	return n
}

func (v *tableView) scope() string {
	sc := v.s.Host.Scope
	var parts []string
	switch {
	case len(sc.PIDs) > 0:
		parts = append(parts, "pids "+joinInts(sc.PIDs))
	case sc.Tree != 0:
		parts = append(parts, "tree of pid "+strconv.Itoa(sc.Tree))
	default:
		parts = append(parts, "all processes")
	}
	if len(sc.Users) > 0 {
		var us []string
		for _, u := range sc.Users {
			us = append(us, escape.Text(v.users(u)))
		}
		parts = append(parts, "users "+strings.Join(us, ","))
	}
	if sc.Threads {
		parts = append(parts, "every thread")
	}
	if len(sc.Types) > 0 && len(sc.Types) < len(snapshot.GroupTypes)+1 {
		var ts []string
		for _, t := range sc.Types {
			ts = append(ts, escape.Text(t))
		}
		parts = append(parts, "types "+strings.Join(ts, ","))
	}
	if sc.Frozen {
		parts = append(parts, "frozen ("+escape.Text(sc.FreezeMethod)+")")
	} else {
		parts = append(parts, "live (not frozen)")
	}
	return strings.Join(parts, "; ")
}

// groups prints one row per holder: file groups first, then the per-task
// types in kernel order; within a type the most shared objects first.
func (v *tableView) groups(w io.Writer) {
	rank := map[string]int{}
	for i, t := range snapshot.GroupTypes {
		rank[t] = i
	}
	type shown struct {
		g       snapshot.Group
		object  string
		members []snapshot.Member
	}
	gs := make([]shown, 0, len(v.s.Groups))
	for _, g := range v.s.Groups {
		ms := append([]snapshot.Member(nil), g.Members...)
		sort.Slice(ms, func(i, j int) bool { return ms[i].Less(ms[j]) })
		gs = append(gs, shown{g: g, object: v.object(g), members: ms})
	}
	sort.SliceStable(gs, func(i, j int) bool {
		a, b := gs[i], gs[j]
		switch {
		case rank[a.g.Type] != rank[b.g.Type]:
			return rank[a.g.Type] < rank[b.g.Type]
		case len(a.members) != len(b.members):
			return len(a.members) > len(b.members)
		case a.object != b.object:
			return a.object < b.object
		}
		return a.members[0].Less(b.members[0])
	})
	fmt.Fprintln(w)
	if len(gs) == 0 {
		fmt.Fprintln(w, "no shared objects")
		return
	}
	t := textTable{header: []string{"TYPE", "PID", "COMM", "USER", "FD/TID", "OBJECT"}}
	for _, g := range gs {
		for i, m := range g.members {
			typ, obj := "", ""
			if i == 0 {
				typ, obj = g.g.Type, g.object
			}
			which := strconv.Itoa(m.FD)
			switch {
			case m.IsTask():
				which = "tid " + strconv.Itoa(m.TID)
			case m.Thread != 0: // an fd of a thread's own fd table
				which += " (tid " + strconv.Itoa(m.Thread) + ")"
			}
			t.add(typ, strconv.Itoa(m.PID), v.comm(m.PID), v.user(m.PID), which, obj)
		}
	}
	t.write(w, v.opts.width)
}

// nulls prints the NULL classes as counts: listing every task with no I/O
// context would list most of the host.
func (v *tableView) nulls(w io.Writer) {
	t := textTable{indent: "  "}
	for _, typ := range snapshot.GroupTypes {
		if n := len(v.s.Null[typ]); n > 0 {
			t.add(typ, plural.Count(n, "task", "tasks"), "with "+typeInfo(typ).Null)
		}
	}
	if len(t.rows) == 0 {
		return
	}
	fmt.Fprintln(w, "\nNULL objects, not shared though kcmp calls them equal:")
	t.write(w, v.opts.width)
}

// epoll prints each epoll instance with one row per watch: the fd number
// it was registered under and the fd that holds that description now.
func (v *tableView) epoll(w io.Writer) {
	if len(v.s.Epoll) == 0 {
		return
	}
	fmt.Fprintln(w)
	t := textTable{header: []string{"EPOLL", "COMM", "USER", "WATCHES", "HELD NOW BY", "OBJECT"}}
	for _, e := range v.s.Epoll {
		ep, comm, user := snapshot.Member{PID: e.PID, FD: e.FD}.String(), v.comm(e.PID), v.user(e.PID)
		if len(e.Watches) == 0 {
			t.add(ep, comm, user, "-", "-", "(watches nothing)")
		}
		for i, wt := range e.Watches {
			holder, obj := "-", "(held by no scanned fd)"
			if wt.Holder != nil {
				holder, obj = wt.Holder.String(), v.target(*wt.Holder)
				if wt.Holder.PID != e.PID {
					holder += " " + v.comm(wt.Holder.PID)
				}
			}
			if i > 0 {
				ep, comm, user = "", "", ""
			}
			t.add(ep, comm, user, "fd "+strconv.Itoa(wt.TFD), holder, obj)
		}
	}
	t.write(w, v.opts.width)
}

// endpoints prints the channels between scanned fds, one row per end:
// the channel's name (objname), the end (a pipe's write end before its
// read end, a connection's client before its server, a pty's master,
// a tcp or udp end's address) and its holders.
func (v *tableView) endpoints(w io.Writer) {
	if len(v.s.Endpoints) == 0 {
		return
	}
	fmt.Fprintln(w)
	t := textTable{header: []string{"CHANNEL", "END", "HOLDERS"}}
	for i := range v.s.Endpoints {
		e := &v.s.Endpoints[i]
		c := v.names.Channel(e)
		order := make([]int, 0, len(e.Ends))
		if c.From >= 0 {
			order = append(order, c.From, c.To)
		}
		for j := range e.Ends {
			if j != c.From && j != c.To {
				order = append(order, j)
			}
		}
		for k, j := range order {
			name := ""
			if k == 0 {
				name = escape.Text(c.Text)
			}
			end := c.Ends[j]
			if end == "" {
				end = "end " + strconv.Itoa(j+1)
			}
			t.add(name, escape.Text(end), v.holders(e.Ends[j]))
		}
	}
	t.write(w, v.opts.width)
}

// holders lists the holders of a channel end, "pid:fd comm", the first
// few and a count of the rest.
func (v *tableView) holders(ms []snapshot.Member) string {
	const shown = 4
	hs := make([]string, 0, min(len(ms), shown))
	for k, m := range ms {
		if k == shown {
			return strings.Join(hs, ", ") + fmt.Sprintf(" and %d more", len(ms)-shown)
		}
		hs = append(hs, m.String()+" "+v.comm(m.PID))
	}
	return strings.Join(hs, ", ")
}
