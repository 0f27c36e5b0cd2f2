//go:build linux

package analyzer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/identity"
	"github.com/kcmpgraph/kcmpgraph/analyzer/objname"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/errno"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// ErrNoSuchFD is returned by Who when the task has no such fd.
var ErrNoSuchFD = errors.New("no such fd")

// WhoHolder is one fd that holds the asked-for description.
type WhoHolder struct {
	Process *procscan.Process
	FD      procscan.FD
	// Thread is set when the fd is in the fd table of a task that left
	// its process's (snapshot.FD.Thread): that table's tid.
	Thread int
}

// Member is the holder as a snapshot member.
func (h WhoHolder) Member() snapshot.Member {
	return snapshot.Member{PID: h.Process.PID, FD: h.FD.Num, Thread: h.Thread}
}

// WhoWatcher is one epoll watch on the asked-for description.
type WhoWatcher struct {
	Process *procscan.Process
	EpollFD int
	// Thread is the epoll fd's table, as WhoHolder.Thread.
	Thread int
	// TFD is the number the watch was registered under.
	TFD    int
	Events uint32
}

// WhoResult answers "who else holds this open file description?".
type WhoResult struct {
	// Task is the task asked about and its process: a thread's tid names
	// the thread group it belongs to.
	Task   procscan.Task
	Target WhoHolder
	// Name names the target's description as every output does: a
	// socket by its protocol, addresses and state, a pipe or fifo with the
	// end the target holds.
	Name     objname.Name
	Holders  []WhoHolder // every holder, the target included, by pid and fd
	Watchers []WhoWatcher
	// Places says where the processes of the holders, other end and
	// watchers run, by pid (snapshot Process.Place): their container or
	// systemd unit; absent for a host process in no unit.
	Places map[int]string
	// OtherEnd holds the other end of the channel the description is one
	// end of: a pipe's or fifo's other direction, a connected unix
	// socket's peer, the other socket of a local TCP or UDP connection, a
	// pty's slave or master. OtherKind names the channel ("pipe",
	// "unix-stream", "tcp", "pty", ...); OtherName says which: a unix
	// socket's or fifo's name, a pty's slave name, or a connection's
	// addresses, this end's first ("127.0.0.1:41822 <-> 127.0.0.1:5000").
	OtherEnd  []WhoHolder
	OtherKind string
	OtherName string
	// Exact is false when kcmp is unavailable: holders are then every fd
	// on the same inode, and threads' own fd tables are not read.
	Exact     bool
	FDs       int // fds scanned
	KcmpCalls int64
	Skipped   map[string]int
	Seconds   float64
}

