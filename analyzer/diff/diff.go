package diff

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kcmpgraph/kcmpgraph/analyzer/objname"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
)

// Schema is the value of the "schema" field of the JSON form.
const Schema = "kcmpgraph.diff/v1"

// Options choose what is compared.
type Options struct {
	// IgnoreStdio leaves fds 0, 1 and 2 out: their opens, closes, sharing,
	// epoll watches and channel ends.
	IgnoreStdio bool
	// Selection is applied to both snapshots (--pid, --tree, --user,
	// --types; LeadersOnly without --threads).
	// Without "file" in Types, fd opens and closes are not compared;
	// without "epoll", epoll watches are not.
	Selection snapshot.Selection
}

// Side describes one of the two snapshots.
type Side struct {
	File     string    `json:"file"`
	Hostname string    `json:"hostname"`
	BootID   string    `json:"boot_id"`
	TakenAt  time.Time `json:"taken_at"`
	// Exact is false when that snapshot's file sharing was approximated
	// by inode (no kcmp).
	Exact bool `json:"exact"`
}

// Proc names a process across snapshots: pid and start time identify it.
type Proc struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
	Comm      string `json:"comm"`
	UID       int    `json:"uid"`
	// Place is the container or systemd unit it runs in (snapshot
	// Process.Place), in the later snapshot that has it.
	Place string `json:"place,omitempty"`
}

// FieldChange is one attribute of a process that changed.
type FieldChange struct {
	// Field is comm, exe, uid, euid, gid, egid, cgroup, place (its
	// container or unit), root, zombie or ns/TYPE (ns/mnt, ns/net, ...).
	Field string `json:"field"`
	// Before and After are the values as text (numbers in decimal).
	Before string `json:"before"`
	After  string `json:"after"`
}

// ProcChange lists the attributes of one process that changed: after an
// exec (comm, exe), a setuid, a move to another cgroup or namespace, or
// its exit (zombie).
type ProcChange struct {
	Process Proc          `json:"process"`
	Changes []FieldChange `json:"changes"`
}

// FD is one fd as a diff shows it.
type FD struct {
	FD int `json:"fd"`
	// TID is set for an fd of a thread's own fd table (snapshot.FD.Thread).
	TID    int    `json:"tid,omitempty"`
	Target string `json:"target"`
	// Name names the description for people, as show, who, audit and
	// graph do (package objname): "tcp 127.0.0.1:8080 LISTEN".
	Name string `json:"name"`
	Dev  uint64 `json:"dev"`
	Ino  uint64 `json:"ino"`
	// Leak, for an fd that appeared, says why it is a leak: a process
	// that ran before holds a file or directory its credentials could not
	// open (see LeakReason).
	Leak string `json:"leak,omitempty"`
}

// FDReplaced is an fd with the same number on the same inode in both
// snapshots that holds another open file description after: dup2 over
// it, or close and open again. See matchFiles for how that is known.
type FDReplaced struct {
	FD
	BeforeFlags string `json:"before_flags"`
	AfterFlags  string `json:"after_flags"`
	BeforePos   int64  `json:"before_pos"`
	AfterPos    int64  `json:"after_pos"`
	// Certain is false when the fds that parted showed nothing that tells
	// which of them changed description: this one is named by convention.
	Certain bool `json:"certain"`
	// Evidence says how it is known, first the reason, then what changed
	// of what the description owns (flags, position).
	Evidence []string `json:"evidence"`
}

// FDFlags is an fd that kept its description but whose open flags
// changed: fcntl F_SETFL on the description (O_APPEND, O_NONBLOCK,
// O_ASYNC, O_DIRECT, O_NOATIME) or F_SETFD on the fd alone (O_CLOEXEC).
type FDFlags struct {
	FD     int    `json:"fd"`
	TID    int    `json:"tid,omitempty"`
	Target string `json:"target"`
	Name   string `json:"name"` // as FD.Name
	Before string `json:"before"`
	After  string `json:"after"`
}

