//go:build linux

package webview

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/analyzer/audit"
	"github.com/kcmpgraph/kcmpgraph/analyzer/diff"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
)

func load(t *testing.T, path string) *snapshot.Snapshot {
	t.Helper()
	s, err := snapshot.LoadFile(path, snapshot.LoadOptions{})
	testkit.Check(t, err)
	return s
}

// hostileSnapshot is the audit's test host with a process whose strings
// are crafted.
func hostileSnapshot(t *testing.T) *snapshot.Snapshot {
	s := load(t, "../../analyzer/audit/testdata/host.json")
	p := &s.Processes[0]
	p.Comm = "</script><script>alert(1)</script>\u2028\u2029"
	p.Cmdline = []string{`"><img src=x onerror=alert(2)>`, "<!--", "\u202e\xff"}
	p.FDs[0].Target = "/tmp/</SCRIPT >&amp;\xfe"
	return s
}

// TestReportData: the data element holds the model as JSON that cannot
// end the element, and reads back as the model.
func TestReportData(t *testing.T) {
	s := hostileSnapshot(t)
	rep, err := audit.Run(s, audit.Options{})
	testkit.Check(t, err)
	m := Build(s, Options{Audit: rep})
	var buf bytes.Buffer
	testkit.Check(t, WriteReport(&buf, m))
	html := buf.String()
	const open, end = `<script type="application/json" id="kg-data">`, "</script>"
	i := strings.Index(html, open)
	if i < 0 {
		t.Fatal("no data element")
	}
	data := html[i+len(open):]
	data = data[:strings.Index(data, end)]
	if strings.ContainsAny(data, "<>&\u2028\u2029") {
		t.Errorf("data holds markup characters or line separators")
	}
	var back Model
	testkit.Check(t, json.Unmarshal([]byte(data), &back))
	if back.Procs[0].Comm != `</script><script>alert(1)</script>\u2028\u2029` || back.Procs[0].Cmd != `"><img src=x onerror=alert(2)> <!-- \u202e\xff` {
		t.Errorf("comm %q cmd %q: not the escaped text", back.Procs[0].Comm, back.Procs[0].Cmd)
	}
	if len(back.Findings) != len(rep.Findings) || len(back.Boxes) == 0 || len(back.Edges) == 0 {
		t.Errorf("%d findings (audit: %d), %d boxes, %d edges", len(back.Findings), len(rep.Findings), len(back.Boxes), len(back.Edges))
	}
	// Nothing is fetched: no element with src or href, no url() or
	// @import, no address but XML namespace names and the library's home
	// in its banner comment.
	markup := html[:i] + html[i+len(open)+len(data):]
	if m := regexp.MustCompile(`(?i)<[a-z][^>]*\s(src|href)=|url\(|@import|<link|<img|<iframe`).FindString(markup); m != "" {
		t.Errorf("the report may fetch something: %q", m)
	}
	for _, u := range regexp.MustCompile(`https?://[^\s"')]*`).FindAllString(markup, -1) {
		if !strings.HasPrefix(u, "http://www.w3.org/") && u != "https://github.com/bumbu/svg-pan-zoom" {
			t.Errorf("the report names %s", u)
		}
	}
}

// TestReportCSP: the meta CSP names the hash of each inline script and
// style, and only those.
func TestReportCSP(t *testing.T) {
	var buf bytes.Buffer
	testkit.Check(t, WriteReport(&buf, Build(load(t, "../testdata/small.json"), Options{})))
	html := buf.String()
	csp := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(html)
	if csp == nil {
		t.Fatal("no CSP meta element")
	}
	var scripts, styles []string
	for _, m := range regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(html, -1) {
		scripts = append(scripts, hash([]byte(m[1])))
	}
	for _, m := range regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(html, -1) {
		styles = append(styles, hash([]byte(m[1])))
	}
	if len(scripts) != 2 || len(styles) != 1 {
		t.Fatalf("%d inline scripts, %d styles; want 2 and 1", len(scripts), len(styles))
	}
	want := "default-src 'none'; script-src " + strings.Join(scripts, " ") + "; style-src " + styles[0] +
		"; img-src 'none'; base-uri 'none'; form-action 'none'"
	if csp[1] != want {
		t.Errorf("CSP\n %s\nwant\n %s", csp[1], want)
	}
	if strings.Contains(csp[1], "unsafe") {
		t.Error("CSP allows unsafe sources")
	}
}