// Who finds every fd in the scan that holds the same open file
// description as fd of task, the epoll instances watching it and the
// holders of the other end of the channel it is an end of. task is any
// task id: a pid, or a thread's tid (kcmp takes task ids, and a thread
// that called unshare(CLONE_FILES) holds fds its process's table does not
// have). The fd tables of such threads are found with one KCMP_FILES call
// per thread and read; every kcmp call goes through opts.Comparer and is
// counted. fdinfo is read only where needed, and descriptions are
// compared only on fds on the same inode.
func Who(ctx context.Context, opts Options, task, fd int) (*WhoResult, error) {
	start := time.Now()
	tg, err := procscan.ThreadGroup(opts.Scan.ProcRoot, task)
	if err != nil {
		return nil, err
	}
	scan := opts.Scan
	if len(scan.PIDs) > 0 || scan.Tree != 0 {
		scan.PIDs = append(slices.Clone(scan.PIDs), tg.PID)
	}
	scan.FDInfo = procscan.FDInfoNeeded
	res, err := procscan.Scan(ctx, scan)
	if err != nil {
		return nil, err
	}
	s := newState(ctx, res, opts)
	pi, ok := s.byPID[tg.PID]
	if !ok {
		return nil, &procscan.NoProcessError{PID: task}
	}
	for i, p := range s.procs {
		s.eligible[i] = !p.KernelThread && !p.Zombie
	}
	out := &WhoResult{Task: tg, Exact: kcmp.Probe() == nil || opts.Comparer != nil}
	if out.Exact {
		s.findTaskTables(true)
	}
	s.buildTables()
	tt := s.tableOfTask(pi, task)
	tfd := s.fdIn(tt, fd)
	if tfd == nil {
		if d := s.procs[pi].Denied; len(d) > 0 {
			return nil, fmt.Errorf("pid %d fd %d: cannot read its fds (%s): %w", tg.PID, fd, d[0], unix.EACCES)
		}
		if tg.IsThread() {
			return nil, fmt.Errorf("task %d (of pid %d) has no fd %d: %w", task, tg.PID, fd, ErrNoSuchFD)
		}
		return nil, fmt.Errorf("pid %d has no fd %d: %w", task, fd, ErrNoSuchFD)
	}
	out.Target = s.whoHolder(s.member(tt, fd))
	cnt := newCounter(s.cmp)
	if err := s.whoHolders(out, cnt, tt, tfd); err != nil {
		return nil, err
	}
	s.whoWatchers(out, cnt, tt, tfd)
	s.tally.add(cnt)
	x := s.indexChannels(&chanFocus{table: tt, fd: tfd})
	s.whoOtherEnd(out, x, tt, tfd)
	out.Name = s.whoName(x, tt, tfd)
	for _, hs := range [][]WhoHolder{out.Holders, out.OtherEnd} {
		slices.SortFunc(hs, func(a, b WhoHolder) int { return compareMembers(a.Member(), b.Member()) })
	}
	slices.SortStableFunc(out.Watchers, func(a, b WhoWatcher) int {
		return compareMembers(snapshot.Member{PID: a.Process.PID, FD: a.EpollFD, Thread: a.Thread},
			snapshot.Member{PID: b.Process.PID, FD: b.EpollFD, Thread: b.Thread})
	})
	out.Places = places(opts, res, out)
	out.KcmpCalls = totalCalls(s.tally.calls)
	out.FDs = res.FDs
	out.Skipped = mergeCounts(res.Skipped, s.skipped)
	out.Seconds = time.Since(start).Seconds()
	return out, nil
}

// places says where each process of a who result runs.
func places(opts Options, res *procscan.Result, out *WhoResult) map[int]string {
	cat := identity.Load(identity.Options{ProcRoot: opts.Scan.ProcRoot, HostRoot: opts.HostRoot, HostMountNS: res.HostNamespaces["mnt"]})
	m := map[int]string{}
	add := func(p *procscan.Process) {
		if _, done := m[p.PID]; done {
			return
		}
		id := identify(cat, p)
		sp := snapshot.Process{Container: id.Container, Unit: id.Unit}
		m[p.PID] = sp.Place()
	}
	for _, hs := range [][]WhoHolder{out.Holders, out.OtherEnd} {
		for _, h := range hs {
			add(h.Process)
		}
	}
	for _, w := range out.Watchers {
		add(w.Process)
	}
	for pid, place := range m {
		if place == "" {
			delete(m, pid)
		}
	}
	return m
}

func compareMembers(a, b snapshot.Member) int {
	switch {
	case a.Less(b):
		return -1
	case b.Less(a):
		return 1
	}
	return 0
}

func totalCalls(calls map[string]int64) int64 {
	var n int64
	for _, c := range calls {
		n += c
	}
	return n
}

// tableOfTask is the fd table task of process pi holds: its task table,
// if it has one that was read, else the process's own.
func (s *state) tableOfTask(pi, task int) int {
	label := s.threadTable[task]
	if label == 0 {
		return pi
	}
	for ti := len(s.procs); ti < len(s.tables); ti++ {
		if s.tables[ti].proc == pi && s.tables[ti].tid == label {
			return ti
		}
	}
	return pi
}

// fdIn returns fd number fd of table ti, or nil.
func (s *state) fdIn(ti, fd int) *procscan.FD {
	fds := s.tables[ti].FDs()
	i, found := slices.BinarySearchFunc(fds, fd, func(f procscan.FD, n int) int { return f.Num - n })
	if !found {
		return nil
	}
	return &fds[i]
}

// tableOfMember returns the table an fd member is in, or -1.
func (s *state) tableOfMember(m snapshot.Member) int {
	pi, ok := s.byPID[m.PID]
	if !ok {
		return -1
	}
	if m.Thread == 0 {
		return pi
	}
	for ti := len(s.procs); ti < len(s.tables); ti++ {
		if s.tables[ti].proc == pi && s.tables[ti].tid == m.Thread {
			return ti
		}
	}
	return -1
}

