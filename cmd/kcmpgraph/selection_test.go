//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// selectionFixture is a live tree with known sharing, two users and a
// thread: root (uid 0, one extra thread) holds a file and a pipe; a
// forked child of root watches the pipe with epoll; another forked child
// turns uid 65534 and forks a grandchild.
type selectionFixture struct {
	root, child, nobody, grandchild *fixture.Node
	// snap is a snapshot of the whole tree with every type and thread.
	snap string
}

func newSelectionFixture(t *testing.T) *selectionFixture {
	t.Helper()
	testkit.RequireKcmp(t)
	testkit.RequireRoot(t, "to give a fixture process another uid")
	f := fixture.New(t)
	m, mn := testkit.Must[int](t), testkit.Must[*fixture.Node](t)
	x := &selectionFixture{root: f.Root()}
	path := filepath.Join(t.TempDir(), "shared")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	m(x.root.Open(path, unix.O_RDONLY))
	pr, _ := testkit.Must2[int, int](t)(x.root.Pipe())
	m(x.root.Thread())
	x.child = mn(x.root.Fork())
	ep := m(x.child.EpollCreate())
	if err := x.child.EpollAdd(ep, pr); err != nil {
		t.Fatal(err)
	}
	x.nobody = mn(x.root.Fork())
	if err := x.nobody.Setuid(65534, 65534); err != nil {
		t.Fatal(err)
	}
	x.grandchild = mn(x.nobody.Fork())
	x.snap = filepath.Join(t.TempDir(), "tree.json")
	if _, stderr, code := runCLI(t, "scan", "--tree", x.pid(x.root), "--threads", "-o", x.snap); code != 0 {
		t.Fatalf("scan: exit %d %s", code, stderr)
	}
	return x
}

func (x *selectionFixture) pid(n *fixture.Node) string { return strconv.Itoa(n.PID()) }

