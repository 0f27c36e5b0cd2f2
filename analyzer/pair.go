//go:build linux

package analyzer

import (
	"fmt"

	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// PairResult is the answer to "do these two share this object?".
type PairResult struct {
	Type  kcmp.Type
	Order kcmp.Order
	// BothNull is true when kcmp said Equal only because neither task
	// has the object (no I/O context, no undo list, exited): nothing is
	// shared.
	BothNull bool
	// Err is set when the question could not be answered; it wraps the
	// errno (EPERM, ESRCH, EBADF).
	Err error
}

// CmpResult answers "do these two tasks share these objects?".
type CmpResult struct {
	// Tasks are the two tasks and their processes: a tid names the
	// thread group it belongs to.
	Tasks [2]procscan.Task
	// Pairs has one answer per type asked, in order, up to and including
	// the first that failed (the same trouble would stop the others).
	Pairs     []PairResult
	KcmpCalls int64
}

// Cmp compares the objects of each type in types of two tasks (pids or
// tids: kcmp takes task ids), and for kcmp.File the descriptions behind
// fd1 of task1 and fd2 of task2 (in each task's own fd table). An Equal
// answer on a type with a NULL class is checked against a NULL sentinel.
// Every call goes through opts.Comparer and is counted. It fails with an
// error wrapping kcmp.ErrUnavailable when kcmp cannot be used, and with a
// *procscan.NoProcessError for a task that does not exist.
func Cmp(opts Options, task1, task2, fd1, fd2 int, types []kcmp.Type) (*CmpResult, error) {
	cmp := opts.Comparer
	if cmp == nil {
		if err := kcmp.Probe(); err != nil {
			return nil, err
		}
		cmp = SystemComparer{}
	}
	out := &CmpResult{}
	for i, task := range []int{task1, task2} {
		t, err := procscan.ThreadGroup(opts.Scan.ProcRoot, task)
		if err != nil {
			return nil, err
		}
		out.Tasks[i] = t
	}
	var sentinel *kcmp.NullSentinel
	for _, t := range types {
		if isNullType(t) {
			var err error
			if sentinel, err = kcmp.NewNullSentinel(); err != nil {
				return nil, fmt.Errorf("analyzer: %w", err)
			}
			defer sentinel.Close()
			break
		}
	}
	cnt := newCounter(cmp)
	for _, t := range types {
		r := comparePair(cnt, t, task1, task2, fd1, fd2, sentinel)
		out.Pairs = append(out.Pairs, r)
		if r.Err != nil {
			break
		}
	}
	for _, n := range cnt.calls {
		out.KcmpCalls += n
	}
	return out, nil
}

// comparePair compares one object type of two tasks, or for kcmp.File
// the descriptions behind fd1 of task1 and fd2 of task2.
func comparePair(cnt *counter, t kcmp.Type, task1, task2, fd1, fd2 int, sentinel *kcmp.NullSentinel) PairResult {
	r := PairResult{Type: t}
	if t == kcmp.File {
		r.Order, r.Err = cnt.file(task1, fd1, task2, fd2)
		return r
	}
	r.Order, r.Err = cnt.task(t, task1, task2)
	if r.Err != nil || r.Order != kcmp.Equal || sentinel == nil || !isNullType(t) {
		return r
	}
	o, err := cnt.task(t, task1, sentinel.PID())
	if err != nil {
		r.Err = err
		return r
	}
	r.BothNull = o == kcmp.Equal
	return r
}
