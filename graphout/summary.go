package graphout

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/internal/plural"
)

// service is a group of boxes the host map keeps or leaves out whole: a
// cluster (systemd unit, container), or else a process tree.
type service struct {
	name  string
	boxes []*box
	// score counts the objects the service shares with other services.
	score int
	procs int
}

// summary is what the map left out.
type summary struct {
	services, procs int
	names           []string // the largest left-out services, "nginx.service (5)"
}

func (s *summary) note() string {
	what := strings.Join(s.names, ", ")
	if s.services > len(s.names) {
		what += ", …"
	}
	return fmt.Sprintf("not drawn: %s of %s sharing the least with the rest: %s; --tree PID, --around PID or --pid shows them",
		plural.Count(s.procs, "process", "processes"), plural.Count(s.services, "service or process tree", "services or process trees"), what)
}

// serviceKey is the top of b's process tree within its cluster.
func serviceKey(b *box) string {
	c := b.cluster
	for b.parent != nil && b.parent.cluster == c && !(b.parent.size() == 1 && b.parent.pids[0] == 1) {
		b = b.parent
	}
	return c + "\x00" + strconv.Itoa(b.pids[0])
}

// serviceName names a service for the summary line: its cluster, or the
// top of its process tree.
func serviceName(b *box) string {
	if b.cluster != "" {
		return b.cluster
	}
	for b.parent != nil && !(b.parent.size() == 1 && b.parent.pids[0] == 1) {
		b = b.parent
	}
	return b.comm + " " + strconv.Itoa(b.pids[0])
}

// summarise keeps whole services (process trees within a cluster), those
// sharing most with other services first, while their boxes fit in keep;
// the room left goes to the most connected boxes of the services too
// large to keep whole (a service of a thousand workers of many kinds).
// The rest is left out with the objects that touch it: the host map shows
// what connects services, and says what it left out.
func summarise(boxes []*box, objs []*object, of boxOf, keep int) ([]*box, []*object, *summary) {
	byKey := map[string]*service{}
	var svcs []*service
	svcOf := map[*box]*service{}
	for _, b := range boxes {
		k := serviceKey(b)
		sv := byKey[k]
		if sv == nil {
			sv = &service{name: serviceName(b)}
			byKey[k] = sv
			svcs = append(svcs, sv)
		}
		sv.boxes = append(sv.boxes, b)
		sv.procs += b.size()
		svcOf[b] = sv
	}
	for _, o := range objs {
		seen := map[*service]bool{}
		for _, p := range o.pids {
			seen[svcOf[of[p]]] = true
		}
		if len(seen) > 1 {
			for sv := range seen {
				sv.score += len(seen) - 1
			}
		}
	}
	ranked := append([]*service(nil), svcs...)
	sort.SliceStable(ranked, func(i, j int) bool {
		a, b := ranked[i], ranked[j]
		if a.score != b.score {
			return a.score > b.score
		}
		return a.procs > b.procs
	})
	keptBox := map[*box]bool{}
	sum := &summary{}
	var left, partial []*service
	for _, sv := range ranked {
		if len(keptBox)+len(sv.boxes) <= keep {
			for _, b := range sv.boxes {
				keptBox[b] = true
			}
			continue
		}
		partial = append(partial, sv)
	}
	score := boxScores(objs, of)
	for _, sv := range partial {
		bs := append([]*box(nil), sv.boxes...)
		sort.SliceStable(bs, func(i, j int) bool { return score[bs[i]] > score[bs[j]] })
		n := 0
		for _, b := range bs {
			if len(keptBox) >= keep || score[b] == 0 {
				break
			}
			keptBox[b] = true
			n++
		}
		if n < len(sv.boxes) {
			sv.procs = 0
			for _, b := range sv.boxes {
				if !keptBox[b] {
					sv.procs += b.size()
				}
			}
			left = append(left, sv)
			sum.services++
			sum.procs += sv.procs
		}
	}
	sort.SliceStable(left, func(i, j int) bool { return left[i].procs > left[j].procs })
	for i, sv := range left {
		if i == 5 {
			break
		}
		sum.names = append(sum.names, sv.name+" ("+strconv.Itoa(sv.procs)+")")
	}
	var out []*box
	for _, b := range boxes {
		if keptBox[b] {
			out = append(out, b)
			continue
		}
		for _, p := range b.pids {
			delete(of, p)
		}
	}
	for _, b := range out {
		for b.parent != nil && !keptBox[b.parent] {
			b.parent, b.direct = b.parent.parent, false
		}
	}
	keptObjs := objs[:0:0]
	for _, o := range objs {
		if o.link {
			o.from, o.to = drawnOnly(o.from, of), drawnOnly(o.to, of)
			if len(o.from) == 0 || len(o.to) == 0 {
				continue
			}
		}
		o.pids = drawnOnly(o.pids, of)
		if len(o.pids) >= 2 {
			keptObjs = append(keptObjs, o)
		}
	}
	return out, keptObjs, sum
}

// boxScores counts, for each box, the objects it shares with other boxes.
func boxScores(objs []*object, of boxOf) map[*box]int {
	score := map[*box]int{}
	for _, o := range objs {
		seen := map[*box]bool{}
		for _, p := range o.pids {
			seen[of[p]] = true
		}
		if len(seen) > 1 {
			for b := range seen {
				score[b]++
			}
		}
	}
	return score
}

func drawnOnly(pids []int, of boxOf) []int {
	var out []int
	for _, p := range pids {
		if of[p] != nil {
			out = append(out, p)
		}
	}
	return out
}
