//go:build linux

package graphout

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gonum.org/v1/gonum/graph/encoding/dot"
	"gonum.org/v1/gonum/graph/multi"

	"github.com/kcmpgraph/kcmpgraph/analyzer"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// TestLiveHostileNames draws a live process whose comm is crafted and
// which holds a file with a crafted name, shared with its child.
func TestLiveHostileNames(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	// A short directory, so the crafted part fits in a label.
	dir, err := os.MkdirTemp("/tmp", "k")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	name := filepath.Join(dir, "\"><script>x<\\script>\n\x1b[31m\\N<b>")
	if err := os.WriteFile(name, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Open(name, unix.O_RDONLY); err != nil {
		t.Fatal(err)
	}
	if err := root.SetComm("<b>\"x\\\x1b"); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Fork(); err != nil {
		t.Fatal(err)
	}
	snap, err := analyzer.Run(context.Background(), analyzer.Options{Scan: procscan.Options{Tree: root.PID()}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Build(snap, Options{NoCollapse: true, View: ViewObjects})
	if err != nil {
		t.Fatal(err)
	}
	text, err := d.DOT()
	if err != nil {
		t.Fatal(err)
	}
	back := multi.NewDirectedGraph()
	if err := dot.UnmarshalMulti(text, back); err != nil {
		t.Fatalf("DOT of a live hostile process does not parse back: %v\n%s", err, text)
	}
	if back.Nodes().Len() != d.g.Nodes().Len() || back.Edges().Len() != d.g.Edges().Len() {
		t.Errorf("parsed back %d nodes %d edges, built %d and %d", back.Nodes().Len(), back.Edges().Len(), d.g.Nodes().Len(), d.g.Edges().Len())
	}
	if !bytes.Contains(text, []byte(`<script>`)) || bytes.Contains(text, []byte("\x1b")) || bytes.Contains(text, []byte("=<")) {
		t.Errorf("hostile text not inert in the DOT:\n%s", text)
	}
	if !strings.Contains(string(text), `\\x1b`) {
		t.Errorf("escape byte not shown as text:\n%s", text)
	}
}

// TestLiveNginx draws a live server shaped like nginx: a root master with
// TCP (IPv4 and IPv6) and unix listeners and two logs, four workers that
// setuid to nobody and inherit them, and a socketpair of its own between
// the master and each worker. The diagram has at most three boxes, names
// every listener and the workers' user, is no more than three times as
// wide as high, and no two labels overlap nor spill out of their boxes in
// a real browser's fonts.
func TestLiveNginx(t *testing.T) {
	testkit.RequireKcmp(t)
	testkit.RequireRoot(t, "the workers setuid to nobody")
	f := fixture.New(t)
	master := f.Root()
	must, must2 := testkit.Must[int](t), testkit.Must2[int, int](t)
	dir := t.TempDir()
	testkit.Check(t, master.SetComm("nginx"))
	_, port := must2(master.TCPListen("127.0.0.1", 0))
	listeners := []string{fmt.Sprintf("tcp 127.0.0.1:%d LISTEN", port)}
	if _, port6, err := master.TCPListen("::1", 0); err == nil {
		listeners = append(listeners, fmt.Sprintf("tcp [::1]:%d LISTEN", port6))
	}
	sock := filepath.Join(dir, "nginx.sock")
	must(master.Listen(sock))
	listeners = append(listeners, "unix "+sock+" LISTEN")
	must(master.Open(filepath.Join(dir, "access.log"), unix.O_WRONLY|unix.O_CREAT|unix.O_APPEND))
	must(master.Open(filepath.Join(dir, "error.log"), unix.O_WRONLY|unix.O_CREAT|unix.O_APPEND))
	var workers []*fixture.Node
	for range 4 {
		w := testkit.Must[*fixture.Node](t)(master.Fork())
		testkit.Check(t, w.Setuid(65534, 65534))
		workers = append(workers, w)
	}
	for _, w := range workers {
		_, theirs := must2(master.Socketpair(unix.SOCK_STREAM))
		must(master.SendFD(theirs, w))
		testkit.Check(t, master.Close(theirs))
	}
	snap, err := analyzer.Run(context.Background(), analyzer.Options{Scan: procscan.Options{Tree: master.PID()}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Build(snap, Options{Users: localUser})
	if err != nil {
		t.Fatal(err)
	}
	if d.Processes > 3 {
		t.Errorf("%d process boxes, want at most 3", d.Processes)
	}
	text, err := d.DOT()
	if err != nil {
		t.Fatal(err)
	}
	var svg bytes.Buffer
	opts := RenderOptions{Timeout: 5 * time.Minute} // the renderer is this test binary: slow to compile graphviz under -race
	start := time.Now()
	if err := Render(context.Background(), text, d.Layout(), &svg, opts); err != nil {
		t.Fatal(err)
	}
	t.Logf("rendered %d boxes and %d notes with %s in %v", d.Processes, d.Objects, d.Layout(), time.Since(start))
	if dir := os.Getenv("KCMPGRAPH_KEEP_SVG"); dir != "" {
		os.WriteFile(filepath.Join(dir, "nginx.svg"), svg.Bytes(), 0o644)
	}
	rep := measureInBrowser(t, svg.Bytes())
	shown := rep.textOf()
	for _, want := range append(listeners, "access.log", "error.log", "nobody", "root", "4 × nginx") {
		if !strings.Contains(shown, want) {
			t.Errorf("the diagram does not show %q; it shows:\n%s", want, shown)
		}
	}
	if rep.Width > 3*rep.Height || rep.Height > 3*rep.Width {
		t.Errorf("aspect %.0f×%.0f px is more than 3:1", rep.Width, rep.Height)
	}
	for _, o := range rep.overlaps() {
		t.Error(o)
	}
}

// localUser names a uid from this machine's user database.
func localUser(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return ""
}
