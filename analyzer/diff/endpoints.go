package diff

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// endpoints reports channels present on one side only. A channel is its
// kind, its name and the holders of its ends (process identity, fd number
// and what the fd points at) with their addresses; a channel whose
// holders or addresses changed is gone and appeared.
func (c *comparer) endpoints() []EndpointChange {
	out := []EndpointChange{}
	if !c.compares(snapshot.TypeFile) {
		return out
	}
	ia, ib := c.channels(c.a), c.channels(c.b)
	var keys []string
	for k, ch := range ia {
		if _, ok := ib[k]; !ok {
			ch.Change = Gone
			out = append(out, ch)
			keys = append(keys, k)
		}
	}
	for k, ch := range ib {
		if _, ok := ia[k]; !ok {
			ch.Change = Appeared
			out = append(out, ch)
			keys = append(keys, k)
		}
	}
	// Gone before appeared, then by kind, first holder and name; the key
	// breaks the remaining ties.
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool {
		x, y := out[idx[i]], out[idx[j]]
		switch {
		case x.Change != y.Change:
			return x.Change == Gone
		case x.Kind != y.Kind:
			return x.Kind < y.Kind
		case x.Ends[0][0].less(y.Ends[0][0]) || y.Ends[0][0].less(x.Ends[0][0]):
			return x.Ends[0][0].less(y.Ends[0][0])
		case x.Name != y.Name:
			return x.Name < y.Name
		}
		return keys[idx[i]] < keys[idx[j]]
	})
	sorted := make([]EndpointChange, len(out))
	for i, j := range idx {
		sorted[i] = out[j]
	}
	return sorted
}

// channels indexes one side's channels by a key made of their kind, name,
// addresses and holders.
func (c *comparer) channels(v *view) map[string]EndpointChange {
	m := map[string]EndpointChange{}
	for _, e := range v.s.Endpoints {
		ch := EndpointChange{Kind: e.Kind, Name: e.Name, Label: v.names.Channel(&e).Text, Ends: [][]Holder{}}
		var endKeys, addrs []string
		for j, end := range e.Ends {
			var hs []Holder
			var hk []string
			for _, mem := range end {
				p := v.proc(mem.PID)
				if p == nil || v.partial[p.PID] || !c.keepFD(mem.FD) {
					continue
				}
				f := p.FDOf(mem)
				if f == nil {
					continue
				}
				hs = append(hs, fdHolder(p, f))
				k, fk := v.key[p.PID], fdKeyOf(f)
				hk = append(hk, fmt.Sprintf("%d/%d/%d/%d/%d/%d/%d/%q", k.pid, k.start, k.epoch, fk.thread, fk.fd, fk.dev, fk.ino, fk.kind))
			}
			if len(hs) == 0 {
				continue
			}
			sortHolders(hs)
			sort.Strings(hk)
			addr := ""
			if j < len(e.Addresses) {
				addr = e.Addresses[j]
			}
			endKeys = append(endKeys, fmt.Sprintf("%q=", addr)+strings.Join(hk, ","))
			ch.Ends = append(ch.Ends, hs)
			addrs = append(addrs, addr)
		}
		if len(ch.Ends) < 2 {
			continue
		}
		// Ends by first holder, each address staying with its end.
		idx := make([]int, len(ch.Ends))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return ch.Ends[idx[a]][0].less(ch.Ends[idx[b]][0]) })
		ends := make([][]Holder, len(idx))
		for i, j := range idx {
			ends[i] = ch.Ends[j]
			if len(e.Addresses) > 0 {
				ch.Addresses = append(ch.Addresses, addrs[j])
			}
		}
		ch.Ends = ends
		sort.Strings(endKeys)
		k := fmt.Sprintf("%q|%q|%s", e.Kind, e.Name, strings.Join(endKeys, "|"))
		m[k] = ch
	}
	return m
}
