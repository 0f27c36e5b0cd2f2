//go:build linux

package analyzer

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
)

// The naive oracle: every pair compared with kcmp, O(n²), no buckets, no
// hints, no sort. It must agree exactly with the analyzer on the same
// live processes.

func partition(members []snapshot.Member, equal func(a, b snapshot.Member) bool) [][]snapshot.Member {
	var classes [][]snapshot.Member
next:
	for _, m := range members {
		for i, c := range classes {
			if equal(c[0], m) {
				classes[i] = append(classes[i], m)
				continue next
			}
		}
		classes = append(classes, []snapshot.Member{m})
	}
	return classes
}

func canon(groups [][]snapshot.Member) []string {
	var out []string
	for _, g := range groups {
		if len(g) < 2 {
			continue
		}
		parts := make([]string, len(g))
		sort.Slice(g, func(i, j int) bool { return g[i].Less(g[j]) })
		for i, m := range g {
			parts[i] = m.String()
		}
		out = append(out, strings.Join(parts, " "))
	}
	sort.Strings(out)
	return out
}

// naiveTaskTables finds, without the analyzer, the fd tables of tasks
// that are not their process's own: every thread is compared with its
// leader (KCMP_FILES), the ones that differ with each other pairwise, and
// each table, named by its lowest tid, is listed from
// /proc/PID/task/TID/fd. It returns the fd members of those tables and
// the number of tasks that hold one.
func naiveTaskTables(t *testing.T, snap *snapshot.Snapshot) (fds []snapshot.Member, tasks int) {
	t.Helper()
	for _, p := range snap.Processes {
		if p.Zombie || p.KernelThread {
			continue
		}
		var own []snapshot.Member
		for _, tid := range p.Tasks {
			if tid == p.PID {
				continue
			}
			if o, err := kcmp.Tasks(kcmp.Files, p.PID, tid); err != nil || o != kcmp.Equal {
				own = append(own, snapshot.Member{PID: p.PID, TID: tid})
			}
		}
		tasks += len(own)
		for _, class := range partition(own, func(a, b snapshot.Member) bool {
			o, err := kcmp.Tasks(kcmp.Files, a.TID, b.TID)
			return err == nil && o == kcmp.Equal
		}) {
			label := class[0].TID
			for _, m := range class {
				label = min(label, m.TID)
			}
			ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task/%d/fd", p.PID, label))
			if err != nil {
				t.Fatalf("oracle: %v", err)
			}
			for _, e := range ents {
				n, err := strconv.Atoi(e.Name())
				if err != nil {
					t.Fatalf("oracle: %v", err)
				}
				fds = append(fds, snapshot.Member{PID: p.PID, FD: n, Thread: label})
			}
		}
	}
	return fds, tasks
}

// naiveFileGroups groups every fd of the snapshot's live processes, their
// own tables' as the snapshot lists them and, with threads, their task
// tables' as naiveTaskTables finds them.
func naiveFileGroups(t *testing.T, snap *snapshot.Snapshot, threads bool) []string {
	t.Helper()
	var all []snapshot.Member
	for _, p := range snap.Processes {
		if p.Zombie || p.KernelThread {
			continue
		}
		for _, fd := range p.FDs {
			if fd.Thread == 0 {
				all = append(all, p.MemberOf(&fd))
			}
		}
	}
	taskFDs, tasks := naiveTaskTables(t, snap)
	var listed []snapshot.Member
	for _, p := range snap.Processes {
		for _, fd := range p.FDs {
			if fd.Thread != 0 {
				listed = append(listed, p.MemberOf(&fd))
			}
		}
	}
	if threads {
		if got, want := memberStrings(listed), memberStrings(taskFDs); !equalStrings(got, want) {
			t.Errorf("fds of task tables differ from the oracle's:\n got  %v\n want %v", got, want)
		}
		all = append(all, taskFDs...)
	} else {
		if len(listed) > 0 {
			t.Errorf("fds of task tables listed without threads: %v", listed)
		}
		if got := snap.Stats.Skipped[SkipTaskTablesUnread]; got != tasks {
			t.Errorf("stats: %d tasks with an unread fd table of their own, the oracle finds %d", got, tasks)
		}
	}
	classes := partition(all, func(a, b snapshot.Member) bool {
		o, err := kcmp.FileDescs(a.TaskID(), a.FD, b.TaskID(), b.FD)
		return err == nil && o == kcmp.Equal
	})
	return canon(classes)
}

// naiveTaskGroups groups the tasks by type t and finds the NULL class by
// comparing every task with a fresh zombie.
func naiveTaskGroups(t *testing.T, snap *snapshot.Snapshot, typ kcmp.Type, threads bool) (groups []string, null []string) {
	t.Helper()
	sentinel, err := kcmp.NewNullSentinel()
	if err != nil {
		t.Fatal(err)
	}
	defer sentinel.Close()
	var all []snapshot.Member
	for _, p := range snap.Processes {
		if p.Zombie || p.KernelThread {
			continue
		}
		for _, tid := range p.Tasks {
			if threads || tid == p.PID {
				all = append(all, snapshot.Member{PID: p.PID, TID: tid})
			}
		}
	}
	var live []snapshot.Member
	for _, m := range all {
		isNull, err := sentinel.IsNull(typ, m.TID)
		if err != nil {
			t.Fatalf("%v %s: %v", typ, m, err)
		}
		if isNull && (typ == kcmp.IO || typ == kcmp.Sysvsem) {
			null = append(null, m.String())
			continue
		}
		live = append(live, m)
	}
	classes := partition(live, func(a, b snapshot.Member) bool {
		o, err := kcmp.Tasks(typ, a.TID, b.TID)
		return err == nil && o == kcmp.Equal
	})
	sort.Strings(null)
	return canon(classes), null
}

func snapGroups(snap *snapshot.Snapshot, typ string) []string {
	var gs [][]snapshot.Member
	for _, g := range snap.Groups {
		if g.Type == typ {
			gs = append(gs, append([]snapshot.Member(nil), g.Members...))
		}
	}
	return canon(gs)
}

func memberStrings(ms []snapshot.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.String()
	}
	sort.Strings(out)
	return out
}

// checkAgainstOracle compares every group type of snap with the naive
// oracle run on the same live processes.
func checkAgainstOracle(t *testing.T, snap *snapshot.Snapshot, threads bool) {
	t.Helper()
	if got, want := snapGroups(snap, "file"), naiveFileGroups(t, snap, threads); !equalStrings(got, want) {
		t.Errorf("file groups differ from the pairwise oracle:\n got  %v\n want %v", got, want)
	}
	for _, typ := range kcmp.TaskTypes {
		wantGroups, wantNull := naiveTaskGroups(t, snap, typ, threads)
		if got := snapGroups(snap, typ.String()); !equalStrings(got, wantGroups) {
			t.Errorf("%v groups differ from the pairwise oracle:\n got  %v\n want %v", typ, got, wantGroups)
		}
		if got := memberStrings(snap.Null[typ.String()]); !equalStrings(got, wantNull) {
			t.Errorf("%v null class differs from the oracle:\n got  %v\n want %v", typ, got, wantNull)
		}
	}
}

func equalStrings(a, b []string) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}
