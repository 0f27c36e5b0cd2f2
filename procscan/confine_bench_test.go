//go:build linux

package procscan

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/internal/containertest"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// BenchmarkConfinementCheck: the cost of the check on its worst case, a
// runc container whose init holds 200 host files (each off its own mounts:
// a mountinfo read, then openat2, fstat and close per fd), against the
// same 200 files held by a host process (no check at all).
func BenchmarkConfinementCheck(b *testing.B) {
	const n = 200
	dir := b.TempDir()
	files := make([]*os.File, n)
	for i := range files {
		f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		files[i] = f
	}
	ctr := containertest.NewRunc(b).Run("bench", files...)
	forest := fixture.New(b)
	host := forest.Root()
	for i := range n {
		if _, err := host.Open(filepath.Join(dir, strconv.Itoa(i)), os.O_RDONLY); err != nil {
			b.Fatal(err)
		}
	}
	ns, of := HostNamespaces("/proc")
	for _, c := range []struct {
		name string
		pid  int
	}{{"container", ctr.PID}, {"host", host.PID()}} {
		b.Run(c.name, func(b *testing.B) {
			// CPU time of this thread, beside wall time: the machine is
			// shared and its load makes wall time noisy.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			counts := &counters{errors: map[string]int{}, skipped: map[string]int{}}
			r := newReader("/proc", FDInfoAll, counts, newInodeCache())
			r.confine = newConfiner("/proc", ns, of)
			var before, after unix.Rusage
			unix.Getrusage(unix.RUSAGE_THREAD, &before)
			for b.Loop() {
				p := r.readProcess(c.pid)
				r.confine.resolve([]*Process{p})
				if got := len(p.ForeignMountNS); (c.name == "container") != (got == n) {
					b.Fatalf("%s: %d foreign fds", c.name, got)
				}
			}
			unix.Getrusage(unix.RUSAGE_THREAD, &after)
			cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
	// The whole scan, as kcmpgraph scan --pid runs it.
	b.Run("scan-container", func(b *testing.B) {
		for b.Loop() {
			if _, err := Scan(context.Background(), Options{PIDs: []int{ctr.PID}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
