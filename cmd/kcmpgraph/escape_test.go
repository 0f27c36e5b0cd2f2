//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/escape"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// hostileNames are what a process can name itself or a file and what a
// crafted snapshot can hold, besides what the hostile testdata snapshots
// hold already: terminal controls, bidi and zero-width characters, a
// byte order mark, markup that ends a script or opens an attribute, text
// that graphviz and HTML would decode as entities, invalid UTF-8.
var hostileNames = []string{
	"esc\x1b[31mred cr\rret bel\x07",
	"rlo\u202egpj.exe",
	"zero\u200bwidth",
	"bom\ufeffmark",
	"</script><script>alert(1)</script>",
	`"><img src=x onerror=x>`,
	"amp&lt;&#x3c;",
	"bad\xff\xfeutf8\xc3",
}

// hostileComm is a command name with the same kinds of bytes, short
// enough for the kernel's 15.
const hostileComm = "\x1b]0;t\x07\u202e<\xff"

// addHostile writes a copy of the snapshot at path with one more process,
// pid 999 of uid 3999999 in a container of a pod, whose command, command
// line, executable, cgroup, container and fds carry hostileNames; each
// fd is shared, by inode, with pid, a root process of the snapshot (so
// diagrams draw the names and the audit names the process).
func addHostile(t *testing.T, path string, pid int) string {
	t.Helper()
	s, err := snapshot.LoadFile(path, snapshot.LoadOptions{})
	testkit.Check(t, err)
	var host *snapshot.Process
	for i := range s.Processes {
		if s.Processes[i].PID == pid {
			host = &s.Processes[i]
		}
	}
	if host == nil {
		t.Fatalf("%s has no pid %d", path, pid)
	}
	p := snapshot.Process{PID: 999, PPID: pid, Comm: hostileComm, State: "S", UID: 3999999, EUID: 3999999,
		StartTime: 99, Tasks: []int{999}, Cmdline: append([]string{"/bin/x"}, hostileNames...), Exe: "/bin/" + hostileNames[6],
		Cgroup: "/kubepods/" + hostileNames[1], Unit: hostileNames[3] + ".service", Slice: hostileNames[2] + ".slice",
		Container: &snapshot.Container{Runtime: "containerd", ID: strings.Repeat("ab", 32), Name: hostileNames[1] + hostileNames[0],
			Source: "cgroup", Pod: &snapshot.Pod{UID: "1234", Namespace: hostileNames[2], Name: hostileNames[5]}}}
	for i, name := range hostileNames {
		fd := snapshot.FD{FD: 100 + i, Target: "/tmp/" + name, Dev: 77, Ino: uint64(9000 + i), Flags: 2, Mode: 0o100644}
		p.FDs = append(p.FDs, fd)
		host.FDs = append(host.FDs, fd)
		s.Groups = append(s.Groups, snapshot.Group{Type: "file", Members: []snapshot.Member{{PID: pid, FD: fd.FD}, {PID: 999, FD: fd.FD}}})
	}
	s.Processes = append(s.Processes, p)
	s.Stats.Processes++
	s.Stats.Tasks++
	s.Stats.FDs += 2 * len(hostileNames)
	s.Warnings = append(s.Warnings, "warned of "+hostileNames[0]+hostileNames[1]+hostileNames[7])
	out := filepath.Join(t.TempDir(), filepath.Base(path))
	var b bytes.Buffer
	testkit.Check(t, s.Encode(&b))
	testkit.Check(t, os.WriteFile(out, b.Bytes(), 0o600))
	return out
}

// medium is what an output is read with.
type medium int

const (
	terminal medium = iota // a person at a terminal
	dotText                // graphviz
	svgImage               // a browser or image viewer
	htmlPage               // a browser
	jsonData               // a program (kcmpgraph's own JSON, SARIF)
	promText               // Prometheus or node_exporter
)

// outputRun is one command line and the medium of its output.
type outputRun struct {
	args   []string
	medium medium
}

