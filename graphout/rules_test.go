package graphout

import (
	"errors"
	"strings"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

func dotText(t *testing.T, d *Diagram) string {
	t.Helper()
	b, err := d.DOT()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// nginx: one box for the master, one for the four workers though each
// has a socketpair of its own with the master; one note lists what all
// five hold; the socketpairs are one edge that says "one per worker".
func TestCollapseWorkersWithPrivateChannels(t *testing.T) {
	d, err := Build(load(t, "nginx.json"), Options{Users: users})
	if err != nil {
		t.Fatal(err)
	}
	if d.Processes != 2 || d.Objects != 1 {
		t.Errorf("%d boxes and %d notes, want 2 and 1", d.Processes, d.Objects)
	}
	text := dotText(t, d)
	for _, want := range []string{
		`label="4 × nginx\nnobody · pids 101–104\neach: own unix socketpair with nginx (root)"`,
		`label="nginx\nroot · pid 100"`,
		`shared by nginx (root) + 4 × nginx (nobody):\ltcp 0.0.0.0:80 LISTEN\ltcp [::]:80 LISTEN\lunix /run/nginx/status.sock LISTEN\l/var/log/nginx/access.log\l/var/log/nginx/error.log\l`,
		`label="4 × unix socketpair\n(one per nginx (nobody))"`,
		`tooltip="unix socketpair: nginx 100 fd 9; nginx 101 fd 9\nunix socketpair: nginx 100 fd 10; nginx 102 fd 9`,
		`labelloc=t`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("DOT lacks %s", want)
		}
	}
	if strings.Contains(text, "o1") || strings.Contains(text, "socket:[") {
		t.Error("internal ids or unnamed sockets in the DOT")
	}
}

// A pipeline's stages are siblings of one command each, but the two
// greps are not similar: one writes where the other reads. They stay two
// boxes, on one rank, the pipes flowing left to right.
func TestPipelineStagesStayApart(t *testing.T) {
	d, err := Build(load(t, "pipeline.json"), Options{Users: users})
	if err != nil {
		t.Fatal(err)
	}
	if d.Processes != 5 {
		t.Errorf("%d boxes, want 5 (bash, cat, grep, grep, sort)", d.Processes)
	}
	text := dotText(t, d)
	for _, want := range []string{
		`pid501 -> pid502 [` + "\n" + `    label="pipe"`,
		`pid502 -> pid503 [` + "\n" + `    label="pipe"`,
		`pid503 -> pid504 [` + "\n" + `    label="pipe"`,
		`shared by bash and its 4 children:\lpty /dev/pts/3\l`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("DOT lacks %q:\n%s", want, text)
		}
	}
	for _, pid := range []string{"pid501", "pid502", "pid503", "pid504"} {
		if !strings.Contains(text, "rank=same\n    ];\n\n    // Node definitions.\n") || !rankGroupHas(text, pid) {
			t.Errorf("%s is not in the stages' rank group", pid)
		}
	}
}

// rankGroupHas reports whether a rank=same subgraph lists node id.
func rankGroupHas(text, id string) bool {
	for _, part := range strings.Split(text, "subgraph rank_")[1:] {
		body, _, _ := strings.Cut(part, "\n  }")
		if strings.Contains(body, "\n    "+id+" [") {
			return true
		}
	}
	return false
}

// A host of a thousand processes is a map: at most MaxBoxes boxes, the
// services that share least left out and named, /dev/null in the legend,
// the connections to the logging daemon one note, and small enough for
// dot to lay out in its budget.
func TestHostMapIsSummarised(t *testing.T) {
	for _, dense := range []bool{false, true} {
		d, err := Build(generated(1000, dense), Options{})
		if err != nil {
			t.Fatal(err)
		}
		text := dotText(t, d)
		if d.Processes > defaultMaxBoxes || d.layout != "dot" || d.cost() > dotBudget {
			t.Errorf("dense %v: %d boxes, layout %s, cost %d", dense, d.Processes, d.layout, d.cost())
		}
		for _, want := range []string{"not drawn: ", "services or process trees", "not drawn: /dev/null, held by up to", "connect to systemd:"} {
			if !strings.Contains(text, want) {
				t.Errorf("dense %v: DOT lacks %q", dense, want)
			}
		}
		// An edge between two services is labelled after the layout:
		// its label does not widen every rank it crosses.
		for _, l := range d.lines {
			for _, a := range l.attrs {
				if a.Key == "label" && l.f.cluster != l.t.cluster {
					t.Errorf("dense %v: edge %s -> %s between clusters has a label, not an xlabel", dense, l.f.dotID, l.t.dotID)
				}
			}
		}
		if dense && !strings.Contains(text, "xlabel=") {
			t.Error("no edge between services is named")
		}
	}
}

