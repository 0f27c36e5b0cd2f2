package procscan

import "testing"

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
