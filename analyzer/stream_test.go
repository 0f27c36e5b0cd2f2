//go:build linux

package analyzer

import (
	"bytes"
	"context"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// A snapshot whose fds are streamed to the encoder writes the same JSON as
// one that holds them: a live scan of a fixture tree is encoded streamed,
// parsed back, and every fd the scan read is there with the same fields;
// the streamed form materialised and encoded again is byte for byte the
// same document.
func TestStreamFDsEncodesTheSameDocument(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m := testkit.Must[int](t)
	m(root.Open(os.Args[0], unix.O_RDONLY))
	testkit.Must2[int, int](t)(root.Pipe())
	child := testkit.Must[*fixture.Node](t)(root.Fork())
	m(child.Eventfd())

	snap, err := Run(context.Background(), Options{Scan: procscan.Options{Tree: root.PID()}, StreamFDs: true})
	testkit.Check(t, err)
	var streamed bytes.Buffer
	testkit.Check(t, snap.Encode(&streamed))
	total := 0
	for i := range snap.Processes {
		p := &snap.Processes[i]
		if p.FDs != nil {
			t.Fatalf("pid %d holds its fds although they are streamed", p.PID)
		}
		if p.StreamFDs != nil {
			p.FDs = p.StreamFDs(nil)
			p.StreamFDs = nil
		}
		total += len(p.FDs)
	}
	if total != snap.Stats.FDs || total < 8 {
		t.Errorf("streamed %d fds, the scan read %d", total, snap.Stats.FDs)
	}
	var held bytes.Buffer
	testkit.Check(t, snap.Encode(&held))
	if !bytes.Equal(streamed.Bytes(), held.Bytes()) {
		t.Errorf("streamed and held encodings differ:\n%s\n---\n%s", streamed.String(), held.String())
	}
	back, err := snapshot.Parse(streamed.Bytes(), "streamed")
	testkit.Check(t, err)
	n := 0
	for _, p := range back.Processes {
		n += len(p.FDs)
	}
	if n != total {
		t.Errorf("parsed back %d fds, want %d", n, total)
	}
}
