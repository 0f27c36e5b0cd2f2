package graphout

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/graph/encoding/dot"
	"gonum.org/v1/gonum/graph/multi"

	"github.com/kcmpgraph/kcmpgraph/analyzer/diff"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/golden"
)

func load(t *testing.T, name string) *snapshot.Snapshot {
	t.Helper()
	s, err := snapshot.LoadFile(filepath.Join("testdata", name), snapshot.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// users names the golden files' uids the same on every machine.
func users(uid int) string {
	return map[int]string{0: "root", 33: "www-data", 1000: "alice", 65534: "nobody"}[uid]
}

// TestGoldenDOT holds the bundle and collapse rules to byte-exact DOT:
// nginx (a root master and four workers under nobody: one box for the
// workers though each has its own socketpair with the master, one note
// for the listeners and logs they all hold), a pipeline (its two greps
// stay apart: one writes where the other reads), sibling workers with a
// helper, PID namespaces, and the objects view.
func TestGoldenDOT(t *testing.T) {
	for _, c := range []struct {
		snap, golden string
		opts         Options
	}{
		{"nginx.json", "nginx.dot", Options{}},
		{"pipeline.json", "pipeline.dot", Options{}},
		{"small.json", "small.dot", Options{}},
		{"small.json", "small-objects.dot", Options{View: ViewObjects}},
		{"workers.json", "workers.dot", Options{}},
		{"workers.json", "workers-nocollapse.dot", Options{NoCollapse: true}},
		{"namespaces.json", "namespaces.dot", Options{}},
	} {
		t.Run(c.golden, func(t *testing.T) {
			c.opts.Users = users
			d, err := Build(load(t, c.snap), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			b, err := d.DOT()
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, c.golden, b)
		})
	}
}

// TestHostileNames: every free-text field holds markup, quotes, escapes,
// control characters, invalid UTF-8 and 4 KB of text. The DOT must parse
// back with gonum's parser into the same nodes and edges, with the text
// inert.
func TestHostileNames(t *testing.T) {
	s := load(t, "small.json")
	hostile := []string{
		`<b>bold</b>`, `"><script>alert(1)</script>`, "a\"b\\c\nd\re\tf\x1b[31m", "\xff\xfe\xfd",
		"}; node [shape=none]; x -- y; {", strings.Repeat("Ω<&>", 1024), "\u2028\u2029", `\N\G\L`,
	}
	for i := range s.Processes {
		s.Processes[i].Comm = hostile[i%len(hostile)]
		for j := range s.Processes[i].FDs {
			s.Processes[i].FDs[j].Target = hostile[(i+j+1)%len(hostile)]
		}
	}
	d, err := Build(s, Options{View: ViewObjects})
	if err != nil {
		t.Fatal(err)
	}
	text, err := d.DOT()
	if err != nil {
		t.Fatal(err)
	}
	back := multi.NewDirectedGraph()
	if err := dot.UnmarshalMulti(text, back); err != nil {
		t.Fatalf("DOT with hostile names does not parse back: %v\n%s", err, text)
	}
	if got, want := back.Nodes().Len(), d.g.Nodes().Len(); got != want {
		t.Errorf("parsed back %d nodes, built %d", got, want)
	}
	if got, want := back.Edges().Len(), d.g.Edges().Len(); got != want {
		t.Errorf("parsed back %d edges, built %d", got, want)
	}
	for _, bad := range []string{"<script", "<b>", "\x1b", "\xff"} {
		for _, line := range strings.Split(string(text), "\n") {
			if strings.Contains(line, bad) && !strings.Contains(line, `label="`) && !strings.Contains(line, `tooltip="`) {
				t.Errorf("hostile text %q outside a quoted label or tooltip: %q", bad, line)
			}
		}
	}
	if bytes.Contains(text, []byte("\x1b")) || bytes.Contains(text, []byte("\xff")) {
		t.Error("raw control or invalid bytes in the DOT text")
	}
	if bytes.Contains(text, []byte("=<")) {
		t.Error("an attribute value is an HTML label")
	}
	if bytes.Contains(text, []byte("URL")) || bytes.Contains(text, []byte("href")) {
		t.Error("URL or href attribute in the DOT text")
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":  `"plain"`,
		`a"b`:    `"a\"b"`,
		`a\b`:    `"a\\\\b"`,
		"a\nb":   `"a\\nb"`,
		"\x1b":   `"\\x1b"`,
		"\xff":   `"\\xff"`,
		"\uFFFD": `"\\ufffd"`,
		"<b>":    `"<b>"`,
		"\u2028": `"\\u2028"`,
		"a&lt;":  `"a&amp;lt;"`,
		"\x01":   `"\\x01"`,
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
	long := quote(strings.Repeat("x", 500))
	if n := len([]rune(long)); n != maxLabelRunes+2 {
		t.Errorf("long text quoted to %d runes, want %d", n, maxLabelRunes+2)
	}
}

func TestLimits(t *testing.T) {
	s := load(t, "workers.json")
	if _, err := Build(s, Options{NoCollapse: true, MaxNodes: 3}); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "--tree") {
		t.Errorf("over the node limit: err = %v, want ErrTooLarge with a hint", err)
	}
	if _, err := Build(s, Options{View: "tree"}); err == nil {
		t.Error("unknown view accepted")
	}
}

func TestNotExactIsSaid(t *testing.T) {
	s := load(t, "small.json")
	s.Exact = false
	d, err := Build(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	text, _ := d.DOT()
	if !bytes.Contains(text, []byte("NOT EXACT")) {
		t.Error("a snapshot that is not exact is drawn without saying so")
	}
}

func TestDiffDOT(t *testing.T) {
	before, err := snapshot.LoadFile("../analyzer/diff/testdata/before.json", snapshot.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after, err := snapshot.LoadFile("../analyzer/diff/testdata/after.json", snapshot.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := BuildDiff(diff.Compare(before, after, "before.json", "after.json", diff.Options{IgnoreStdio: true}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	text, err := g.DOT()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "diff.dot", text)
	back := multi.NewDirectedGraph()
	if err := dot.UnmarshalMulti(text, back); err != nil {
		t.Fatalf("diff DOT does not parse back: %v", err)
	}
}

func TestCutMiddle(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"unix /tmp/TestLiveNginx308951743/001/nginx.sock LISTEN", 30, "unix /tmp…01/nginx.sock LISTEN"},
		{"日本語のファイル名です", 7, "日本…ル名です"},
	} {
		if got := cutMiddle(c.in, c.n); got != c.want || len([]rune(got)) > c.n {
			t.Errorf("cutMiddle(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
