//go:build linux

package analyzer

import (
	"cmp"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// bucketKey is necessary for two fds to hold one description: one
// description has one path, so one mount and one inode. The rest is what
// fdinfo says of a description that can never change while it lives: an
// eventfd's id, the access mode and O_PATH (fcntl F_SETFL changes only
// O_APPEND, O_ASYNC, O_DIRECT, O_NOATIME and O_NONBLOCK), and for the
// shared anonymous inode the kind of object (timerfd, signalfd, epoll...).
// Every key part splits a bucket that kcmp would otherwise have to sort.
type bucketKey struct {
	dev, ino  uint64
	mnt       int
	eventfdID int64
	access    int32 // flags & (O_ACCMODE|O_PATH), -1 when not known
	anon      int32 // index of the anonymous inode's kind, 0 for others
}

func compareKeys(a, b bucketKey) int {
	if c := cmp.Compare(a.dev, b.dev); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ino, b.ino); c != 0 {
		return c
	}
	if c := cmp.Compare(a.mnt, b.mnt); c != 0 {
		return c
	}
	if c := cmp.Compare(a.eventfdID, b.eventfdID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.access, b.access); c != 0 {
		return c
	}
	return cmp.Compare(a.anon, b.anon)
}

// inodeOf is the part of a key every fd has.
type inodeOf struct {
	dev, ino uint64
	mnt      int
}

// keyer computes bucket keys. fdinfo-derived parts are used for an inode
// only when every fd on it has fdinfo: an fd whose fdinfo could not be
// read must still meet its description's other holders.
type keyer struct {
	noInfo map[inodeOf]bool
	anon   map[string]int32
}

// newKeyer learns the fds of the tables take accepts. It numbers their
// anonymous-inode kinds too, so that key, for those fds, only reads the
// keyer and may run on several goroutines at once.
func newKeyer(tables []fdTable, take func(ti int) bool) *keyer {
	k := &keyer{noInfo: map[inodeOf]bool{}, anon: map[string]int32{}}
	for ti := range tables {
		if !take(ti) {
			continue
		}
		fds := tables[ti].FDs()
		for i := range fds {
			fd := &fds[i]
			if !fd.HasInfo {
				k.noInfo[inodeOf{fd.Dev, fd.Ino, fd.MntID}] = true
			} else if fd.IsAnon() {
				k.anonID(fd.Target)
			}
		}
	}
	return k
}

// anonID numbers an anonymous inode's kind ("anon_inode:[eventfd]").
func (k *keyer) anonID(target string) int32 {
	id, ok := k.anon[target]
	if !ok {
		id = int32(len(k.anon) + 1)
		k.anon[target] = id
	}
	return id
}

func (k *keyer) key(fd *procscan.FD) bucketKey {
	key := bucketKey{dev: fd.Dev, ino: fd.Ino, mnt: fd.MntID, eventfdID: -1, access: -1}
	// noInfo is nearly always empty: no look-up per fd then.
	if !fd.HasInfo || len(k.noInfo) > 0 && k.noInfo[inodeOf{fd.Dev, fd.Ino, fd.MntID}] {
		return key
	}
	key.eventfdID = fd.EventfdID()
	key.access = int32(fd.Flags & (unix.O_ACCMODE | unix.O_PATH))
	if fd.IsAnon() {
		key.anon = k.anonID(fd.Target)
	}
	return key
}

// fileCand is one fd that takes part in file grouping: 12 bytes, where
// carrying its 40-byte key would cost 4 MB more on a 100k-fd host. Keys
// live only while the candidates are sorted; later, candidates of one
// bucket have the same bucket number, and the key of one candidate is
// computed again from its fd where it is needed.
type fileCand struct {
	table  int32 // index into state.tables
	fd     int32 // fd number
	bucket int32 // index into fileGroups.buckets
}

// fileBucket is a range of the key-sorted candidate order, and after
// grouping the distinct descriptions among them in kcmp order (sorted is
// false if the kernel gave no order and they were compared pairwise).
type fileBucket struct {
	lo, hi   int32
	distinct []int32
	sorted   bool
}

// fileGroups is the result of grouping open file descriptions. Memory is
// a few flat arrays per fd: no per-fd map, no per-bucket allocation for
// the (many) buckets of one fd.
type fileGroups struct {
	cands     []fileCand // in table order, fds ascending within a table
	tableBase []int32    // first candidate of each table, -1 if it has none
	order     []int32    // candidates sorted by key
	hint      []int32    // the parent's candidate worth one call, or -1
	uf        unionFind
	dropped   []bool
	buckets   []fileBucket // in key order
	keys      *keyer
}

// fdOf returns the scanned fd of candidate c: a participating table's
// fds are all candidates, in order.
func (g *fileGroups) fdOf(s *state, c int) *procscan.FD {
	ti := g.cands[c].table
	return &s.tables[ti].FDs()[c-int(g.tableBase[ti])]
}

