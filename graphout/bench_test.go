//go:build linux

package graphout

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// thousand is a 1000-process snapshot: 100 masters with 9 workers each,
// sharing a socket and a pipe per tree, plus a log all of them hold.
func thousand() *snapshot.Snapshot {
	s := &snapshot.Snapshot{Schema: snapshot.Schema, Exact: true, Null: map[string][]snapshot.Member{}}
	var logGroup []snapshot.Member
	for m := 0; m < 100; m++ {
		master := 1000 + m*10
		var sock, pipe []snapshot.Member
		for w := 0; w < 10; w++ {
			pid := master + w
			ppid := master
			comm := fmt.Sprintf("worker-%d", w%3)
			if w == 0 {
				ppid, comm = 1, "master"
			}
			s.Processes = append(s.Processes, snapshot.Process{PID: pid, PPID: ppid, Comm: comm, Tasks: []int{pid},
				FDs: []snapshot.FD{{FD: 3, Target: fmt.Sprintf("socket:[%d]", master)}, {FD: 4, Target: fmt.Sprintf("pipe:[%d]", master)},
					{FD: 5, Target: "/var/log/app.log"}}})
			sock = append(sock, snapshot.Member{PID: pid, FD: 3})
			pipe = append(pipe, snapshot.Member{PID: pid, FD: 4})
			logGroup = append(logGroup, snapshot.Member{PID: pid, FD: 5})
		}
		s.Groups = append(s.Groups, snapshot.Group{Type: "file", Members: sock}, snapshot.Group{Type: "file", Members: pipe})
	}
	s.Groups = append(s.Groups, snapshot.Group{Type: "file", Members: logGroup})
	return s
}

func BenchmarkDOT1000(b *testing.B) {
	s := thousand()
	for b.Loop() {
		d, err := Build(s, Options{NoCollapse: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.DOT(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSVG1000 renders the 1000-process diagram to SVG with the
// renderer program, the way kcmpgraph graph does (collapse on).
func BenchmarkSVG1000(b *testing.B) {
	bin := filepath.Join(b.TempDir(), RendererName)
	if out, err := runGo("build", "-o", bin, "../cmd/kcmpgraph/render"); err != nil {
		b.Fatalf("build renderer: %v\n%s", err, out)
	}
	d, err := Build(thousand(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	text, err := d.DOT()
	if err != nil {
		b.Fatal(err)
	}
	opts := RenderOptions{Renderer: bin, CacheDir: filepath.Join(b.TempDir(), "cache"), Timeout: time.Minute}
	for b.Loop() {
		var svg bytes.Buffer
		if err := Render(context.Background(), text, d.Layout(), &svg, opts); err != nil {
			b.Fatal(err)
		}
	}
}
