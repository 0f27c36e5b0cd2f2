//go:build linux

package graphout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// box is a rectangle as the browser measured it, in CSS pixels.
type rect struct {
	X, Y, W, H         float64
	Text, Group, Class string
}

func (a rect) overlaps(b rect, slack float64) bool {
	return a.X+slack < b.X+b.W && b.X+slack < a.X+a.W && a.Y+slack < b.Y+b.H && b.Y+slack < a.Y+a.H
}

func (a rect) inside(b rect, slack float64) bool {
	return a.X >= b.X-slack && a.Y >= b.Y-slack && a.X+a.W <= b.X+b.W+slack && a.Y+a.H <= b.Y+b.H+slack
}

// layoutReport is what the browser measured of a rendered diagram.
type layoutReport struct {
	Width, Height float64
	Texts         []rect // every text element
	Shapes        []rect // every node's outline, Group its node's id
}

// measureScript runs in the page: it measures the SVG, each text and each
// node's outline, and replaces the page with the numbers as JSON.
const measureScript = `<script>
const svg = document.querySelector('svg');
const r = e => { const b = e.getBoundingClientRect(); return {X: b.left, Y: b.top, W: b.width, H: b.height}; };
const group = e => e.closest('g.node, g.edge, g.cluster, g.graph');
const texts = [...svg.querySelectorAll('text')].map(t => {
  const g = group(t);
  return Object.assign(r(t), {Text: t.textContent, Group: g ? g.id : '', Class: g ? g.getAttribute('class') : ''});
});
const shapes = [...svg.querySelectorAll('g.node')].map(g => {
  const s = g.querySelector('polygon, path, ellipse');
  return Object.assign(r(s), {Group: g.id, Class: 'node'});
});
const box = svg.getBoundingClientRect();
const pre = document.createElement('pre');
pre.id = 'report';
pre.textContent = JSON.stringify({Width: box.width, Height: box.height, Texts: texts, Shapes: shapes});
document.body.replaceChildren(pre);
</script>`

// measureInBrowser renders svg in headless Chromium (at its natural size)
// and returns what the browser measured: the real font's text boxes, not
// graphviz's estimates.
func measureInBrowser(t *testing.T, svg []byte) layoutReport {
	t.Helper()
	return measureInWindow(t, bytes.Replace(svg, []byte(fitStyle), nil, 1), 0)
}

// measureInWindow is measureInBrowser in a window width pixels wide (0:
// Chromium's default), the SVG as it is.
func measureInWindow(t *testing.T, svg []byte, width int) layoutReport {
	t.Helper()
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (Debian package chromium; .ci/run installs it)")
	}
	dir := t.TempDir()
	body := svg
	if i := bytes.Index(body, []byte("<svg")); i >= 0 {
		body = body[i:]
	}
	var window []string
	if width > 0 {
		window = []string{fmt.Sprintf("--window-size=%d,1000", width)}
	}
	page := filepath.Join(dir, "page.html")
	doc := "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body style=\"margin:0\">" + string(body) + measureScript + "</body></html>"
	if err := os.WriteFile(page, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := slices.Concat([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
		"--user-data-dir=" + filepath.Join(dir, "profile"), "--virtual-time-budget=8000", "--dump-dom"}, window, []string{"file://" + page})
	out, err := exec.CommandContext(ctx, browser, args...).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	m := regexp.MustCompile(`(?s)<pre id="report">(.*?)</pre>`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("chromium printed no measurements:\n%.2000s", out)
	}
	var rep layoutReport
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &rep); err != nil {
		t.Fatalf("measurements: %v", err)
	}
	if len(rep.Texts) == 0 {
		t.Fatal("the browser found no text in the diagram")
	}
	return rep
}

// overlaps lists the pairs of texts that overlap (by more than a pixel),
// and the node texts that spill out of their node.
func (rep layoutReport) overlaps() []string {
	var bad []string
	for i, a := range rep.Texts {
		for _, b := range rep.Texts[i+1:] {
			if a.overlaps(b, 1) {
				bad = append(bad, fmt.Sprintf("%q (%s) overlaps %q (%s)", a.Text, a.Group, b.Text, b.Group))
			}
		}
	}
	shape := map[string]rect{}
	for _, s := range rep.Shapes {
		shape[s.Group] = s
	}
	for _, tx := range rep.Texts {
		if s, ok := shape[tx.Group]; ok && tx.Class == "node" && !tx.inside(s, 1) {
			bad = append(bad, fmt.Sprintf("%q spills out of its node %s", tx.Text, tx.Group))
		}
	}
	return bad
}

// textOf is every text of the diagram, one a line.
func (rep layoutReport) textOf() string {
	var b strings.Builder
	for _, tx := range rep.Texts {
		b.WriteString(tx.Text)
		b.WriteByte('\n')
	}
	return b.String()
}