// FDChange lists the fds of one process that appeared ("opened": opened,
// dup'd, received or inherited over an exec; a diff cannot tell which),
// closed, were replaced by another description under the same number,
// or changed flags. An fd number that points at another file than
// before is closed and opened.
type FDChange struct {
	Process  Proc         `json:"process"`
	Opened   []FD         `json:"opened"`
	Closed   []FD         `json:"closed"`
	Replaced []FDReplaced `json:"replaced"`
	Flags    []FDFlags    `json:"flags"`
}

// Holder is one holder of a shared object: an fd of a process, or a task.
// FD is set for an fd, TID for a task; both for an fd of a thread's own
// fd table.
type Holder struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
	Comm      string `json:"comm"`
	FD        *int   `json:"fd,omitempty"`
	TID       *int   `json:"tid,omitempty"`
	// Reason, on a leaked holder, says why it is a leak.
	Reason string `json:"reason,omitempty"`
}

// String formats the holder as pid:fd, pid/tid, or pid/tid:fd for an fd
// of a thread's own table.
func (h Holder) String() string {
	switch {
	case h.TID != nil && h.FD != nil:
		return strconv.Itoa(h.PID) + "/" + strconv.Itoa(*h.TID) + ":" + strconv.Itoa(*h.FD)
	case h.TID != nil:
		return strconv.Itoa(h.PID) + "/" + strconv.Itoa(*h.TID)
	case h.FD != nil:
		return strconv.Itoa(h.PID) + ":" + strconv.Itoa(*h.FD)
	}
	return strconv.Itoa(h.PID)
}

// order is what holders of one process sort by: a task by tid; an fd by
// its table (the process's own first) and number.
func (h Holder) order() [2]int {
	tid, fd := 0, -1
	if h.TID != nil {
		tid = *h.TID
	}
	if h.FD != nil {
		fd = *h.FD
	}
	return [2]int{tid, fd}
}

func (h Holder) less(o Holder) bool {
	if h.PID != o.PID {
		return h.PID < o.PID
	}
	if h.StartTime != o.StartTime {
		return h.StartTime < o.StartTime
	}
	x, y := h.order(), o.order()
	return x[0] < y[0] || x[0] == y[0] && x[1] < y[1]
}

// Values of SharingChange.Change.
const (
	Began   = "began"   // shared now, by one holder or none before
	Ended   = "ended"   // shared before, by one holder or none now
	Changed = "changed" // shared in both, with other holders
)

// SharingChange is one kernel object whose holders changed.
type SharingChange struct {
	// Type is a group type: file, vm, files, fs, sighand, io, sysvsem.
	Type string `json:"type"`
	// Object names it: the fd target of its lowest holder for file, the
	// kernel structure (mm_struct, files_struct, fs_struct,
	// sighand_struct, io_context, sem_undo_list) for the others.
	Object string `json:"object"`
	// Name names the object for people (package objname): a file
	// object's description as FD.Name names it, "address space" for vm.
	Name   string `json:"name"`
	Change string `json:"change"`
	// Leak is set when Leaked is not empty.
	Leak bool `json:"leak"`
	// Before and After are all its holders on each side (a sole holder
	// included); Joined and Left the difference.
	Before []Holder `json:"before"`
	After  []Holder `json:"after"`
	Joined []Holder `json:"joined"`
	Left   []Holder `json:"left"`
	// Leaked are the joined holders of a file object that had holders
	// before, in processes that held none of it: a process that ran
	// before and received the description (SCM_RIGHTS, pidfd_getfd), or
	// a process that started since and holds it across an exec (its exe,
	// or comm if an exe is unknown, differs from its parent's). A child
	// that was forked without exec inherits its parent's fds by design
	// and is no leak. This is the descriptor leak a before/after
	// comparison exists to find.
	Leaked []Holder `json:"leaked"`
}

