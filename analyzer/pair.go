//go:build linux

package analyzer

import (
	"github.com/kcmpgraph/kcmpgraph/kcmp"
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

// ComparePair compares one object type of two tasks, or for kcmp.File the
// descriptions behind fd1 of pid1 and fd2 of pid2. An Equal answer on a
// nullable type is checked against a NULL sentinel (sentinel may be nil
// for types that need none).
func ComparePair(t kcmp.Type, pid1, pid2, fd1, fd2 int, sentinel *kcmp.NullSentinel) PairResult {
	r := PairResult{Type: t}
	if t == kcmp.File {
		r.Order, r.Err = kcmp.FileDescs(pid1, fd1, pid2, fd2)
		return r
	}
	r.Order, r.Err = kcmp.Tasks(t, pid1, pid2)
	if r.Err != nil || r.Order != kcmp.Equal || sentinel == nil || !isNullType(t) {
		return r
	}
	null, err := sentinel.IsNull(t, pid1)
	if err != nil {
		r.Err = err
		return r
	}
	r.BothNull = null
	return r
}
