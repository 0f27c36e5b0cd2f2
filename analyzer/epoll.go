//go:build linux

package analyzer

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// epollWatches resolves every watch of every epoll fd to the description
// it watches, with KCMP_EPOLL_TFD. A watch is first tried against the fd
// number it was registered under in the same process (one call, the usual
// case); otherwise the distinct descriptions on the watched inode, which
// grouping left sorted in kcmp order, are binary-searched: the epoll order
// is the file order. Epoll fds of one description are resolved once.
func (s *state) epollWatches(g *fileGroups, owner []int) []snapshot.Epoll {
	cnt := newCounter(s.cmp)
	defer s.tally.add(cnt)
	// Watches are resolved to descriptions (union-find roots) first; the
	// holders are then found for the watched descriptions only.
	watched := map[int]snapshot.Member{}
	var fill []pendingHolder
	done := map[int][]snapshot.Watch{} // description root -> watches
	var out []snapshot.Epoll
	for ti := range s.tables {
		if !s.tableEligible(ti) {
			continue
		}
		own := ti
		if owner[ti] >= 0 {
			own = owner[ti]
		}
		fds := s.tables[ti].FDs()
		for i := range fds {
			fd := &fds[i]
			if !fd.IsEpoll() || !fd.HasInfo {
				continue
			}
			root := -1
			if c := g.candOf(s, own, fd.Num); c >= 0 && !g.dropped[c] {
				root = g.uf.find(c)
			}
			watches, ok := done[root]
			if !ok || root < 0 {
				watches = s.resolveWatches(cnt, g, own, fd, func(i, watchedRoot int) {
					watched[watchedRoot] = snapshot.Member{}
					fill = append(fill, pendingHolder{len(out), i, watchedRoot})
				})
				if root >= 0 {
					done[root] = watches
				}
			}
			m := s.member(ti, fd.Num)
			out = append(out, snapshot.Epoll{PID: m.PID, FD: m.FD, Thread: m.Thread, Watches: watches})
		}
	}
	s.holdersOf(g, owner, watched)
	for _, f := range fill {
		if h, ok := watched[f.root]; ok && h != (snapshot.Member{}) {
			out[f.epoll].Watches[f.watch].Holder = &h
		}
	}
	return out
}

// pendingHolder is a watch (of out[epoll], at index watch) whose holder is
// the lowest holder of description root, filled in once all are known.
type pendingHolder struct{ epoll, watch, root int }

// resolveWatches resolves the watches of epoll fd ep of table owner;
// found is told, for each watch that resolves, its index and the
// description it watches.
func (s *state) resolveWatches(cnt *counter, g *fileGroups, owner int, ep *procscan.FD, found func(i, root int)) []snapshot.Watch {
	pid := s.task(owner)
	watches := make([]snapshot.Watch, 0, len(ep.Watches()))
	seen := map[int]uint32{} // tfd -> registrations so far
	for i, w := range ep.Watches() {
		slot := kcmp.EpollSlot{EFD: uint32(ep.Num), TFD: uint32(w.TFD), TOff: seen[w.TFD]}
		seen[w.TFD]++
		if c := s.findWatched(cnt, g, owner, pid, slot, w); c >= 0 {
			found(i, g.uf.find(c))
		}
		watches = append(watches, snapshot.Watch{TFD: w.TFD, Events: w.Events})
	}
	return watches
}

// findWatched returns the candidate holding the description behind the
// watch of the epoll fd of table owner (task pid), or -1.
func (s *state) findWatched(cnt *counter, g *fileGroups, owner, pid int, slot kcmp.EpollSlot, w procscan.EpollWatch) int {
	try := func(c int) (kcmp.Order, bool) {
		cand := g.cands[c]
		o, err := cnt.epoll(s.task(int(cand.table)), int(cand.fd), pid, slot)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				return kcmp.Unordered, false // the watch went away
			}
			return kcmp.Unordered, true
		}
		return o, true
	}
	if c := g.candOf(s, owner, w.TFD); c >= 0 && !g.dropped[c] &&
		g.fdOf(s, c).Dev == w.Dev && g.fdOf(s, c).Ino == w.Ino {
		o, ok := try(c)
		if !ok {
			return -1
		}
		if o == kcmp.Equal {
			return c
		}
	}
	for _, b := range g.bucketsOfInode(s, w.Dev, w.Ino) {
		if !b.sorted {
			for _, c := range b.distinct {
				o, ok := try(int(c))
				if !ok {
					return -1
				}
				if o == kcmp.Equal {
					return int(c)
				}
			}
			continue
		}
		lo, hi := 0, len(b.distinct)
		for lo < hi {
			mid := (lo + hi) / 2
			o, ok := try(int(b.distinct[mid]))
			if !ok {
				return -1
			}
			switch o {
			case kcmp.Equal:
				return int(b.distinct[mid])
			case kcmp.Less:
				lo = mid + 1
			case kcmp.Greater:
				hi = mid
			default:
				lo = hi // a failed call: this bucket cannot be searched
			}
		}
	}
	return -1
}

// approximateEpoll reports watches without kcmp: the holder is the fd with
// the watched inode under the registered number in the same process, or
// the lowest fd on that inode.
func (s *state) approximateEpoll() []snapshot.Epoll {
	type ik struct{ dev, ino uint64 }
	lowest := map[ik]snapshot.Member{}
	for ti := range s.tables {
		if !s.tableEligible(ti) {
			continue
		}
		for _, fd := range s.tables[ti].FDs() {
			k := ik{fd.Dev, fd.Ino}
			if _, ok := lowest[k]; !ok {
				lowest[k] = s.member(ti, fd.Num)
			}
		}
	}
	var out []snapshot.Epoll
	for ti := range s.tables {
		if !s.tableEligible(ti) {
			continue
		}
		fds := s.tables[ti].FDs()
		for i := range fds {
			fd := &fds[i]
			if !fd.IsEpoll() || !fd.HasInfo {
				continue
			}
			m := s.member(ti, fd.Num)
			e := snapshot.Epoll{PID: m.PID, FD: m.FD, Thread: m.Thread, Watches: []snapshot.Watch{}}
			for _, w := range fd.Watches() {
				out := snapshot.Watch{TFD: w.TFD, Events: w.Events}
				if h, ok := lowest[ik{w.Dev, w.Ino}]; ok {
					out.Holder = &h
				}
				e.Watches = append(e.Watches, out)
			}
			out = append(out, e)
		}
	}
	return out
}
