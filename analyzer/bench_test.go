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

// BenchmarkSortByKey orders 100,000 fds by bucket key, as the 1000x100
// forest has them: 98k fds on about 10k keys.
func BenchmarkSortByKey(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	const n = 100000
	src := make([]bucketKey, n)
	for i := range src {
		ino := rng.Intn(5000)
		src[i] = bucketKey{dev: uint64(ino % 4), ino: uint64(ino), mnt: 20 + ino%4, eventfdID: -1, access: int32(rng.Intn(2))}
	}
	keys := make([]bucketKey, n)
	for b.Loop() {
		sortByKey(n, func(i int) bucketKey { return src[i] }, keys)
	}
}