// memberOf returns the snapshot member of candidate c.
func (g *fileGroups) memberOf(s *state, c int) snapshot.Member {
	return s.member(int(g.cands[c].table), int(g.cands[c].fd))
}

// keyOf returns the bucket key of candidate c.
func (g *fileGroups) keyOf(s *state, c int) bucketKey { return g.keys.key(g.fdOf(s, c)) }

// candOf returns the candidate of fd number fd of table ti, or -1.
func (g *fileGroups) candOf(s *state, ti, fd int) int {
	base := g.tableBase[ti]
	if base < 0 {
		return -1
	}
	fds := s.tables[ti].FDs()
	i, found := slices.BinarySearchFunc(fds, fd, func(f procscan.FD, n int) int { return cmp.Compare(f.Num, n) })
	if !found {
		return -1
	}
	return int(base) + i
}

// bucketsOfInode returns the buckets on one inode (several mounts or
// eventfd ids), for epoll look-ups.
func (g *fileGroups) bucketsOfInode(s *state, dev, ino uint64) []fileBucket {
	lo := sort.Search(len(g.buckets), func(i int) bool {
		k := g.fdOf(s, int(g.order[g.buckets[i].lo]))
		return k.Dev > dev || (k.Dev == dev && k.Ino >= ino)
	})
	hi := lo
	for hi < len(g.buckets) {
		k := g.fdOf(s, int(g.order[g.buckets[hi].lo]))
		if k.Dev != dev || k.Ino != ino {
			break
		}
		hi++
	}
	return g.buckets[lo:hi]
}

// groupFiles groups the fds of the eligible processes' tables into open
// file descriptions. owner[i] is the index of the table that table i is
// (tableOwners), or -1.
func (s *state) groupFiles(owner []int) *fileGroups {
	g := &fileGroups{tableBase: make([]int32, len(s.tables))}
	n := 0
	for ti := range s.tables {
		g.tableBase[ti] = -1
		// Tables that are another scanned table take no part: their fds
		// are the owner's and join its groups later.
		if nfds := len(s.tables[ti].FDs()); s.tableEligible(ti) && owner[ti] < 0 && nfds > 0 {
			g.tableBase[ti] = int32(n)
			n += nfds
		}
	}
	g.cands = make([]fileCand, 0, n)
	g.keys = newKeyer(s.tables, func(ti int) bool { return g.tableBase[ti] >= 0 || (s.tableEligible(ti) && owner[ti] >= 0) })
	for ti := range s.tables {
		if g.tableBase[ti] < 0 {
			continue
		}
		for _, fd := range s.tables[ti].FDs() {
			g.cands = append(g.cands, fileCand{table: int32(ti), fd: int32(fd.Num)})
		}
	}
	g.uf = newUnionFind(n)
	g.dropped = make([]bool, n)
	var starts []int32
	g.order, starts = orderByKey(n, func(c int) *procscan.Inode { return g.fdOf(s, c).Inode },
		func(c int) bucketKey { return g.keys.key(g.fdOf(s, c)) })
	g.buckets = make([]fileBucket, 0, len(starts)-1)
	for b := 0; b+1 < len(starts); b++ {
		lo, hi := starts[b], starts[b+1]
		for _, c := range g.order[lo:hi] {
			g.cands[c].bucket = int32(b)
		}
		g.buckets = append(g.buckets, fileBucket{lo: lo, hi: hi})
	}
	// Fork hint: a child's fd N is most often its parent's fd N, and a
	// task table's fd N its process's (the table began as its copy).
	g.hint = make([]int32, n)
	for c := range g.cands {
		g.hint[c] = -1
		cand := g.cands[c]
		parent := s.hintParent(int(cand.table))
		if parent < 0 {
			continue
		}
		if fp := owner[parent]; fp >= 0 {
			parent = fp
		}
		if pc := g.candOf(s, parent, int(cand.fd)); pc >= 0 && g.cands[pc].bucket == cand.bucket {
			g.hint[c] = int32(pc)
		}
	}

	var todo []int
	for b := range g.buckets {
		bk := &g.buckets[b]
		if bk.hi-bk.lo > 1 {
			todo = append(todo, b)
		} else {
			bk.distinct, bk.sorted = g.order[bk.lo:bk.hi], true
		}
	}
	// Largest first, so the workers finish together.
	sort.Slice(todo, func(i, j int) bool {
		a, b := g.buckets[todo[i]], g.buckets[todo[j]]
		return a.hi-a.lo > b.hi-b.lo
	})
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(1, len(todo))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cnt := newCounter(s.cmp)
			defer s.tally.add(cnt)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(todo) {
					return
				}
				g.groupBucket(s, cnt, &g.buckets[todo[i]])
			}
		}()
	}
	wg.Wait()
	g.hint = nil
	return g
}

