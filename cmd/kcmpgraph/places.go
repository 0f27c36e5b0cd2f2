//go:build linux

package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/escape"
)

// maxPlaceProcs is how many processes a row of the places table names
// before it counts the rest.
const maxPlaceProcs = 6

// writePlaces lists where the snapshot's processes run: each container
// (with its runtime's helpers) and each systemd unit, with its processes.
// Nothing is printed when no process has a container or unit.
func writePlaces(w io.Writer, s *snapshot.Snapshot, width int) {
	type place struct {
		label     string
		container bool
		procs     []string
		helpers   []string
	}
	byKey := map[string]*place{}
	var keys []string
	get := func(key, label string, container bool) *place {
		p := byKey[key]
		if p == nil {
			p = &place{label: label, container: container}
			byKey[key] = p
			keys = append(keys, key)
		}
		return p
	}
	for i := range s.Processes {
		p := &s.Processes[i]
		name := strconv.Itoa(p.PID) + " " + escape.Text(p.Comm)
		switch c := p.Container; {
		case c != nil:
			pl := get("container "+c.Runtime+" "+c.ID, c.Label(), true)
			if c.Helper {
				pl.helpers = append(pl.helpers, name)
			} else {
				pl.procs = append(pl.procs, name)
			}
		case p.Unit != "":
			pl := get("unit "+p.Unit, p.Unit, false)
			pl.procs = append(pl.procs, name)
		}
	}
	if len(keys) == 0 {
		return
	}
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := byKey[keys[i]], byKey[keys[j]]
		if a.container != b.container {
			return a.container
		}
		return a.label < b.label
	})
	fmt.Fprintln(w)
	t := textTable{header: []string{"CONTAINER OR UNIT", "PROCESSES"}}
	for _, k := range keys {
		pl := byKey[k]
		text := names(pl.procs)
		if len(pl.helpers) > 0 {
			if text != "" {
				text += "; "
			}
			text += "runtime " + names(pl.helpers)
		}
		t.add(escape.Text(pl.label), text)
	}
	t.write(w, width)
}

// names joins process names, the first maxPlaceProcs of them.
func names(ps []string) string {
	if len(ps) <= maxPlaceProcs {
		return strings.Join(ps, ", ")
	}
	return strings.Join(ps[:maxPlaceProcs], ", ") + fmt.Sprintf(" and %d more", len(ps)-maxPlaceProcs)
}
