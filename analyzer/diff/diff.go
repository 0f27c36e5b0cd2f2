package diff

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// Options choose what is compared.
type Options struct {
	// IgnoreStdio leaves fds 0, 1 and 2 out.
	IgnoreStdio bool
	// Selection is applied to both snapshots (--pid, --tree, --types).
	Selection snapshot.Selection
}

// Side describes one of the two snapshots.
type Side struct {
	File     string    `json:"file"`
	Hostname string    `json:"hostname"`
	BootID   string    `json:"boot_id"`
	TakenAt  time.Time `json:"taken_at"`
	Exact    bool      `json:"exact"`
}

// Proc names a process across snapshots.
type Proc struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
	Comm      string `json:"comm"`
	UID       int    `json:"uid"`
}

// FD is one fd as a diff shows it.
type FD struct {
	FD     int    `json:"fd"`
	Target string `json:"target"`
}

// FDChange lists the fds one process opened and closed.
type FDChange struct {
	Process Proc `json:"process"`
	Opened  []FD `json:"opened"`
	Closed  []FD `json:"closed"`
}

// Holder is one holder of a shared object.
type Holder struct {
	PID  int    `json:"pid"`
	Comm string `json:"comm"`
	FD   *int   `json:"fd,omitempty"`
	TID  *int   `json:"tid,omitempty"`
}

func (h Holder) String() string {
	if h.TID != nil {
		return fmt.Sprintf("%d/%d", h.PID, *h.TID)
	}
	return fmt.Sprintf("%d:%d", h.PID, *h.FD)
}

// Sharing changes.
const (
	Began   = "began"   // shared now, not before
	Ended   = "ended"   // shared before, not now
	Changed = "changed" // shared in both, by other holders
)

// SharingChange is one object whose holders changed.
type SharingChange struct {
	Type   string   `json:"type"`
	Object string   `json:"object"`
	Change string   `json:"change"`
	Before []Holder `json:"before"`
	After  []Holder `json:"after"`
	Joined []Holder `json:"joined"`
	Left   []Holder `json:"left"`
	// Leak is set when a process that held none of it before now holds
	// the object alongside earlier holders.
	Leak bool `json:"leak"`
}

// Watch is one epoll registration as a diff shows it.
type Watch struct {
	TFD    int    `json:"tfd"`
	Object string `json:"object"`
}

// EpollChange lists the watches an epoll fd gained and lost.
type EpollChange struct {
	Process Proc    `json:"process"`
	FD      int     `json:"fd"`
	Added   []Watch `json:"added"`
	Removed []Watch `json:"removed"`
}

// EndpointChange is a channel (pipe, unix socket pair) that appeared or
// went away between the snapshots.
type EndpointChange struct {
	Change string     `json:"change"` // "appeared" or "gone"
	Kind   string     `json:"kind"`
	Name   string     `json:"name,omitempty"`
	Ends   [][]Holder `json:"ends"`
}

// Diff is the comparison of two snapshots.
type Diff struct {
	Before   Side            `json:"before"`
	After    Side            `json:"after"`
	Warnings []string        `json:"warnings"`
	Started  []Proc          `json:"started"`
	Exited   []Proc          `json:"exited"`
	FDs      []FDChange      `json:"fds"`
	Sharing  []SharingChange `json:"sharing"`
	Epoll    []EpollChange   `json:"epoll"`
	// Endpoints are channels that appeared or went away; a channel whose
	// holders changed is reported as gone and appeared.
	Endpoints []EndpointChange `json:"endpoints"`
	// Differences counts every reported change; 0 means the snapshots
	// agree (exit status 0).
	Differences int `json:"differences"`
}

type procKey struct {
	pid   int
	start uint64
}

// holderKey identifies a holder across snapshots: a task, or an fd with
// what it points at.
type holderKey struct {
	proc   procKey
	fd     int
	tid    int
	target string
	ino    uint64
}

func side(s *snapshot.Snapshot, file string) Side {
	return Side{File: file, Hostname: s.Host.Hostname, BootID: s.Host.BootID, TakenAt: s.Host.TakenAt, Exact: s.Exact}
}

