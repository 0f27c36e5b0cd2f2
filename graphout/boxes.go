package graphout

import (
	"hash/fnv"
	"sort"
	"strconv"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/analyzer/identity"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// box is one process box: a process, or similar processes drawn once.
type box struct {
	pids []int // sorted; pids[0] names the box
	comm string
	uid  int
	// parent is the box of the nearest drawn ancestor, nil if none;
	// direct says it holds the direct parent of every member.
	parent *box
	direct bool
	// cluster is the service, container or PID namespace the box is
	// drawn in, "" for none.
	cluster string
	// cmdline and exe of the first member, for the tooltip.
	cmdline []string
	exe     string
	// differs says what the members do not have in common, one line
	// each ("each has its own unix socketpair with nginx").
	differs []string
}

func (b *box) size() int { return len(b.pids) }

// boxOf maps each drawn pid to its box.
type boxOf map[int]*box

// makeBoxes puts the holders of objs into boxes. Processes are drawn once
// per group of similar ones: same parent box, command, user and cluster,
// and the same shape of sharing within their family (see shape); the tops
// of process trees outside any cluster stay apart. With none, every
// process is a box.
func makeBoxes(s *snapshot.Snapshot, objs []*object, none bool, cluster func(*snapshot.Process) string) ([]*box, boxOf) {
	held := map[int][]*object{}
	for _, o := range objs {
		for _, p := range o.pids {
			held[p] = append(held[p], o)
		}
	}
	pids := keys(held)
	depth := map[int]int{}
	var depthOf func(p int, seen int) int
	depthOf = func(p int, seen int) int {
		if d, ok := depth[p]; ok {
			return d
		}
		proc := s.Process(p)
		if proc == nil || proc.PPID == p || seen > 64 {
			return 0
		}
		d := depthOf(proc.PPID, seen+1) + 1
		depth[p] = d
		return d
	}
	sort.SliceStable(pids, func(i, j int) bool {
		di, dj := depthOf(pids[i], 0), depthOf(pids[j], 0)
		if di != dj {
			return di < dj
		}
		return pids[i] < pids[j]
	})
	of := boxOf{}
	byKey := map[string]*box{}
	var boxes []*box
	for _, p := range pids {
		proc := s.Process(p)
		anc, direct := drawnAncestor(s, p, of)
		var key string
		b := &box{pids: []int{p}, comm: "?", uid: -1, parent: anc, direct: direct}
		if proc != nil {
			b.comm, b.uid, b.cmdline, b.exe = proc.Comm, proc.UID, proc.Cmdline, proc.Exe
			if cluster != nil {
				b.cluster = cluster(proc)
			}
		}
		// The tops of process trees (children of pid 1, or of no drawn
		// process: sessions, daemons) are never merged: each is its own
		// story, and merged their trees would mix.
		top := anc == nil || anc.size() == 1 && anc.pids[0] == 1
		if none || proc == nil || top && b.cluster == "" {
			key = "pid " + strconv.Itoa(p)
		} else {
			parentKey := "-"
			if anc != nil {
				parentKey = strconv.Itoa(anc.pids[0])
			}
			key = strings.Join([]string{parentKey, b.comm, strconv.Itoa(b.uid), b.cluster,
				strconv.FormatUint(shape(s, p, held[p]), 16)}, "\x00")
		}
		if old := byKey[key]; old != nil {
			old.pids = append(old.pids, p)
			old.direct = old.direct && direct
			of[p] = old
			continue
		}
		byKey[key] = b
		boxes = append(boxes, b)
		of[p] = b
	}
	for _, b := range boxes {
		sort.Ints(b.pids)
	}
	return boxes, of
}

// drawnAncestor is the box of p's nearest ancestor that has a box
// already (ancestors come first), and whether it is p's parent.
func drawnAncestor(s *snapshot.Snapshot, p int, of boxOf) (*box, bool) {
	proc := s.Process(p)
	for hops := 0; proc != nil && proc.PPID != proc.PID && hops < 64; hops++ {
		if b := of[proc.PPID]; b != nil {
			return b, hops == 0
		}
		proc = s.Process(proc.PPID)
	}
	return nil, false
}

// shape hashes p's part in the links among its siblings, as a set: each
// link's kind, p's role in it (the writing or the reading end) and the
// commands of the siblings at the other end. A pipeline's stages differ
// (one writes where the next reads) and stay apart; workers that differ
// in what they hold, even with their parent, have one shape and make one
// box that says what differs.
func shape(s *snapshot.Snapshot, p int, objs []*object) uint64 {
	proc := s.Process(p)
	if proc == nil {
		return 0
	}
	var parts []string
next:
	for _, o := range objs {
		if !o.link {
			continue
		}
		var others []string
		for _, q := range o.pids {
			if q == p {
				continue
			}
			qp := s.Process(q)
			if qp == nil || qp.PPID != proc.PPID {
				continue next
			}
			others = append(others, qp.Comm)
		}
		role := "link"
		if o.directed {
			role = "to"
			for _, f := range o.from {
				if f == p {
					role = "from"
				}
			}
		}
		sort.Strings(others)
		others = uniq(others)
		parts = append(parts, role+"\x01"+o.typ+"\x01"+strings.Join(others, "\x02"))
	}
	sort.Strings(parts)
	parts = uniq(parts)
	h := fnv.New64a()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func uniq(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// placeOf is where a process runs, the cluster it is drawn in: its
// container or systemd unit (snapshot.Process.Place), read from the
// cgroup path by the runtimes' conventions for a snapshot taken before
// scans recorded it. "" for a host process in no unit.
func placeOf(p *snapshot.Process) string {
	if p.Container != nil || p.Unit != "" {
		return p.Place()
	}
	c, unit, _ := identity.FromCgroup(p.Cgroup)
	q := snapshot.Process{Container: c, Unit: unit}
	return q.Place()
}
