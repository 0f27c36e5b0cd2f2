//go:build linux

package graphout

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// hostileSVG is the rendering of hostileSnapshotSVG's diagram, shared by
// the tests that read it: each render compiles graphviz in the renderer
// child, this test binary, which takes about 15 s of CPU under -race
// (1.5 s without). Tests elsewhere that only need an SVG render with a
// kcmpgraph binary built without -race.
var hostileSVG struct {
	once sync.Once
	svg  []byte
	err  error
}

func hostileSnapshotSVG(t *testing.T) []byte {
	t.Helper()
	hostileSVG.once.Do(func() { hostileSVG.svg, hostileSVG.err = renderHostile(t) })
	if hostileSVG.err != nil {
		t.Fatal(hostileSVG.err)
	}
	return hostileSVG.svg
}

func renderHostile(t *testing.T) ([]byte, error) {
	s := load(t, "small.json")
	s.Processes[0].Comm = `"><script>alert(1)</script><a href="javascript:x">`
	s.Processes[1].Comm = "<b>\x1b[31m\xff"
	s.Processes[0].FDs[0].Target = "socket:[500]</text><image href=x onerror=alert(1)>"
	s.Processes[0].FDs[1].Target = strings.Repeat("<&>\"'", 800)
	d, err := Build(s, Options{View: ViewObjects})
	if err != nil {
		return nil, err
	}
	text, err := d.DOT()
	if err != nil {
		return nil, err
	}
	var svg bytes.Buffer
	err = Render(context.Background(), text, d.Layout(), &svg, RenderOptions{Timeout: 5 * time.Minute})
	return svg.Bytes(), err
}

// TestSVGIsInert parses the SVG as XML: every element is one graphviz
// writes, no attribute carries a link or an event handler, and the
// hostile text is there only as character data.
func TestSVGIsInert(t *testing.T) {
	svg := hostileSnapshotSVG(t)
	// a is graphviz's tooltip wrapper: xlink:title, never an href.
	allowed := map[string]bool{"svg": true, "g": true, "title": true, "polygon": true, "path": true,
		"text": true, "ellipse": true, "polyline": true, "a": true}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	dec.Strict = true
	sawText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if !allowed[el.Name.Local] {
				t.Errorf("unexpected element <%s> in the SVG", el.Name.Local)
			}
			for _, a := range el.Attr {
				n := strings.ToLower(a.Name.Local)
				if n == "href" || strings.HasPrefix(n, "on") {
					t.Errorf("attribute %s=%q on <%s>", a.Name.Local, a.Value, el.Name.Local)
				}
			}
		case xml.CharData:
			if strings.Contains(string(el), "<script>") {
				sawText = true
			}
		}
	}
	if !sawText {
		t.Error("the hostile comm is not in the SVG as text")
	}
}

// TestSVGInBrowser renders the SVG in headless Chromium and checks the
// screenshot shows a drawing.
func TestSVGInBrowser(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (Debian package chromium; .ci/run installs it)")
	}
	svg := hostileSnapshotSVG(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "sharing.svg")
	if err := os.WriteFile(page, svg, 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=1200,900", "--screenshot="+shot, "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	b := img.Bounds()
	dark := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xc000 || g < 0xc000 || bl < 0xc000 {
				dark++
			}
		}
	}
	if dark < 500 {
		t.Errorf("screenshot is nearly blank: %d drawn pixels", dark)
	}
	if os.Getenv("KCMPGRAPH_KEEP_SCREENSHOT") != "" {
		data, _ := os.ReadFile(shot)
		os.WriteFile(os.Getenv("KCMPGRAPH_KEEP_SCREENSHOT"), data, 0o644)
	}
}

// TestRenderRefusals: Render kills a renderer that outlives its timeout,
// and refuses to re-execute a program that did not call ServeRenderer.
func TestRenderRefusals(t *testing.T) {
	dot := []byte("digraph { a -> b }")
	start := time.Now()
	err := Render(context.Background(), dot, "dot", io.Discard, RenderOptions{Timeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "rendering took longer than 50ms") || time.Since(start) > 10*time.Second {
		t.Errorf("timeout: %v after %v", err, time.Since(start))
	}
	serving.Store(false)
	defer serving.Store(true)
	if err := Render(context.Background(), dot, "dot", io.Discard, RenderOptions{}); !errors.Is(err, ErrNoRenderer) {
		t.Errorf("without ServeRenderer: %v, want ErrNoRenderer", err)
	}
}

// TestWideSVGFitsWindow: a diagram wider than the browser's window is
// scaled down to the window's width, its aspect kept; a narrow one keeps
// its size.
func TestWideSVGFitsWindow(t *testing.T) {
	wide := "digraph g { node [shape=box]; { rank=same; "
	for i := range 12 {
		wide += fmt.Sprintf("n%d [label=\"a box of the host map, number %d\"]; ", i, i)
	}
	wide += "} }"
	narrow := `digraph g { a -> b }`
	for _, c := range []struct {
		name, dot string
		fits      bool
	}{{"wide", wide, true}, {"narrow", narrow, false}} {
		var svg bytes.Buffer
		if err := Render(context.Background(), []byte(c.dot), "dot", &svg, RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(svg.Bytes(), []byte(fitStyle)); n != 1 {
			t.Fatalf("%s: the style is in the SVG %d times", c.name, n)
		}
		var natural struct {
			Width  string `xml:"width,attr"`
			Height string `xml:"height,attr"`
		}
		if err := xml.Unmarshal(svg.Bytes(), &natural); err != nil {
			t.Fatal(err)
		}
		w, _ := strconv.ParseFloat(strings.TrimSuffix(natural.Width, "pt"), 64)
		h, _ := strconv.ParseFloat(strings.TrimSuffix(natural.Height, "pt"), 64)
		w, h = w*4/3, h*4/3 // points to CSS pixels
		rep := measureInWindow(t, svg.Bytes(), 1600)
		switch {
		case c.fits && (w <= 1600 || rep.Width > 1600 || rep.Width < 1500):
			t.Errorf("%s: %.0f px wide, shown %.0f px wide in a 1600 px window", c.name, w, rep.Width)
		case c.fits && math.Abs(rep.Width/rep.Height-w/h) > 0.02*w/h:
			t.Errorf("%s: aspect %.3f shown as %.3f", c.name, w/h, rep.Width/rep.Height)
		case !c.fits && math.Abs(rep.Width-w) > 1:
			t.Errorf("%s: %.0f px wide, shown %.0f px wide", c.name, w, rep.Width)
		}
	}
}
