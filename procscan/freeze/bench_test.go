//go:build linux

package freeze

import (
	"context"
	"testing"
	"time"

	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// BenchmarkStopThaw freezes and thaws a forest of 300 processes (one
// thread each): what --freeze adds to a scan of it.
func BenchmarkStopThaw(b *testing.B) {
	f := fixture.New(b)
	master, made, err := f.Root().Grow(fixture.GrowSpec{Procs: 300, FDsPerProc: 10, Seed: 1})
	if err != nil || made != 300 {
		b.Fatalf("grow: %d, %v", made, err)
	}
	pids, err := procscan.Select(procscan.Options{Tree: master})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		fr, err := Stop(context.Background(), pids, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(fr.Stopped()); n != len(pids) {
			b.Fatalf("stopped %d of %d", n, len(pids))
		}
		fr.Thaw()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(len(pids)), "µs/process")
}
