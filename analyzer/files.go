//go:build linux

package analyzer

import (
	"runtime"
	"sort"
	"sync"

	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// bucketKey is necessary for two fds to hold one description: one
// description has one path, so one mount and one inode; an eventfd's id
// never changes for a description.
type bucketKey struct {
	dev, ino  uint64
	mnt       int
	eventfdID int64
}

// fileCand is one fd that takes part in file grouping.
type fileCand struct {
	proc int // index into state.procs
	fd   int // fd number
	key  bucketKey
}

// fileBucket is the candidates of one key, and after grouping the distinct
// descriptions among them in kcmp order (sorted is false if the kernel
// gave no order and they were compared pairwise).
type fileBucket struct {
	members  []int
	hints    [][2]int // (child, parent) candidate pairs worth one call
	distinct []int
	sorted   bool
}

// fileGroups is the result of grouping open file descriptions.
type fileGroups struct {
	cands   []fileCand
	uf      unionFind
	dropped []bool
	buckets map[bucketKey]*fileBucket
	byFD    map[[2]int]int // (proc index, fd) -> candidate
	// byInode lists the buckets of each (dev, ino), for epoll look-ups.
	byInode map[[2]uint64][]*fileBucket
}

func keyOf(fd *procscan.FD) bucketKey {
	k := bucketKey{dev: fd.Dev, ino: fd.Ino, mnt: fd.MntID, eventfdID: -1}
	if fd.HasInfo {
		k.eventfdID = fd.Info.EventfdID
	}
	return k
}

// groupFiles groups the fds of the eligible processes into open file
// descriptions. filesParent[i] is the index of the process whose fd table
// process i shares (found with KCMP_FILES), or -1.
func (s *state) groupFiles(filesParent []int) *fileGroups {
	g := &fileGroups{buckets: map[bucketKey]*fileBucket{}, byFD: map[[2]int]int{}, byInode: map[[2]uint64][]*fileBucket{}}
	// Processes that share a table with another scanned process take no
	// part: their fds are the owner's and join its groups at the end.
	for pi, p := range s.procs {
		if !s.eligible[pi] || filesParent[pi] >= 0 {
			continue
		}
		for i := range p.FDs {
			fd := &p.FDs[i]
			c := len(g.cands)
			g.cands = append(g.cands, fileCand{proc: pi, fd: fd.Num, key: keyOf(fd)})
			g.byFD[[2]int{pi, fd.Num}] = c
		}
	}
	g.uf = newUnionFind(len(g.cands))
	g.dropped = make([]bool, len(g.cands))
	for c := range g.cands {
		k := g.cands[c].key
		b := g.buckets[k]
		if b == nil {
			b = &fileBucket{}
			g.buckets[k] = b
			ik := [2]uint64{k.dev, k.ino}
			g.byInode[ik] = append(g.byInode[ik], b)
		}
		b.members = append(b.members, c)
	}
	// Fork hint: a child's fd N is most often its parent's fd N.
	for c := range g.cands {
		cand := g.cands[c]
		parent := s.parent[cand.proc]
		if parent < 0 {
			continue
		}
		if fp := filesParent[parent]; fp >= 0 {
			parent = fp
		}
		pc, ok := g.byFD[[2]int{parent, cand.fd}]
		if !ok || g.cands[pc].key != cand.key {
			continue
		}
		b := g.buckets[cand.key]
		b.hints = append(b.hints, [2]int{c, pc})
	}

	var todo []*fileBucket
	for _, b := range g.buckets {
		if len(b.members) > 1 {
			todo = append(todo, b)
		} else {
			b.distinct, b.sorted = b.members, true
		}
	}
	// Largest first, so the workers finish together.
	sort.Slice(todo, func(i, j int) bool { return len(todo[i].members) > len(todo[j].members) })
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(1, len(todo))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cnt := newCounter(s.cmp)
			defer s.tally.add(cnt)
			for {
				mu.Lock()
				if next >= len(todo) {
					mu.Unlock()
					return
				}
				b := todo[next]
				next++
				mu.Unlock()
				g.groupBucket(s, cnt, b)
			}
		}()
	}
	wg.Wait()
	return g
}

// groupBucket groups one bucket: hints first, then a sort of what is left.
// Buckets share no candidates, so workers need no lock on the union-find.
func (g *fileGroups) groupBucket(s *state, cnt *counter, b *fileBucket) {
	cmp := func(a, c int) (kcmp.Order, error) {
		x, y := g.cands[a], g.cands[c]
		return cnt.file(s.procs[x.proc].PID, x.fd, s.procs[y.proc].PID, y.fd)
	}
	alive := func(a int) bool {
		x := g.cands[a]
		pid := s.procs[x.proc].PID
		_, err := cnt.file(pid, x.fd, pid, x.fd)
		return err == nil
	}
	for _, h := range b.hints {
		if g.dropped[h[0]] || g.dropped[h[1]] {
			continue
		}
		o, err := cmp(h[0], h[1])
		if err != nil {
			for _, x := range h {
				if !alive(x) {
					g.dropped[x] = true
				}
			}
			continue
		}
		if o == kcmp.Equal {
			g.uf.union(h[0], h[1])
		}
	}
	var reps []int
	for _, m := range b.members {
		if !g.dropped[m] && g.uf.find(m) == m {
			reps = append(reps, m)
		}
	}
	// A root may have been dropped while its set lives on: use the
	// lowest surviving member of each set as its representative.
	if len(reps) == 0 || hasDroppedRoot(g, b) {
		reps = survivingReps(g, b)
	}
	distinct, dropped, sorted := groupDistinct(reps, cmp, g.uf.union, alive)
	for _, d := range dropped {
		g.dropped[d] = true
	}
	b.distinct, b.sorted = distinct, sorted
}

func hasDroppedRoot(g *fileGroups, b *fileBucket) bool {
	for _, m := range b.members {
		if g.dropped[m] && g.uf.find(m) == m {
			return true
		}
	}
	return false
}

func survivingReps(g *fileGroups, b *fileBucket) []int {
	best := map[int]int{}
	var order []int
	for _, m := range b.members {
		if g.dropped[m] {
			continue
		}
		r := g.uf.find(m)
		if _, ok := best[r]; !ok {
			best[r] = m
			order = append(order, r)
		}
	}
	reps := make([]int, 0, len(order))
	for _, r := range order {
		reps = append(reps, best[r])
	}
	return reps
}