// Watch is one epoll registration as a diff shows it.
type Watch struct {
	// TFD is the fd number the target was registered under.
	TFD int `json:"tfd"`
	// Object is the target of the watched description's holder, or
	// "(held by no scanned fd)".
	Object string `json:"object"`
	// Name names the watched description as FD.Name does, or is Object
	// when no scanned fd holds it. Watches are compared by TFD and Object.
	Name string `json:"name"`
}

// EpollChange lists the watches an epoll fd of a process gained and lost.
// An epoll fd opened or closed between the snapshots lists all its
// watches.
type EpollChange struct {
	Process Proc `json:"process"`
	FD      int  `json:"fd"`
	// TID is set for an epoll fd of a thread's own fd table.
	TID     int     `json:"tid,omitempty"`
	Added   []Watch `json:"added"`
	Removed []Watch `json:"removed"`
}

// Values of EndpointChange.Change.
const (
	Appeared = "appeared"
	Gone     = "gone"
)

// EndpointChange is a channel (pipe, unix socket pair, tcp or udp
// connection, pty) that appeared or went away between the snapshots.
type EndpointChange struct {
	Change string `json:"change"`
	Kind   string `json:"kind"`
	Name   string `json:"name,omitempty"`
	// Label names the channel for people (objname.Channel): "pipe:[4711]",
	// "unix /run/app.sock", "tcp 127.0.0.1:41822 → 127.0.0.1:8080".
	Label string `json:"label"`
	// Addresses are a tcp or udp connection's local address of each end,
	// aligned with Ends (snapshot.Endpoint.Addresses).
	Addresses []string   `json:"addresses,omitempty"`
	Ends      [][]Holder `json:"ends"`
}

// Diff is the comparison of two snapshots. Every list is sorted (see the
// package documentation) and never nil.
type Diff struct {
	Schema string `json:"schema"`
	Before Side   `json:"before"`
	After  Side   `json:"after"`
	// Warnings say what limits the comparison: a snapshot that is not
	// exact, different boots or hosts, different scan scopes, processes
	// that could not be read completely.
	Warnings []string `json:"warnings"`
	// Differences counts every reported change: a process, a field, an
	// fd, a sharing change, a watch, a channel. 0 means the snapshots
	// agree (exit status 0).
	Differences int `json:"differences"`
	// Leaks counts the sharing changes with Leak set, and the fds with a
	// Leak reason that no such change lists.
	Leaks     int              `json:"leaks"`
	Started   []Proc           `json:"started"`
	Exited    []Proc           `json:"exited"`
	Changed   []ProcChange     `json:"changed"`
	FDs       []FDChange       `json:"fds"`
	Sharing   []SharingChange  `json:"sharing"`
	Epoll     []EpollChange    `json:"epoll"`
	Endpoints []EndpointChange `json:"endpoints"`
	// Summary is the diff in a few counts and names, for a reload or a
	// deploy (WriteSummary).
	Summary Summary `json:"summary"`
}

// procKey identifies a process across snapshots. epoch differs between
// the two sides when they come from different boots, so that no process
// matches.
type procKey struct {
	pid   int
	start uint64
	epoch int
}

// view is one side of the comparison.
type view struct {
	s       *snapshot.Snapshot // the selection
	full    *snapshot.Snapshot // everything, for parents outside the selection
	names   *objname.Names     // of full
	epoch   int
	procs   map[procKey]*snapshot.Process
	key     map[int]procKey // by pid
	partial map[int]bool    // pids whose fds or sharing are left out
}

func newView(full *snapshot.Snapshot, sel snapshot.Selection, epoch int) *view {
	s := full.Select(sel)
	v := &view{s: s, full: full, names: objname.New(full), epoch: epoch, procs: make(map[procKey]*snapshot.Process, len(s.Processes)),
		key: make(map[int]procKey, len(s.Processes)), partial: map[int]bool{}}
	for i := range s.Processes {
		p := &s.Processes[i]
		k := procKey{p.PID, p.StartTime, epoch}
		v.procs[k] = p
		v.key[p.PID] = k
	}
	return v
}

