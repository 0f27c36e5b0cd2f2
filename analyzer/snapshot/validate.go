package snapshot

import (
	"context"
	"fmt"
	"net/netip"
)

func invalid(path, format string, args ...any) error {
	return &LoadError{Path: path, Msg: fmt.Sprintf(format, args...), Err: ErrInvalid}
}

// at formats a JSON path; it is called only on the way to an error, so a
// valid snapshot costs no formatting.
func at(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// Validate checks the internal consistency of a snapshot: unique pids and
// fds, no negative numbers, known group types, groups of two or more
// distinct members of the right kind, and references that resolve. The
// first problem is returned as a *LoadError naming its JSON path. It
// works on any order and changes nothing.
func Validate(s *Snapshot) error { return validate(context.Background(), s) }

// validate is Validate in phases, one per part of the snapshot, each
// stopped when ctx is done: the processes first, since every other part
// refers to them.
func validate(ctx context.Context, s *Snapshot) error {
	if s.Schema != Schema {
		return &LoadError{Path: "schema", Msg: fmt.Sprintf("%s is not supported", quoted(s.Schema, 80)), Err: ErrSchema}
	}
	v := &validator{
		ctx:     ctx,
		pids:    make(map[int]int, len(s.Processes)),
		tasks:   make(map[Member]bool, len(s.Processes)),
		fds:     make(map[fdKey]bool),
		inGroup: make(map[string]map[Member]int),
	}
	for _, phase := range []func(*Snapshot) error{
		v.processes, v.groups, v.null, v.epoll, v.endpoints, v.sockets, v.stats,
	} {
		if err := phase(s); err != nil {
			return err
		}
	}
	return nil
}

type fdKey struct{ pid, thread, fd int }

// validator holds what the phases learn about the processes, for the
// phases that check references to them.
type validator struct {
	ctx     context.Context
	pids    map[int]int // pid -> index in processes
	tasks   map[Member]bool
	fds     map[fdKey]bool
	inGroup map[string]map[Member]int // type -> member -> group index
	steps   int
}

// tick is called once per element; every checkEvery elements it reports
// whether ctx is done.
func (v *validator) tick() error {
	if v.steps++; v.steps%checkEvery == 0 {
		return v.ctx.Err()
	}
	return nil
}

// processes checks each process, its tasks and fds, and indexes them.
func (v *validator) processes(s *Snapshot) error {
	for i := range s.Processes {
		if err := v.tick(); err != nil {
			return err
		}
		p := &s.Processes[i]
		if p.PID <= 0 {
			return invalid(at("processes[%d].pid", i), "pid %d is not positive", p.PID)
		}
		if p.PPID < 0 {
			return invalid(at("processes[%d].ppid", i), "ppid %d is negative", p.PPID)
		}
		if j, dup := v.pids[p.PID]; dup {
			return invalid(at("processes[%d].pid", i), "pid %d is listed twice (also processes[%d])", p.PID, j)
		}
		v.pids[p.PID] = i
		if c := p.Container; c != nil && (c.Runtime == "" || c.ID == "") {
			return invalid(at("processes[%d].container", i), "a container needs a runtime and an id")
		}
		if err := v.processTasks(i, p); err != nil {
			return err
		}
		if err := v.processFDs(i, p); err != nil {
			return err
		}
	}
	return nil
}

func (v *validator) processTasks(i int, p *Process) error {
	for k, tid := range p.Tasks {
		if tid <= 0 {
			return invalid(at("processes[%d].tasks[%d]", i, k), "tid %d is not positive", tid)
		}
		m := Member{PID: p.PID, TID: tid}
		if v.tasks[m] {
			return invalid(at("processes[%d].tasks[%d]", i, k), "tid %d is listed twice", tid)
		}
		v.tasks[m] = true
	}
	// The leader is always a task of its process, even when the task list
	// could not be read.
	v.tasks[Member{PID: p.PID, TID: p.PID}] = true
	return nil
}

func (v *validator) processFDs(i int, p *Process) error {
	for k := range p.FDs {
		fd := &p.FDs[k]
		if fd.FD < 0 {
			return invalid(at("processes[%d].fds[%d].fd", i, k), "fd %d is negative", fd.FD)
		}
		if fd.Thread != 0 && (fd.Thread == p.PID || !v.tasks[Member{PID: p.PID, TID: fd.Thread}]) {
			return invalid(at("processes[%d].fds[%d].tid", i, k), "tid %d is not a thread of pid %d other than its leader", fd.Thread, p.PID)
		}
		key := fdKey{p.PID, fd.Thread, fd.FD}
		if v.fds[key] {
			if fd.Thread != 0 {
				return invalid(at("processes[%d].fds[%d].fd", i, k), "fd %d of task %d of pid %d is listed twice", fd.FD, fd.Thread, p.PID)
			}
			return invalid(at("processes[%d].fds[%d].fd", i, k), "fd %d of pid %d is listed twice", fd.FD, p.PID)
		}
		v.fds[key] = true
		if fd.MntID < 0 || fd.Pos < 0 || fd.Flags < 0 || fd.OwnerUID < 0 || fd.OwnerGID < 0 {
			return invalid(at("processes[%d].fds[%d]", i, k), "negative mnt_id, pos, flags or owner")
		}
	}
	return nil
}

// member checks that m, at the JSON path path(), is a holder of type typ
// that the processes list: a task for per-task types, an fd otherwise.
func (v *validator) member(path func() string, typ string, m Member) error {
	if _, ok := v.pids[m.PID]; !ok {
		return invalid(path(), "pid %d is not in processes", m.PID)
	}
	if IsTaskType(typ) {
		if !m.IsTask() {
			return invalid(path(), "a %s member needs a tid, not an fd", typ)
		}
		if !v.tasks[m] {
			return invalid(path(), "tid %d is not a task of pid %d", m.TID, m.PID)
		}
		return nil
	}
	if m.IsTask() {
		return invalid(path(), "a %s member needs an fd, not a tid", typ)
	}
	if m.FD < 0 {
		return invalid(path(), "fd %d is negative", m.FD)
	}
	if !v.fds[fdKey{m.PID, m.Thread, m.FD}] {
		if m.Thread != 0 {
			return invalid(path(), "fd %d is not an fd of task %d of pid %d", m.FD, m.Thread, m.PID)
		}
		return invalid(path(), "fd %d is not an fd of pid %d", m.FD, m.PID)
	}
	return nil
}

// groups checks each group's type and members; a member is in at most one
// group of a type.
func (v *validator) groups(s *Snapshot) error {
	for i := range s.Groups {
		g := &s.Groups[i]
		if !validGroupType(g.Type) {
			return invalid(at("groups[%d].type", i), "unknown group type %s (valid: file, vm, files, fs, sighand, io, sysvsem)", quoted(g.Type, 40))
		}
		if len(g.Members) < 2 {
			return invalid(at("groups[%d].members", i), "a group needs two or more members, has %d", len(g.Members))
		}
		seen := v.inGroup[g.Type]
		if seen == nil {
			seen = make(map[Member]int)
			v.inGroup[g.Type] = seen
		}
		for k, m := range g.Members {
			if err := v.tick(); err != nil {
				return err
			}
			path := func() string { return at("groups[%d].members[%d]", i, k) }
			if err := v.member(path, g.Type, m); err != nil {
				return err
			}
			if j, dup := seen[m]; dup {
				return invalid(path(), "%s is already a member of groups[%d]", m, j)
			}
			seen[m] = i
		}
	}
	return nil
}

// null checks the NULL classes: per-task types only, tasks that are in no
// group of that type.
func (v *validator) null(s *Snapshot) error {
	for typ, list := range s.Null {
		if !IsTaskType(typ) {
			return invalid("null."+typ, "not a per-task type")
		}
		for k, m := range list {
			if err := v.tick(); err != nil {
				return err
			}
			path := func() string { return at("null.%s[%d]", typ, k) }
			if err := v.member(path, typ, m); err != nil {
				return err
			}
			if j, dup := v.inGroup[typ][m]; dup {
				return invalid(path(), "%s is NULL but also a member of groups[%d]", m, j)
			}
		}
	}
	return nil
}

// epoll checks that each epoll entry is a listed fd, once, and that its
// watches' holders are listed fds.
func (v *validator) epoll(s *Snapshot) error {
	epfds := make(map[fdKey]bool, len(s.Epoll))
	for i := range s.Epoll {
		if err := v.tick(); err != nil {
			return err
		}
		e := &s.Epoll[i]
		key := fdKey{e.PID, e.Thread, e.FD}
		if !v.fds[key] {
			return invalid(at("epoll[%d]", i), "epoll fd %d of pid %d is not in processes", e.FD, e.PID)
		}
		if epfds[key] {
			return invalid(at("epoll[%d]", i), "epoll fd %d of pid %d is listed twice", e.FD, e.PID)
		}
		epfds[key] = true
		for k, w := range e.Watches {
			if w.TFD < 0 {
				return invalid(at("epoll[%d].watches[%d].tfd", i, k), "tfd %d is negative", w.TFD)
			}
			if w.Holder != nil {
				path := func() string { return at("epoll[%d].watches[%d].holder", i, k) }
				if err := v.member(path, TypeFile, *w.Holder); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// endpoints checks that each channel has two or more ends of listed fds,
// and addresses that parse, one per end.
func (v *validator) endpoints(s *Snapshot) error {
	for i := range s.Endpoints {
		if err := v.tick(); err != nil {
			return err
		}
		e := &s.Endpoints[i]
		if len(e.Ends) < 2 {
			return invalid(at("endpoints[%d].ends", i), "an endpoint needs two or more ends, has %d", len(e.Ends))
		}
		if len(e.Addresses) > 0 && len(e.Addresses) != len(e.Ends) {
			return invalid(at("endpoints[%d].addresses", i), "%d addresses for %d ends", len(e.Addresses), len(e.Ends))
		}
		for j, a := range e.Addresses {
			if _, err := netip.ParseAddrPort(a); err != nil {
				return invalid(at("endpoints[%d].addresses[%d]", i, j), "%s is not an address and port", quoted(a, 80))
			}
		}
		for j, end := range e.Ends {
			if len(end) == 0 {
				return invalid(at("endpoints[%d].ends[%d]", i, j), "an end without holders")
			}
			for k, m := range end {
				path := func() string { return at("endpoints[%d].ends[%d][%d]", i, j, k) }
				if err := v.member(path, TypeFile, m); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// sockets checks that each socket is listed once, with its protocol.
func (v *validator) sockets(s *Snapshot) error {
	socks := make(map[uint64]int, len(s.Sockets))
	for i := range s.Sockets {
		if err := v.tick(); err != nil {
			return err
		}
		k := &s.Sockets[i]
		if j, dup := socks[k.Ino]; dup {
			return invalid(at("sockets[%d].ino", i), "socket %d is listed twice (also sockets[%d])", k.Ino, j)
		}
		socks[k.Ino] = i
		if k.Protocol == "" {
			return invalid(at("sockets[%d].protocol", i), "missing")
		}
	}
	return nil
}

func (v *validator) stats(s *Snapshot) error {
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
