package analyzer

import (
	"errors"
	"math/rand"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// These tests check the grouping algorithm itself on a known total order
// (object ids standing in for kernel pointers). The live tests check it
// against the kernel.

func orderOf(objs []int) func(a, b int) (kcmp.Order, error) {
	return func(a, b int) (kcmp.Order, error) {
		switch {
		case objs[a] < objs[b]:
			return kcmp.Less, nil
		case objs[a] > objs[b]:
			return kcmp.Greater, nil
		}
		return kcmp.Equal, nil
	}
}

// classes returns the partition of items by union-find root, canonical.
func classes(uf unionFind, items []int) [][]int {
	m := map[int][]int{}
	for _, it := range items {
		m[uf.find(it)] = append(m[uf.find(it)], it)
	}
	var out [][]int
	for _, c := range m {
		sort.Ints(c)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func truth(objs []int, items []int) [][]int {
	m := map[int][]int{}
	for _, it := range items {
		m[objs[it]] = append(m[objs[it]], it)
	}
	var out [][]int
	for _, c := range m {
		sort.Ints(c)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func equalPartitions(a, b [][]int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

func TestSortDistinctMatchesTruth(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, n := range []int{0, 1, 2, 3, 7, 64, 500} {
		for _, distinct := range []int{1, 2, n/3 + 1, n + 1} {
			objs := make([]int, n)
			items := make([]int, n)
			for i := range objs {
				objs[i] = rng.Intn(distinct)
				items[i] = i
			}
			uf := newUnionFind(n)
			calls := 0
			cmp := orderOf(objs)
			counting := func(a, b int) (kcmp.Order, error) { calls++; return cmp(a, b) }
			got, err := sortDistinct(items, counting, uf.union)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(got); i++ {
				if objs[got[i-1]] >= objs[got[i]] {
					t.Fatalf("n=%d: result not strictly increasing at %d", n, i)
				}
			}
			if want := truth(objs, items); !equalPartitions(classes(uf, items), want) {
				t.Fatalf("n=%d distinct=%d: partition differs from truth", n, distinct)
			}
			if limit := n * bitsLen(n); calls > limit {
				t.Errorf("n=%d: %d calls, more than n*ceil(log2 n) = %d", n, calls, limit)
			}
		}
	}
}

func bitsLen(n int) int {
	b := 0
	for (1 << b) < n {
		b++
	}
	return b
}

func TestGroupDistinctUnorderedFallsBackToPairwise(t *testing.T) {
	objs := []int{5, 3, 5, 9, 3, 3}
	items := []int{0, 1, 2, 3, 4, 5}
	uf := newUnionFind(len(objs))
	// A kernel that only knows equal or not: always Unordered when different.
	cmp := func(a, b int) (kcmp.Order, error) {
		if objs[a] == objs[b] {
			return kcmp.Equal, nil
		}
		return kcmp.Unordered, nil
	}
	distinct, dropped, sorted := groupDistinct(items, cmp, uf.union, func(int) bool { return true })
	if sorted || len(dropped) != 0 || len(distinct) != 3 {
		t.Fatalf("distinct=%v dropped=%v sorted=%v; want 3 distinct, none dropped, unsorted", distinct, dropped, sorted)
	}
	if !equalPartitions(classes(uf, items), truth(objs, items)) {
		t.Fatal("pairwise fallback grouped wrongly")
	}
}

func TestGroupDistinctDropsVanishedMember(t *testing.T) {
	objs := []int{1, 2, 1, 3, 2, 1}
	items := []int{0, 1, 2, 3, 4, 5}
	gone := map[int]bool{3: true}
	uf := newUnionFind(len(objs))
	base := orderOf(objs)
	cmp := func(a, b int) (kcmp.Order, error) {
		if gone[a] || gone[b] {
			return 0, errors.New("EBADF")
		}
		return base(a, b)
	}
	distinct, dropped, sorted := groupDistinct(items, cmp, uf.union, func(x int) bool { return !gone[x] })
	if !sorted || len(dropped) != 1 || dropped[0] != 3 || len(distinct) != 2 {
		t.Fatalf("distinct=%v dropped=%v sorted=%v", distinct, dropped, sorted)
	}
	live := []int{0, 1, 2, 4, 5}
	if !equalPartitions(classes(uf, live), truth(objs, live)) {
		t.Fatal("grouping after a vanished member is wrong")
	}
}

func TestGroupDistinctPairFailureAlwaysProgresses(t *testing.T) {
	// Each member answers alone, but one pair always fails (EPERM between
	// two tasks): the loop must still end and never merge unequal items.
	objs := []int{1, 2, 3, 4}
	uf := newUnionFind(4)
	base := orderOf(objs)
	cmp := func(a, b int) (kcmp.Order, error) {
		if (a == 1 && b == 2) || (a == 2 && b == 1) {
			return 0, errors.New("EPERM")
		}
		return base(a, b)
	}
	distinct, dropped, _ := groupDistinct([]int{0, 1, 2, 3}, cmp, uf.union, func(int) bool { return true })
	if len(distinct)+len(dropped) != 4 {
		t.Fatalf("distinct=%v dropped=%v: members lost", distinct, dropped)
	}
	for i := range 4 {
		if uf.find(i) != i {
			t.Fatalf("unequal items merged: %v", uf)
		}
	}
}

// orderByKey must give the order of a plain stable sort by key, and the
// runs of equal keys in it, whatever Inode records the fds share: one
// record per inode, several records for one inode (hard links, the
// anonymous inode's kinds), and fds of one record with different keys.
func TestOrderByKey(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, n := range []int{0, 1, 2, 1000, 50000} {
		var recs []*procscan.Inode
		for i := range n/5 + 1 {
			ino := uint64(rng.Intn(n/8 + 1))
			recs = append(recs, &procscan.Inode{Target: strconv.Itoa(i), Dev: uint64(rng.Intn(3)), Ino: ino, MntID: rng.Intn(2)})
		}
		inodes := make([]*procscan.Inode, n)
		keys := make([]bucketKey, n)
		for c := range n {
			in := recs[rng.Intn(len(recs))]
			inodes[c] = in
			keys[c] = bucketKey{dev: in.Dev, ino: in.Ino, mnt: in.MntID, eventfdID: int64(rng.Intn(2)) - 1, access: int32(rng.Intn(3)), anon: int32(rng.Intn(2))}
		}
		order, starts := orderByKey(n, func(c int) *procscan.Inode { return inodes[c] }, func(c int) bucketKey { return keys[c] })
		ref := make([]int32, n)
		for i := range ref {
			ref[i] = int32(i)
		}
		slices.SortStableFunc(ref, func(a, b int32) int { return compareKeys(keys[a], keys[b]) })
		if !slices.Equal(order, ref) {
			t.Fatalf("n=%d: order differs from a stable sort", n)
		}
		var want []int32
		for i := range n {
			if i == 0 || keys[ref[i]] != keys[ref[i-1]] {
				want = append(want, int32(i))
			}
		}
		want = append(want, int32(n))
		if !slices.Equal(starts, want) {
			t.Fatalf("n=%d: %d runs, want %d", n, len(starts), len(want))
		}
	}
}
