package snapshot

import (
	"slices"
	"sort"
)

// Selection picks part of a snapshot, as the same options of a live scan
// would have picked it. Zero values select everything.
type Selection struct {
	// PIDs keeps these processes.
	PIDs []int
	// Tree keeps this process and all its descendants (by ppid). With
	// PIDs too, the processes of either are kept.
	Tree int
	// Users keeps only the processes whose real uid is listed (with PIDs
	// or Tree, the processes of both).
	Users []int
	// Types keeps groups and null lists of these types ("epoll" keeps the
	// epoll list); empty keeps all.
	Types []string
	// LeadersOnly drops the members that are threads other than their
	// thread group's leader (tid != pid) from groups and null lists: a
	// snapshot scanned with every thread then reads as one scanned with
	// thread-group leaders only.
	LeadersOnly bool
}

// Empty reports whether the selection keeps everything.
func (sel Selection) Empty() bool {
	return len(sel.PIDs) == 0 && sel.Tree == 0 && len(sel.Users) == 0 && len(sel.Types) == 0 && !sel.LeadersOnly
}

// Descendants returns pid and every process below it in s, by ppid.
func (s *Snapshot) Descendants(pid int) map[int]bool {
	children := make(map[int][]int)
	for _, p := range s.Processes {
		if p.PID != p.PPID {
			children[p.PPID] = append(children[p.PPID], p.PID)
		}
	}
	out := map[int]bool{}
	if s.Process(pid) == nil {
		return out
	}
	stack := []int{pid}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if out[p] {
			continue
		}
		out[p] = true
		stack = append(stack, children[p]...)
	}
	return out
}

// Select returns a copy of s restricted to sel, in the canonical order
// (see Normalize) when s was. A group keeps its members among the kept
// processes and is dropped when fewer than two remain; an
// epoll watch whose holder was dropped is given the lowest kept holder of
// the same description, or none. Stats are kept as they were: they
// describe the run, not the selection.
func (s *Snapshot) Select(sel Selection) *Snapshot {
	if sel.Empty() {
		c := *s
		return &c
	}
	keepPID := s.pidFilter(sel)
	// Without threads, a scan sees neither the other tasks nor the fd
	// tables of threads that left their process's (FD.Thread).
	leaderFD := func(thread int) bool { return !sel.LeadersOnly || thread == 0 }
	keepMember := func(m Member) bool {
		return keepPID(m.PID) && leaderFD(m.Thread) && !(sel.LeadersOnly && m.IsTask() && m.TID != m.PID)
	}
	keepType := func(string) bool { return true }
	if len(sel.Types) > 0 {
		set := map[string]bool{}
		for _, t := range sel.Types {
			set[t] = true
		}
		keepType = func(t string) bool { return set[t] }
	}

	out := *s
	out.Processes = nil
	for _, p := range s.Processes {
		if !keepPID(p.PID) {
			continue
		}
		if sel.LeadersOnly && slices.ContainsFunc(p.FDs, func(f FD) bool { return f.Thread != 0 }) {
			p.FDs = slices.DeleteFunc(slices.Clone(p.FDs), func(f FD) bool { return f.Thread != 0 })
		}
		out.Processes = append(out.Processes, p)
	}
	out.reindex()
	out.Groups = nil
	fileGroupOf := map[Member][]Member{}
	for _, g := range s.Groups {
		var kept []Member
		for _, m := range g.Members {
			if keepMember(m) {
				kept = append(kept, m)
			}
		}
		if g.Type == TypeFile {
			sort.Slice(kept, func(i, j int) bool { return kept[i].Less(kept[j]) })
			for _, m := range g.Members {
				fileGroupOf[m] = kept
			}
		}
		if len(kept) >= 2 && keepType(g.Type) {
			out.Groups = append(out.Groups, Group{Type: g.Type, Members: kept})
		}
	}
	// A group's first member may be gone: the order is the canonical one
	// again, as Normalize would make it.
	sortGroups(out.Groups)
	out.Null = map[string][]Member{}
	for t, list := range s.Null {
		if !keepType(t) {
			continue
		}
		var kept []Member
		for _, m := range list {
			if keepMember(m) {
				kept = append(kept, m)
			}
		}
		if len(kept) > 0 {
			out.Null[t] = kept
		}
	}
	out.Endpoints = nil
	if keepType(TypeFile) {
		for _, e := range s.Endpoints {
			ne := Endpoint{Kind: e.Kind, Name: e.Name}
			for j, end := range e.Ends {
				var kept []Member
				for _, m := range end {
					if keepMember(m) {
						kept = append(kept, m)
					}
				}
				if len(kept) > 0 {
					ne.Ends = append(ne.Ends, kept)
					if j < len(e.Addresses) {
						ne.Addresses = append(ne.Addresses, e.Addresses[j])
					}
				}
			}
			if len(ne.Ends) >= 2 {
				out.Endpoints = append(out.Endpoints, ne)
			}
		}
	}
	out.Sockets = nil
	if len(s.Sockets) > 0 {
		held := map[uint64]bool{}
		for _, p := range out.Processes {
			for _, fd := range p.FDs {
				held[fd.Ino] = true
			}
		}
		for _, k := range s.Sockets {
			if held[k.Ino] {
				out.Sockets = append(out.Sockets, k)
			}
		}
	}
	out.Epoll = nil
	if keepType(TypeEpoll) {
		for _, e := range s.Epoll {
			if !keepMember(e.Member()) {
				continue
			}
			ne := Epoll{PID: e.PID, FD: e.FD, Thread: e.Thread, Watches: make([]Watch, len(e.Watches))}
			for i, w := range e.Watches {
				ne.Watches[i] = w
				if w.Holder == nil || keepMember(*w.Holder) {
					continue
				}
				ne.Watches[i].Holder = nil
				if kept := fileGroupOf[*w.Holder]; len(kept) > 0 {
					h := kept[0]
					ne.Watches[i].Holder = &h
				}
			}
			out.Epoll = append(out.Epoll, ne)
		}
	}
	return &out
}

// pidFilter returns whether a pid is kept by the process part of sel.
func (s *Snapshot) pidFilter(sel Selection) func(int) bool {
	if len(sel.PIDs) == 0 && sel.Tree == 0 && len(sel.Users) == 0 {
		return func(int) bool { return true }
	}
	var set map[int]bool
	if len(sel.PIDs) > 0 || sel.Tree != 0 {
		set = map[int]bool{}
		for _, p := range sel.PIDs {
			set[p] = true
		}
		if sel.Tree != 0 {
			for p := range s.Descendants(sel.Tree) {
				set[p] = true
			}
		}
	}
	if len(sel.Users) > 0 {
		users := map[int]bool{}
		for _, u := range sel.Users {
			users[u] = true
		}
		byUser := map[int]bool{}
		for _, p := range s.Processes {
			if users[p.UID] && (set == nil || set[p.PID]) {
				byUser[p.PID] = true
			}
		}
		set = byUser
	}
	return func(p int) bool { return set[p] }
}
