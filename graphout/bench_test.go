//go:build linux

package graphout

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// sizes are the generated hosts the benchmarks draw.
var sizes = []struct {
	n     int
	dense bool
}{{60, false}, {60, true}, {300, false}, {300, true}, {1000, false}, {1000, true}}

func sizeName(n int, dense bool) string {
	if dense {
		return fmt.Sprintf("%d/dense", n)
	}
	return fmt.Sprintf("%d/sparse", n)
}

// BenchmarkBuild times Build and DOT on generated hosts.
func BenchmarkBuild(b *testing.B) {
	for _, sz := range sizes {
		s := generated(sz.n, sz.dense)
		b.Run(sizeName(sz.n, sz.dense), func(b *testing.B) {
			for b.Loop() {
				buildDOT(b, s)
			}
		})
	}
}

func buildDOT(b *testing.B, s *snapshot.Snapshot) (*Diagram, []byte) {
	d, err := Build(s, Options{})
	if err != nil {
		b.Fatal(err)
	}
	text, err := d.DOT()
	if err != nil {
		b.Fatal(err)
	}
	return d, text
}

// BenchmarkRender times what "kcmpgraph graph -o host.svg" does after the
// scan: Build, DOT and SVG from the renderer child, on generated hosts
// of 60, 300 and 1000 processes with sparse and dense sharing. Every one
// must render in under 3 s on 2 CPUs.
func BenchmarkRender(b *testing.B) {
	opts := RenderOptions{Timeout: time.Minute}
	for _, sz := range sizes {
		s := generated(sz.n, sz.dense)
		b.Run(sizeName(sz.n, sz.dense), func(b *testing.B) {
			for b.Loop() {
				d, text := buildDOT(b, s)
				var svg bytes.Buffer
				if err := Render(context.Background(), text, d.Layout(), &svg, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
