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
	return fmt.Sprintf("not drawn: %s (%s) sharing the least with the rest: %s; --tree PID, --around PID or --pid shows them",
		plural.Count(s.services, "service or process tree", "services or process trees"), plural.Count(s.procs, "process", "processes"), what)
}

// serviceKey is the cluster of b, or the top of its process tree.
func serviceKey(b *box) string {
	if b.cluster != "" {
		return "cluster " + b.cluster
	}
	for b.parent != nil && !(b.parent.size() == 1 && b.parent.pids[0] == 1) {
		b = b.parent
	}
	return "tree " + strconv.Itoa(b.pids[0])
}

// serviceName names a service for the summary line.
func serviceName(b *box) string {
	if b.cluster != "" {
		return b.cluster
	}
	for b.parent != nil && !(b.parent.size() == 1 && b.parent.pids[0] == 1) {
		b = b.parent
	}
	return b.comm + " " + strconv.Itoa(b.pids[0])
}

// summarise keeps whole services, those sharing most with other services
// first, while their boxes fit in keep, and leaves out the rest with the
// objects that touch them: the host map shows what connects services, and
// says what it left out.
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
	kept := map[*service]bool{}
	n := 0
	sum := &summary{}
	var left []*service
	for _, sv := range ranked {
		if n+len(sv.boxes) <= keep {
			kept[sv] = true
			n += len(sv.boxes)
			continue
		}
		left = append(left, sv)
		sum.services++
		sum.procs += sv.procs
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
		if kept[svcOf[b]] {
			out = append(out, b)
			continue
		}
		for _, p := range b.pids {
			delete(of, p)
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

func drawnOnly(pids []int, of boxOf) []int {
	var out []int
	for _, p := range pids {
		if of[p] != nil {
			out = append(out, p)
		}
	}
	return out
}