// content is what a selection decides in a snapshot, without what differs
// between two runs (stats, time, the scope the scan was asked for).
func content(t *testing.T, what, out string) string {
	t.Helper()
	s, err := snapshot.Parse([]byte(out), what)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var b strings.Builder
	for _, p := range s.Processes {
		fmt.Fprintf(&b, "process %d uid %d\n", p.PID, p.UID)
	}
	for _, g := range s.Groups {
		fmt.Fprintf(&b, "group %s %v\n", g.Type, g.Members)
	}
	for _, typ := range slices.Sorted(func(yield func(string) bool) {
		for k := range s.Null {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(&b, "null %s %v\n", typ, s.Null[typ])
	}
	for _, e := range s.Epoll {
		js, _ := json.Marshal(e)
		fmt.Fprintf(&b, "epoll %s\n", js)
	}
	for _, e := range s.Endpoints {
		fmt.Fprintf(&b, "endpoint %s %v\n", e.Kind, e.Ends)
	}
	return b.String()
}

// TestSelectionLiveAndSnapshot runs every selection flag on every command
// that takes it, once on the live tree and once on its snapshot: the
// answers agree. scan stands for show's live side (show reads snapshots
// only).
func TestSelectionLiveAndSnapshot(t *testing.T) {
	x := newSelectionFixture(t)
	root := x.pid(x.root)
	selections := map[string][]string{
		"pid":           {"--pid", x.pid(x.root) + "," + x.pid(x.nobody)},
		"tree":          {"--tree", x.pid(x.nobody)},
		"user":          {"--tree", root, "--user", "65534"},
		"user by name":  {"--tree", root, "--user", "nobody"},
		"types":         {"--tree", root, "--types", "file,epoll"},
		"task types":    {"--tree", root, "--types", "vm,files"},
		"threads":       {"--tree", root, "--threads"},
		"no threads":    {"--tree", root},
		"all together":  {"--tree", root, "--user", "0", "--types", "vm,file", "--threads"},
		"repeated pids": {"--pid", x.pid(x.child), "--pid", x.pid(x.grandchild), "--types", "file", "--types", "epoll"},
	}
	seen := map[string]bool{}
	for name, flags := range selections {
		t.Run(name, func(t *testing.T) {
			live, stderr, code := runCLI(t, append([]string{"scan", "--format", "json"}, flags...)...)
			if code != 0 {
				t.Fatalf("scan %v: exit %d %s", flags, code, stderr)
			}
			saved, stderr, code := runCLI(t, append([]string{"show", x.snap, "--format", "json"}, flags...)...)
			if code != 0 {
				t.Fatalf("show %v: exit %d %s", flags, code, stderr)
			}
			want := content(t, "scan", live)
			if got := content(t, "show", saved); got != want {
				t.Errorf("show %v of the snapshot:\n%s\nscan of the live tree:\n%s", flags, got, want)
			}
			seen[want] = true
			for _, c := range [][]string{{"graph", "--format", "dot"}, {"audit", "--format", "json", "--fail-on", "critical"}} {
				live, stderr, code := runCLI(t, append(c, flags...)...)
				if code != 0 {
					t.Fatalf("%v %v live: exit %d %s", c, flags, code, stderr)
				}
				saved, stderr, code := runCLI(t, append(append(c, x.snap), flags...)...)
				if code != 0 {
					t.Fatalf("%v %v on the snapshot: exit %d %s", c, flags, code, stderr)
				}
				if withoutTime(saved) != withoutTime(live) {
					t.Errorf("%v %v: the snapshot's answer differs from the live one:\n%s\nlive:\n%s", c, flags, saved, live)
				}
			}
			out, stderr, code := runCLI(t, append([]string{"diff", x.snap, x.snap}, flags...)...)
			if code != 0 || !strings.HasPrefix(out, "no differences") {
				t.Errorf("diff %v of a snapshot with itself: exit %d %s\n%s", flags, code, stderr, out)
			}
		})
	}
	// The table says when it hides the threads a snapshot holds.
	const hidden = "; thread-group leaders only, --threads shows every thread ("
	if out, _, _ := runCLI(t, "show", x.snap, "--tree", root); !strings.Contains(out, "showing: --tree "+root+hidden) {
		t.Errorf("show of a threaded snapshot does not say it shows leaders only:\n%s", out)
	}
	if out, _, _ := runCLI(t, "show", x.snap, "--tree", root, "--threads"); strings.Contains(out, hidden) {
		t.Errorf("show --threads says it hides threads:\n%s", out)
	}
	if len(seen) < len(selections)-2 {
		t.Errorf("only %d distinct answers for %d selections: the fixture does not tell the flags apart", len(seen), len(selections))
	}
}

// takenAt matches the minute a diagram's title says its scan was taken:
// the snapshot and the live scan may straddle a minute.
var takenAt = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d UTC`)

func withoutTime(out string) string { return takenAt.ReplaceAllString(out, "TIME") }

// TestSelectionNotThere: a pid or tree root that is not there exits 2
// with one line naming the flag, on every command, live and on a
// snapshot; so does --threads on a snapshot scanned without it, and a type
// the snapshot was not scanned for.
func TestSelectionNotThere(t *testing.T) {
	x := newSelectionFixture(t)
	_, gone := exitedChild(t)
	missing := strconv.Itoa(gone)
	leaders := filepath.Join(t.TempDir(), "leaders.json")
	if _, stderr, code := runCLI(t, "scan", "--tree", x.pid(x.root), "--types", "file,vm", "-o", leaders); code != 0 {
		t.Fatalf("scan: exit %d %s", code, stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scan", "--pid", missing}, "--pid: pid " + missing + ": no such process"},
		{[]string{"scan", "--tree", missing}, "--tree: pid " + missing + ": no such process"},
		{[]string{"graph", "--pid", x.pid(x.root) + "," + missing}, "--pid: pid " + missing + ": no such process"},
		{[]string{"graph", "--tree", missing}, "--tree: pid " + missing + ": no such process"},
		{[]string{"audit", "--pid", missing}, "--pid: pid " + missing + ": no such process"},
		{[]string{"audit", "--tree", missing}, "--tree: pid " + missing + ": no such process"},
		{[]string{"who", x.pid(x.root) + ":0", "--pid", missing}, "--pid: pid " + missing + ": no such process"},
		{[]string{"who", x.pid(x.root) + ":0", "--tree", missing}, "--tree: pid " + missing + ": no such process"},
		{[]string{"who", missing + ":0"}, "pid " + missing + ": no such process"},
		{[]string{"show", x.snap, "--pid", missing}, "--pid: pid " + missing + " is not in " + x.snap},
		{[]string{"show", x.snap, "--tree", missing}, "--tree: pid " + missing + " is not in " + x.snap},
		{[]string{"graph", x.snap, "--pid", missing}, "--pid: pid " + missing + " is not in " + x.snap},
		{[]string{"graph", x.snap, "--tree", missing}, "--tree: pid " + missing + " is not in " + x.snap},
		{[]string{"audit", x.snap, "--pid", missing}, "--pid: pid " + missing + " is not in " + x.snap},
		{[]string{"audit", x.snap, "--tree", missing}, "--tree: pid " + missing + " is not in " + x.snap},
		{[]string{"diff", x.snap, leaders, "--pid", missing}, "--pid: pid " + missing + " is not in either " + x.snap + " or " + leaders},
		{[]string{"diff", x.snap, leaders, "--tree", missing}, "--tree: pid " + missing + " is not in either " + x.snap + " or " + leaders},
		{[]string{"show", leaders, "--threads"}, "--threads: " + leaders + " was scanned without --threads and holds thread-group leaders only"},
		{[]string{"graph", leaders, "--threads"}, "--threads: " + leaders + " was scanned without --threads"},
		{[]string{"audit", leaders, "--threads"}, "--threads: " + leaders + " was scanned without --threads"},
		{[]string{"diff", x.snap, leaders, "--threads"}, "--threads: " + leaders + " was scanned without --threads"},
		{[]string{"show", leaders, "--types", "io"}, "--types: " + leaders + " was not scanned for io (its types: file,vm)"},
		{[]string{"graph", leaders, "--types", "file,sighand"}, "--types: " + leaders + " was not scanned for sighand"},
		{[]string{"diff", leaders, leaders, "--types", "fs"}, "--types: neither " + leaders + " nor " + leaders + " was scanned for fs"},
		{[]string{"show", x.snap, "--user", "no-such-user-here"}, `--user: no user "no-such-user-here" on this host`},
		{[]string{"scan", "--user", "no-such-user-here"}, `--user: no user "no-such-user-here" on this host`},
	} {
		wantUsageError(t, tc.want, tc.args...)
	}
	// A tree root that is in one of the two snapshots is a process that
	// started or exited: diff compares it.
	if _, stderr, code := runCLI(t, "diff", x.snap, leaders, "--tree", x.pid(x.nobody)); code == exitUsage {
		t.Errorf("diff --tree of a pid in both snapshots: exit %d %s", code, stderr)
	}
}

// TestSelectionFlagsEverywhere checks that every command that selects
// processes takes the same selection flags, with the same help.
func TestSelectionFlagsEverywhere(t *testing.T) {
	root := newRootCmd(nil, nil)
	var usage map[string]string
	for _, name := range []string{"scan", "show", "graph", "audit", "diff", "who"} {
		c, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		flags := []string{"pid", "tree", "user", "types", "threads"}
		if name == "who" {
			flags = flags[:3] // who compares one fd's description: no types, no threads
		}
		for _, f := range flags {
			fl := c.Flags().Lookup(f)
			if fl == nil {
				t.Errorf("%s has no --%s", name, f)
				continue
			}
			if usage == nil {
				usage = map[string]string{}
			}
			if u, ok := usage[f]; ok && u != fl.Usage {
				t.Errorf("%s --%s says %q, another command %q", name, f, fl.Usage, u)
			}
			usage[f] = fl.Usage
		}
	}
	for _, c := range root.Commands() {
		if c.LocalNonPersistentFlags().Lookup("quiet") != nil || c.LocalNonPersistentFlags().ShorthandLookup("q") != nil {
			t.Errorf("%s shadows the root's --quiet with its own", c.Name())
		}
	}
}
