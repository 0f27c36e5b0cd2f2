//go:build linux

package analyzer

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kcmpgraph/kcmpgraph/internal/plural"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/freeze"
)

// maxSelectRounds bounds how often a growing selection is selected again.
const maxSelectRounds = 8

// leftOutNamed is how many left-out processes a warning names one by one.
const leftOutNamed = 10

// freezeSelection stops the processes scan selects and returns the freeze
// and the pids to scan (those that did not vanish). A tree, or a user's
// processes, can grow while the first members are being stopped (a
// member forks): it is selected again, and the newcomers stopped, until a
// selection finds none, so that the scan sees the whole tree frozen.
func freezeSelection(ctx context.Context, scan procscan.Options, max time.Duration) (*freeze.Freeze, []int, error) {
	pids, err := procscan.Select(scan)
	if err != nil {
		return nil, nil, err
	}
	f, err := freeze.Stop(ctx, pids, max)
	if err != nil {
		return nil, nil, err
	}
	seen := map[int]bool{}
	for _, p := range pids {
		seen[p] = true
	}
	for round := 0; round < maxSelectRounds && (scan.Tree != 0 || len(scan.Users) > 0); round++ {
		again, err := procscan.Select(scan)
		if err != nil {
			break // the tree's root exited: what was stopped stays stopped
		}
		var more []int
		for _, p := range again {
			if !seen[p] {
				seen[p] = true
				more = append(more, p)
			}
		}
		if len(more) == 0 {
			break
		}
		if err := f.Add(ctx, more); err != nil {
			f.Thaw()
			return nil, nil, err
		}
		pids = append(pids, more...)
	}
	gone := map[int]bool{}
	for _, p := range f.Vanished() {
		gone[p] = true
	}
	out := pids[:0]
	for _, p := range pids {
		if !gone[p] {
			out = append(out, p)
		}
	}
	sort.Ints(out)
	return f, out, nil
}

// leftRunning reports whether the freeze left a process running that the
// scan reads (kernel threads hold nothing that is compared): then the
// groups are verified as in a scan without a freeze.
func leftRunning(f *freeze.Freeze) bool {
	for _, l := range f.LeftOut() {
		if l.Reason != freeze.KernelThread {
			return true
		}
	}
	return false
}

// freezeWarnings names the processes the freeze did not stop.
func freezeWarnings(f *freeze.Freeze) []string {
	var w []string
	lo := f.LeftOut()
	sort.Slice(lo, func(i, j int) bool { return lo[i].PID < lo[j].PID })
	for i, l := range lo {
		if i == leftOutNamed {
			counts := map[freeze.Reason]int{}
			for _, r := range lo[i:] {
				counts[r.Reason]++
			}
			var parts []string
			for r, n := range counts {
				parts = append(parts, fmt.Sprintf("%d %v", n, r))
			}
			sort.Strings(parts)
			w = append(w, fmt.Sprintf("and %s not frozen (%s)", plural.Count(len(lo)-i, "more process", "more processes"), strings.Join(parts, ", ")))
			break
		}
		w = append(w, "not frozen, scanned as it ran: "+l.String())
	}
	if already := f.AlreadyStopped(); len(already) > 0 {
		w = append(w, fmt.Sprintf("%s already stopped before the freeze and left as %s (%s)",
			plural.Count(len(already), "process was", "processes were"), plural.Word(len(already), "it was", "they were"), pidList(already)))
	}
	return w
}

// pidList prints up to leftOutNamed pids.
func pidList(pids []int) string {
	var parts []string
	for i, p := range pids {
		if i == leftOutNamed {
			parts = append(parts, fmt.Sprintf("and %d more", len(pids)-i))
			break
		}
		parts = append(parts, fmt.Sprint(p))
	}
	return strings.Join(parts, ", ")
}
