package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/golden"
)

// fdsText formats fds as {fd target dev ino}.
func fdsText(fds []FD) string {
	parts := make([]string, len(fds))
	for i, f := range fds {
		parts[i] = fmt.Sprintf("{%d %s %d %d}", f.FD, f.Target, f.Dev, f.Ino)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func load(t *testing.T, name string) *snapshot.Snapshot {
	t.Helper()
	s, err := snapshot.LoadFile(filepath.Join("testdata", name), snapshot.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pairs are the hand-written before/after snapshots in testdata.
var pairs = [][2]string{
	{"before.json", "after.json"},
	{"tasks-before.json", "tasks-after.json"},
	{"hostile-before.json", "hostile-after.json"},
	{"channels-before.json", "channels-after.json"},
	{"live-dup2-before.json", "live-dup2-after.json"},
	{"live-leak-before.json", "live-leak-after.json"},
	{"live-reload-before.json", "live-reload-after.json"},
}

func render(t *testing.T, d *Diff) (text, js []byte) {
	t.Helper()
	var tb, jb bytes.Buffer
	if err := d.WriteText(&tb); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteJSON(&jb); err != nil {
		t.Fatal(err)
	}
	return tb.Bytes(), jb.Bytes()
}

// TestGolden checks the text and JSON forms byte for byte (go test
// -update rewrites testdata/*.txt and *.json goldens).
func TestGolden(t *testing.T) {
	for _, c := range []struct {
		name          string
		before, after string
		opts          Options
		edit          func(a, b *snapshot.Snapshot)
	}{
		{name: "diff", before: "before.json", after: "after.json"},
		{name: "diff-ignore-stdio", before: "before.json", after: "after.json", opts: Options{IgnoreStdio: true}},
		{name: "diff-tree", before: "before.json", after: "after.json", opts: Options{Selection: snapshot.Selection{Tree: 100}}},
		{name: "diff-pid-types", before: "before.json", after: "after.json",
			opts: Options{Selection: snapshot.Selection{PIDs: []int{100, 101, 102}, Types: []string{"file"}}}},
		{name: "tasks", before: "tasks-before.json", after: "tasks-after.json"},
		{name: "tasks-types", before: "tasks-before.json", after: "tasks-after.json",
			opts: Options{Selection: snapshot.Selection{Types: []string{"vm", "fs"}}}},
		{name: "hostile", before: "hostile-before.json", after: "hostile-after.json"},
		{name: "channels", before: "channels-before.json", after: "channels-after.json"},
		// Live snapshots, normalized and committed by the TestLiveGolden
		// tests: these goldens are theirs too.
		{name: "live-dup2", before: "live-dup2-before.json", after: "live-dup2-after.json"},
		{name: "live-leak", before: "live-leak-before.json", after: "live-leak-after.json"},
		{name: "live-reload", before: "live-reload-before.json", after: "live-reload-after.json"},
		{name: "boots", before: "before.json", after: "after.json",
			edit: func(_, b *snapshot.Snapshot) { b.Host.BootID = "boot-2" }},
		{name: "notexact", before: "before.json", after: "after.json", opts: Options{IgnoreStdio: true},
			edit: func(_, b *snapshot.Snapshot) { b.Exact = false }},
		{name: "scopes", before: "tasks-before.json", after: "tasks-after.json",
			edit: func(a, b *snapshot.Snapshot) {
				a.Host.Scope.Types = []string{"file", "fs", "epoll"}
				b.Host.Scope.Tree = 0
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := load(t, c.before), load(t, c.after)
			if c.edit != nil {
				c.edit(a, b)
			}
			d := Compare(a, b, c.before, c.after, c.opts)
			text, js := render(t, d)
			golden.Check(t, c.name+".txt", text)
			golden.Check(t, c.name+".json", js)
			var sum bytes.Buffer
			if err := d.WriteSummary(&sum); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, c.name+"-summary.txt", sum.Bytes())
		})
	}
}

// TestSelfDiffIsEmpty diffs every snapshot in testdata with itself: no
// differences, empty lists, one line of text.
func TestSelfDiffIsEmpty(t *testing.T) {
	for _, p := range pairs {
		for _, name := range p {
			s := load(t, name)
			d := Compare(s, s, name, name, Options{})
			if d.Differences != 0 || d.Leaks != 0 {
				t.Errorf("%s differs from itself: %d differences", name, d.Differences)
			}
			for field, l := range map[string]int{"started": len(d.Started), "exited": len(d.Exited), "changed": len(d.Changed),
				"fds": len(d.FDs), "sharing": len(d.Sharing), "epoll": len(d.Epoll), "endpoints": len(d.Endpoints)} {
				if l != 0 {
					t.Errorf("%s: self diff has %d %s", name, l, field)
				}
			}
			text, js := render(t, d)
			want := fmt.Sprintf("no differences between %s and %s\n", name, name)
			if !strings.HasSuffix(string(text), want) || strings.Count(string(text), "\n") != 1+len(d.Warnings) {
				t.Errorf("%s: self diff text:\n%s", name, text)
			}
			if bytes.Contains(js, []byte("null")) {
				t.Errorf("%s: JSON has a null list:\n%s", name, js)
			}
		}
	}
}

func TestPidReuseIsExitAndStart(t *testing.T) {
	d := Compare(load(t, "before.json"), load(t, "after.json"), "b", "a", Options{})
	if !slices.Contains(d.Exited, Proc{PID: 103, StartTime: 520, Comm: "evil\nname\x1b[31m", UID: 33}) ||
		!slices.Contains(d.Started, Proc{PID: 103, StartTime: 540, Comm: "sh", UID: 1000}) {
		t.Errorf("pid 103 reused: exited %v started %v", d.Exited, d.Started)
	}
	for _, f := range d.FDs {
		if f.Process.PID == 103 {
			t.Errorf("reused pid reported as an fd change: %+v", f)
		}
	}
	for _, c := range d.Changed {
		if c.Process.PID == 103 {
			t.Errorf("reused pid reported as a changed process: %+v", c)
		}
	}
	text, _ := render(t, d)
	if !strings.Contains(string(text), "+103  sh                  uid 1000  started (pid reused)\n") {
		t.Errorf("text does not show the reuse:\n%s", text)
	}
}

func TestLeakAndChanges(t *testing.T) {
	d := Compare(load(t, "before.json"), load(t, "after.json"), "b", "a", Options{IgnoreStdio: true})
	if got := sharingText(d); !reflect.DeepEqual(got, []string{
		"file socket:[700] changed LEAK before=[100:3 101:3] after=[100:3 102:3] joined=[102:3] left=[101:3] leaked=[102:3]",
		"file pipe:[800] ended before=[100:4 101:4] after=[] joined=[] left=[100:4 101:4]",
		"file socket:[900] began before=[] after=[100:9 102:9] joined=[100:9 102:9] left=[]",
	}) {
		t.Errorf("sharing:\n%s", strings.Join(got, "\n"))
	}
	if d.Leaks != 1 || d.Sharing[0].Leak != true {
		t.Errorf("leaks %d, want 1, listed first", d.Leaks)
	}
	// fd 5 of the master points at another file: closed and opened.
	if len(d.FDs) != 1 || d.FDs[0].Process.PID != 100 ||
		fdsText(d.FDs[0].Closed) != "[{4 pipe:[800] 8 800} {5 /var/log/old.log 8 50} {7 /etc/app.conf 8 60}]" ||
		fdsText(d.FDs[0].Opened) != "[{5 /var/log/new.log 8 51} {8 /etc/app.conf 8 60} {9 socket:[900] 8 900}]" {
		t.Fatalf("fd changes: %+v", d.FDs)
	}
	if len(d.Epoll) != 1 || fmt.Sprint(d.Epoll[0].Added) != "[{9 socket:[900] unix /run/app.sock (connected)}]" || len(d.Epoll[0].Removed) != 0 {
		t.Errorf("epoll changes: %+v", d.Epoll)
	}
}

func sharingText(d *Diff) []string {
	var out []string
	for _, s := range d.Sharing {
		leak, leaked := "", ""
		if s.Leak {
			leak, leaked = " LEAK", " leaked=["+holdersText(s.Leaked)+"]"
		}
		out = append(out, fmt.Sprintf("%s %s %s%s before=[%s] after=[%s] joined=[%s] left=[%s]%s", s.Type, s.Object, s.Change, leak,
			holdersText(s.Before), holdersText(s.After), holdersText(s.Joined), holdersText(s.Left), leaked))
	}
	return out
}

// Small snapshots built in code, for one rule at a time.

func snap(boot string, procs ...snapshot.Process) *snapshot.Snapshot {
	return &snapshot.Snapshot{Schema: snapshot.Schema, Exact: true, Host: snapshot.Host{Hostname: "h", BootID: boot},
		Processes: procs, Null: map[string][]snapshot.Member{}}
}

func proc(pid int, start uint64, fds ...snapshot.FD) snapshot.Process {
	return snapshot.Process{PID: pid, StartTime: start, Comm: fmt.Sprint("p", pid), Tasks: []int{pid}, FDs: fds}
}

func child(pid, ppid int, start uint64, comm, exe string, fds ...snapshot.FD) snapshot.Process {
	p := proc(pid, start, fds...)
	p.PPID, p.Comm, p.Exe = ppid, comm, exe
	return p
}

func file(n int, target string, ino uint64) snapshot.FD {
	return snapshot.FD{FD: n, Target: target, Dev: 1, Ino: ino}
}

func fdm(pid, fd int) snapshot.Member { return snapshot.Member{PID: pid, FD: fd} }
func task(pid int) snapshot.Member    { return snapshot.Member{PID: pid, TID: pid} }

func with(s *snapshot.Snapshot, typ string, members ...snapshot.Member) *snapshot.Snapshot {
	s.Groups = append(s.Groups, snapshot.Group{Type: typ, Members: members})
	return s
}

func TestSharingRules(t *testing.T) {
	x := file(3, "/x", 9)
	for _, c := range []struct {
		name          string
		before, after *snapshot.Snapshot
		want          []string
	}{
		{"dup in one process is no leak",
			snap("b", proc(1, 1, x)),
			with(snap("b", proc(1, 1, x, file(4, "/x", 9))), "file", fdm(1, 3), fdm(1, 4)),
			[]string{"file /x began before=[1:3] after=[1:3 1:4] joined=[1:4] left=[]"}},
		{"fd passed to a running process is a leak",
			snap("b", proc(1, 1, x), proc(2, 2)),
			with(snap("b", proc(1, 1, x), proc(2, 2, file(5, "/x", 9))), "file", fdm(1, 3), fdm(2, 5)),
			[]string{"file /x began LEAK before=[1:3] after=[1:3 2:5] joined=[2:5] left=[] leaked=[2:5]"}},
		{"a close leaves the sole holder",
			with(snap("b", proc(1, 1, x), proc(2, 2, x)), "file", fdm(1, 3), fdm(2, 3)),
			snap("b", proc(1, 1, x), proc(2, 2)),
			[]string{"file /x ended before=[1:3 2:3] after=[1:3] joined=[] left=[2:3]"}},
		{"a number reused for another file left",
			with(snap("b", proc(1, 1, x), proc(2, 2, x)), "file", fdm(1, 3), fdm(2, 3)),
			snap("b", proc(1, 1, file(3, "/y", 10)), proc(2, 2, x)),
			[]string{"file /x ended before=[1:3 2:3] after=[2:3] joined=[] left=[1:3]"}},
		{"a new holder next to old ones in a new process is a leak",
			with(snap("b", proc(1, 1, x), proc(2, 2, x)), "file", fdm(1, 3), fdm(2, 3)),
			with(snap("b", proc(1, 1, x), proc(2, 2, x), proc(3, 3, x)), "file", fdm(1, 3), fdm(2, 3), fdm(3, 3)),
			[]string{"file /x changed LEAK before=[1:3 2:3] after=[1:3 2:3 3:3] joined=[3:3] left=[] leaked=[3:3]"}},
		{"a forked child inherits: no leak",
			with(snap("b", proc(1, 1, x), proc(2, 2, x)), "file", fdm(1, 3), fdm(2, 3)),
			with(snap("b", child(1, 0, 1, "p1", "/bin/d", x), proc(2, 2, x), child(3, 1, 3, "p1", "/bin/d", x)), "file", fdm(1, 3), fdm(2, 3), fdm(3, 3)),
			[]string{"file /x changed before=[1:3 2:3] after=[1:3 2:3 3:3] joined=[3:3] left=[]"}},
		{"a child that exec'd holds it across exec: a leak",
			with(snap("b", proc(1, 1, x), proc(2, 2, x)), "file", fdm(1, 3), fdm(2, 3)),
			with(snap("b", child(1, 0, 1, "p1", "/bin/d", x), proc(2, 2, x), child(3, 1, 3, "p1", "/bin/sh", x)), "file", fdm(1, 3), fdm(2, 3), fdm(3, 3)),
			[]string{"file /x changed LEAK before=[1:3 2:3] after=[1:3 2:3 3:3] joined=[3:3] left=[] leaked=[3:3]"}},
		{"all holders replaced cannot be linked",
			with(snap("b", proc(1, 1, x), proc(2, 2, x)), "file", fdm(1, 3), fdm(2, 3)),
			with(snap("b", proc(1, 5, x), proc(2, 6, x)), "file", fdm(1, 3), fdm(2, 3)),
			[]string{
				"file /x ended before=[1:3 2:3] after=[] joined=[] left=[1:3 2:3]",
				"file /x began before=[] after=[1:3 2:3] joined=[1:3 2:3] left=[]",
			}},
		{"a task that unshares leaves with its partner",
			with(snap("b", proc(1, 1), proc(2, 2)), "fs", task(1), task(2)),
			snap("b", proc(1, 1), proc(2, 2)),
			[]string{"fs fs_struct ended before=[1/1 2/2] after=[] joined=[] left=[1/1 2/2]"}},
		{"a task clone joins; tasks never leak",
			with(snap("b", proc(1, 1), proc(2, 2)), "vm", task(1), task(2)),
			with(snap("b", proc(1, 1), proc(2, 2), proc(3, 3)), "vm", task(1), task(2), task(3)),
			[]string{"vm mm_struct changed before=[1/1 2/2] after=[1/1 2/2 3/3] joined=[3/3] left=[]"}},
		{"other boot: nothing is the same",
			with(snap("b", proc(1, 1, x), proc(2, 2, x)), "file", fdm(1, 3), fdm(2, 3)),
			with(snap("c", proc(1, 1, x), proc(2, 2, x)), "file", fdm(1, 3), fdm(2, 3)),
			[]string{
				"file /x ended before=[1:3 2:3] after=[] joined=[] left=[1:3 2:3]",
				"file /x began before=[] after=[1:3 2:3] joined=[1:3 2:3] left=[]",
			}},
		{"dup2 onto another description of the same file",
			with(with(snap("b", proc(1, 1, x, file(4, "/x", 9)), proc(2, 2, x), proc(3, 3, file(4, "/x", 9))),
				"file", fdm(1, 3), fdm(2, 3)), "file", fdm(1, 4), fdm(3, 4)),
			with(snap("b", proc(1, 1, x, file(4, "/x", 9)), proc(2, 2, x), proc(3, 3, file(4, "/x", 9))),
				"file", fdm(1, 3), fdm(1, 4), fdm(2, 3)),
			[]string{
				"file /x changed before=[1:3 2:3] after=[1:3 1:4 2:3] joined=[1:4] left=[]",
				"file /x ended before=[1:4 3:4] after=[3:4] joined=[] left=[1:4]",
			}},
		{"a task that execs stops sharing; its new clone starts",
			with(snap("b", proc(1, 1), proc(2, 2), proc(3, 3)), "vm", task(1), task(2), task(3)),
			with(with(snap("b", proc(1, 1), proc(2, 2), proc(3, 3), proc(4, 4)), "vm", task(1), task(2)), "vm", task(3), task(4)),
			[]string{
				"vm mm_struct changed before=[1/1 2/2 3/3] after=[1/1 2/2] joined=[] left=[3/3]",
				"vm mm_struct began before=[] after=[3/3 4/4] joined=[3/3 4/4] left=[]",
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := Compare(c.before, c.after, "a", "b", Options{})
			if got := sharingText(d); !slices.Equal(got, c.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// TestFDIdentity: an fd is its number and its inode; the target counts
// only for anonymous inodes, which many kinds of fd share.
func TestFDIdentity(t *testing.T) {
	deleted := file(3, "/x (deleted)", 9)
	ev, tm := file(4, "anon_inode:[eventfd]", 1), file(4, "anon_inode:[timerfd]", 1)
	d := Compare(
		with(snap("b", proc(1, 1, file(3, "/x", 9), ev), proc(2, 2, file(3, "/x", 9))), "file", fdm(1, 3), fdm(2, 3)),
		with(snap("b", proc(1, 1, deleted, tm), proc(2, 2, deleted)), "file", fdm(1, 3), fdm(2, 3)),
		"a", "b", Options{})
	if len(d.Sharing) != 0 || len(d.FDs) != 1 || fdsText(d.FDs[0].Closed)+" "+fdsText(d.FDs[0].Opened) != "[{4 anon_inode:[eventfd] 1 1}] [{4 anon_inode:[timerfd] 1 1}]" {
		t.Errorf("a deleted file changed, or an eventfd replaced by a timerfd did not: %+v %+v", d.FDs, d.Sharing)
	}
}

func TestDifferentBoots(t *testing.T) {
	a, b := load(t, "before.json"), load(t, "after.json")
	b.Host.BootID = "boot-2"
	d := Compare(a, b, "a", "b", Options{})
	if len(d.Exited) != len(a.Processes) || len(d.Started) != len(b.Processes) || len(d.FDs)+len(d.Changed)+len(d.Epoll) != 0 {
		t.Errorf("across boots: %d exited, %d started, %d fd changes", len(d.Exited), len(d.Started), len(d.FDs))
	}
	if !strings.Contains(strings.Join(d.Warnings, "\n"), "different boots (boot-1, boot-2)") {
		t.Errorf("warnings: %q", d.Warnings)
	}
	b.Host.BootID = ""
	if d := Compare(a, b, "a", "b", Options{}); len(d.Exited) != 2 || !strings.Contains(strings.Join(d.Warnings, "\n"), "no boot id") {
		t.Errorf("without a boot id: exited %v, warnings %q", d.Exited, d.Warnings)
	}
}

func TestNotExactIsSaid(t *testing.T) {
	a, b := load(t, "before.json"), load(t, "after.json")
	a.Exact = false
	for _, pair := range [][2]*snapshot.Snapshot{{a, b}, {a, a}} {
		d := Compare(pair[0], pair[1], "a", "b", Options{})
		text, js := render(t, d)
		if !bytes.Contains(text, []byte("NOT EXACT")) || !bytes.Contains(js, []byte(`"exact": false`)) || !bytes.Contains(js, []byte("NOT EXACT")) {
			t.Errorf("not exact is not said:\n%s\n%s", text, js)
		}
	}
}

func TestPartialProcessIsLeftOut(t *testing.T) {
	d := Compare(load(t, "tasks-before.json"), load(t, "tasks-after.json"), "a", "b", Options{})
	for _, f := range d.FDs {
		if f.Process.PID == 205 {
			t.Errorf("fds of a process whose fd table was denied: %+v", f)
		}
	}
	for _, s := range d.Sharing {
		for _, h := range append(append([]Holder{}, s.Before...), s.After...) {
			if h.PID == 205 {
				t.Errorf("sharing of a process whose fd table was denied: %+v", s)
			}
		}
	}
	if !strings.Contains(strings.Join(d.Warnings, "\n"), "pid 205 (locked) could not be read completely (fds: EACCES)") {
		t.Errorf("warnings: %q", d.Warnings)
	}
}

func TestTypesAndStdio(t *testing.T) {
	a, b := load(t, "tasks-before.json"), load(t, "tasks-after.json")
	d := Compare(a, b, "a", "b", Options{Selection: snapshot.Selection{Types: []string{"vm"}}})
	if len(d.FDs)+len(d.Epoll)+len(d.Endpoints) != 0 {
		t.Errorf("--types vm compared fds: %+v", d.FDs)
	}
	for _, s := range d.Sharing {
		if s.Type != "vm" {
			t.Errorf("--types vm reported %s", s.Type)
		}
	}
	d = Compare(load(t, "before.json"), load(t, "after.json"), "a", "b", Options{IgnoreStdio: true})
	js, _ := json.Marshal(d)
	for _, f := range d.FDs {
		for _, fd := range append(append([]FD{}, f.Opened...), f.Closed...) {
			if fd.FD <= 2 {
				t.Errorf("--ignore-stdio reported fd %d: %s", fd.FD, js)
			}
		}
	}
}

func TestScopeWarnings(t *testing.T) {
	a, b := load(t, "tasks-before.json"), load(t, "tasks-after.json")
	a.Host.Scope.Types = []string{"file", "vm"}
	d := Compare(a, b, "a", "b", Options{})
	for _, s := range d.Sharing {
		if s.Type != "file" && s.Type != "vm" {
			t.Errorf("a type only AFTER scanned was compared: %s", s.Type)
		}
	}
	w := strings.Join(d.Warnings, "\n")
	if !strings.Contains(w, "files,fs,sighand,io,sysvsem,epoll only in AFTER") {
		t.Errorf("warnings: %s", w)
	}
	a.Host.Scope.Types = []string{"vm"}
	b.Host.Scope.Types = []string{"fs"}
	if d := Compare(a, b, "a", "b", Options{}); len(d.Sharing)+len(d.FDs)+len(d.Epoll) != 0 {
		t.Errorf("no type in common, yet compared: %+v", d.Sharing)
	}
	d = Compare(load(t, "before.json"), load(t, "after.json"), "a", "b", Options{Selection: snapshot.Selection{Tree: 101}})
	if w := strings.Join(d.Warnings, "\n"); !strings.Contains(w, "--tree 101: no such process in AFTER") {
		t.Errorf("warnings: %s", w)
	}
	a, b = load(t, "before.json"), load(t, "after.json")
	a.Host.TakenAt = b.Host.TakenAt.Add(time.Hour)
	if w := strings.Join(Compare(a, b, "a", "b", Options{}).Warnings, "\n"); !strings.Contains(w, "swapped") {
		t.Errorf("warnings: %s", w)
	}
}

// mirror is what Compare(b, a) must say when Compare(a, b) said d.
func mirror(d *Diff) []string {
	var out []string
	for _, p := range d.Started {
		out = append(out, fmt.Sprint("exited ", p.PID, " ", p.StartTime))
	}
	for _, p := range d.Exited {
		out = append(out, fmt.Sprint("started ", p.PID, " ", p.StartTime))
	}
	for _, f := range d.FDs {
		out = append(out, fmt.Sprint("fds ", f.Process.PID, " opened ", fdsText(f.Closed), " closed ", fdsText(f.Opened)))
	}
	for _, s := range d.Sharing {
		ch := map[string]string{Began: Ended, Ended: Began, Changed: Changed}[s.Change]
		out = append(out, fmt.Sprintf("%s %s before=[%s] after=[%s]", s.Type, ch, holdersText(s.After), holdersText(s.Before)))
	}
	for _, e := range d.Epoll {
		out = append(out, fmt.Sprint("epoll ", e.Process.PID, " ", e.FD, " added ", e.Removed, " removed ", e.Added))
	}
	for _, e := range d.Endpoints {
		out = append(out, fmt.Sprint(map[string]string{Gone: Appeared, Appeared: Gone}[e.Change], " ", e.Kind, " ", e.Name))
	}
	sort.Strings(out)
	return out
}

func same(d *Diff) []string {
	return mirror(mirrorDiff(d))
}

// mirrorDiff swaps what mirror swaps, so that mirror(mirrorDiff(d)) lists
// d itself.
func mirrorDiff(d *Diff) *Diff {
	m := *d
	m.Started, m.Exited = d.Exited, d.Started
	m.FDs = nil
	for _, f := range d.FDs {
		m.FDs = append(m.FDs, FDChange{Process: f.Process, Opened: f.Closed, Closed: f.Opened})
	}
	m.Sharing = nil
	for _, s := range d.Sharing {
		s.Before, s.After = s.After, s.Before
		s.Change = map[string]string{Began: Ended, Ended: Began, Changed: Changed}[s.Change]
		m.Sharing = append(m.Sharing, s)
	}
	m.Epoll = nil
	for _, e := range d.Epoll {
		e.Added, e.Removed = e.Removed, e.Added
		m.Epoll = append(m.Epoll, e)
	}
	m.Endpoints = nil
	for _, e := range d.Endpoints {
		e.Change = map[string]string{Gone: Appeared, Appeared: Gone}[e.Change]
		m.Endpoints = append(m.Endpoints, e)
	}
	return &m
}

// TestSymmetric: comparing AFTER with BEFORE reports the same changes the
// other way round.
func TestSymmetric(t *testing.T) {
	for _, p := range pairs {
		a, b := load(t, p[0]), load(t, p[1])
		for _, opts := range []Options{{}, {IgnoreStdio: true}} {
			ab, ba := Compare(a, b, "a", "b", opts), Compare(b, a, "b", "a", opts)
			if x, y := mirror(ab), same(ba); !slices.Equal(x, y) {
				t.Errorf("%s: a->b mirrored:\n%s\nb->a:\n%s", p[0], strings.Join(x, "\n"), strings.Join(y, "\n"))
			}
			if ab.Differences != ba.Differences {
				t.Errorf("%s: %d differences one way, %d the other", p[0], ab.Differences, ba.Differences)
			}
		}
	}
}

func shuffle(r *rand.Rand, s *snapshot.Snapshot) {
	r.Shuffle(len(s.Processes), func(i, j int) { s.Processes[i], s.Processes[j] = s.Processes[j], s.Processes[i] })
	for i := range s.Processes {
		fds := s.Processes[i].FDs
		r.Shuffle(len(fds), func(i, j int) { fds[i], fds[j] = fds[j], fds[i] })
	}
	r.Shuffle(len(s.Groups), func(i, j int) { s.Groups[i], s.Groups[j] = s.Groups[j], s.Groups[i] })
	for _, g := range s.Groups {
		r.Shuffle(len(g.Members), func(i, j int) { g.Members[i], g.Members[j] = g.Members[j], g.Members[i] })
	}
	r.Shuffle(len(s.Epoll), func(i, j int) { s.Epoll[i], s.Epoll[j] = s.Epoll[j], s.Epoll[i] })
	for _, e := range s.Epoll {
		r.Shuffle(len(e.Watches), func(i, j int) { e.Watches[i], e.Watches[j] = e.Watches[j], e.Watches[i] })
	}
	r.Shuffle(len(s.Endpoints), func(i, j int) { s.Endpoints[i], s.Endpoints[j] = s.Endpoints[j], s.Endpoints[i] })
}

// TestDeterministic: the output does not depend on the order of anything
// in the snapshots, nor on map iteration.
func TestDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, p := range pairs {
		want, wantJS := render(t, Compare(load(t, p[0]), load(t, p[1]), "a", "b", Options{}))
		for range 20 {
			a, b := load(t, p[0]), load(t, p[1])
			shuffle(r, a)
			shuffle(r, b)
			got, gotJS := render(t, Compare(a, b, "a", "b", Options{}))
			if !bytes.Equal(got, want) || !bytes.Equal(gotJS, wantJS) {
				t.Fatalf("%s: output depends on input order:\n%s\nwant\n%s", p[0], got, want)
			}
		}
	}
}

// checkLines fails when a line of the text form does not start with one
// of the form's markers, or holds a character a terminal would act on.
func checkLines(t *testing.T, text []byte) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	for i, l := range lines {
		for _, r := range l {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' || r == '\ufffd' {
				t.Fatalf("line %d holds %U: %q", i+1, r, l)
			}
		}
		ok := l == "" || strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "+++ ") || strings.HasPrefix(l, "! ") ||
			(strings.HasPrefix(l, "@@ ") && strings.HasSuffix(l, " @@")) || strings.HasPrefix(l, "no differences between ")
		if !ok && l != "" && strings.ContainsRune("-+ ", rune(l[0])) {
			ok = true
		}
		if !ok && i == len(lines)-1 && strings.Contains(l, " difference") {
			ok = true
		}
		if !ok {
			t.Fatalf("line %d is not part of the format: %q", i+1, l)
		}
	}
}

// TestHostileText: the hostile pair's text has exactly the lines and
// hunks its diff has: no name could add, split or fake one.
func TestHostileText(t *testing.T) {
	d := Compare(load(t, "hostile-before.json"), load(t, "hostile-after.json"), "before\n+++ x", "after\x1b[2J", Options{})
	text, _ := render(t, d)
	checkLines(t, text)
	hunks := 1 + len(d.Sharing) + 1 // processes, objects, endpoints
	procs := map[int]bool{}
	for _, c := range d.Changed {
		procs[c.Process.PID] = true
	}
	for _, f := range d.FDs {
		procs[f.Process.PID] = true
	}
	if got := strings.Count(string(text), "\n@@ "); got != hunks+len(procs) {
		t.Errorf("%d hunks, want %d:\n%s", got, hunks+len(procs), text)
	}
	if n := strings.Count(string(text), "\n--- ") + strings.Count(string(text), "\n+++ "); n != 1 || !bytes.HasPrefix(text, []byte("--- ")) {
		t.Errorf("header lines faked:\n%s", text)
	}
}

// FuzzTextLines puts arbitrary strings everywhere a snapshot carries free
// text and checks that the text form keeps its lines.
func FuzzTextLines(f *testing.F) {
	for _, s := range []string{"", "\n", "a\nb", "\r", "\x1b[2J", "\u202e", "\u2028", "\\", "\xff\xfe", "@@ x @@", "\n+++ y", "\t", "\x00", "\u00a0", "\u200b"} {
		f.Add(s)
	}
	base, err := snapshot.LoadFile(filepath.Join("testdata", "hostile-after.json"), snapshot.LoadOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		data, _ := json.Marshal(base)
		var a, b snapshot.Snapshot
		json.Unmarshal(data, &a)
		json.Unmarshal(data, &b)
		b.Host.Hostname, a.Host.BootID = s, s+"x"
		for i := range b.Processes {
			p := &b.Processes[i]
			p.Comm, p.Exe, p.Cgroup, p.Root = s, s+"1", s+"2", s+"3"
			p.Namespaces = map[string]uint64{s: 1}
			for j := range p.FDs {
				p.FDs[j].Target = s + fmt.Sprint(j)
			}
		}
		for i := range b.Endpoints {
			b.Endpoints[i].Name, b.Endpoints[i].Kind = s, s
		}
		a.Processes = a.Processes[:1]
		a.Processes[0].Namespaces = map[string]uint64{s: 2}
		a.Groups, a.Epoll, a.Endpoints = nil, nil, nil
		text, _ := render(t, Compare(&a, &b, s, s, Options{}))
		checkLines(t, text)
	})
}

// TestPlaceShown: a process's container is named where the diff names the
// process, and a process that moved to another container or unit (a
// cgroup move) says so.
func TestPlaceShown(t *testing.T) {
	web := &snapshot.Container{Runtime: "docker", ID: strings.Repeat("ab", 32), Name: "web", Source: "state"}
	a := proc(10, 1, file(3, "/etc/a", 1))
	a.Container, a.Cgroup = web, "/docker/"+web.ID
	b := proc(10, 1, file(3, "/etc/a", 1), file(4, "/etc/b", 2))
	b.Unit, b.Cgroup = "app.service", "/system.slice/app.service"
	d := Compare(snap("x", a), snap("x", b), "a", "b", Options{})
	if len(d.Changed) != 1 || !slices.ContainsFunc(d.Changed[0].Changes, func(c FieldChange) bool {
		return c.Field == "place" && c.Before == "docker web" && c.After == "app.service"
	}) {
		t.Fatalf("changes %+v, want place docker web -> app.service", d.Changed)
	}
	text, _ := render(t, d)
	if !strings.Contains(string(text), "@@ 10 ") || !strings.Contains(string(text), "uid 0 in app.service") {
		t.Errorf("the hunk does not name where the process runs:\n%s", text)
	}
}