// TestEveryOutputIsInert runs every command in every format over hostile
// snapshots (testdata/hostile.json and the hostile diff pair, the first
// and the after snapshot with one more process of hostileNames) and over
// a live tree of processes and files with such names, and checks each output for what its medium
// does with text: a terminal sees no control, format or invalid bytes; a
// DOT file has hostile text only in quoted labels that graphviz shows
// literally (no escape or entity it decodes); an SVG or HTML page has it
// only as character data, never as markup; JSON is valid and keeps
// invalid UTF-8 in its escaped form (\udcXX), never as U+FFFD; metrics
// carry no name at all but in the container labels, inert. Every
// command's stderr is terminal text. Each medium must show the hostile
// names somewhere, in its own escaped form, so that no check passes on
// output that left them out.
func TestEveryOutputIsInert(t *testing.T) {
	const diffDir = "../../analyzer/diff/testdata/"
	snap := addHostile(t, "testdata/hostile.json", 10)
	before := diffDir + "hostile-before.json" // the diff shows pid 999 start
	after := addHostile(t, diffDir+"hostile-after.json", 300)
	dir := t.TempDir()
	out := func(name string) string { return filepath.Join(dir, name) }

	var runs []outputRun
	offline := func(name, s string) {
		for _, r := range []outputRun{
			{[]string{"show"}, terminal},
			{[]string{"show", "--wide"}, terminal},
			{[]string{"show", "--format", "json"}, jsonData},
			{[]string{"graph"}, dotText},
			{[]string{"graph", "--view", "objects"}, dotText},
			{[]string{"graph", "-o", out(name + "-graph.svg")}, svgImage},
			{[]string{"graph", "--view", "objects", "-o", out(name + "-objects.svg")}, svgImage},
			{[]string{"audit"}, terminal},
			{[]string{"audit", "--format", "json"}, jsonData},
			{[]string{"audit", "--format", "sarif"}, jsonData},
			{[]string{"report"}, htmlPage},
			{[]string{"metrics"}, promText},
			{[]string{"metrics", "--findings-by-container"}, promText},
		} {
			runs = append(runs, outputRun{append([]string{r.args[0], s}, r.args[1:]...), r.medium})
		}
	}
	offline("hostile", snap)
	runs = append(runs, outputRun{[]string{"graph", snap, "--around", "999", "--depth", "2"}, dotText},
		outputRun{[]string{"graph", snap, "--around", "999:106"}, dotText})
	if testing.Short() {
		t.Log("-short: no live tree")
	} else if live, liveRuns := hostileLiveTree(t); live != "" {
		offline("live", live)
		runs = append(runs, liveRuns...)
	}
	runs = append(runs,
		outputRun{[]string{"diff", before, after}, terminal},
		outputRun{[]string{"diff", before, after, "--summary"}, terminal},
		outputRun{[]string{"diff", before, after, "--format", "json"}, jsonData},
		outputRun{[]string{"diff", before, after, "--format", "dot"}, dotText},
		outputRun{[]string{"diff", before, after, "-o", out("diff.svg")}, svgImage},
		outputRun{[]string{"report", before, after}, htmlPage},
		outputRun{[]string{"show", before, "--format", "json"}, jsonData},
	)

	// A page from harmless snapshots has the elements every page must have.
	benign := map[int][]string{}
	for n, args := range map[int][]string{1: {"report", hostJSON}, 2: {"report", diffDir + "before.json", diffDir + "after.json"}} {
		page, stderr, code := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, stderr)
		}
		benign[n], _ = htmlShape(t, "a harmless page", page)
	}

	shown := map[medium]*strings.Builder{}
	for _, r := range runs {
		what := strings.Join(r.args, " ")
		stdout, stderr, code := runCLI(t, r.args...)
		if code > exitFound {
			t.Errorf("%s: exit %d %s", what, code, stderr)
			continue
		}
		checkInert(t, what+": stderr", stderr)
		text := stdout
		if i := slices.Index(r.args, "-o"); i >= 0 {
			b, err := os.ReadFile(r.args[i+1])
			testkit.Check(t, err)
			text = string(b)
		}
		if text == "" {
			t.Errorf("%s wrote nothing", what)
			continue
		}
		var s string
		switch r.medium {
		case terminal:
			checkInert(t, what, text)
			s = text
		case dotText:
			s = checkDOTInert(t, what, text)
		case svgImage:
			s = checkSVGInert(t, what, text)
		case htmlPage:
			pages := 1
			if len(r.args) > 2 && r.args[2] == after {
				pages = 2
			}
			s = checkHTMLInert(t, what, text, benign[pages])
		case jsonData:
			s = checkJSONKeepsBytes(t, what, text)
		case promText:
			s = checkMetricsInert(t, what, text)
		}
		// The names hold no backslash: an escaped escape is text
		// escaped twice (audit headlines once were).
		if r.medium != jsonData {
			for _, twice := range []string{`\\x1b`, `\\u202e`, `\\xff`, `\\a`, `\\r`} {
				if i := strings.Index(s, twice); i >= 0 {
					t.Errorf("%s: escaped twice: %.80q", what, s[max(0, i-30):])
				}
			}
		}
		if shown[r.medium] == nil {
			shown[r.medium] = &strings.Builder{}
		}
		shown[r.medium].WriteString(s)
	}
	// A snapshot written by show loads back byte for byte.
	again := out("again.json")
	if _, stderr, code := runCLI(t, "show", snap, "--format", "json", "-o", again); code != 0 {
		t.Fatalf("show -o: exit %d %s", code, stderr)
	}
	s, err := snapshot.LoadFile(again, snapshot.LoadOptions{})
	testkit.Check(t, err)
	if p := s.Process(999); p == nil || p.Comm != hostileComm || len(p.FDs) != len(hostileNames) || p.FDs[7].Target != "/tmp/"+hostileNames[7] {
		t.Errorf("pid 999 read back as %+v", p)
	}

	// What each medium shows for the names: Text's escapes (Go's), and in
	// JSON the escaped form of the invalid bytes.
	for m, want := range map[medium][]string{
		terminal: {`esc\x1b[31mred cr\rret bel\a`, `rlo\u202egpj.exe`, `zero\u200bwidth`, `bom\ufeffmark`, "amp&lt;&#x3c;", `bad\xff\xfeutf8\xc3`, `"><img src=x onerror=x>`, "</script>"},
		dotText:  {`rlo\u202egpj.exe`, "amp&lt;&#x3c;", `bad\xff\xfeutf8\xc3`, `"><img src=x onerror=x>`},
		svgImage: {`rlo\u202egpj.exe`, "amp&lt;&#x3c;", `bad\xff\xfeutf8\xc3`, `"><img src=x onerror=x>`},
		htmlPage: {`rlo\u202egpj.exe`, "amp&lt;&#x3c;", `bad\xff\xfeutf8\xc3`, `"><img src=x onerror=x>`, "</script><script>alert(1)</script>"},
		jsonData: {`bad\udcff\udcfeutf8\udcc3`, `\u003c/script\u003e`, `amp\u0026lt;\u0026#x3c;`},
		promText: {`rlo\u202egpj.exe`},
	} {
		got := ""
		if shown[m] != nil {
			got = shown[m].String()
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("no output of medium %d shows %q", m, w)
			}
		}
	}
}