func TestInlineRefusesEndTags(t *testing.T) {
	for _, s := range []string{"a</script>b", "a</SCRIPT b", "<!-- x"} {
		if _, err := inline("script", []byte(s)); err == nil {
			t.Errorf("inline(%q) accepted", s)
		}
	}
}

func TestDiffModel(t *testing.T) {
	before, after := load(t, "../../analyzer/diff/testdata/before.json"), load(t, "../../analyzer/diff/testdata/after.json")
	d := diff.Compare(before, after, "before.json", "after.json", diff.Options{})
	m := BuildDiff(before, after, d, Options{})
	if m.Mode != "diff" || len(m.Changes) == 0 {
		t.Fatalf("mode %q, %d changes", m.Mode, len(m.Changes))
	}
	status := map[string]int{}
	for _, b := range m.Boxes {
		status[b.Status]++
	}
	for _, p := range d.Started {
		if pr := m.Procs[index(m, p.PID)]; pr.Status != "started" || m.Boxes[pr.Box].Status != "started" {
			t.Errorf("started pid %d: status %q", p.PID, pr.Status)
		}
	}
	for _, p := range d.Exited {
		if i := index(m, p.PID); i < 0 || m.Procs[i].Status == "" {
			t.Errorf("exited pid %d not drawn as such", p.PID)
		}
	}
	leaks := 0
	for _, c := range m.Changes {
		if c.Leak {
			leaks++
		}
	}
	if leaks != d.Leaks {
		t.Errorf("%d leaks in the changes, the diff has %d", leaks, d.Leaks)
	}
	edges := map[string]int{}
	for _, e := range m.Edges {
		edges[e.Status]++
	}
	if edges["added"]+edges["removed"] == 0 {
		t.Errorf("no coloured edges: %v", edges)
	}
	var buf bytes.Buffer
	testkit.Check(t, WriteReport(&buf, m))
}

// TestLayoutBounds: every box is inside the diagram, no two overlap, no
// row is wider than maxRow, also with many processes collapsed.
func TestLayoutBounds(t *testing.T) {
	s := load(t, "../../analyzer/audit/testdata/host.json")
	base := s.Processes[1]
	for i := 0; i < 900; i++ {
		p := base
		p.PID, p.PPID, p.Comm, p.FDs = 10000+i, base.PID, "w"+string(rune('a'+i%7)), nil
		s.Processes = append(s.Processes, p)
	}
	// A loop of parents has no root: it is drawn all the same.
	s.Processes = append(s.Processes, snapshot.Process{PID: 50000, PPID: 50001, Comm: "a"}, snapshot.Process{PID: 50001, PPID: 50000, Comm: "b"})
	m := Build(s, Options{})
	if len(m.Boxes) >= 100 {
		t.Errorf("%d processes in %d boxes: not collapsed", len(m.Procs), len(m.Boxes))
	}
	for _, p := range m.Procs {
		if p.Box < 0 {
			t.Fatalf("pid %d has no box", p.PID)
		}
	}
	for i, a := range m.Boxes {
		if a.X < 0 || a.Y < 0 || a.X+a.W > m.Width || a.Y+a.H > m.Height {
			t.Errorf("box %d (%v) outside %vx%v", i, a, m.Width, m.Height)
		}
		for j := i + 1; j < len(m.Boxes); j++ {
			b := m.Boxes[j]
			if a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H {
				t.Errorf("boxes %d and %d overlap", i, j)
			}
		}
	}
	if m.Width > maxRow+200 {
		t.Errorf("diagram %v wide", m.Width)
	}
}

func newTestServer(t *testing.T, rescan func(context.Context) (*Model, error)) *Server {
	m := Build(load(t, "../testdata/small.json"), Options{})
	s, err := NewServer(m, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4242}, false, rescan)
	testkit.Check(t, err)
	return s
}