// name names fd f of process p (objname).
func (v *view) name(p *snapshot.Process, f *snapshot.FD) string {
	return v.names.FD(snapshot.Member{PID: p.PID, FD: f.FD, Thread: f.Thread}).String()
}

func (v *view) proc(pid int) *snapshot.Process {
	if k, ok := v.key[pid]; ok {
		return v.procs[k]
	}
	return nil
}

type comparer struct {
	a, b   *view
	keepFD func(int) bool
	types  map[string]bool // nil: all
	d      *Diff
	files  *fileMatch // nil when file is not compared
}

func (c *comparer) compares(typ string) bool { return c.types == nil || c.types[typ] }

// Compare compares before and after, named beforeName and afterName in
// the output. It never fails: whatever limits the comparison is said in
// Diff.Warnings.
func Compare(before, after *snapshot.Snapshot, beforeName, afterName string, opts Options) *Diff {
	d := &Diff{
		Schema: Schema, Before: sideOf(before, beforeName), After: sideOf(after, afterName),
		Warnings: []string{}, Started: []Proc{}, Exited: []Proc{}, Changed: []ProcChange{}, FDs: []FDChange{},
		Sharing: []SharingChange{}, Epoll: []EpollChange{}, Endpoints: []EndpointChange{},
	}
	sel := opts.Selection
	d.Warnings = append(d.Warnings, exactWarnings(before, after)...)
	epoch := 0
	ba, bb := before.Host.BootID, after.Host.BootID
	switch {
	case ba != "" && bb != "" && ba != bb:
		epoch = 1
		d.Warnings = append(d.Warnings, fmt.Sprintf("the snapshots come from different boots (%s, %s): no process can be in both, so every process is reported as exited and started", ba, bb))
	case ba == "" || bb == "":
		d.Warnings = append(d.Warnings, "a snapshot has no boot id: a pid reused across a reboot cannot be told from the same process")
	}
	if before.Host.Hostname != after.Host.Hostname {
		d.Warnings = append(d.Warnings, fmt.Sprintf("the snapshots come from different hosts (%s, %s)", before.Host.Hostname, after.Host.Hostname))
	}
	if !before.Host.TakenAt.IsZero() && after.Host.TakenAt.Before(before.Host.TakenAt) {
		d.Warnings = append(d.Warnings, "AFTER was taken before BEFORE: are the arguments swapped?")
	}
	var scopeWarn []string
	sel.Types, scopeWarn = commonTypes(before.Host.Scope, after.Host.Scope, sel.Types)
	d.Warnings = append(d.Warnings, scopeWarn...)
	d.Warnings = append(d.Warnings, selectionWarnings(before, after, sel)...)

	c := &comparer{a: newView(before, sel, 0), b: newView(after, sel, epoch), d: d,
		keepFD: func(fd int) bool { return !opts.IgnoreStdio || fd > 2 }}
	if sel.Types != nil {
		c.types = map[string]bool{}
		for _, t := range sel.Types {
			c.types[t] = true
		}
	}
	c.processes()
	d.Warnings = append(d.Warnings, c.partialWarning()...)
	if c.compares(snapshot.TypeFile) {
		c.files = c.matchFiles()
		c.fds()
	}
	for _, typ := range snapshot.GroupTypes {
		d.Sharing = append(d.Sharing, c.sharing(typ)...)
	}
	sortSharing(d.Sharing)
	d.Epoll = c.epoll()
	d.Endpoints = c.endpoints()

	d.Differences = len(d.Started) + len(d.Exited) + len(d.Sharing) + len(d.Endpoints)
	for _, p := range d.Changed {
		d.Differences += len(p.Changes)
	}
	for _, f := range d.FDs {
		d.Differences += len(f.Opened) + len(f.Closed) + len(f.Replaced) + len(f.Flags)
	}
	for _, e := range d.Epoll {
		d.Differences += len(e.Added) + len(e.Removed)
	}
	d.Leaks = countLeaks(d)
	d.Summary = c.summary()
	return d
}