// Compare compares before and after.
func Compare(before, after *snapshot.Snapshot, beforeName, afterName string, opts Options) *Diff {
	a, b := before.Select(opts.Selection), after.Select(opts.Selection)
	d := &Diff{Before: side(a, beforeName), After: side(b, afterName), Warnings: []string{}}
	if a.Host.BootID != "" && b.Host.BootID != "" && a.Host.BootID != b.Host.BootID {
		d.Warnings = append(d.Warnings, "the snapshots come from different boots: every process is new; sharing is compared by membership only")
	}
	if a.Host.Hostname != b.Host.Hostname {
		d.Warnings = append(d.Warnings, fmt.Sprintf("the snapshots come from different hosts (%q, %q)", a.Host.Hostname, b.Host.Hostname))
	}
	for _, sd := range []struct {
		s    *snapshot.Snapshot
		name string
	}{{a, "before"}, {b, "after"}} {
		if !sd.s.Exact {
			d.Warnings = append(d.Warnings, "NOT EXACT: the "+sd.name+" snapshot was taken without kcmp; file sharing there is approximated by inode")
		}
	}
	keep := func(fd int) bool { return !opts.IgnoreStdio || fd > 2 }
	procsA, procsB := indexProcs(a), indexProcs(b)

	// Processes.
	for k, p := range procsA {
		if _, ok := procsB[k]; !ok {
			d.Exited = append(d.Exited, procOf(p))
		}
	}
	for k, p := range procsB {
		if _, ok := procsA[k]; !ok {
			d.Started = append(d.Started, procOf(p))
		}
	}
	sortProcs(d.Started)
	sortProcs(d.Exited)

	// Fds of processes in both.
	for k, pa := range procsA {
		pb, ok := procsB[k]
		if !ok {
			continue
		}
		fa, fb := fdSet(pa, keep), fdSet(pb, keep)
		var ch FDChange
		for key, fd := range fa {
			if _, ok := fb[key]; !ok {
				ch.Closed = append(ch.Closed, fd)
			}
		}
		for key, fd := range fb {
			if _, ok := fa[key]; !ok {
				ch.Opened = append(ch.Opened, fd)
			}
		}
		if len(ch.Opened)+len(ch.Closed) > 0 {
			ch.Process = procOf(pb)
			sortFDs(ch.Opened)
			sortFDs(ch.Closed)
			d.FDs = append(d.FDs, ch)
		}
	}
	sort.Slice(d.FDs, func(i, j int) bool { return d.FDs[i].Process.PID < d.FDs[j].Process.PID })

	// Sharing, type by type.
	for _, typ := range snapshot.GroupTypes {
		d.Sharing = append(d.Sharing, compareSharing(a, b, typ, keep)...)
	}
	d.Epoll = compareEpoll(a, b, procsA, procsB, keep)
	d.Endpoints = compareEndpoints(a, b, keep)
	d.Differences = len(d.Started) + len(d.Exited) + len(d.Sharing) + len(d.Endpoints)
	for _, f := range d.FDs {
		d.Differences += len(f.Opened) + len(f.Closed)
	}
	for _, e := range d.Epoll {
		d.Differences += len(e.Added) + len(e.Removed)
	}
	return d
}

func indexProcs(s *snapshot.Snapshot) map[procKey]*snapshot.Process {
	m := make(map[procKey]*snapshot.Process, len(s.Processes))
	for i := range s.Processes {
		p := &s.Processes[i]
		m[procKey{p.PID, p.StartTime}] = p
	}
	return m
}

func procOf(p *snapshot.Process) Proc {
	return Proc{PID: p.PID, StartTime: p.StartTime, Comm: p.Comm, UID: p.UID}
}

func sortProcs(ps []Proc) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].PID < ps[j].PID })
}

func sortFDs(fs []FD) {
	sort.Slice(fs, func(i, j int) bool {
		if fs[i].FD != fs[j].FD {
			return fs[i].FD < fs[j].FD
		}
		return fs[i].Target < fs[j].Target
	})
}

type fdKey struct {
	fd     int
	target string
	ino    uint64
}

func fdSet(p *snapshot.Process, keep func(int) bool) map[fdKey]FD {
	m := make(map[fdKey]FD, len(p.FDs))
	for _, f := range p.FDs {
		if keep(f.FD) {
			m[fdKey{f.FD, f.Target, f.Ino}] = FD{FD: f.FD, Target: f.Target}
		}
	}
	return m
}

// holders maps each holder of a group of type typ to its group index,
// and returns a holder's display form.
func holders(s *snapshot.Snapshot, typ string, keep func(int) bool) (map[holderKey]int, map[holderKey]Holder, map[int]string) {
	idx := map[holderKey]int{}
	show := map[holderKey]Holder{}
	names := map[int]string{}
	for gi, g := range s.Groups {
		if g.Type != typ {
			continue
		}
		for _, m := range g.Members {
			p := s.Process(m.PID)
			if p == nil {
				continue
			}
			k := holderKey{proc: procKey{p.PID, p.StartTime}}
			h := Holder{PID: p.PID, Comm: p.Comm}
			if m.IsTask() {
				tid := m.TID
				k.tid, h.TID = tid, &tid
			} else {
				if !keep(m.FD) {
					continue
				}
				fd := m.FD
				k.fd, h.FD = fd, &fd
				if f := p.FDByNumber(m.FD); f != nil {
					k.target, k.ino = f.Target, f.Ino
					if _, ok := names[gi]; !ok {
						names[gi] = f.Target
					}
				}
			}
			idx[k] = gi
			show[k] = h
		}
		if _, ok := names[gi]; !ok {
			names[gi] = typ
		}
	}
	return idx, show, names
}

