//go:build linux

package main

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/kcmpgraph/kcmpgraph/analyzer"
	"github.com/kcmpgraph/kcmpgraph/analyzer/metrics"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// BenchmarkServeScan is one scan of serve's exporter as serve runs it
// (the whole host, audit, summary, memory released) with the 1000 x 100
// forest of make bench-serve on the host, in CPU seconds per scan (the
// process's user and system time): the profile of what serve costs, with
//
//	go test -run '^$' -bench ServeScan -cpuprofile cpu.prof ./cmd/kcmpgraph
func BenchmarkServeScan(b *testing.B) {
	testkit.RequireKcmp(b)
	testkit.RequireRoot(b, "to read every process, as serve does")
	f := fixture.New(b)
	if _, _, err := f.Root().Grow(fixture.GrowSpec{Procs: 1000, FDsPerProc: 100, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	exp := metrics.NewExporter(metrics.Options{
		Scan: func(ctx context.Context) (*snapshot.Snapshot, error) {
			return scanHost(ctx, analyzer.Options{})
		},
		Interval:      time.Minute,
		ReleaseMemory: true,
	})
	ctx := context.Background()
	if err := exp.Scan(ctx); err != nil { // the first scan warms the heap
		b.Fatal(err)
	}
	var cpu time.Duration
	scans := 0
	for b.Loop() {
		c0 := benchCPUTime()
		if err := exp.Scan(ctx); err != nil {
			b.Fatal(err)
		}
		cpu += benchCPUTime() - c0
		scans++
	}
	b.ReportMetric(cpu.Seconds()/float64(scans), "cpu-s/scan")
}

func benchCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
