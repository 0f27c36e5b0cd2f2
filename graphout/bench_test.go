//go:build linux

package graphout

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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
// of 60, 300 and 1000 processes with sparse and dense sharing, and on
// the largest diagrams each layout engine is given (--no-collapse at the
// top of dot's and sfdp's budgets). Every one must render in under 3 s
// on 2 CPUs. cpu-s/op is the CPU time of this process and the renderer
// child together.
func BenchmarkRender(b *testing.B) {
	opts := RenderOptions{Timeout: time.Minute}
	type input struct {
		name string
		s    *snapshot.Snapshot
		o    Options
	}
	var inputs []input
	for _, sz := range sizes {
		inputs = append(inputs, input{sizeName(sz.n, sz.dense), generated(sz.n, sz.dense), Options{}})
	}
	for _, layout := range []string{"dot", "sfdp"} {
		n := largestFor(b, layout)
		inputs = append(inputs, input{fmt.Sprintf("budget-%s/%d", layout, n), generated(n, true), Options{NoCollapse: true}})
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			cpu := cpuTime()
			for b.Loop() {
				d, err := Build(in.s, in.o)
				if err != nil {
					b.Fatal(err)
				}
				text, err := d.DOT()
				if err != nil {
					b.Fatal(err)
				}
				var svg bytes.Buffer
				if err := Render(context.Background(), text, d.Layout(), &svg, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// largestFor is the largest dense generated host that Build, drawing
// every process, still gives to layout: the most that engine is asked to
// lay out.
func largestFor(b *testing.B, layout string) int {
	best := 0
	for n := 5; n < 1000; n += 5 {
		d, err := Build(generated(n, true), Options{NoCollapse: true})
		if err != nil || d.Layout() != layout && best > 0 {
			break
		}
		if d.Layout() == layout {
			best = n
		}
	}
	if best == 0 {
		b.Fatalf("no generated host is laid out by %s", layout)
	}
	return best
}

// cpuTime is the CPU time of this process and its waited-for children.
func cpuTime() time.Duration {
	var self, children unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &self)
	unix.Getrusage(unix.RUSAGE_CHILDREN, &children)
	var total time.Duration
	for _, t := range []unix.Timeval{self.Utime, self.Stime, children.Utime, children.Stime} {
		total += time.Duration(t.Nano())
	}
	return total
}

// BenchmarkBuildRefused times refusing a forest of 400 and 1000
// processes that all hold one pipe's ends, drawn one by one.
func BenchmarkBuildRefused(b *testing.B) {
	for _, n := range []int{400, 1000} {
		s := forestWithOnePipe(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Build(s, Options{NoCollapse: true}); err == nil {
					b.Fatal("not refused")
				}
			}
		})
	}
}

// BenchmarkAround times graph --around on hosts of 1000 processes: the
// generated dense one, and a forest that all holds one pipe (a thousand
// holders of one object, which once cost a million pairs).
func BenchmarkAround(b *testing.B) {
	for _, c := range []struct {
		name string
		s    *snapshot.Snapshot
		pid  int
	}{{"1000/dense", generated(1000, true), 1002}, {"forest/1000", forestWithOnePipe(1000), 11}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Around(c.s, c.pid, -1, 2); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