// countLeaks counts the sharing changes that are leaks, and the fds that
// appeared as leaks in no such change (one that no other process holds).
func countLeaks(d *Diff) int {
	n := 0
	inSharing := map[string]bool{}
	for _, s := range d.Sharing {
		if s.Leak {
			n++
			for _, h := range s.Leaked {
				inSharing[fmt.Sprintf("%d@%d:%s", h.PID, h.StartTime, h.String())] = true
			}
		}
	}
	for _, f := range d.FDs {
		for _, l := range [][]FD{f.Opened, replacedFDs(f.Replaced)} {
			for _, x := range l {
				h := Holder{PID: f.Process.PID, FD: &x.FD}
				if x.TID != 0 {
					h.TID = &x.TID
				}
				if x.Leak != "" && !inSharing[fmt.Sprintf("%d@%d:%s", f.Process.PID, f.Process.StartTime, h.String())] {
					n++
				}
			}
		}
	}
	return n
}

func replacedFDs(rs []FDReplaced) []FD {
	out := make([]FD, len(rs))
	for i, r := range rs {
		out[i] = r.FD
	}
	return out
}

func sideOf(s *snapshot.Snapshot, file string) Side {
	return Side{File: file, Hostname: s.Host.Hostname, BootID: s.Host.BootID, TakenAt: s.Host.TakenAt, Exact: s.Exact}
}

func exactWarnings(before, after *snapshot.Snapshot) []string {
	var out []string
	for _, x := range []struct {
		s    *snapshot.Snapshot
		name string
	}{{before, "BEFORE"}, {after, "AFTER"}} {
		if !x.s.Exact {
			out = append(out, "NOT EXACT: "+x.name+" was taken without kcmp; its file sharing is approximated by inode, so sharing changes may be wrong")
		}
	}
	return out
}

// commonTypes returns the types to compare: those asked for (all if
// none), less those that only one snapshot scanned.
func commonTypes(a, b snapshot.Scope, asked []string) ([]string, []string) {
	if len(a.Types) == 0 || len(b.Types) == 0 || sameSet(a.Types, b.Types) {
		return asked, nil
	}
	inA, inB := set(a.Types), set(b.Types)
	var common, onlyA, onlyB []string
	all := asked
	if len(all) == 0 {
		all = append(append([]string{}, snapshot.GroupTypes...), snapshot.TypeEpoll)
	}
	for _, t := range all {
		switch {
		case inA[t] && inB[t]:
			common = append(common, t)
		case inA[t]:
			onlyA = append(onlyA, t)
		case inB[t]:
			onlyB = append(onlyB, t)
		}
	}
	var warn []string
	if len(onlyA)+len(onlyB) > 0 {
		var parts []string
		if len(onlyA) > 0 {
			parts = append(parts, strings.Join(onlyA, ",")+" only in BEFORE")
		}
		if len(onlyB) > 0 {
			parts = append(parts, strings.Join(onlyB, ",")+" only in AFTER")
		}
		warn = append(warn, "the snapshots scanned different types ("+strings.Join(parts, "; ")+"): only types both scanned are compared")
	}
	if common == nil {
		common = []string{} // nothing in common: compare no type at all
	}
	return common, warn
}

func set(l []string) map[string]bool {
	m := make(map[string]bool, len(l))
	for _, x := range l {
		m[x] = true
	}
	return m
}

func sameSet(a, b []string) bool {
	x, y := set(a), set(b)
	if len(x) != len(y) {
		return false
	}
	for k := range x {
		if !y[k] {
			return false
		}
	}
	return true
}

