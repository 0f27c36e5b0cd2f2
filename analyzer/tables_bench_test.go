//go:build linux

package analyzer

import (
	"context"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// BenchmarkFindTaskTables measures what a scan without --threads pays to
// count the threads with an fd table of their own: one KCMP_FILES call
// per thread ("kcmp"), here on a process of 200 threads (its 199 threads
// share the leader's table of about 15 fds), against reading every
// thread's table from /proc/PID/task/TID/fd ("read"), which a scan would
// otherwise need to tell. Reported per thread.
func BenchmarkFindTaskTables(b *testing.B) {
	testkit.RequireKcmp(b)
	f := fixture.New(b)
	root := f.Root()
	for range 199 {
		if _, err := root.Thread(); err != nil {
			b.Fatal(err)
		}
	}
	res, err := procscan.Scan(context.Background(), procscan.Options{PIDs: []int{root.PID()}})
	if err != nil {
		b.Fatal(err)
	}
	s := &state{res: res, procs: res.Processes, cmp: SystemComparer{}, tally: newTally(), skipped: map[string]int{},
		eligible: []bool{true}}
	p := res.Processes[0]
	threads := len(p.Tasks) - 1
	b.Run("kcmp", func(b *testing.B) {
		for b.Loop() {
			s.findTaskTables(false)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*threads), "ns/thread")
	})
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			for _, tid := range p.Tasks[1:] {
				if err := res.ReadTaskTable(p, []int{tid}); err != nil {
					b.Fatal(err)
				}
			}
			p.TaskTables = nil
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*threads), "ns/thread")
	})
}