func request(s *Server, method, path, host string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	r.Host = host
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

// TestServerHeaders: every answer carries the CSP and nosniff and no
// CORS header; only the page, its assets and its API exist.
func TestServerHeaders(t *testing.T) {
	s := newTestServer(t, nil)
	for path, code := range map[string]int{"/": 200, "/assets/app.js": 200, "/assets/app.css": 200, "/assets/svg-pan-zoom.min.js": 200,
		"/api/model": 200, "/../etc/passwd": 404, "/assets/": 404, "/favicon.ico": 404, "/assets/vendor/svg-pan-zoom/LICENSE": 404} {
		w := request(s, "GET", path, "127.0.0.1:4242", nil)
		if w.Code != code {
			t.Errorf("GET %s: %d, want %d", path, w.Code, code)
		}
		h := w.Header()
		if h.Get("Content-Security-Policy") != ServerCSP || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: headers %v", path, h)
		}
		for k := range h {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("GET %s: CORS header %s", path, k)
			}
		}
	}
	if w := request(s, "GET", "/", "127.0.0.1:4242", nil); strings.Contains(w.Body.String(), "kg-data") || !strings.Contains(w.Body.String(), `src="assets/app.js"`) {
		t.Error("the served page is not the page of assets")
	}
	if w := request(s, "POST", "/", "127.0.0.1:4242", nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", w.Code)
	}
	if !strings.Contains(ServerCSP, "default-src 'none'") || strings.Contains(ServerCSP, "unsafe") || strings.Contains(ServerCSP, "*") {
		t.Errorf("ServerCSP %q", ServerCSP)
	}
}

// TestServerHost: a request naming another host (a DNS rebinding page)
// is refused, reads included; localhost is this loopback server.
func TestServerHost(t *testing.T) {
	s := newTestServer(t, nil)
	for host, code := range map[string]int{"127.0.0.1:4242": 200, "localhost:4242": 200, "LOCALHOST:4242": 200,
		"evil.example:4242": 421, "127.0.0.1:80": 421, "": 421, "127.0.0.1": 421} {
		if w := request(s, "GET", "/api/model", host, nil); w.Code != code {
			t.Errorf("Host %q: %d, want %d", host, w.Code, code)
		}
	}
}

// TestServerRescan: a scan runs only for a POST whose Origin is the
// server itself, and only when live.
func TestServerRescan(t *testing.T) {
	scans := 0
	s := newTestServer(t, func(context.Context) (*Model, error) {
		scans++
		return Build(load(t, "../testdata/small.json"), Options{Title: "again"}), nil
	})
	const host = "127.0.0.1:4242"
	for _, c := range []struct {
		method string
		header map[string]string
		code   int
	}{
		{"GET", map[string]string{"Origin": "http://" + host}, 405},
		{"POST", nil, 403},
		{"POST", map[string]string{"Origin": "http://evil.example"}, 403},
		{"POST", map[string]string{"Origin": "null"}, 403},
		{"POST", map[string]string{"Origin": "http://" + host, "Sec-Fetch-Site": "cross-site"}, 403},
		{"POST", map[string]string{"Origin": "http://" + host, "Sec-Fetch-Site": "same-origin"}, 200},
	} {
		if w := request(s, c.method, "/api/rescan", host, c.header); w.Code != c.code {
			t.Errorf("%s %v: %d, want %d", c.method, c.header, w.Code, c.code)
		}
	}
	if scans != 1 {
		t.Errorf("%d scans, want 1", scans)
	}
	var m Model
	testkit.Check(t, json.Unmarshal(request(s, "GET", "/api/model", host, nil).Body.Bytes(), &m))
	if m.Title != "again" || !m.Live {
		t.Errorf("after the rescan the model is %q (live %v)", m.Title, m.Live)
	}
	off := newTestServer(t, nil)
	if w := request(off, "POST", "/api/rescan", host, map[string]string{"Origin": "http://" + host}); w.Code != http.StatusConflict {
		t.Errorf("rescan of a snapshot: %d", w.Code)
	}
}

// FuzzReport: any snapshot the loader accepts makes a report whose data
// cannot end its element and reads back as JSON, without a panic.
func FuzzReport(f *testing.F) {
	for _, name := range []string{"../../analyzer/audit/testdata/host.json", "../../analyzer/diff/testdata/hostile-after.json", "../testdata/small.json"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := snapshot.Parse(data, "fuzz.json")
		if err != nil {
			return
		}
		rep, err := audit.Run(s, audit.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteReport(&buf, Build(s, Options{Audit: rep})); err != nil {
			t.Fatal(err)
		}
		html := buf.String()
		const open = `<script type="application/json" id="kg-data">`
		i := strings.Index(html, open) + len(open)
		j := strings.Index(html[i:], "</script>")
		if j < 0 || strings.ContainsAny(html[i:i+j], "<>&\u2028\u2029") || !json.Valid([]byte(html[i:i+j])) {
			t.Fatalf("data element broken")
		}
	})
}
