package analyzer

import (
	"math/rand"
	"testing"
)

// BenchmarkSortDistinct sorts 10,000 candidates of 2,500 objects by a
// known order: the algorithm's own cost, without the system call.
func BenchmarkSortDistinct(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	objs := make([]int, 10000)
	items := make([]int, len(objs))
	for i := range objs {
		objs[i] = rng.Intn(2500)
		items[i] = i
	}
	cmp := orderOf(objs)
	for b.Loop() {
		uf := newUnionFind(len(objs))
		if _, err := sortDistinct(items, cmp, uf.union); err != nil {
			b.Fatal(err)
		}
	}
}