// whoHolder is the WhoHolder of an fd member of the scan.
func (s *state) whoHolder(m snapshot.Member) WhoHolder {
	h := WhoHolder{Process: s.procs[s.byPID[m.PID]], FD: procscan.FD{Num: m.FD, Inode: &procscan.Inode{}}, Thread: m.Thread}
	if ti := s.tableOfMember(m); ti >= 0 {
		if f := s.fdIn(ti, m.FD); f != nil {
			h.FD = *f
		}
	}
	return h
}

// whoHolders lists the holders of the description of tfd (in table tt):
// the fds with its bucket key that kcmp calls equal to it.
func (s *state) whoHolders(out *WhoResult, cnt *counter, tt int, tfd *procscan.FD) error {
	keys := newKeyer(s.tables, s.tableEligible)
	key := keys.key(tfd)
	task := s.task(tt)
	for ti, f := range s.eligibleFDs() {
		if keys.key(f) != key {
			continue
		}
		if ti == tt && f.Num == tfd.Num {
			out.Holders = append(out.Holders, out.Target)
			continue
		}
		if out.Exact {
			o, err := cnt.file(task, tfd.Num, s.task(ti), f.Num)
			if err != nil {
				if errors.Is(err, unix.ESRCH) && s.task(ti) != task {
					continue
				}
				if errors.Is(err, unix.EBADF) || errors.Is(err, unix.ESRCH) {
					if _, err := cnt.file(task, tfd.Num, task, tfd.Num); err != nil {
						return fmt.Errorf("task %d fd %d closed during the scan: %w", task, tfd.Num, err)
					}
					continue
				}
				s.skipped["fds_kcmp_"+errno.Name(err)]++
				continue
			}
			if o != kcmp.Equal {
				continue
			}
		}
		out.Holders = append(out.Holders, s.whoHolder(s.member(ti, f.Num)))
	}
	return nil
}

// whoWatchers lists the epoll registrations that watch the description of
// tfd (in table tt), with KCMP_EPOLL_TFD on each watch of its inode.
func (s *state) whoWatchers(out *WhoResult, cnt *counter, tt int, tfd *procscan.FD) {
	task := s.task(tt)
	for ti, ep := range s.eligibleFDs() {
		if !ep.IsEpoll() || !ep.HasInfo {
			continue
		}
		seen := map[int]uint32{}
		for _, w := range ep.Watches() {
			slot := kcmp.EpollSlot{EFD: uint32(ep.Num), TFD: uint32(w.TFD), TOff: seen[w.TFD]}
			seen[w.TFD]++
			if w.Dev != tfd.Dev || w.Ino != tfd.Ino {
				continue
			}
			if out.Exact {
				if o, err := cnt.epoll(task, tfd.Num, s.task(ti), slot); err != nil || o != kcmp.Equal {
					continue
				}
			}
			out.Watchers = append(out.Watchers, WhoWatcher{Process: s.procs[s.tables[ti].proc], EpollFD: ep.Num,
				Thread: s.tables[ti].tid, TFD: w.TFD, Events: w.Events})
		}
	}
}

// whoOtherEnd finds the channel tfd (in table tt) is an end of, with the
// pairing endpoints uses (channels, focused on tfd), and the holders of
// its other ends: for a pty master, every slave fd; for a slave, the
// master's; for the others, the opposite end's.
func (s *state) whoOtherEnd(out *WhoResult, x *chanIndex, tt int, tfd *procscan.FD) {
	me := s.member(tt, tfd.Num)
	for _, e := range s.channels(x, nil, &chanFocus{table: tt, fd: tfd}) {
		mine := -1
		for i, end := range e.Ends {
			if slices.Contains(end, me) {
				mine = i
			}
		}
		if mine < 0 {
			continue
		}
		out.OtherKind, out.OtherName = e.Kind, e.Name
		if len(e.Addresses) == len(e.Ends) && len(e.Ends) == 2 {
			out.OtherName = e.Addresses[mine] + " <-> " + e.Addresses[1-mine]
		}
		for i, end := range e.Ends {
			if i == mine || e.Kind == "pty" && mine > 0 && i > 0 {
				continue
			}
			for _, m := range end {
				out.OtherEnd = append(out.OtherEnd, s.whoHolder(m))
			}
		}
		return
	}
}
