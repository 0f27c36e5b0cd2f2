package analyzer

import (
	"math/rand"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/procscan"
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

// BenchmarkOrderByKey orders 100,000 fds by bucket key, as the 1000x100
// forest has them: 98k fds on about 10k keys, fds of one inode sharing
// its Inode record.
func BenchmarkOrderByKey(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	const n = 100000
	recs := make([]*procscan.Inode, 5000)
	for i := range recs {
		recs[i] = &procscan.Inode{Dev: uint64(i % 4), Ino: uint64(i), MntID: 20 + i%4}
	}
	inodes := make([]*procscan.Inode, n)
	keys := make([]bucketKey, n)
	for c := range inodes {
		in := recs[rng.Intn(len(recs))]
		inodes[c] = in
		keys[c] = bucketKey{dev: in.Dev, ino: in.Ino, mnt: in.MntID, eventfdID: -1, access: int32(rng.Intn(2))}
	}
	for b.Loop() {
		orderByKey(n, func(c int) *procscan.Inode { return inodes[c] }, func(c int) bucketKey { return keys[c] })
	}
}
