package analyzer

import (
	"errors"

	"github.com/kcmpgraph/kcmpgraph/kcmp"
)

// errUnordered reports that kcmp answered Unordered: the bucket cannot be
// sorted and is compared pairwise instead.
var errUnordered = errors.New("kcmp gave no order")

// compareFailure says which comparison failed, so the caller can find the
// vanished member and sort again.
type compareFailure struct {
	a, b int
	err  error
}

func (f *compareFailure) Error() string { return f.err.Error() }
func (f *compareFailure) Unwrap() error { return f.err }

// unionFind is a disjoint-set forest over candidate indices.
type unionFind []int32

func newUnionFind(n int) unionFind {
	u := make(unionFind, n)
	for i := range u {
		u[i] = int32(i)
	}
	return u
}

func (u unionFind) find(x int) int {
	for int(u[x]) != x {
		u[x] = u[u[x]]
		x = int(u[x])
	}
	return x
}

// union joins the sets of a and b; the smaller index becomes the root, so
// roots are deterministic.
func (u unionFind) union(a, b int) {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return
	}
	if ra < rb {
		u[rb] = int32(ra)
	} else {
		u[ra] = int32(rb)
	}
}

// sortDistinct sorts items by cmp and drops duplicates as it finds them:
// every Equal result calls same(kept, dropped). The result is strictly
// increasing in kcmp order, one item per distinct object. A merge sort
// needs at most n⌈log₂n⌉ comparisons and fewer when duplicates are
// dropped early.
func sortDistinct(items []int, cmp func(a, b int) (kcmp.Order, error), same func(kept, dropped int)) ([]int, error) {
	if len(items) <= 1 {
		return items, nil
	}
	mid := len(items) / 2
	left, err := sortDistinct(items[:mid:mid], cmp, same)
	if err != nil {
		return nil, err
	}
	right, err := sortDistinct(items[mid:], cmp, same)
	if err != nil {
		return nil, err
	}
	out := make([]int, 0, len(left)+len(right))
	i, j := 0, 0
	for i < len(left) && j < len(right) {
		o, err := cmp(left[i], right[j])
		if err != nil {
			return nil, &compareFailure{a: left[i], b: right[j], err: err}
		}
		switch o {
		case kcmp.Less:
			out = append(out, left[i])
			i++
		case kcmp.Greater:
			out = append(out, right[j])
			j++
		case kcmp.Equal:
			same(left[i], right[j])
			out = append(out, left[i])
			i++
			j++
		default:
			return nil, errUnordered
		}
	}
	out = append(out, left[i:]...)
	return append(out, right[j:]...), nil
}

// distinctPairwise is the fallback when kcmp gives no order: each item is
// compared with the distinct items found so far.
func distinctPairwise(items []int, cmp func(a, b int) (kcmp.Order, error), same func(kept, dropped int)) ([]int, error) {
	var distinct []int
next:
	for _, it := range items {
		for _, d := range distinct {
			o, err := cmp(d, it)
			if err != nil {
				return nil, &compareFailure{a: d, b: it, err: err}
			}
			if o == kcmp.Equal {
				same(d, it)
				continue next
			}
		}
		distinct = append(distinct, it)
	}
	return distinct, nil
}

// groupDistinct sorts items into distinct objects, surviving failures: a
// failed comparison asks alive which side is gone, drops it and starts
// again (the unions already made are true and stay); Unordered switches to
// pairwise. It returns the distinct items (sorted unless pairwise was
// needed) and the dropped ones.
func groupDistinct(items []int, cmp func(a, b int) (kcmp.Order, error), same func(kept, dropped int),
	alive func(int) bool) (distinct, dropped []int, sorted bool) {
	work := append([]int(nil), items...)
	pairwise := false
	for len(work) > 0 {
		var res []int
		var err error
		if pairwise {
			res, err = distinctPairwise(work, cmp, same)
		} else {
			res, err = sortDistinct(work, cmp, same)
		}
		if err == nil {
			return res, dropped, !pairwise
		}
		if errors.Is(err, errUnordered) {
			pairwise = true
			continue
		}
		var cf *compareFailure
		if !errors.As(err, &cf) {
			return res, dropped, false
		}
		bad := map[int]bool{}
		for _, x := range []int{cf.a, cf.b} {
			if !alive(x) {
				bad[x] = true
			}
		}
		if len(bad) == 0 {
			// Both sides answer alone but not together (EPERM between
			// them): drop the second so the loop always makes progress.
			bad[cf.b] = true
		}
		kept := work[:0]
		for _, x := range work {
			if bad[x] {
				dropped = append(dropped, x)
			} else {
				kept = append(kept, x)
			}
		}
		work = kept
	}
	return nil, dropped, !pairwise
}
