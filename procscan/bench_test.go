package procscan

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

var epollInfo = []byte("pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1038\n" +
	"tfd:        4 events:       19 data:                4  pos:0 ino:27f2 sdev:f\n" +
	"tfd:        6 events:       19 data:     7ff000000006  pos:0 ino:40e sdev:10\n" +
	"tfd:        5 events:       1c data:                5  pos:0 ino:27f2 sdev:f\n" +
	"tfd:        9 events:       19 data:                9  pos:0 ino:2f2 sdev:800001\n")

func BenchmarkParseFDInfo(b *testing.B) {
	plain := []byte("pos:\t4096\nflags:\t0100002\nmnt_id:\t28\nino:\t77\n")
	b.Run("file", func(b *testing.B) {
		for b.Loop() {
			if _, err := ParseFDInfo(plain); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("epoll4", func(b *testing.B) {
		for b.Loop() {
			if _, err := ParseFDInfo(epollInfo); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkParseStat(b *testing.B) {
	line := []byte("4242 (nginx: worker) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 98765 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n")
	for b.Loop() {
		if _, err := ParseStat(line); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadFDs lists and reads the fds of a live process holding 1000
// of them (files, pipes, sockets, eventfds), as a scan does per process:
// ns/op divided by 1000 is the cost per fd.
func BenchmarkReadFDs(b *testing.B) {
	var rlim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rlim); err != nil || rlim.Cur < 2100 {
		b.Skipf("RLIMIT_NOFILE %d is too low for 1000 inherited fds", rlim.Cur)
	}
	var files []*os.File
	for len(files) < 1000 {
		switch len(files) % 4 {
		case 0:
			f, err := os.Open("/etc/passwd")
			if err != nil {
				b.Fatal(err)
			}
			files = append(files, f)
		case 1:
			r, w, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			files = append(files, r, w)
		case 2:
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				b.Fatal(err)
			}
			files = append(files, os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b"))
		case 3:
			efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
			if err != nil {
				b.Fatal(err)
			}
			files = append(files, os.NewFile(uintptr(efd), "eventfd"))
		}
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	pid := startHolder(b, files...)
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	r := newReader("/proc", FDInfoAll, &counters{errors: map[string]int{}, skipped: map[string]int{}}, newInodeCache())
	b.ReportAllocs()
	for b.Loop() {
		r.inodes = newInodeCache() // each op starts cold, like a scan's first process
		p := &Process{PID: pid}
		r.readFDs(p, dir)
		if len(p.FDs) < 1000 {
			b.Fatalf("read %d fds, want at least 1000", len(p.FDs))
		}
	}
}