func intsText(l []int) string {
	s := make([]string, len(l))
	for i, n := range l {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func scopeText(s snapshot.Scope) string {
	var parts []string
	if len(s.PIDs) > 0 {
		parts = append(parts, "--pid "+intsText(s.PIDs))
	}
	if s.Tree != 0 {
		parts = append(parts, "--tree "+strconv.Itoa(s.Tree))
	}
	if len(s.Users) > 0 {
		parts = append(parts, "--user "+intsText(s.Users))
	}
	if len(parts) == 0 {
		return "all processes"
	}
	return strings.Join(parts, " ")
}

// selectionWarnings explains selections that make processes look started
// or exited when they were only out of view.
func selectionWarnings(a, b *snapshot.Snapshot, sel snapshot.Selection) []string {
	var out []string
	sa, sb := a.Host.Scope, b.Host.Scope
	if x, y := scopeText(sa), scopeText(sb); x != y {
		out = append(out, fmt.Sprintf("the snapshots cover different processes (BEFORE: %s; AFTER: %s): a process outside one of them is reported as started or exited", x, y))
	}
	if sa.Threads != sb.Threads && !sel.LeadersOnly {
		out = append(out, "one snapshot compared every thread (--threads), the other only thread-group leaders: threads are reported as joining or leaving per-task sharing")
	}
	if sel.Tree != 0 {
		pa, pb := a.Process(sel.Tree), b.Process(sel.Tree)
		switch {
		case pa == nil && pb == nil:
			out = append(out, fmt.Sprintf("--tree %d: no such process in either snapshot", sel.Tree))
		case pa == nil:
			out = append(out, fmt.Sprintf("--tree %d: no such process in BEFORE", sel.Tree))
		case pb == nil:
			out = append(out, fmt.Sprintf("--tree %d: no such process in AFTER", sel.Tree))
		case pa.StartTime != pb.StartTime:
			out = append(out, fmt.Sprintf("--tree %d: the pid names different processes in the two snapshots (start times %d and %d)", sel.Tree, pa.StartTime, pb.StartTime))
		}
	}
	var missing []int
	for _, pid := range sel.PIDs {
		if a.Process(pid) == nil && b.Process(pid) == nil {
			missing = append(missing, pid)
		}
	}
	if len(missing) > 0 {
		out = append(out, fmt.Sprintf("--pid: %s in neither snapshot", intsText(missing)))
	}
	return out
}

// processes finds the processes that started, exited and changed, and the
// ones whose fds or sharing could not be read completely on either side.
func (c *comparer) processes() {
	d := c.d
	for k, p := range c.a.procs {
		if _, ok := c.b.procs[k]; !ok {
			d.Exited = append(d.Exited, procOf(p))
		}
	}
	for k, q := range c.b.procs {
		p, ok := c.a.procs[k]
		if !ok {
			d.Started = append(d.Started, procOf(q))
			continue
		}
		if ch := fieldChanges(p, q); len(ch) > 0 {
			d.Changed = append(d.Changed, ProcChange{Process: procOf(q), Changes: ch})
		}
		if incomplete(p) || incomplete(q) {
			c.a.partial[p.PID], c.b.partial[q.PID] = true, true
		}
	}
	sortProcs(d.Started)
	sortProcs(d.Exited)
	sort.Slice(d.Changed, func(i, j int) bool { return procLess(d.Changed[i].Process, d.Changed[j].Process) })
}

// incomplete reports whether what the diff compares of p could not all
// be read: its fds, its tasks, or kcmp on it.
func incomplete(p *snapshot.Process) bool {
	for _, what := range []string{"fds", "fd", "task", "kcmp"} {
		if denied(p, what) {
			return true
		}
	}
	return false
}

// denied reports whether reading what ("fds", "status", "ns/net") failed
// for p (snapshot.Process.Denied holds "what: ERRNO").
func denied(p *snapshot.Process, what string) bool {
	for _, s := range p.Denied {
		if strings.HasPrefix(s, what+":") {
			return true
		}
	}
	return false
}

func (c *comparer) partialWarning() []string {
	if len(c.b.partial) == 0 {
		return nil
	}
	pids := make([]int, 0, len(c.b.partial))
	for pid := range c.b.partial {
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	first := c.b.proc(pids[0])
	if p := c.a.proc(pids[0]); p != nil && len(p.Denied) > 0 && len(first.Denied) == 0 {
		first = p
	}
	what := strings.Join(first.Denied, ", ")
	if len(pids) == 1 {
		return []string{fmt.Sprintf("pid %d (%s) could not be read completely (%s): its fds, sharing and epoll watches are not compared", pids[0], first.Comm, what)}
	}
	list := intsText(pids[:min(len(pids), 10)])
	if len(pids) > 10 {
		list += ",..."
	}
	return []string{fmt.Sprintf("%s could not be read completely (pids %s; pid %d: %s): their fds, sharing and epoll watches are not compared",
		plural.Count(len(pids), "process", "processes"), list, pids[0], what)}
}

// fieldChanges lists the attributes of one process that differ, leaving
// out those that could not be read on either side (a denied read, an
// empty link). A zombie has lost its exe, root and namespaces: when either
// side is one, only comm and the zombie state are compared.
func fieldChanges(p, q *snapshot.Process) []FieldChange {
	var out []FieldChange
	add := func(field, src, before, after string) {
		if before == after || (src != "" && (denied(p, src) || denied(q, src))) {
			return
		}
		out = append(out, FieldChange{Field: field, Before: before, After: after})
	}
	text := func(field, src, before, after string) {
		if before != "" && after != "" {
			add(field, src, before, after)
		}
	}
	add("comm", "", p.Comm, q.Comm)
	if !p.Zombie && !q.Zombie {
		itoa := strconv.Itoa
		text("exe", "exe", p.Exe, q.Exe)
		add("uid", "status", itoa(p.UID), itoa(q.UID))
		add("euid", "status", itoa(p.EUID), itoa(q.EUID))
		add("gid", "status", itoa(p.GID), itoa(q.GID))
		add("egid", "status", itoa(p.EGID), itoa(q.EGID))
		text("cgroup", "cgroup", p.Cgroup, q.Cgroup)
		text("place", "cgroup", p.Place(), q.Place())
		text("root", "root", p.Root, q.Root)
		var nss []string
		for t := range p.Namespaces {
			if _, ok := q.Namespaces[t]; ok {
				nss = append(nss, t)
			}
		}
		sort.Strings(nss)
		for _, t := range nss {
			add("ns/"+t, "ns/"+t, strconv.FormatUint(p.Namespaces[t], 10), strconv.FormatUint(q.Namespaces[t], 10))
		}
	}
	add("zombie", "", strconv.FormatBool(p.Zombie), strconv.FormatBool(q.Zombie))
	return out
}

func procOf(p *snapshot.Process) Proc {
	return Proc{PID: p.PID, StartTime: p.StartTime, Comm: p.Comm, UID: p.UID, Place: p.Place()}
}

func procLess(a, b Proc) bool {
	if a.PID != b.PID {
		return a.PID < b.PID
	}
	return a.StartTime < b.StartTime
}

func sortProcs(ps []Proc) { sort.Slice(ps, func(i, j int) bool { return procLess(ps[i], ps[j]) }) }

// fdKey identifies an fd within a process across snapshots: its number
// and the inode it points at. The target is part of it only where the
// inode does not tell files apart: an anonymous inode (eventfd, timerfd,
// signalfd and epoll share one) or an inode that could not be read. A
// file renamed or deleted while open keeps its key.
type fdKey struct {
	thread   int // snapshot.FD.Thread
	fd       int
	dev, ino uint64
	kind     string
}

func fdKeyOf(f *snapshot.FD) fdKey {
	k := fdKey{thread: f.Thread, fd: f.FD, dev: f.Dev, ino: f.Ino}
	if f.Ino == 0 || strings.HasPrefix(f.Target, "anon_inode:") {
		k.kind = f.Target
	}
	return k
}

func fdOf(f *snapshot.FD) FD {
	return FD{FD: f.FD, TID: f.Thread, Target: f.Target, Dev: f.Dev, Ino: f.Ino}
}

// namedFD is fdOf with the fd's name in view v.
func namedFD(v *view, p *snapshot.Process, f *snapshot.FD) FD {
	x := fdOf(f)
	x.Name = v.name(p, f)
	return x
}

// fds compares the fds of the processes in both snapshots: the ones that
// appeared, closed, hold another description (files.replaced) or changed
// flags. An fd that appeared in a process that could not have opened it
// is marked a leak.
func (c *comparer) fds() {
	for k, q := range c.b.procs {
		p, ok := c.a.procs[k]
		if !ok || c.b.partial[q.PID] {
			continue
		}
		fa := c.fdSet(p)
		fb := c.fdSet(q)
		ch := FDChange{Process: procOf(q), Opened: []FD{}, Closed: []FD{}, Replaced: []FDReplaced{}, Flags: []FDFlags{}}
		for key, f := range fa {
			if _, ok := fb[key]; !ok {
				ch.Closed = append(ch.Closed, namedFD(c.a, p, f))
			}
		}
		for key, f := range fb {
			before, ok := fa[key]
			hk := holderKey{proc: k, fd: key}
			switch {
			case !ok:
				x := namedFD(c.b, q, f)
				x.Leak = c.cannotOpen(q, f)
				ch.Opened = append(ch.Opened, x)
			case c.files != nil && c.files.replaced[hk] != nil:
				r := *c.files.replaced[hk]
				r.Name = c.b.name(q, f)
				r.Leak = c.cannotOpen(q, f)
				ch.Replaced = append(ch.Replaced, r)
			case before.Flags != f.Flags:
				ch.Flags = append(ch.Flags, FDFlags{FD: f.FD, TID: f.Thread, Target: f.Target, Name: c.b.name(q, f),
					Before: snapshot.FlagsText(before.Flags), After: snapshot.FlagsText(f.Flags)})
			}
		}
		if len(ch.Opened)+len(ch.Closed)+len(ch.Replaced)+len(ch.Flags) > 0 {
			sortFDs(ch.Opened)
			sortFDs(ch.Closed)
			slices.SortFunc(ch.Replaced, func(x, y FDReplaced) int { return compareFD(x.FD, y.FD) })
			slices.SortFunc(ch.Flags, func(x, y FDFlags) int { return compareFD(FD{FD: x.FD, TID: x.TID}, FD{FD: y.FD, TID: y.TID}) })
			c.d.FDs = append(c.d.FDs, ch)
		}
	}
	sort.Slice(c.d.FDs, func(i, j int) bool { return procLess(c.d.FDs[i].Process, c.d.FDs[j].Process) })
}

func (c *comparer) fdSet(p *snapshot.Process) map[fdKey]*snapshot.FD {
	m := make(map[fdKey]*snapshot.FD, len(p.FDs))
	for i := range p.FDs {
		if f := &p.FDs[i]; c.keepFD(f.FD) {
			m[fdKeyOf(f)] = f
		}
	}
	return m
}

// compareFD orders fds by table (the process's own first), number and
// target.
func compareFD(x, y FD) int {
	if x.TID != y.TID {
		return x.TID - y.TID
	}
	if x.FD != y.FD {
		return x.FD - y.FD
	}
	return strings.Compare(x.Target, y.Target)
}

func sortFDs(fs []FD) { slices.SortFunc(fs, compareFD) }
