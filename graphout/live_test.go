//go:build linux

package graphout

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
