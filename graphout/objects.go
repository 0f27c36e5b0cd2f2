package graphout

import (
	"sort"
	"strconv"

	"github.com/kcmpgraph/kcmpgraph/analyzer/objname"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// object is one thing two or more processes share, as the diagram sees
// it: an item (an open file description, an address space, an fd
// table...) that goes into a bundle, or a link (a channel, an epoll
// watch) drawn as an edge between the processes at its ends.
type object struct {
	link bool
	// typ is the group type of an item ("file", "vm", ...), the kind of a
	// channel ("pipe", "unix-stream", "tcp", "pty", ...) or "epoll".
	typ  string
	name string // raw text: escape before drawing
	// brief is name as labels show it (objname.Brief): "pipe", not
	// "pipe:[4711]"; tooltips give name.
	brief string
	kind  objname.Kind
	// pids are the distinct holder processes, sorted; a link's are its
	// ends' (from, then to, for a directed one).
	pids []int
	// from and to are the processes at a link's two ends; directed says
	// whether data or a request flows from the first to the second (a
	// pipe's write end to its read end, a client to its server).
	from, to []int
	directed bool
	// fds says, per holder, which of its fds or tasks hold the object
	// ("fd 3", "tid 7"), for tooltips.
	fds map[int][]string
}

// collectObjects lists the objects of s that two or more processes share,
// named by objname: file groups, per-task groups, channels between
// processes and epoll watches of another process's description. With
// every, a file group held by one process (dup'd fds) is listed too.
func collectObjects(s *snapshot.Snapshot, names *objname.Names, every bool) []*object {
	var out []*object
	for _, g := range s.Groups {
		o := &object{typ: g.Type, fds: map[int][]string{}}
		n := names.Group(g)
		o.name, o.kind = n.String(), n.Kind
		o.brief = objname.Brief(o.name)
		for _, m := range g.Members {
			o.fds[m.PID] = append(o.fds[m.PID], memberText(m))
		}
		o.pids = keys(o.fds)
		if len(o.pids) >= 2 || every && len(o.pids) == 1 {
			out = append(out, o)
		}
	}
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		if len(e.Ends) < 2 {
			continue
		}
		c := names.Channel(e)
		o := &object{link: true, typ: e.Kind, name: c.Text, brief: objname.Brief(c.Text), kind: objname.Socket, fds: map[int][]string{}}
		first, rest := 0, e.Ends[1:]
		if c.From >= 0 {
			first, rest = c.From, [][]snapshot.Member{e.Ends[c.To]}
			o.directed = true
		}
		from, to := map[int]bool{}, map[int]bool{}
		for _, m := range e.Ends[first] {
			from[m.PID] = true
			o.fds[m.PID] = append(o.fds[m.PID], endText(m, c.Ends[first]))
		}
		for j, end := range e.Ends {
			if j == first {
				continue
			}
			for _, m := range end {
				o.fds[m.PID] = append(o.fds[m.PID], endText(m, c.Ends[j]))
			}
		}
		for _, end := range rest {
			for _, m := range end {
				to[m.PID] = true
			}
		}
		o.from, o.to = keys(from), keys(to)
		o.pids = keys(o.fds)
		if len(o.pids) >= 2 {
			out = append(out, o)
		}
	}
	type pair struct{ watcher, holder int }
	watches := map[pair]*object{}
	for _, e := range s.Epoll {
		for _, w := range e.Watches {
			if w.Holder == nil || w.Holder.PID == e.PID {
				continue
			}
			k := pair{e.PID, w.Holder.PID}
			o := watches[k]
			if o == nil {
				o = &object{link: true, typ: "epoll", name: "epoll watch", brief: "epoll watch", kind: objname.Anon, directed: true,
					from: []int{e.PID}, to: []int{w.Holder.PID}, pids: sortedPair(e.PID, w.Holder.PID), fds: map[int][]string{}}
				watches[k] = o
				out = append(out, o)
			}
			o.fds[e.PID] = append(o.fds[e.PID], "epoll fd "+strconv.Itoa(e.FD)+" watches "+w.Holder.String())
		}
	}
	return out
}

// memberText says which fd or task of its process a member is.
func memberText(m snapshot.Member) string {
	switch {
	case m.IsTask():
		return "tid " + strconv.Itoa(m.TID)
	case m.Thread != 0:
		return "fd " + strconv.Itoa(m.FD) + " of tid " + strconv.Itoa(m.Thread)
	}
	return "fd " + strconv.Itoa(m.FD)
}

func endText(m snapshot.Member, end string) string {
	if end == "" {
		return memberText(m)
	}
	return memberText(m) + " (" + end + ")"
}

func keys[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

func sortedPair(a, b int) []int {
	if a > b {
		a, b = b, a
	}
	return []int{a, b}
}
