package diff

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
)

// Summary is a diff in the few lines someone who diffs a reload or a
// deploy reads first: which sets of processes were replaced, whether the
// listening sockets survived, how many leaks, and counts of the rest.
type Summary struct {
	// Headline is the summary in one line: "4 nginx processes replaced,
	// listeners kept, 1 leak", or "no differences".
	Headline string `json:"headline"`
	// Replaced are sets of processes that exited and were started again
	// under one parent with one comm: a master's workers.
	Replaced []Replacement `json:"replaced"`
	// Started, Exited and Changed count the other processes that started
	// and exited, and the processes in both whose attributes changed.
	Started int `json:"started"`
	Exited  int `json:"exited"`
	Changed int `json:"changed"`
	// Listeners are the listening sockets (TCP and unix, state LISTEN)
	// held by scanned fds, by what became of them: kept (held in both,
	// one socket inode with one address), gone, new. Each is named
	// named as objname names them ("tcp 0.0.0.0:80 LISTEN", "unix
	// /run/app.sock LISTEN", with the netns when not the host's).
	ListenersKept []string `json:"listeners_kept"`
	ListenersGone []string `json:"listeners_gone"`
	ListenersNew  []string `json:"listeners_new"`
	// Leaks is Diff.Leaks.
	Leaks int `json:"leaks"`
	// FDs counts the fd changes of processes in both snapshots.
	FDs FDCounts `json:"fds"`
	// Sharing counts the sharing changes by kind.
	Sharing SharingCounts `json:"sharing"`
}

// Replacement is one set of processes replaced: the same comm, the same
// parent (present in both snapshots), some exited and some started.
type Replacement struct {
	Comm    string `json:"comm"`
	Parent  Proc   `json:"parent"`
	Exited  []Proc `json:"exited"`
	Started []Proc `json:"started"`
}

// FDCounts counts fd changes (Diff.FDs).
type FDCounts struct {
	Opened   int `json:"opened"`
	Closed   int `json:"closed"`
	Replaced int `json:"replaced"`
	Flags    int `json:"flags"`
}

// SharingCounts counts sharing changes (Diff.Sharing) by Change.
type SharingCounts struct {
	Began   int `json:"began"`
	Ended   int `json:"ended"`
	Changed int `json:"changed"`
}

// summary sums up the diff made so far.
func (c *comparer) summary() Summary {
	d := c.d
	s := Summary{Replaced: []Replacement{}, ListenersKept: []string{}, ListenersGone: []string{}, ListenersNew: []string{},
		Changed: len(d.Changed), Leaks: d.Leaks}
	c.replacements(&s)
	for _, f := range d.FDs {
		s.FDs.Opened += len(f.Opened)
		s.FDs.Closed += len(f.Closed)
		s.FDs.Replaced += len(f.Replaced)
		s.FDs.Flags += len(f.Flags)
	}
	for _, sh := range d.Sharing {
		switch sh.Change {
		case Began:
			s.Sharing.Began++
		case Ended:
			s.Sharing.Ended++
		default:
			s.Sharing.Changed++
		}
	}
	if c.compares(snapshot.TypeFile) {
		a, b := listeners(c.a), listeners(c.b)
		for k, name := range a {
			if _, ok := b[k]; ok {
				s.ListenersKept = append(s.ListenersKept, name)
			} else {
				s.ListenersGone = append(s.ListenersGone, name)
			}
		}
		for k, name := range b {
			if _, ok := a[k]; !ok {
				s.ListenersNew = append(s.ListenersNew, name)
			}
		}
		for _, l := range [][]string{s.ListenersKept, s.ListenersGone, s.ListenersNew} {
			sort.Strings(l)
		}
	}
	s.Headline = headline(d, &s)
	return s
}