// hostileLiveTree starts a tree of two processes named hostileComm that
// share open files named hostileNames, scans it to a snapshot, and
// returns the snapshot and the runs of the live-only commands on the
// tree; "" and nil where kcmp is missing.
func hostileLiveTree(t *testing.T) (string, []outputRun) {
	if err := kcmp.Probe(); err != nil {
		t.Logf("no live tree: %v", err)
		return "", nil
	}
	f := fixture.New(t)
	root := f.Root()
	testkit.Check(t, root.SetComm(hostileComm))
	files := t.TempDir()
	var fds []int
	for _, name := range hostileNames {
		path := filepath.Join(files, "f-"+name)
		testkit.Check(t, os.MkdirAll(filepath.Dir(path), 0o700))
		testkit.Check(t, os.WriteFile(path, nil, 0o600))
		fd, err := root.Open(path, os.O_RDONLY)
		testkit.Check(t, err)
		fds = append(fds, fd)
	}
	child, err := root.Fork()
	testkit.Check(t, err)
	thread, err := root.Thread()
	testkit.Check(t, err)
	snap := filepath.Join(t.TempDir(), "live.json")
	tree := strconv.Itoa(root.PID())
	if _, stderr, code := runCLI(t, "scan", "--tree", tree, "-o", snap); code != 0 {
		t.Fatalf("scan --tree: exit %d %s", code, stderr)
	}
	var runs []outputRun
	add := func(m medium, args ...string) { runs = append(runs, outputRun{args, m}) }
	for _, fd := range fds {
		add(terminal, "who", strconv.Itoa(child.PID())+":"+strconv.Itoa(fd), "--tree", tree)
	}
	add(terminal, "who", strconv.Itoa(thread)+":"+strconv.Itoa(fds[0]), "--tree", tree, "--wide")
	add(terminal, "cmp", strconv.Itoa(thread), strconv.Itoa(child.PID()))
	add(terminal, "cmp", strconv.Itoa(thread), strconv.Itoa(child.PID()), "--type", "file", "--fd", strconv.Itoa(fds[1])+":"+strconv.Itoa(fds[1]))
	add(terminal, "scan", "--tree", tree, "--format", "table")
	add(jsonData, "scan", "--tree", tree, "--format", "json")
	return snap, runs
}

