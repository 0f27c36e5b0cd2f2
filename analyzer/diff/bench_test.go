package diff

import (
	"fmt"
	"io"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// forest builds a snapshot of n worker processes under a master, fds fds
// each: the first half inherited from the master (one group per fd
// number), the rest their own.
func forest(n, fds int, start uint64) *snapshot.Snapshot {
	s := &snapshot.Snapshot{Schema: snapshot.Schema, Exact: true, Host: snapshot.Host{BootID: "b"}, Null: map[string][]snapshot.Member{}}
	shared := map[int][]snapshot.Member{}
	for p := 1; p <= n; p++ {
		proc := snapshot.Process{PID: p, PPID: 1, Comm: "worker", StartTime: start + uint64(p), Tasks: []int{p}}
		for fd := range fds {
			ino := uint64(p*fds + fd)
			if fd < fds/2 {
				ino = uint64(fd)
				shared[fd] = append(shared[fd], snapshot.Member{PID: p, FD: fd})
			}
			proc.FDs = append(proc.FDs, snapshot.FD{FD: fd, Target: fmt.Sprintf("/var/lib/app/data-%d", ino), Dev: 2049, Ino: ino})
		}
		s.Processes = append(s.Processes, proc)
	}
	for fd := range fds / 2 {
		s.Groups = append(s.Groups, snapshot.Group{Type: snapshot.TypeFile, Members: shared[fd]})
	}
	return s
}

// BenchmarkCompare1000 diffs two 1000-process, 100k-fd snapshots in which
// a tenth of the workers were replaced.
func BenchmarkCompare1000(b *testing.B) {
	before, after := forest(1000, 100, 0), forest(1000, 100, 0)
	for i := 900; i < 1000; i++ {
		after.Processes[i].StartTime += 5000
	}
	var d *Diff
	for b.Loop() {
		d = Compare(before, after, "a", "b", Options{})
	}
	b.ReportMetric(float64(d.Differences), "differences")
	b.StopTimer()
	if err := d.WriteText(io.Discard); err != nil {
		b.Fatal(err)
	}
}