// replacements sorts the processes that started and exited into sets
// replaced (same comm, same parent in both snapshots) and the rest.
func (c *comparer) replacements(s *Summary) {
	type setKey struct {
		comm   string
		parent procKey
	}
	sets := map[setKey]*Replacement{}
	var order []setKey
	// key is the set of process p of side v: its comm and its parent,
	// which must be one process in both snapshots.
	key := func(v *view, p Proc) (setKey, *snapshot.Process, bool) {
		q := v.procs[procKey{p.PID, p.StartTime, v.epoch}]
		if q == nil || q.PPID == q.PID || c.a.epoch != c.b.epoch {
			return setKey{}, nil, false
		}
		pa, pb := c.a.full.Process(q.PPID), c.b.full.Process(q.PPID)
		if pa == nil || pb == nil || pa.StartTime != pb.StartTime {
			return setKey{}, nil, false
		}
		return setKey{q.Comm, procKey{pa.PID, pa.StartTime, c.a.epoch}}, pb, true
	}
	for _, p := range c.d.Exited {
		if k, parent, ok := key(c.a, p); ok {
			if sets[k] == nil {
				sets[k] = &Replacement{Comm: k.comm, Parent: procOf(parent), Exited: []Proc{}, Started: []Proc{}}
				order = append(order, k)
			}
			sets[k].Exited = append(sets[k].Exited, p)
		}
	}
	for _, p := range c.d.Started {
		if k, _, ok := key(c.b, p); ok && sets[k] != nil {
			sets[k].Started = append(sets[k].Started, p)
		}
	}
	replaced := map[Proc]bool{}
	for _, k := range order {
		r := sets[k]
		if len(r.Exited) == 0 || len(r.Started) == 0 {
			continue
		}
		for _, l := range [][]Proc{r.Exited, r.Started} {
			sortProcs(l)
			for _, p := range l {
				replaced[p] = true
			}
		}
		s.Replaced = append(s.Replaced, *r)
	}
	sort.Slice(s.Replaced, func(i, j int) bool {
		a, b := s.Replaced[i], s.Replaced[j]
		if a.Parent != b.Parent {
			return procLess(a.Parent, b.Parent)
		}
		return a.Comm < b.Comm
	})
	for _, p := range c.d.Started {
		if !replaced[p] {
			s.Started++
		}
	}
	for _, p := range c.d.Exited {
		if !replaced[p] {
			s.Exited++
		}
	}
}

// listeners names the listening sockets held by the fds of one side's
// selected processes, by socket inode and name.
func listeners(v *view) map[[2]string]string {
	out := map[[2]string]string{}
	socks := v.s.SocketIndex()
	for _, p := range v.s.Processes {
		if v.partial[p.PID] {
			continue
		}
		for _, f := range p.FDs {
			k := socks[f.Ino]
			if k == nil || k.State != "LISTEN" || !strings.HasPrefix(f.Target, "socket:") {
				continue
			}
			name := v.name(&p, &f)
			out[[2]string{f.Target, name}] = name
		}
	}
	return out
}

// headline is the summary in one line.
func headline(d *Diff, s *Summary) string {
	if d.Differences == 0 {
		return "no differences"
	}
	var parts []string
	for _, r := range s.Replaced {
		part := fmt.Sprintf("%d %s %s replaced", len(r.Exited), r.Comm, plural.Word(len(r.Exited), "process", "processes"))
		if len(r.Started) != len(r.Exited) {
			part += fmt.Sprintf(" by %d", len(r.Started))
		}
		parts = append(parts, part)
	}
	if s.Started > 0 {
		parts = append(parts, plural.Count(s.Started, "process", "processes")+" started")
	}
	if s.Exited > 0 {
		parts = append(parts, plural.Count(s.Exited, "process", "processes")+" exited")
	}
	switch kept, gone := len(s.ListenersKept), len(s.ListenersGone); {
	case gone > 0:
		parts = append(parts, plural.Count(gone, "listener", "listeners")+" gone ("+strings.Join(s.ListenersGone, ", ")+")")
	case kept > 0:
		parts = append(parts, "listeners kept")
	}
	if n := len(s.ListenersNew); n > 0 {
		parts = append(parts, plural.Count(n, "new listener", "new listeners"))
	}
	if s.FDs.Replaced > 0 {
		parts = append(parts, plural.Count(s.FDs.Replaced, "fd", "fds")+" replaced by another description")
	}
	if s.Leaks > 0 {
		parts = append(parts, plural.Count(s.Leaks, "leak", "leaks"))
	} else {
		parts = append(parts, "no leaks")
	}
	if slices.Equal(parts, []string{"no leaks"}) {
		parts = append([]string{plural.Count(d.Differences, "difference", "differences")}, parts...)
	}
	return strings.Join(parts, ", ")
}
