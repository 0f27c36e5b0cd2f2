package snapshot

import (
	"bytes"
	"fmt"
	"testing"
)

// synthetic builds a snapshot of n processes with fds fds each, every
// process sharing its first half of fds with process 1.
func synthetic(n, fds int) *Snapshot {
	s := &Snapshot{Schema: Schema, Exact: true, Null: map[string][]Member{}}
	shared := map[int][]Member{}
	for p := 1; p <= n; p++ {
		proc := Process{PID: p, PPID: 1, Comm: "worker", State: "S", Tasks: []int{p}}
		for fd := 0; fd < fds; fd++ {
			proc.FDs = append(proc.FDs, FD{FD: fd, Target: fmt.Sprintf("/var/lib/app/data-%d", fd), Dev: 2049, Ino: uint64(fd), MntID: 28})
			if fd < fds/2 {
				shared[fd] = append(shared[fd], Member{PID: p, FD: fd})
			}
		}
		s.Processes = append(s.Processes, proc)
	}
	for fd := 0; fd < fds/2; fd++ {
		s.Groups = append(s.Groups, Group{Type: TypeFile, Members: shared[fd]})
	}
	return s
}

func BenchmarkEncode(b *testing.B) {
	s := synthetic(1000, 100)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := s.Encode(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

func BenchmarkParse(b *testing.B) {
	var buf bytes.Buffer
	if err := synthetic(1000, 100).Encode(&buf); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		if _, err := Parse(buf.Bytes(), "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
