package diff

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kcmpgraph/kcmpgraph/internal/escape"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
)

// maxContext is how many unchanged holders of an object the text shows
// around the ones that joined or left, like a unified diff's context.
const maxContext = 3

// value is escape.Text for a value column, where an empty string would be
// invisible.
func value(s string) string {
	if s == "" {
		return `""`
	}
	return escape.Text(s)
}

// named is an object's name for the text, or its target for a diff made
// without names.
func named(name, target string) string {
	if name != "" {
		return name
	}
	return target
}

// width is the number of runes in an escaped string.
func width(s string) int { return utf8.RuneCountInString(s) }

// pad right-pads s to n runes.
func pad(s string, n int) string {
	if w := width(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}

// textWriter keeps the first write error.
type textWriter struct {
	w   *bufio.Writer
	err error
}

func (t *textWriter) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

// procID identifies a process within a Diff.
type procID struct {
	pid   int
	start uint64
}

// fdID names an fd within a process: its table (a thread's own, or 0)
// and number.
type fdID struct{ tid, fd int }

func fdIDOf(h Holder) fdID {
	id := fdID{fd: *h.FD}
	if h.TID != nil {
		id.tid = *h.TID
	}
	return id
}

// textIndex answers what the text annotates holders with: did the process
// start or exit, did the fd appear, close or get another description.
type textIndex struct {
	started, exited          map[procID]bool
	opened, closed, replaced map[procID]map[fdID]bool
}

func (d *Diff) index() textIndex {
	x := textIndex{started: map[procID]bool{}, exited: map[procID]bool{},
		opened: map[procID]map[fdID]bool{}, closed: map[procID]map[fdID]bool{}, replaced: map[procID]map[fdID]bool{}}
	for _, p := range d.Started {
		x.started[procID{p.PID, p.StartTime}] = true
	}
	for _, p := range d.Exited {
		x.exited[procID{p.PID, p.StartTime}] = true
	}
	for _, f := range d.FDs {
		id := procID{f.Process.PID, f.Process.StartTime}
		x.opened[id], x.closed[id], x.replaced[id] = map[fdID]bool{}, map[fdID]bool{}, map[fdID]bool{}
		for _, fd := range f.Opened {
			x.opened[id][fdID{fd.TID, fd.FD}] = true
		}
		for _, fd := range f.Closed {
			x.closed[id][fdID{fd.TID, fd.FD}] = true
		}
		for _, fd := range f.Replaced {
			x.replaced[id][fdID{fd.TID, fd.FD.FD}] = true
		}
	}
	return x
}

// WriteText writes the diff like a unified diff. A header names the two
// snapshots ("---" BEFORE, "+++" AFTER), lines starting with "!" carry the
// warnings and one line per leak, then come hunks: "@@ processes @@" for
// processes that exited ("-") and started ("+"); one hunk per process
// present in both, "@@ PID COMM (uid N) @@", with the attributes, fds and
// epoll watches that changed (an fd that holds another description under
// the same number is "-" with its old flags and position, "+" with the new
// and why; a flags change is "-fd N flags" and "+fd N flags"; a leak ends
// its line "LEAK: why"); one hunk per object whose holders changed,
// "@@ TYPE OBJECT: CHANGE @@", its holders marked "-" (left), "+" (joined)
// or " " (unchanged, at most three shown); "@@ endpoints @@" for channels
// that went away or appeared (a tcp or udp end followed by its socket's
// address in parentheses). A last line counts the differences. Every
// string from a snapshot is escaped: no input can add a line or a
// terminal escape sequence. Without differences it writes the warnings and
// one line saying so.
func (d *Diff) WriteText(w io.Writer) error {
	t := &textWriter{w: bufio.NewWriter(w)}
	if d.Differences == 0 {
		for _, warn := range d.Warnings {
			t.printf("! %s\n", escape.Text(warn))
		}
		t.printf("no differences between %s and %s\n", escape.Text(d.Before.File), escape.Text(d.After.File))
		return t.flush()
	}
	d.writeHeader(t)
	for _, l := range d.leakLines() {
		t.printf("! %s\n", l)
	}
	x := d.index()
	d.writeProcesses(t)
	d.writeProcessHunks(t)
	for _, s := range d.Sharing {
		writeSharing(t, s, x)
	}
	d.writeEndpoints(t)
	t.printf("\n%s", plural.Count(d.Differences, "difference", "differences"))
	if d.Leaks > 0 {
		t.printf(", %s", plural.Count(d.Leaks, "leak", "leaks"))
	}
	t.printf("\n")
	return t.flush()
}

func (t *textWriter) flush() error {
	if t.err != nil {
		return t.err
	}
	return t.w.Flush()
}

func (d *Diff) writeHeader(t *textWriter) {
	files := []string{escape.Text(d.Before.File), escape.Text(d.After.File)}
	hosts := []string{escape.Text(d.Before.Hostname), escape.Text(d.After.Hostname)}
	fw, hw := max(width(files[0]), width(files[1])), max(width(hosts[0]), width(hosts[1]))
	for i, s := range []Side{d.Before, d.After} {
		// A boot id is a UUID: its first 8 characters tell boots apart.
		// Cut bytes, not runes, so that esc shows any invalid byte.
		boot := s.BootID
		if len(boot) > 8 {
			boot = boot[:8]
		}
		boot = escape.Text(boot)
		if boot == "" {
			boot = "?"
		}
		line := fmt.Sprintf("%s %s  %s  boot %s  %s", []string{"---", "+++"}[i], pad(files[i], fw), pad(hosts[i], hw),
			pad(boot, 8), s.TakenAt.UTC().Format("2006-01-02 15:04:05 UTC"))
		if !s.Exact {
			line += "  NOT EXACT"
		}
		t.printf("%s\n", line)
	}
	for _, warn := range d.Warnings {
		t.printf("! %s\n", escape.Text(warn))
	}
}

// leakLines says, escaped, one line per leak: each sharing change that is
// one, then each fd that appeared as a leak and is in no such change.
func (d *Diff) leakLines() []string {
	var out []string
	inSharing := map[string]bool{}
	for _, s := range d.Sharing {
		if !s.Leak {
			continue
		}
		var also []string
		for _, h := range s.Leaked {
			also = append(also, h.String()+" "+escape.Text(h.Comm)+" ("+escape.Text(h.Reason)+")")
			inSharing[fmt.Sprintf("%s@%d", h.String(), h.StartTime)] = true
		}
		out = append(out, fmt.Sprintf("LEAK %s %s: now also held by %s", escape.Text(s.Type), escape.Text(named(s.Name, s.Object)), strings.Join(also, ", ")))
	}
	for _, f := range d.FDs {
		for _, x := range append(slices.Clone(f.Opened), replacedFDs(f.Replaced)...) {
			h := Holder{PID: f.Process.PID, StartTime: f.Process.StartTime, FD: &x.FD}
			if x.TID != 0 {
				h.TID = &x.TID
			}
			if x.Leak != "" && !inSharing[fmt.Sprintf("%s@%d", h.String(), h.StartTime)] {
				out = append(out, fmt.Sprintf("LEAK file %s: appeared in %s %s (%s)", escape.Text(named(x.Name, x.Target)), h.String(), escape.Text(f.Process.Comm), escape.Text(x.Leak)))
			}
		}
	}
	return out
}

// WriteSummary writes Diff.Summary, for someone who diffs a reload or a
// deploy: the header lines and warnings of the text form, the headline,
// then one line for each set of processes replaced, the listeners kept,
// gone and new, one per leak, the counts of fd and sharing changes, and
// the number of differences the text form lists. Without differences it
// writes what WriteText does.
func (d *Diff) WriteSummary(w io.Writer) error {
	if d.Differences == 0 {
		return d.WriteText(w)
	}
	t := &textWriter{w: bufio.NewWriter(w)}
	d.writeHeader(t)
	s := d.Summary
	t.printf("%s\n", escape.Text(s.Headline))
	for _, r := range s.Replaced {
		t.printf("  replaced: %d %s under %d %s: exited %s; started %s\n", len(r.Exited), escape.Text(r.Comm),
			r.Parent.PID, escape.Text(r.Parent.Comm), procPIDs(r.Exited), procPIDs(r.Started))
	}
	for _, l := range []struct {
		what  string
		names []string
	}{{"listeners kept", s.ListenersKept}, {"listeners gone", s.ListenersGone}, {"new listeners", s.ListenersNew}} {
		if len(l.names) > 0 {
			names := make([]string, len(l.names))
			for i, n := range l.names {
				names[i] = escape.Text(n)
			}
			t.printf("  %s: %s\n", l.what, strings.Join(names, ", "))
		}
	}
	for _, l := range d.leakLines() {
		t.printf("  %s\n", l)
	}
	var fds []string
	for _, c := range []struct {
		n    int
		what string
	}{{s.FDs.Opened, "appeared"}, {s.FDs.Closed, "closed"}, {s.FDs.Replaced, "replaced by another description"}, {s.FDs.Flags, "changed flags"}} {
		if c.n > 0 {
			fds = append(fds, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	if len(fds) > 0 {
		t.printf("  fds: %s\n", strings.Join(fds, ", "))
	}
	var sh []string
	for _, c := range []struct {
		n    int
		what string
	}{{s.Sharing.Began, "began"}, {s.Sharing.Ended, "ended"}, {s.Sharing.Changed, "changed holders"}} {
		if c.n > 0 {
			sh = append(sh, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	if len(sh) > 0 {
		t.printf("  sharing: %s\n", strings.Join(sh, ", "))
	}
	if s.Started+s.Exited+s.Changed > 0 {
		t.printf("  other processes: %d started, %d exited, %d changed\n", s.Started, s.Exited, s.Changed)
	}
	t.printf("(%s; the full report lists them)\n", plural.Count(d.Differences, "difference", "differences"))
	return t.flush()
}

func procPIDs(ps []Proc) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = strconv.Itoa(p.PID)
	}
	return strings.Join(parts, " ")
}

// fdLabel names an fd in a process hunk: "fd 3", "fd 3 (tid 1240)" for
// an fd of a thread's own table.
func fdLabel(f FD) string {
	if f.TID != 0 {
		return fmt.Sprintf("fd %d (tid %d)", f.FD, f.TID)
	}
	return "fd " + strconv.Itoa(f.FD)
}

func leakNote(why string) string {
	if why == "" {
		return ""
	}
	return "  LEAK: " + escape.Text(why)
}

func procColumns(p Proc) (string, string, string) {
	who := "uid " + strconv.Itoa(p.UID)
	if p.Place != "" {
		who += " in " + escape.Text(p.Place)
	}
	return strconv.Itoa(p.PID), escape.Text(p.Comm), who
}

func (d *Diff) writeProcesses(t *textWriter) {
	if len(d.Started)+len(d.Exited) == 0 {
		return
	}
	type row struct {
		sign    string
		p       Proc
		what    string
		started bool
	}
	var rows []row
	exitedPID := map[int]bool{}
	for _, p := range d.Exited {
		rows = append(rows, row{"-", p, "exited", false})
		exitedPID[p.PID] = true
	}
	otherBoot := d.Before.BootID != "" && d.After.BootID != "" && d.Before.BootID != d.After.BootID
	for _, p := range d.Started {
		what := "started"
		if exitedPID[p.PID] && !otherBoot {
			what = "started (pid reused)"
		}
		rows = append(rows, row{"+", p, what, true})
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].p.PID != rows[j].p.PID {
			return rows[i].p.PID < rows[j].p.PID
		}
		return !rows[i].started && rows[j].started
	})
	var w [3]int
	for _, r := range rows {
		a, b, c := procColumns(r.p)
		w = [3]int{max(w[0], width(a)), max(w[1], width(b)), max(w[2], width(c))}
	}
	t.printf("\n@@ processes @@\n")
	for _, r := range rows {
		a, b, c := procColumns(r.p)
		t.printf("%s%s  %s  %s  %s\n", r.sign, pad(a, w[0]), pad(b, w[1]), pad(c, w[2]), r.what)
	}
}

// writeProcessHunks writes one hunk per process present in both
// snapshots that changed: attributes, fds (by number, closed before
// opened), epoll watches.
func (d *Diff) writeProcessHunks(t *textWriter) {
	type hunk struct {
		p       Proc
		changes []FieldChange
		fds     *FDChange
		epoll   []EpollChange
	}
	hunks := map[procID]*hunk{}
	get := func(p Proc) *hunk {
		id := procID{p.PID, p.StartTime}
		if hunks[id] == nil {
			hunks[id] = &hunk{p: p}
		}
		return hunks[id]
	}
	for _, c := range d.Changed {
		get(c.Process).changes = c.Changes
	}
	for i := range d.FDs {
		get(d.FDs[i].Process).fds = &d.FDs[i]
	}
	for _, e := range d.Epoll {
		h := get(e.Process)
		h.epoll = append(h.epoll, e)
	}
	order := make([]*hunk, 0, len(hunks))
	for _, h := range hunks {
		order = append(order, h)
	}
	sort.Slice(order, func(i, j int) bool { return procLess(order[i].p, order[j].p) })
	for _, h := range order {
		type line struct{ sign, label, value string }
		var lines []line
		for _, c := range h.changes {
			lines = append(lines, line{"-", escape.Text(c.Field), value(c.Before)}, line{"+", escape.Text(c.Field), value(c.After)})
		}
		if h.fds != nil {
			var fdl []line
			var ids []FD
			add := func(sign string, f FD, label, val string) {
				fdl = append(fdl, line{sign, fdLabel(f) + label, val})
				ids = append(ids, FD{FD: f.FD, TID: f.TID})
			}
			for _, f := range h.fds.Closed {
				add("-", f, "", value(named(f.Name, f.Target)))
			}
			for _, f := range h.fds.Opened {
				add("+", f, "", value(named(f.Name, f.Target))+leakNote(f.Leak))
			}
			for _, r := range h.fds.Replaced {
				add("-", r.FD, "", value(named(r.Name, r.Target))+fmt.Sprintf("  %s, position %d", r.BeforeFlags, r.BeforePos))
				sure := "another open file description"
				if !r.Certain {
					sure = "another open file description, probably"
				}
				add("+", r.FD, "", value(named(r.Name, r.Target))+fmt.Sprintf("  %s, position %d: %s (%s)", r.AfterFlags, r.AfterPos, sure,
					escape.Text(strings.Join(r.Evidence, "; ")))+leakNote(r.Leak))
			}
			for _, f := range h.fds.Flags {
				x := FD{FD: f.FD, TID: f.TID}
				add("-", x, " flags", f.Before)
				add("+", x, " flags", f.After)
			}
			idx := make([]int, len(fdl))
			for i := range idx {
				idx[i] = i
			}
			sort.SliceStable(idx, func(i, j int) bool { return compareFD(ids[idx[i]], ids[idx[j]]) < 0 })
			for _, i := range idx {
				lines = append(lines, fdl[i])
			}
		}
		lw := 0
		for _, l := range lines {
			lw = max(lw, width(l.label))
		}
		a, b, c := procColumns(h.p)
		t.printf("\n@@ %s %s (%s) @@\n", a, b, c)
		for _, l := range lines {
			t.printf("%s%s  %s\n", l.sign, pad(l.label, lw), l.value)
		}
		for _, e := range h.epoll {
			t.printf(" epoll %s\n", fdLabel(FD{FD: e.FD, TID: e.TID}))
			ww := 0
			for _, l := range [][]Watch{e.Removed, e.Added} {
				for _, x := range l {
					ww = max(ww, width(strconv.Itoa(x.TFD)))
				}
			}
			for _, x := range e.Removed {
				t.printf("-  watch fd %s  %s\n", pad(strconv.Itoa(x.TFD), ww), escape.Text(named(x.Name, x.Object)))
			}
			for _, x := range e.Added {
				t.printf("+  watch fd %s  %s\n", pad(strconv.Itoa(x.TFD), ww), escape.Text(named(x.Name, x.Object)))
			}
		}
	}
}

var changeText = map[string]string{Began: "sharing began", Ended: "sharing ended", Changed: "holders changed"}

// writeSharing writes one object's hunk: its holders in order, "-" for
// those that left, "+" for those that joined, " " for a few that stayed.
func writeSharing(t *textWriter, s SharingChange, x textIndex) {
	type line struct {
		sign string
		h    Holder
		note string
	}
	joined, left := map[string]bool{}, map[string]bool{}
	key := func(h Holder) string { return fmt.Sprintf("%s@%d", h.String(), h.StartTime) }
	for _, h := range s.Joined {
		joined[key(h)] = true
	}
	for _, h := range s.Left {
		left[key(h)] = true
	}
	leaked := map[string]bool{}
	for _, h := range s.Leaked {
		leaked[key(h)] = true
	}
	var lines []line
	var context []Holder
	for _, h := range s.After {
		if !joined[key(h)] {
			context = append(context, h)
		}
	}
	for _, h := range s.Before {
		id := procID{h.PID, h.StartTime}
		switch {
		case !left[key(h)]:
		case x.exited[id]:
			lines = append(lines, line{"-", h, "exited"})
		case h.FD != nil && x.closed[id][fdIDOf(h)]:
			lines = append(lines, line{"-", h, "closed"})
		case h.FD != nil && x.replaced[id][fdIDOf(h)]:
			lines = append(lines, line{"-", h, "replaced"})
		default:
			lines = append(lines, line{"-", h, ""})
		}
	}
	for _, h := range s.Joined {
		id := procID{h.PID, h.StartTime}
		var notes []string
		switch {
		case x.started[id]:
			notes = append(notes, "started")
		case h.FD != nil && x.opened[id][fdIDOf(h)]:
			notes = append(notes, "appeared")
		case h.FD != nil && x.replaced[id][fdIDOf(h)]:
			notes = append(notes, "replaced")
		}
		if leaked[key(h)] {
			notes = append(notes, "LEAK")
		}
		lines = append(lines, line{"+", h, strings.Join(notes, "  ")})
	}
	more := 0
	if len(context) > maxContext {
		more = len(context) - maxContext
		context = context[:maxContext]
	}
	for _, h := range context {
		lines = append(lines, line{" ", h, ""})
	}
	sort.SliceStable(lines, func(i, j int) bool {
		a, b := lines[i].h, lines[j].h
		if a.less(b) || b.less(a) {
			return a.less(b)
		}
		return lines[i].sign == "-" && lines[j].sign != "-"
	})
	hw, cw := 0, 0
	for _, l := range lines {
		hw, cw = max(hw, width(l.h.String())), max(cw, width(escape.Text(l.h.Comm)))
	}
	head := changeText[s.Change]
	if s.Leak {
		head += ", LEAK"
	}
	t.printf("\n@@ %s %s: %s @@\n", escape.Text(s.Type), escape.Text(named(s.Name, s.Object)), head)
	for _, l := range lines {
		if l.note == "" {
			t.printf("%s\n", strings.TrimRight(fmt.Sprintf("%s%s  %s", l.sign, pad(l.h.String(), hw), escape.Text(l.h.Comm)), " "))
			continue
		}
		t.printf("%s%s  %s  %s\n", l.sign, pad(l.h.String(), hw), pad(escape.Text(l.h.Comm), cw), l.note)
	}
	if more > 0 {
		t.printf("  ... %d more unchanged\n", more)
	}
}

func (d *Diff) writeEndpoints(t *textWriter) {
	if len(d.Endpoints) == 0 {
		return
	}
	names := make([]string, len(d.Endpoints))
	nw := 0
	for i, e := range d.Endpoints {
		names[i] = escape.Text(e.Label)
		if e.Label == "" {
			names[i] = escape.Text(strings.TrimSpace(e.Kind + " " + e.Name))
		}
		nw = max(nw, width(names[i]))
	}
	t.printf("\n@@ endpoints @@\n")
	for i, e := range d.Endpoints {
		sign := "+"
		if e.Change == Gone {
			sign = "-"
		}
		ends := make([]string, len(e.Ends))
		for j, end := range e.Ends {
			ends[j] = holdersText(end)
			if j < len(e.Addresses) {
				ends[j] += " (" + escape.Text(e.Addresses[j]) + ")"
			}
		}
		t.printf("%s%s  %s\n", sign, pad(names[i], nw), strings.Join(ends, " <-> "))
	}
}

// WriteWarnings writes each warning on a line of its own after prefix,
// escaped like the text form: for a caller that prints them apart from a
// JSON or DOT form, on a terminal.
func (d *Diff) WriteWarnings(w io.Writer, prefix string) error {
	t := &textWriter{w: bufio.NewWriter(w)}
	for _, warn := range d.Warnings {
		t.printf("%s%s\n", prefix, escape.Text(warn))
	}
	return t.flush()
}

// WriteJSON writes the diff as indented JSON followed by a newline: the
// stable form the package documentation describes.
func (d *Diff) WriteJSON(w io.Writer) error {
	return escape.WriteJSONIndent(w, d, "", "  ")
}