// orderByKey returns the candidates 0..n-1 ordered by bucket key, then by
// candidate, and where each key's run starts in that order (one entry more
// than there are keys; the last is n). A key begins with the inode (dev,
// ino, mount), and the fds on one inode and link text share one Inode
// record, so the records, a tenth as many as the fds, are sorted and the
// candidates placed by counting; only the fds of one inode are then
// sorted by the rest of their keys. On 100k fds that is a third of the
// comparisons of sorting every key, and no key per fd held.
func orderByKey(n int, inode func(c int) *procscan.Inode, key func(c int) bucketKey) (order, starts []int32) {
	ids := make(map[*procscan.Inode]int32)
	var recs []*procscan.Inode
	of := make([]int32, n)
	for c := range n {
		in := inode(c)
		id, ok := ids[in]
		if !ok {
			id = int32(len(recs))
			ids[in] = id
			recs = append(recs, in)
		}
		of[c] = id
	}
	// The part of a key an Inode record gives; compareKeys orders it.
	prefix := func(in *procscan.Inode) bucketKey { return bucketKey{dev: in.Dev, ino: in.Ino, mnt: in.MntID} }
	byInode := make([]int32, len(recs))
	for i := range byInode {
		byInode[i] = int32(i)
	}
	slices.SortFunc(byInode, func(a, b int32) int { return compareKeys(prefix(recs[a]), prefix(recs[b])) })
	rank := make([]int32, len(recs))
	for r, id := range byInode {
		rank[id] = int32(r)
	}
	next := make([]int32, len(recs)+1)
	for _, id := range of {
		next[rank[id]+1]++
	}
	for r := range recs {
		next[r+1] += next[r]
	}
	order = make([]int32, n)
	for c, id := range of {
		r := rank[id]
		order[next[r]] = int32(c)
		next[r]++
	}
	// Candidates are now in inode order, each record's in candidate
	// order. Within the run of one inode, sort by whole key.
	var run []keyedCand
	for lo := 0; lo < n; {
		in := prefix(recs[of[order[lo]]])
		hi := lo + 1
		for hi < n && prefix(recs[of[order[hi]]]) == in {
			hi++
		}
		run = run[:0]
		for _, c := range order[lo:hi] {
			run = append(run, keyedCand{key(int(c)), c})
		}
		slices.SortFunc(run, compareKeyed)
		for i, kc := range run {
			order[lo+i] = kc.c
			if i == 0 || kc.key != run[i-1].key {
				starts = append(starts, int32(lo+i))
			}
		}
		lo = hi
	}
	return order, append(starts, int32(n))
}

// keyedCand is a candidate with its bucket key.
type keyedCand struct {
	key bucketKey
	c   int32
}

func compareKeyed(a, b keyedCand) int {
	if c := compareKeys(a.key, b.key); c != 0 {
		return c
	}
	return cmp.Compare(a.c, b.c)
}

// groupBucket groups one bucket: hints first, then a sort of what is left.
// Buckets share no candidates, so workers need no lock on the union-find.
func (g *fileGroups) groupBucket(s *state, cnt *counter, b *fileBucket) {
	cmpFn := func(a, c int) (kcmp.Order, error) {
		x, y := g.cands[a], g.cands[c]
		return cnt.file(s.task(int(x.table)), int(x.fd), s.task(int(y.table)), int(y.fd))
	}
	alive := func(a int) bool {
		x := g.cands[a]
		task := s.task(int(x.table))
		_, err := cnt.file(task, int(x.fd), task, int(x.fd))
		return err == nil
	}
	members := g.order[b.lo:b.hi]
	for _, m := range members {
		c, h := int(m), int(g.hint[m])
		if h < 0 || g.dropped[c] || g.dropped[h] {
			continue
		}
		o, err := cmpFn(c, h)
		if err != nil {
			for _, x := range []int{c, h} {
				if !alive(x) {
					g.dropped[x] = true
				}
			}
			continue
		}
		if o == kcmp.Equal {
			g.uf.union(c, h)
		}
	}
	// One representative per set: the lowest live member (a set whose
	// root was dropped lives on through its other members).
	rep := map[int]int{}
	var reps []int
	for _, m := range members {
		c := int(m)
		if g.dropped[c] {
			continue
		}
		r := g.uf.find(c)
		if _, ok := rep[r]; !ok {
			rep[r] = c
			reps = append(reps, c)
		}
	}
	distinct, dropped, sorted := groupDistinct(reps, cmpFn, g.uf.union, alive)
	for _, d := range dropped {
		g.dropped[d] = true
	}
	b.distinct, b.sorted = make([]int32, len(distinct)), sorted
	for i, d := range distinct {
		b.distinct[i] = int32(d)
	}
}