// checkDOTInert fails unless every string in the DOT text is a quoted
// one whose only escapes are \\, \" and kcmpgraph's own line breaks (\n,
// \l, \r) and whose only entity is &amp;, so that graphviz shows it
// literally; nothing outside quotes but ASCII; no HTML-like label. It
// returns the labels as graphviz shows them.
func checkDOTInert(t *testing.T, what, text string) string {
	t.Helper()
	var shown strings.Builder
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(text) && text[j] != '"'; j++ {
				switch text[j] {
				case '\\':
					if j++; j == len(text) {
						break
					}
					switch e := text[j]; e {
					case '\\', '"':
						b.WriteByte(e)
					case 'n', 'l', 'r':
						b.WriteByte('\n')
					default:
						t.Errorf("%s: a quoted string holds \\%c, which graphviz interprets: %.120q", what, e, text[i:])
						return ""
					}
				case '&':
					if !strings.HasPrefix(text[j:], "&amp;") {
						t.Errorf("%s: a quoted string holds an entity graphviz decodes: %.120q", what, text[j:])
						return ""
					}
					b.WriteByte('&')
					j += len("&amp;") - 1
				default:
					b.WriteByte(text[j])
				}
			}
			if j >= len(text) {
				t.Errorf("%s: a quoted string does not end: %.120q", what, text[i:])
				return ""
			}
			checkInert(t, what+": label", b.String())
			shown.WriteString(b.String())
			shown.WriteByte('\n')
			i = j
		case c == '/' && strings.HasPrefix(text[i:], "//"):
			end := strings.IndexByte(text[i:], '\n')
			if end < 0 {
				end = len(text) - i
			}
			for _, r := range text[i : i+end] {
				if r < 0x20 || r >= 0x7f {
					t.Errorf("%s: a comment holds %U: %.120q", what, r, text[i:i+end])
					return ""
				}
			}
			i += end - 1
		case c == '<':
			t.Errorf("%s: an HTML-like label: %.120q", what, text[i:])
			return ""
		case c >= 0x7f || c < 0x20 && c != '\n' && c != '\t':
			t.Errorf("%s: byte %#x outside a quoted string: %.120q", what, c, text[max(0, i-40):i+1])
			return ""
		}
	}
	return shown.String()
}

// svgElements are the elements graphviz writes; a is its tooltip wrapper.
var svgElements = map[string]bool{"svg": true, "g": true, "title": true, "polygon": true, "path": true,
	"text": true, "ellipse": true, "polyline": true, "a": true}

// checkSVGInert fails unless the SVG is well-formed XML of graphviz's
// elements, without links or event handlers, whose character data and
// attribute values are inert text. It returns that text.
func checkSVGInert(t *testing.T, what, text string) string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(text))
	dec.Strict = true
	var shown strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("%s: not well-formed XML: %v", what, err)
			return ""
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if !svgElements[el.Name.Local] {
				t.Errorf("%s: element <%s>", what, el.Name.Local)
			}
			for _, a := range el.Attr {
				if n := strings.ToLower(a.Name.Local); n == "href" || strings.HasPrefix(n, "on") {
					t.Errorf("%s: attribute %s=%q on <%s>", what, a.Name.Local, a.Value, el.Name.Local)
				}
				checkInert(t, what+": attribute "+a.Name.Local, a.Value)
				shown.WriteString(a.Value + "\n")
			}
		case xml.CharData:
			checkInert(t, what+": text", string(el))
			shown.Write(el)
		case xml.Comment, xml.ProcInst, xml.Directive:
			checkInert(t, what+": comment", string(xmlBytes(el)))
		}
	}
	return shown.String()
}

