package graphout

import (
	"errors"
	"fmt"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// ErrNotInSnapshot is returned by Around for a pid or fd the snapshot
// does not have.
var ErrNotInSnapshot = errors.New("not in the snapshot")

// Around selects the neighbourhood of one process, or of one open file
// description, for a diagram (graph --around).
//
// With fd < 0 it keeps pid and every process within depth hops of it,
// where a hop is any object two processes share: an open file
// description, a per-task object, a channel, an epoll watch. With fd >= 0
// it keeps the fds holding the description pid:fd holds and the other
// end of its channel, if it is one end of one; depth > 0 adds the
// processes within depth hops of those holders, with all they share, and
// depth 0 keeps that description and its channel alone.
func Around(s *snapshot.Snapshot, pid, fd, depth int) (*snapshot.Snapshot, error) {
	p := s.Process(pid)
	if p == nil {
		return nil, fmt.Errorf("pid %d: %w", pid, ErrNotInSnapshot)
	}
	start := map[int]bool{pid: true}
	var focus map[snapshot.Member]bool
	if fd >= 0 {
		if p.FDByNumber(fd) == nil {
			return nil, fmt.Errorf("pid %d has no fd %d: %w", pid, fd, ErrNotInSnapshot)
		}
		focus = description(s, snapshot.Member{PID: pid, FD: fd})
		for m := range focus {
			start[m.PID] = true
		}
	}
	keep := neighbours(s, start, depth)
	var pids []int
	for q := range keep {
		pids = append(pids, q)
	}
	out := s.Select(snapshot.Selection{PIDs: pids})
	if fd >= 0 && depth == 0 {
		onlyFocus(out, focus)
	}
	return out, nil
}

// description is the members holding the description m holds, and those
// holding the other end of the channel it is one end of.
func description(s *snapshot.Snapshot, m snapshot.Member) map[snapshot.Member]bool {
	out := map[snapshot.Member]bool{m: true}
	for _, g := range s.Groups {
		if g.Type == snapshot.TypeFile && hasMember(g.Members, m) {
			for _, x := range g.Members {
				out[x] = true
			}
		}
	}
	for _, e := range s.Endpoints {
		mine := false
		for _, end := range e.Ends {
			for x := range out {
				mine = mine || hasMember(end, x)
			}
		}
		if mine {
			for _, end := range e.Ends {
				for _, x := range end {
					out[x] = true
				}
			}
		}
	}
	return out
}

func hasMember(ms []snapshot.Member, m snapshot.Member) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

// neighbours is start and every process within depth hops of it. Each
// shared object is a list of its holder pids, visited once: a file a
// thousand processes hold is one step, not a million pairs.
func neighbours(s *snapshot.Snapshot, start map[int]bool, depth int) map[int]bool {
	var objects [][]int
	memberPIDs := func(ms []snapshot.Member) []int {
		seen := map[int]bool{}
		var out []int
		for _, m := range ms {
			if !seen[m.PID] {
				seen[m.PID] = true
				out = append(out, m.PID)
			}
		}
		return out
	}
	for _, g := range s.Groups {
		objects = append(objects, memberPIDs(g.Members))
	}
	for _, e := range s.Endpoints {
		var all []snapshot.Member
		for _, end := range e.Ends {
			all = append(all, end...)
		}
		objects = append(objects, memberPIDs(all))
	}
	for _, e := range s.Epoll {
		for _, w := range e.Watches {
			if w.Holder != nil && w.Holder.PID != e.PID {
				objects = append(objects, []int{e.PID, w.Holder.PID})
			}
		}
	}
	of := map[int][]int{} // pid -> the objects it holds
	for i, pids := range objects {
		if len(pids) < 2 {
			continue
		}
		for _, p := range pids {
			of[p] = append(of[p], i)
		}
	}
	keep := map[int]bool{}
	frontier := make([]int, 0, len(start))
	for p := range start {
		keep[p] = true
		frontier = append(frontier, p)
	}
	visited := make([]bool, len(objects))
	for d := 0; d < depth && len(frontier) > 0; d++ {
		var next []int
		for _, p := range frontier {
			for _, i := range of[p] {
				if visited[i] {
					continue
				}
				visited[i] = true
				for _, q := range objects[i] {
					if !keep[q] {
						keep[q] = true
						next = append(next, q)
					}
				}
			}
		}
		frontier = next
	}
	return keep
}

// onlyFocus keeps in s the description and the channel the focus members
// hold, nothing else.
func onlyFocus(s *snapshot.Snapshot, focus map[snapshot.Member]bool) {
	var groups []snapshot.Group
	for _, g := range s.Groups {
		if g.Type == snapshot.TypeFile && len(g.Members) > 0 && focus[g.Members[0]] {
			groups = append(groups, g)
		}
	}
	s.Groups = groups
	var ends []snapshot.Endpoint
	for _, e := range s.Endpoints {
		if len(e.Ends) > 0 && len(e.Ends[0]) > 0 && focus[e.Ends[0][0]] {
			ends = append(ends, e)
		}
	}
	s.Endpoints = ends
	s.Epoll = nil
}
