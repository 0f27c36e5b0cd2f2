package diff

import (
	"sort"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// noHolder is a watch's object when no scanned fd holds the watched
// description.
const noHolder = "(held by no scanned fd)"

type epollKey struct {
	proc   procKey
	thread int // the epoll fd's snapshot.FD.Thread
	fd     int
}

// watches lists the watches of each epoll fd of the processes in both
// snapshots, counted: two registrations can look alike (one number, closed
// and reopened on the same path, registered again). The watches are
// without Name, which names gives.
func (c *comparer) watches(v *view, matched map[procKey]bool) (map[epollKey]map[Watch]int, map[Watch]string) {
	m := map[epollKey]map[Watch]int{}
	names := map[Watch]string{}
	for _, e := range v.s.Epoll {
		p := v.proc(e.PID)
		if p == nil || v.partial[p.PID] || !matched[v.key[p.PID]] || !c.keepFD(e.FD) {
			continue
		}
		ws := map[Watch]int{}
		for _, w := range e.Watches {
			obj, name := noHolder, noHolder
			if w.Holder != nil {
				if hp := v.proc(w.Holder.PID); hp != nil {
					if f := hp.FDOf(*w.Holder); f != nil {
						obj, name = f.Target, v.name(hp, f)
					}
				}
			}
			x := Watch{TFD: w.TFD, Object: obj}
			ws[x]++
			names[x] = name
		}
		m[epollKey{v.key[p.PID], e.Thread, e.FD}] = ws
	}
	return m, names
}

// epoll compares the watches of the epoll fds of processes in both
// snapshots. An epoll fd that was opened or closed in between lists all
// its watches as added or removed; the epoll fds of processes that started
// or exited are not listed.
func (c *comparer) epoll() []EpollChange {
	out := []EpollChange{}
	if !c.compares(snapshot.TypeEpoll) {
		return out
	}
	matched := map[procKey]bool{}
	for k := range c.b.procs {
		if _, ok := c.a.procs[k]; ok {
			matched[k] = true
		}
	}
	wa, na := c.watches(c.a, matched)
	wb, nb := c.watches(c.b, matched)
	keys := map[epollKey]bool{}
	for k := range wa {
		keys[k] = true
	}
	for k := range wb {
		keys[k] = true
	}
	for k := range keys {
		x, y := wa[k], wb[k]
		ch := EpollChange{Process: procOf(c.b.procs[k.proc]), FD: k.fd, TID: k.thread, Added: []Watch{}, Removed: []Watch{}}
		for w, n := range x {
			for i := y[w]; i < n; i++ {
				ch.Removed = append(ch.Removed, Watch{TFD: w.TFD, Object: w.Object, Name: na[w]})
			}
		}
		for w, n := range y {
			for i := x[w]; i < n; i++ {
				ch.Added = append(ch.Added, Watch{TFD: w.TFD, Object: w.Object, Name: nb[w]})
			}
		}
		if len(ch.Added)+len(ch.Removed) == 0 {
			continue
		}
		sortWatches(ch.Added)
		sortWatches(ch.Removed)
		out = append(out, ch)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Process != out[j].Process {
			return procLess(out[i].Process, out[j].Process)
		}
		return compareFD(FD{FD: out[i].FD, TID: out[i].TID}, FD{FD: out[j].FD, TID: out[j].TID}) < 0
	})
	return out
}

func sortWatches(l []Watch) {
	sort.Slice(l, func(i, j int) bool {
		if l[i].TFD != l[j].TFD {
			return l[i].TFD < l[j].TFD
		}
		return l[i].Object < l[j].Object
	})
}