// compareSharing matches groups of one type through common holders and
// reports the objects whose holders changed.
func compareSharing(a, b *snapshot.Snapshot, typ string, keep func(int) bool) []SharingChange {
	ia, showA, namesA := holders(a, typ, keep)
	ib, showB, namesB := holders(b, typ, keep)
	// Union-find over "a<gi>" and "b<gi>" nodes, joined by shared holders.
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if parent[x] == "" || parent[x] == x {
			parent[x] = x
			return x
		}
		r := find(parent[x])
		parent[x] = r
		return r
	}
	union := func(x, y string) { parent[find(x)] = find(y) }
	for k, ga := range ia {
		na := "a" + fmt.Sprint(ga)
		find(na)
		if gb, ok := ib[k]; ok {
			union(na, "b"+fmt.Sprint(gb))
		}
	}
	for _, gb := range ib {
		find("b" + fmt.Sprint(gb))
	}
	type comp struct {
		before, after map[holderKey]bool
		name          string
	}
	comps := map[string]*comp{}
	get := func(node, name string) *comp {
		r := find(node)
		c := comps[r]
		if c == nil {
			c = &comp{before: map[holderKey]bool{}, after: map[holderKey]bool{}, name: name}
			comps[r] = c
		}
		return c
	}
	for k, ga := range ia {
		get("a"+fmt.Sprint(ga), namesA[ga]).before[k] = true
	}
	for k, gb := range ib {
		get("b"+fmt.Sprint(gb), namesB[gb]).after[k] = true
	}
	// A holder that is in a group on one side only may still have existed
	// on the other, unshared: it was (or stays) the sole holder, not a
	// newcomer (or a leaver).
	existsA, existsB := existing(a), existing(b)
	for _, c := range comps {
		for k := range c.after {
			if !c.before[k] && existsA[k] {
				c.before[k] = true
				showA[k] = showB[k]
			}
		}
		for k := range c.before {
			if !c.after[k] && existsB[k] {
				c.after[k] = true
				showB[k] = showA[k]
			}
		}
	}
	var out []SharingChange
	for _, c := range comps {
		ch := SharingChange{Type: typ, Object: c.name, Before: []Holder{}, After: []Holder{}, Joined: []Holder{}, Left: []Holder{}}
		procsBefore := map[procKey]bool{}
		for k := range c.before {
			ch.Before = append(ch.Before, showA[k])
			procsBefore[k.proc] = true
			if !c.after[k] {
				ch.Left = append(ch.Left, showA[k])
			}
		}
		for k := range c.after {
			ch.After = append(ch.After, showB[k])
			if !c.before[k] {
				ch.Joined = append(ch.Joined, showB[k])
				if len(c.before) > 0 && !procsBefore[k.proc] {
					ch.Leak = true
				}
			}
		}
		if len(ch.Joined) == 0 && len(ch.Left) == 0 {
			continue
		}
		switch {
		case len(c.before) <= 1:
			ch.Change = Began
		case len(c.after) <= 1:
			ch.Change = Ended
		default:
			ch.Change = Changed
		}
		for _, l := range [][]Holder{ch.Before, ch.After, ch.Joined, ch.Left} {
			sortHolders(l)
		}
		out = append(out, ch)
	}
	sort.Slice(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.Leak != y.Leak {
			return x.Leak
		}
		hx, hy := firstHolder(x), firstHolder(y)
		if hx.PID != hy.PID {
			return hx.PID < hy.PID
		}
		return hx.String() < hy.String() || (hx.String() == hy.String() && x.Object < y.Object)
	})
	return out
}

// existing lists every fd and task of a snapshot as a holder key.
func existing(s *snapshot.Snapshot) map[holderKey]bool {
	m := map[holderKey]bool{}
	for _, p := range s.Processes {
		pk := procKey{p.PID, p.StartTime}
		for _, f := range p.FDs {
			m[holderKey{proc: pk, fd: f.FD, target: f.Target, ino: f.Ino}] = true
		}
		for _, tid := range p.Tasks {
			m[holderKey{proc: pk, tid: tid}] = true
		}
	}
	return m
}

