package snapshot

import (
	"fmt"
	"net/netip"
)

func invalid(path, format string, args ...any) error {
	return &LoadError{Path: path, Msg: fmt.Sprintf(format, args...), Err: ErrInvalid}
}

// Validate checks the internal consistency of a snapshot: unique pids and
// fds, no negative numbers, known group types, groups of two or more
// distinct members of the right kind, and references that resolve. The
// first problem is returned as a *LoadError naming its JSON path.
func Validate(s *Snapshot) error {
	if s.Schema != Schema {
		return &LoadError{Path: "schema", Msg: fmt.Sprintf("\"%s\" is not supported", truncate(s.Schema, 80)), Err: ErrSchema}
	}
	type fdKey struct{ pid, thread, fd int }
	pids := make(map[int]int, len(s.Processes))
	tasks := make(map[Member]bool)
	fds := make(map[fdKey]bool)
	for i, p := range s.Processes {
		path := fmt.Sprintf("processes[%d]", i)
		if p.PID <= 0 {
			return invalid(path+".pid", "pid %d is not positive", p.PID)
		}
		if p.PPID < 0 {
			return invalid(path+".ppid", "ppid %d is negative", p.PPID)
		}
		if j, dup := pids[p.PID]; dup {
			return invalid(path+".pid", "pid %d is listed twice (also processes[%d])", p.PID, j)
		}
		pids[p.PID] = i
		if c := p.Container; c != nil && (c.Runtime == "" || c.ID == "") {
			return invalid(path+".container", "a container needs a runtime and an id")
		}
		for k, tid := range p.Tasks {
			if tid <= 0 {
				return invalid(fmt.Sprintf("%s.tasks[%d]", path, k), "tid %d is not positive", tid)
			}
			m := Member{PID: p.PID, TID: tid}
			if tasks[m] {
				return invalid(fmt.Sprintf("%s.tasks[%d]", path, k), "tid %d is listed twice", tid)
			}
			tasks[m] = true
		}
		// The leader is always a task of its process, even when the task
		// list could not be read.
		tasks[Member{PID: p.PID, TID: p.PID}] = true
		for k, fd := range p.FDs {
			fpath := fmt.Sprintf("%s.fds[%d]", path, k)
			if fd.FD < 0 {
				return invalid(fpath+".fd", "fd %d is negative", fd.FD)
			}
			if fd.Thread != 0 {
				if fd.Thread == p.PID || !tasks[Member{PID: p.PID, TID: fd.Thread}] {
					return invalid(fpath+".tid", "tid %d is not a thread of pid %d other than its leader", fd.Thread, p.PID)
				}
			}
			key := fdKey{p.PID, fd.Thread, fd.FD}
			if fds[key] {
				if fd.Thread != 0 {
					return invalid(fpath+".fd", "fd %d of task %d of pid %d is listed twice", fd.FD, fd.Thread, p.PID)
				}
				return invalid(fpath+".fd", "fd %d of pid %d is listed twice", fd.FD, p.PID)
			}
			fds[key] = true
			if fd.MntID < 0 || fd.Pos < 0 || fd.Flags < 0 || fd.OwnerUID < 0 || fd.OwnerGID < 0 {
				return invalid(fpath, "negative mnt_id, pos, flags or owner")
			}
		}
	}
	checkMember := func(path, typ string, m Member) error {
		if _, ok := pids[m.PID]; !ok {
			return invalid(path, "pid %d is not in processes", m.PID)
		}
		if IsTaskType(typ) {
			if !m.IsTask() {
				return invalid(path, "a %s member needs a tid, not an fd", typ)
			}
			if !tasks[m] {
				return invalid(path, "tid %d is not a task of pid %d", m.TID, m.PID)
			}
			return nil
		}
		if m.IsTask() {
			return invalid(path, "a %s member needs an fd, not a tid", typ)
		}
		if m.FD < 0 {
			return invalid(path, "fd %d is negative", m.FD)
		}
		if !fds[fdKey{m.PID, m.Thread, m.FD}] {
			if m.Thread != 0 {
				return invalid(path, "fd %d is not an fd of task %d of pid %d", m.FD, m.Thread, m.PID)
			}
			return invalid(path, "fd %d is not an fd of pid %d", m.FD, m.PID)
		}
		return nil
	}
	inGroup := make(map[string]map[Member]int)
	for i, g := range s.Groups {
		path := fmt.Sprintf("groups[%d]", i)
		if !validGroupType(g.Type) {
			return invalid(path+".type", "unknown group type \"%s\" (valid: file, vm, files, fs, sighand, io, sysvsem)", truncate(g.Type, 40))
		}
		if len(g.Members) < 2 {
			return invalid(path+".members", "a group needs two or more members, has %d", len(g.Members))
		}
		seen := inGroup[g.Type]
		if seen == nil {
			seen = make(map[Member]int)
			inGroup[g.Type] = seen
		}
		for k, m := range g.Members {
			mpath := fmt.Sprintf("%s.members[%d]", path, k)
			if err := checkMember(mpath, g.Type, m); err != nil {
				return err
			}
			if j, dup := seen[m]; dup {
				return invalid(mpath, "%s is already a member of groups[%d]", m, j)
			}
			seen[m] = i
		}
	}
	for typ, list := range s.Null {
		if !IsTaskType(typ) {
			return invalid("null."+truncate(typ, 40), "not a per-task type")
		}
		for k, m := range list {
			mpath := fmt.Sprintf("null.%s[%d]", typ, k)
			if err := checkMember(mpath, typ, m); err != nil {
				return err
			}
			if j, dup := inGroup[typ][m]; dup {
				return invalid(mpath, "%s is NULL but also a member of groups[%d]", m, j)
			}
		}
	}
	epfds := make(map[fdKey]bool)
	for i, e := range s.Epoll {
		path := fmt.Sprintf("epoll[%d]", i)
		if !fds[fdKey{e.PID, e.Thread, e.FD}] {
			return invalid(path, "epoll fd %d of pid %d is not in processes", e.FD, e.PID)
		}
		if epfds[fdKey{e.PID, e.Thread, e.FD}] {
			return invalid(path, "epoll fd %d of pid %d is listed twice", e.FD, e.PID)
		}
		epfds[fdKey{e.PID, e.Thread, e.FD}] = true
		for k, w := range e.Watches {
			wpath := fmt.Sprintf("%s.watches[%d]", path, k)
			if w.TFD < 0 {
				return invalid(wpath+".tfd", "tfd %d is negative", w.TFD)
			}
			if w.Holder != nil {
				if err := checkMember(wpath+".holder", TypeFile, *w.Holder); err != nil {
					return err
				}
			}
		}
	}
	for i, e := range s.Endpoints {
		path := fmt.Sprintf("endpoints[%d]", i)
		if len(e.Ends) < 2 {
			return invalid(path+".ends", "an endpoint needs two or more ends, has %d", len(e.Ends))
		}
		if len(e.Addresses) > 0 && len(e.Addresses) != len(e.Ends) {
			return invalid(path+".addresses", "%d addresses for %d ends", len(e.Addresses), len(e.Ends))
		}
		for j, a := range e.Addresses {
			if _, err := netip.ParseAddrPort(a); err != nil {
				return invalid(fmt.Sprintf("%s.addresses[%d]", path, j), "\"%s\" is not an address and port", truncate(a, 80))
			}
		}
		for j, end := range e.Ends {
			if len(end) == 0 {
				return invalid(fmt.Sprintf("%s.ends[%d]", path, j), "an end without holders")
			}
			for k, m := range end {
				if err := checkMember(fmt.Sprintf("%s.ends[%d][%d]", path, j, k), TypeFile, m); err != nil {
					return err
				}
			}
		}
	}
	socks := make(map[uint64]int, len(s.Sockets))
	for i, k := range s.Sockets {
		path := fmt.Sprintf("sockets[%d]", i)
		if j, dup := socks[k.Ino]; dup {
			return invalid(path+".ino", "socket %d is listed twice (also sockets[%d])", k.Ino, j)
		}
		socks[k.Ino] = i
		if k.Protocol == "" {
			return invalid(path+".protocol", "missing")
		}
	}
	st := s.Stats
	if st.Processes < 0 || st.Tasks < 0 || st.FDs < 0 || st.Seconds < 0 {
		return invalid("stats", "negative count or time")
	}
	return nil
}

func validGroupType(t string) bool {
	for _, g := range GroupTypes {
		if g == t {
			return true
		}
	}
	return false
}