// Diagrams drawn process by process are laid out by dot while small, by
// sfdp (overlap=scale: the WebAssembly graphviz has no GTS, and
// overlap=false would fall back to the minutes-long Voronoi removal)
// while it can be fast, and refused past that.
func TestEngineBySize(t *testing.T) {
	for _, c := range []struct {
		n      int
		dense  bool
		layout string
	}{{60, false, "dot"}, {60, true, "sfdp"}, {1000, true, ""}} {
		d, err := Build(generated(c.n, c.dense), Options{NoCollapse: true})
		if c.layout == "" {
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "--around PID") {
				t.Errorf("%d dense %v: err %v, want ErrTooLarge with a hint", c.n, c.dense, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		text := dotText(t, d)
		if d.layout != c.layout {
			t.Errorf("%d dense %v: layout %s (cost %d), want %s", c.n, c.dense, d.layout, d.cost(), c.layout)
		}
		if strings.Contains(text, "overlap=false") || strings.Contains(text, "prism") {
			t.Errorf("%d dense %v: an overlap removal WebAssembly graphviz lacks", c.n, c.dense)
		}
		if c.layout == "sfdp" && (!strings.Contains(text, "overlap=scale") || strings.Contains(text, "style=invis")) {
			t.Errorf("sfdp without overlap=scale, or with dot's rank-ordering edges")
		}
	}
}

// Two siblings of one command, one piping into the other, are two boxes;
// two that only share with their parent are one.
func TestSiblingsLinkedStayApart(t *testing.T) {
	for _, piped := range []bool{true, false} {
		g := &gen{s: &snapshot.Snapshot{Schema: snapshot.Schema, Exact: true}, next: 10, ino: 100}
		sh := g.proc(g.pid(), 1, "sh", 0, "")
		a := g.proc(g.pid(), sh, "grep", 0, "")
		b := g.proc(g.pid(), sh, "grep", 0, "")
		log := g.open(sh, "/var/log/x", 0o100644)
		g.share(log, a)
		g.share(log, b)
		if piped {
			g.pipe(a, b)
		}
		g.s.Normalize()
		d, err := Build(g.s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 3, false: 2}[piped]; d.Processes != want {
			t.Errorf("piped %v: %d boxes, want %d:\n%s", piped, d.Processes, want, dotText(t, d))
		}
	}
}

// Around keeps one process's neighbourhood, or one description, its
// holders and its channel's other end.
func TestAround(t *testing.T) {
	s := load(t, "nginx.json")
	for _, c := range []struct {
		pid, fd, depth int
		procs          int
		want, not      string
	}{
		{102, -1, 1, 5, "LISTEN", ""},
		{102, 9, 0, 2, `label="unix socketpair"`, "LISTEN"},
		{102, 6, 0, 5, "tcp 0.0.0.0:80 LISTEN", `label="4 × unix socketpair`},
		{102, 9, 1, 5, "LISTEN", ""},
		{102, -1, 0, 1, "", "LISTEN"},
	} {
		a, err := Around(s, c.pid, c.fd, c.depth)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Build(a, Options{Users: users})
		if err != nil {
			t.Fatal(err)
		}
		text := dotText(t, d)
		if len(a.Processes) != c.procs || !strings.Contains(text, c.want) || c.not != "" && strings.Contains(text, c.not) {
			t.Errorf("around %d:%d depth %d: %d processes (want %d), want %q, not %q:\n%s", c.pid, c.fd, c.depth,
				len(a.Processes), c.procs, c.want, c.not, text)
		}
	}
	if _, err := Around(s, 999, -1, 1); !errors.Is(err, ErrNotInSnapshot) {
		t.Errorf("unknown pid: %v", err)
	}
	if _, err := Around(s, 101, 77, 0); !errors.Is(err, ErrNotInSnapshot) || !strings.Contains(err.Error(), "has no fd 77") {
		t.Errorf("unknown fd: %v", err)
	}
}

// The channels between two boxes are one edge that counts them by name:
// parallel edges, each with a label, spread around the boxes.
func TestLinksBetweenTwoBoxesAreOneEdge(t *testing.T) {
	g := &gen{s: &snapshot.Snapshot{Schema: snapshot.Schema, Exact: true}, next: 10, ino: 100}
	sh := g.proc(g.pid(), 1, "sh", 0, "")
	a := g.proc(g.pid(), sh, "client", 0, "")
	b := g.proc(g.pid(), sh, "server", 0, "")
	g.pipe(a, b)
	g.pipe(b, a)
	g.pipe(b, a)
	g.pair(a, b)
	g.s.Normalize()
	d, err := Build(g.s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	text := dotText(t, d)
	edges := strings.Count(text, "pid12 -> pid13 [") + strings.Count(text, "pid13 -> pid12 [")
	if edges != 1 || !strings.Contains(text, `label="3 × pipe\nunix socketpair"`) {
		t.Errorf("%d edges between client and server, want 1 labelled 3 × pipe, unix socketpair:\n%s", edges, text)
	}
}

// forestWithOnePipe is n processes under one parent that all hold both
// ends of one pipe, as a test harness's children inherit its stdout:
// drawn one by one, every pair of them is an edge.
func forestWithOnePipe(n int) *snapshot.Snapshot {
	g := &gen{s: &snapshot.Snapshot{Schema: snapshot.Schema, Exact: true}, next: 10, ino: 100}
	root := g.proc(g.pid(), 1, "forest", 0, "")
	g.pipe(root, root)
	e := &g.s.Endpoints[0]
	r, w := e.Ends[0][0], e.Ends[1][0]
	for range n {
		p := g.proc(g.pid(), root, "forest", 0, "")
		e.Ends[0] = append(e.Ends[0], g.share(r, p))
		e.Ends[1] = append(e.Ends[1], g.share(w, p))
	}
	g.s.Normalize()
	return g.s
}

// A diagram drawn one by one that graphviz could not lay out in seconds
// is refused, with the hint, before its edges are labelled: a live
// forest of a thousand such processes took a minute to be refused.
func TestTooLargeIsRefusedEarly(t *testing.T) {
	for _, n := range []int{400, 1000} {
		_, err := Build(forestWithOnePipe(n), Options{NoCollapse: true})
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "--around PID") {
			t.Errorf("%d processes: %v, want ErrTooLarge with a hint", n, err)
		}
	}
	d, err := Build(forestWithOnePipe(1000), Options{})
	if err != nil || d.Processes > 3 {
		t.Errorf("collapsed: %v, %+v boxes", err, d)
	}
}