func firstHolder(c SharingChange) Holder {
	if len(c.After) > 0 {
		return c.After[0]
	}
	return c.Before[0]
}

func sortHolders(hs []Holder) {
	sort.Slice(hs, func(i, j int) bool {
		if hs[i].PID != hs[j].PID {
			return hs[i].PID < hs[j].PID
		}
		return hs[i].String() < hs[j].String()
	})
}

// compareEpoll compares the watches of epoll fds present in both.
func compareEpoll(a, b *snapshot.Snapshot, procsA, procsB map[procKey]*snapshot.Process, keep func(int) bool) []EpollChange {
	type epKey struct {
		proc procKey
		fd   int
	}
	watches := func(s *snapshot.Snapshot) map[epKey]map[Watch]int {
		m := map[epKey]map[Watch]int{}
		for _, e := range s.Epoll {
			p := s.Process(e.PID)
			if p == nil || !keep(e.FD) {
				continue
			}
			k := epKey{procKey{p.PID, p.StartTime}, e.FD}
			ws := map[Watch]int{}
			for _, w := range e.Watches {
				obj := "(held by no scanned fd)"
				if w.Holder != nil {
					if hp := s.Process(w.Holder.PID); hp != nil {
						if f := hp.FDByNumber(w.Holder.FD); f != nil {
							obj = f.Target
						}
					}
				}
				ws[Watch{TFD: w.TFD, Object: obj}]++
			}
			m[k] = ws
		}
		return m
	}
	wa, wb := watches(a), watches(b)
	var out []EpollChange
	for k, x := range wa {
		y, ok := wb[k]
		if !ok {
			continue // the epoll fd closed: reported with the fds
		}
		ch := EpollChange{Process: procOf(procsB[k.proc]), FD: k.fd}
		for w, n := range x {
			for i := y[w]; i < n; i++ {
				ch.Removed = append(ch.Removed, w)
			}
		}
		for w, n := range y {
			for i := x[w]; i < n; i++ {
				ch.Added = append(ch.Added, w)
			}
		}
		if len(ch.Added)+len(ch.Removed) == 0 {
			continue
		}
		for _, l := range [][]Watch{ch.Added, ch.Removed} {
			sort.Slice(l, func(i, j int) bool { return l[i].TFD < l[j].TFD || (l[i].TFD == l[j].TFD && l[i].Object < l[j].Object) })
		}
		out = append(out, ch)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Process.PID != out[j].Process.PID {
			return out[i].Process.PID < out[j].Process.PID
		}
		return out[i].FD < out[j].FD
	})
	return out
}

// holderList formats holders for text output.
func holderList(hs []Holder) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = h.String()
	}
	return strings.Join(parts, " ")
}

// compareEndpoints reports channels present on one side only. A channel
// is identified by its kind, name and the holders of its ends (process
// identity, fd number and target).
func compareEndpoints(a, b *snapshot.Snapshot, keep func(int) bool) []EndpointChange {
	index := func(s *snapshot.Snapshot) (map[string]EndpointChange, []string) {
		m := map[string]EndpointChange{}
		var keys []string
		for _, e := range s.Endpoints {
			ch := EndpointChange{Kind: e.Kind, Name: e.Name}
			var endKeys []string
			for _, end := range e.Ends {
				var hs []Holder
				var hk []string
				for _, mem := range end {
					if !keep(mem.FD) {
						continue
					}
					p := s.Process(mem.PID)
					if p == nil {
						continue
					}
					fd := mem.FD
					hs = append(hs, Holder{PID: p.PID, Comm: p.Comm, FD: &fd})
					target := ""
					if f := p.FDByNumber(fd); f != nil {
						target = f.Target
					}
					hk = append(hk, fmt.Sprintf("%d/%d/%d/%s", p.PID, p.StartTime, fd, target))
				}
				if len(hs) == 0 {
					continue
				}
				sort.Strings(hk)
				endKeys = append(endKeys, strings.Join(hk, ","))
				ch.Ends = append(ch.Ends, hs)
			}
			if len(ch.Ends) < 2 {
				continue
			}
			sort.Strings(endKeys)
			k := e.Kind + "|" + e.Name + "|" + strings.Join(endKeys, "|")
			m[k] = ch
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return m, keys
	}
	ia, ka := index(a)
	ib, kb := index(b)
	var out []EndpointChange
	for _, k := range ka {
		if _, ok := ib[k]; !ok {
			ch := ia[k]
			ch.Change = "gone"
			out = append(out, ch)
		}
	}
	for _, k := range kb {
		if _, ok := ia[k]; !ok {
			ch := ib[k]
			ch.Change = "appeared"
			out = append(out, ch)
		}
	}
	return out
}
