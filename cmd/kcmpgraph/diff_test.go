//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kcmpgraph/kcmpgraph/analyzer/diff"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

const (
	diffBefore = "../../analyzer/diff/testdata/before.json"
	diffAfter  = "../../analyzer/diff/testdata/after.json"
	diffTasks  = "../../analyzer/diff/testdata/tasks-before.json"
)

func mustLoad(t *testing.T, path string) *snapshot.Snapshot {
	t.Helper()
	s, err := snapshot.LoadFile(path, snapshot.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeSnapshot writes s into dir and returns its path.
func writeSnapshot(t *testing.T, dir, name string, s *snapshot.Snapshot) string {
	t.Helper()
	var b bytes.Buffer
	if err := s.Encode(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDiffExitStatus: like diff(1), 0 without differences, 1 with.
func TestDiffExitStatus(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"diff", diffAfter, diffAfter}, 0, "no differences between " + diffAfter + " and " + diffAfter + "\n"},
		{[]string{"diff", diffTasks, diffTasks, "--format", "json"}, 0, `"differences": 0,`},
		{[]string{"diff", diffBefore, diffAfter}, exitFound, "! LEAK file socket:[700]: now also held by 102:3 worker ("},
		{[]string{"diff", diffBefore, diffAfter, "--summary"}, exitFound, "1 worker process replaced, 1 process started, 1 process exited, 1 leak\n"},
		{[]string{"diff", diffAfter, diffAfter, "--summary"}, 0, "no differences between"},
		{[]string{"diff", diffBefore, diffAfter, "--types", "epoll"}, exitFound, "+102  worker"},
		{[]string{"diff", diffBefore, diffAfter, "--format", "dot"}, exitFound, "digraph kcmpgraph {"},
	} {
		out, stderr, code := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(out, c.out) || stderr != "" {
			t.Errorf("%v: exit %d (want %d), stderr %q, output:\n%s", c.args, code, c.code, stderr, out)
		}
	}
}

// TestDiffSummary: --summary prints the library's summary of the live
// reload snapshots byte for byte, and refuses a format that is not text.
func TestDiffSummary(t *testing.T) {
	const before, after = "../../analyzer/diff/testdata/live-reload-before.json", "../../analyzer/diff/testdata/live-reload-after.json"
	d := diff.Compare(mustLoad(t, before), mustLoad(t, after), before, after, diff.Options{})
	var want bytes.Buffer
	if err := d.WriteSummary(&want); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCLI(t, "diff", before, after, "--summary")
	if code != exitFound || out != want.String() || stderr != "" || !strings.Contains(out, "4 worker processes replaced, listeners kept, no leaks\n") {
		t.Errorf("diff --summary: exit %d, stderr %q:\n%s\nwant\n%s", code, stderr, out, want.String())
	}
	wantUsageError(t, "--summary is text", "diff", before, after, "--summary", "--format", "json")
}

// TestDiffIsTheLibrary: the command prints what the library computes for
// the same options, byte for byte, in text and JSON.
func TestDiffIsTheLibrary(t *testing.T) {
	before, after := mustLoad(t, diffBefore), mustLoad(t, diffAfter)
	for _, c := range []struct {
		flags []string
		opts  diff.Options
	}{
		{nil, diff.Options{}},
		{[]string{"--ignore-stdio"}, diff.Options{IgnoreStdio: true}},
		{[]string{"--tree", "100"}, diff.Options{Selection: snapshot.Selection{Tree: 100}}},
		{[]string{"--pid", "100,102", "--types", "file,epoll"},
			diff.Options{Selection: snapshot.Selection{PIDs: []int{100, 102}, Types: []string{"file", "epoll"}}}},
	} {
		d := diff.Compare(before, after, diffBefore, diffAfter, c.opts)
		var text, js bytes.Buffer
		d.WriteText(&text)
		d.WriteJSON(&js)
		out, _, code := runCLI(t, append([]string{"diff", diffBefore, diffAfter}, c.flags...)...)
		if code != exitFound || out != text.String() {
			t.Errorf("%v: exit %d, text differs from the library's:\n%s\nwant\n%s", c.flags, code, out, text.String())
		}
		out, _, _ = runCLI(t, append([]string{"diff", diffBefore, diffAfter, "--format", "json"}, c.flags...)...)
		if out != js.String() {
			t.Errorf("%v: JSON differs from the library's:\n%s", c.flags, out)
		}
	}
}

func TestDiffOutputFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "changes.json")
	out, stderr, code := runCLI(t, "diff", diffBefore, diffAfter, "-o", path)
	if code != exitFound || out != "" || stderr != "" {
		t.Fatalf("-o: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d diff.Diff
	if err := json.Unmarshal(b, &d); err != nil || d.Schema != diff.Schema || d.Differences == 0 || d.Leaks != 1 {
		t.Errorf("-o changes.json did not write the JSON form: %v\n%s", err, b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the output directory holds %d files, want 1", len(entries))
	}
}

// TestDiffNotExact: a snapshot taken without kcmp is named so in every
// form, and the warning reaches stderr when the output is not text.
func TestDiffNotExact(t *testing.T) {
	s := mustLoad(t, diffAfter)
	s.Exact = false
	approx := writeSnapshot(t, t.TempDir(), "approx.json", s)
	for _, format := range []string{"text", "json", "dot"} {
		out, stderr, code := runCLI(t, "diff", diffBefore, approx, "--format", format)
		if code != exitFound || !strings.Contains(out, "NOT EXACT") {
			t.Errorf("--format %s: exit %d, output does not say NOT EXACT:\n%s", format, code, out)
		}
		if format != "text" && !strings.HasPrefix(stderr, "kcmpgraph: warning: NOT EXACT: AFTER") {
			t.Errorf("--format %s: stderr %q", format, stderr)
		}
	}
	if _, stderr, _ := runCLI(t, "diff", diffBefore, approx, "--format", "json", "-q"); stderr != "" {
		t.Errorf("-q: stderr %q", stderr)
	}
	if out, _, code := runCLI(t, "diff", approx, approx); code != 0 || !strings.HasPrefix(out, "! NOT EXACT") {
		t.Errorf("self diff of a snapshot that is not exact: exit %d\n%s", code, out)
	}
}

func TestDiffStdin(t *testing.T) {
	f, err := os.Open(diffBefore)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stdin := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = stdin }()
	out, stderr, code := runCLI(t, "diff", "-", diffAfter)
	if code != exitFound || !strings.HasPrefix(out, "--- -  ") {
		t.Errorf("BEFORE from stdin: exit %d %s\n%s", code, stderr, out)
	}
}

// TestDiffTrouble: unreadable or invalid input and bad usage exit 2 with
// one line that names the problem.
func TestDiffTrouble(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	syntax := write("syntax.json", "{\n \"schema\": \"kcmpgraph.snapshot/v1\",\n \"processes\": [,]\n}\n")
	v2 := write("v2.json", `{"schema": "kcmpgraph.snapshot/v2", "processes": []}`)
	noSchema := write("graph.json", `{"nodes": []}`)
	badRef := write("badref.json", `{"schema": "kcmpgraph.snapshot/v1", "processes": [{"pid": 1, "fds": []}],
		"groups": [{"type": "file", "members": [{"pid": 1, "fd": 3}, {"pid": 2, "fd": 3}]}]}`)

	wantUsageError(t, "syntax.json:3:16: bad JSON", "diff", diffBefore, syntax)
	wantUsageError(t, `v2.json: schema: "kcmpgraph.snapshot/v2" is not supported`, "diff", v2, diffAfter)
	wantUsageError(t, "graph.json: schema: missing; not a kcmpgraph snapshot", "diff", diffBefore, noSchema)
	wantUsageError(t, "badref.json: groups[0].members[0]: fd 3 is not an fd of pid 1", "diff", badRef, diffAfter)
	wantUsageError(t, "missing.json: cannot open", "diff", diffBefore, filepath.Join(dir, "missing.json"))
	wantUsageError(t, "is a directory, not a snapshot file", "diff", dir, diffAfter)
	wantUsageError(t, "BEFORE and AFTER cannot both be standard input", "diff", "-", "-")
	wantUsageError(t, `--format: "xml" is not supported (valid: text, json, dot, svg)`, "diff", diffBefore, diffAfter, "--format", "xml")
	wantUsageError(t, `unknown kcmp type "mm"`, "diff", diffBefore, diffAfter, "--types", "mm")
	wantUsageError(t, `--pid: "x" is not a pid`, "diff", diffBefore, diffAfter, "--pid", "x")
	wantUsageError(t, "none of the others can be", "diff", diffBefore, diffAfter, "--pid", "1", "--tree", "1")
	wantUsageError(t, "accepts 2 arg(s), received 1", "diff", diffBefore)
	wantUsageError(t, "accepts 2 arg(s), received 3", "diff", diffBefore, diffAfter, diffAfter)
	wantUsageError(t, "does not exist", "diff", diffBefore, diffAfter, "-o", filepath.Join(dir, "no", "out.txt"))
	wantUsageError(t, "diagram too large", "diff", diffBefore, diffAfter, "--format", "dot", "--max-nodes", "2")
	if entries, _ := os.ReadDir(dir); len(entries) != 4 {
		t.Errorf("failed runs left files behind: %v", entries)
	}
}

// TestDiffSVG renders the diff diagram with the kcmpgraph binary (not
// in-process: the renderer child would be this race-instrumented test
// binary, which takes ten times longer to compile graphviz).
func TestDiffSVG(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kcmpgraph")
	}
	path := filepath.Join(t.TempDir(), "changes.svg")
	start := time.Now()
	out, err := exec.Command(kcmpgraphBinary(t), "diff", diffBefore, diffAfter, "--ignore-stdio", "-o", path).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFound {
		t.Fatalf("diff -o changes.svg: %v %s (%v)", err, out, time.Since(start))
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte("#2ca02c")) {
		t.Fatalf("diff -o changes.svg: %v\n%.300s", err, b)
	}
}
