//go:build linux

package freeze

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// BenchmarkStopThaw freezes and thaws a forest of 300 processes (one
// thread each): what --freeze adds to a scan of it. Besides wall time, it
// reports this process's own CPU time per frozen process, which other
// load on the machine does not distort.
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
	cpu0 := cpuTime()
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
	per := float64(b.N) * float64(len(pids))
	b.ReportMetric(float64(b.Elapsed().Microseconds())/per, "µs/process")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/per, "cpu-µs/process")
}

// cpuTime is the user and system time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
