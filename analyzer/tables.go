//go:build linux

package analyzer

import (
	"fmt"
	"iter"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// SkipTaskTablesUnread counts the tasks, without threads, whose fd table
// is not their process's (a thread that called unshare(CLONE_FILES), and
// the threads it started since): their fds were not read.
const SkipTaskTablesUnread = "tasks_own_fd_table_unread"

// fdTable is one fd table whose fds take part in grouping: a process's
// own (what /proc/PID/fd shows) or the table of tasks that left it. The
// first len(state.procs) tables are the processes' own, in process order,
// so a process index is its own table's index; task tables follow.
type fdTable struct {
	proc int // index into state.procs
	// tid is 0 for a process's own table, else the task table's TID: the
	// snapshot's FD.Thread and the task kcmp is given.
	tid int
	fds *[]procscan.FD // the process's FDs or the task table's
}

// FDs returns the table's fds.
func (t *fdTable) FDs() []procscan.FD { return *t.fds }

// task returns the task id kcmp takes for the table: the pid for a
// process's own table, the tid for a task's.
func (s *state) task(ti int) int {
	if t := &s.tables[ti]; t.tid != 0 {
		return t.tid
	}
	return s.procs[s.tables[ti].proc].PID
}

// member returns the snapshot member of fd number fd of table ti.
func (s *state) member(ti, fd int) snapshot.Member {
	t := &s.tables[ti]
	return snapshot.Member{PID: s.procs[t.proc].PID, FD: fd, Thread: t.tid}
}

// tableEligible reports whether table ti's process takes part.
func (s *state) tableEligible(ti int) bool { return s.eligible[s.tables[ti].proc] }

// buildTables lists the fd tables: every process's own, then the task
// tables read for them.
func (s *state) buildTables() {
	s.tables = make([]fdTable, len(s.procs), len(s.procs)+8)
	for pi, p := range s.procs {
		s.tables[pi] = fdTable{proc: pi, fds: &p.FDs}
	}
	for pi, p := range s.procs {
		for k := range p.TaskTables {
			tt := &p.TaskTables[k]
			s.tables = append(s.tables, fdTable{proc: pi, tid: tt.TID, fds: &tt.FDs})
		}
	}
}

// findTaskTables asks KCMP_FILES, for every thread of an eligible
// process, whether it shares its leader's fd table: one call per thread,
// the only way to know (the kernel shows a task's table in
// /proc/PID/task/TID/fd, which is the leader's for almost every thread,
// and reading them all would cost a thread's worth of fds each). With
// read, the threads that do not share it are grouped into tables
// (KCMP_FILES among them, a call or two) and each table is read once;
// without, they are only counted (SkipTaskTablesUnread). s.threadTable
// keeps every answer for the grouping of fd tables.
func (s *state) findTaskTables(read bool) {
	cnt := newCounter(s.cmp)
	defer s.tally.add(cnt)
	s.threadTable = map[int]int{}
	unread := 0
	for pi, p := range s.procs {
		if !s.eligible[pi] || len(p.Tasks) < 2 {
			continue
		}
		var reps []int     // one tid per table of p's threads that is not p's own
		var tables [][]int // the tids holding each
		for _, tid := range p.Tasks {
			if tid == p.PID {
				continue
			}
			o, err := cnt.task(kcmp.Files, p.PID, tid)
			if err != nil {
				continue // the thread exited; a leader that did fails later
			}
			if o == kcmp.Equal {
				s.threadTable[tid] = 0
				continue
			}
			if !read {
				unread++
				continue
			}
			joined := false
			for k, rep := range reps {
				if o, err := cnt.task(kcmp.Files, rep, tid); err == nil && o == kcmp.Equal {
					tables[k] = append(tables[k], tid)
					joined = true
					break
				}
			}
			if !joined {
				reps = append(reps, tid)
				tables = append(tables, []int{tid})
			}
		}
		for _, tids := range tables {
			if err := s.res.ReadTaskTable(p, tids); err != nil {
				s.warnings = append(s.warnings, fmt.Sprintf("pid %d: the fd table of task %d was not read: %v", p.PID, tids[0], err))
				continue
			}
			label := p.TaskTables[len(p.TaskTables)-1].TID
			for _, tid := range tids {
				s.threadTable[tid] = label
			}
		}
	}
	if unread > 0 {
		s.skipped[SkipTaskTablesUnread] += unread
	}
}

// tableOwners finds, for each table, the table it is: for a process's own
// table, the scanned parent's whose table it shares (KCMP_FILES, one call
// per process; CLONE_FILES), or, failing that, one of the parent's task
// tables (a thread with a table of its own that cloned it with
// CLONE_FILES); -1 otherwise, and always for task tables. Chains are
// followed to the owner, which is never itself owned. A table with an
// owner takes no part in grouping: its fd N is the owner's fd N.
func (s *state) tableOwners(need bool) []int {
	owner := make([]int, len(s.tables))
	for i := range owner {
		owner[i] = -1
	}
	if !need {
		return owner
	}
	cnt := newCounter(s.cmp)
	defer s.tally.add(cnt)
	taskTables := map[int][]int{} // process -> its task tables
	for ti := len(s.procs); ti < len(s.tables); ti++ {
		taskTables[s.tables[ti].proc] = append(taskTables[s.tables[ti].proc], ti)
	}
	for i, p := range s.procs {
		par := s.parent[i]
		if !s.eligible[i] || par < 0 || !s.eligible[par] || len(p.FDs) == 0 {
			continue
		}
		if o, err := cnt.task(kcmp.Files, p.PID, s.procs[par].PID); err == nil && o == kcmp.Equal {
			owner[i] = par
			continue
		}
		for _, ti := range taskTables[par] {
			if o, err := cnt.task(kcmp.Files, p.PID, s.tables[ti].tid); err == nil && o == kcmp.Equal {
				owner[i] = ti
				break
			}
		}
	}
	// Parents are resolved first only if the pid order says so; follow
	// the chain to the owner of the table.
	for i := range owner {
		for owner[i] >= 0 && owner[owner[i]] >= 0 {
			owner[i] = owner[owner[i]]
		}
	}
	return owner
}

// hintParent is the table whose fd N table ti's fd N most likely is: a
// task table's process's own table (it began as a copy of it), a
// process's parent's, or -1.
func (s *state) hintParent(ti int) int {
	if ti >= len(s.procs) {
		return s.tables[ti].proc
	}
	return s.parent[ti]
}

// eligibleFDs yields every fd of every eligible table, with the table's
// index.
func (s *state) eligibleFDs() iter.Seq2[int, *procscan.FD] {
	return func(yield func(int, *procscan.FD) bool) {
		for ti := range s.tables {
			if !s.tableEligible(ti) {
				continue
			}
			fds := s.tables[ti].FDs()
			for i := range fds {
				if !yield(ti, &fds[i]) {
					return
				}
			}
		}
	}
}