func xmlBytes(tok xml.Token) []byte {
	switch el := tok.(type) {
	case xml.Comment:
		return el
	case xml.ProcInst:
		return el.Inst
	case xml.Directive:
		return el
	}
	return nil
}

// htmlShape is the sequence of a page's start tags with their attribute
// names, and the text it shows.
func htmlShape(t *testing.T, what, page string) (shape []string, shown string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(page))
	var b strings.Builder
	var in atom.Atom
	var data bool
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Errorf("%s: %v", what, z.Err())
			}
			return shape, b.String()
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			s := tok.Data
			data = false
			for _, a := range tok.Attr {
				s += " " + a.Key
				if k := strings.ToLower(a.Key); strings.HasPrefix(k, "on") || k == "src" || k == "href" || k == "srcdoc" {
					t.Errorf("%s: <%s %s=%q>", what, tok.Data, a.Key, a.Val)
				}
				if a.Key == "type" && a.Val == "application/json" {
					data = true
				}
				checkInert(t, what+": attribute "+a.Key, a.Val)
			}
			in = tok.DataAtom
			shape = append(shape, s)
		case html.EndTagToken:
			in = 0
		case html.TextToken:
			raw := string(z.Text())
			switch {
			case in == atom.Script && data:
				// The page's model, which its script shows as text.
				var v any
				jr := escape.NewJSONReader(strings.NewReader(raw))
				if err := json.NewDecoder(jr).Decode(&v); err != nil {
					t.Errorf("%s: the page's data is not JSON: %v", what, err)
					continue
				}
				jr.Restore(&v)
				walkStrings(v, func(s string) {
					checkInert(t, what+": data", s)
					b.WriteString(s + "\n")
				})
			case in == atom.Script || in == atom.Style:
			default:
				checkInert(t, what+": text", raw)
				b.WriteString(raw)
			}
		}
	}
}

// walkStrings calls f on every string in a decoded JSON value, keys too.
func walkStrings(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case []any:
		for _, e := range x {
			walkStrings(e, f)
		}
	case map[string]any:
		for k, e := range x {
			f(k)
			walkStrings(e, f)
		}
	}
}

// checkHTMLInert fails unless the page has the shape of a page made from
// a harmless snapshot (the hostile text made no element or attribute),
// loads nothing, has no event handler, and shows only inert text. It
// returns that text.
func checkHTMLInert(t *testing.T, what, page string, benign []string) string {
	t.Helper()
	shape, shown := htmlShape(t, what, page)
	if strings.Join(shape, "\n") != strings.Join(benign, "\n") {
		t.Errorf("%s: the page's elements differ from a harmless page's:\n%s\nwant\n%s", what, strings.Join(shape, "\n"), strings.Join(benign, "\n"))
	}
	return shown
}

// checkJSONKeepsBytes fails unless text is valid JSON that lost no byte to
// U+FFFD (the snapshots hold none: every one would be a lost byte).
func checkJSONKeepsBytes(t *testing.T, what, text string) string {
	t.Helper()
	if !json.Valid([]byte(text)) {
		t.Errorf("%s: not valid JSON: %.200q", what, text)
	}
	if strings.Contains(text, "\ufffd") || strings.Contains(text, `\ufffd`) {
		i := max(strings.Index(text, "\ufffd"), strings.Index(text, `\ufffd`))
		t.Errorf("%s: a byte became U+FFFD: %.120q", what, text[max(0, i-60):])
	}
	return text
}

// checkMetricsInert fails unless the exposition parses, is inert text, and
// carries no string of the snapshot but in the container labels.
func checkMetricsInert(t *testing.T, what, text string) string {
	t.Helper()
	checkInert(t, what, text)
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return ""
	}
	var shown strings.Builder
	for name, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				checkInert(t, what+": "+name+" "+l.GetName(), v)
				switch l.GetName() {
				case "namespace", "pod", "container":
					shown.WriteString(v + "\n")
				default:
					if strings.Contains(v, "/tmp/") || strings.ContainsAny(v, "<>&\x1b") {
						t.Errorf("%s: %s{%s=%q} carries a name of the snapshot", what, name, l.GetName(), v)
					}
				}
			}
		}
	}
	return shown.String()
}
