package procscan

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseFDInfo(t *testing.T) {
	epoll := "pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1038\n" +
		"tfd:        4 events:       19 data:                4  pos:0 ino:27f2 sdev:f\n" +
		"tfd:        4 events:       1c data:     7ff000000006  pos:0 ino:40e sdev:800001\n"
	info, err := ParseFDInfo([]byte(epoll))
	if err != nil {
		t.Fatal(err)
	}
	if info.Flags != 0o2000002 || info.MntID != 17 || info.Ino != 1038 || info.EventfdID != -1 || info.Pos != 0 {
		t.Errorf("header fields: %+v", info)
	}
	if len(info.Watches) != 2 {
		t.Fatalf("watches: %+v", info.Watches)
	}
	w := info.Watches[1]
	// sdev 0x800001 is major 8, minor 1 in the kernel's encoding: 0x801 in
	// user space.
	if w.TFD != 4 || w.Events != 0x1c || w.Data != 0x7ff000000006 || w.Ino != 0x40e || w.Dev != 0x801 {
		t.Errorf("second watch: %+v", w)
	}
	ev, err := ParseFDInfo([]byte("pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1038\neventfd-count:                3\neventfd-id: 12\neventfd-semaphore: 0\n"))
	if err != nil || ev.EventfdID != 12 {
		t.Errorf("eventfd: %+v, %v", ev, err)
	}
	for name, bad := range map[string]string{
		"pos":      "pos:\tx\n",
		"flags":    "flags:\t9\n",
		"tfd":      "tfd: x events: 1\n",
		"no ino":   "tfd: 3 events: 1 data: 1 pos:0 sdev:f\n",
		"bad sdev": "tfd: 3 events: 1 data: 1 pos:0 ino:1 sdev:zz\n",
		"neg id":   "eventfd-id: -3\n",
	} {
		if _, err := ParseFDInfo([]byte(bad)); !errors.Is(err, ErrFDInfoSyntax) {
			t.Errorf("%s: err = %v, want ErrFDInfoSyntax", name, err)
		}
	}
	if info, err := ParseFDInfo([]byte("unknown: line\nnocolon\n\n")); err != nil || info.EventfdID != -1 {
		t.Errorf("unknown lines: %+v, %v", info, err)
	}
}

func TestParseStat(t *testing.T) {
	line := "4242 (evil) (x) Z\n<b>) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 98765 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
	st, err := ParseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.Comm != "evil) (x) Z\n<b>" || st.State != "S" || st.PPID != 17 || st.StartTime != 98765 || st.Flags != 4194560 || st.Threads != 1 {
		t.Errorf("got %+v", st)
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 1", "1 (x) SS 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1"} {
		if _, err := ParseStat([]byte(bad)); !errors.Is(err, ErrStatSyntax) {
			t.Errorf("ParseStat(%q) err = %v, want ErrStatSyntax", bad, err)
		}
	}
}

func TestParseNamespaceLink(t *testing.T) {
	typ, ino, err := ParseNamespaceLink([]byte("mnt:[4026531841]"))
	if err != nil || typ != "mnt" || ino != 4026531841 {
		t.Errorf("got %q %d %v", typ, ino, err)
	}
	for _, bad := range []string{"", "mnt:[]", "mnt:4026531841", ":[1]", "mnt:[x]"} {
		if _, _, err := ParseNamespaceLink([]byte(bad)); !errors.Is(err, ErrNamespaceSyntax) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

func TestKernelDevToUser(t *testing.T) {
	for _, c := range [][2]uint32{{0, 15}, {8, 1}, {259, 3}, {0, 300}, {4095, 1 << 19}} {
		major, minor := c[0], c[1]
		want := unix.Mkdev(major, minor)
		if got := kernelDevToUser(major<<20 | minor); got != want {
			t.Errorf("kernelDevToUser(%d:%d) = %#x, want %#x", major, minor, got, want)
		}
	}
}

func FuzzParseFDInfo(f *testing.F) {
	f.Add([]byte("pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1038\ntfd:        4 events:       19 data:                4  pos:0 ino:27f2 sdev:f\n"))
	f.Add([]byte("eventfd-id: 1\n"))
	f.Add([]byte("pos:\t1234\nflags:\t0100002\nmnt_id:\t24\nino:\t18446744073709551615\n"))
	f.Add([]byte("pos:\t9223372036854775808\nflags:\t040000000000\nmnt_id:\t2147483648\nino:\t3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := ParseFDInfo(data)
		if err != nil && !errors.Is(err, ErrFDInfoSyntax) {
			t.Fatalf("error %v does not wrap ErrFDInfoSyntax", err)
		}
		if err == nil && info.EventfdID < -1 {
			t.Fatalf("eventfd id %d", info.EventfdID)
		}
		// The fast path must read what the general parser reads.
		if plain, ok := parsePlainFDInfo(data); ok {
			general, err := parseFDInfoLines(data)
			if err != nil || !reflect.DeepEqual(plain, general) {
				t.Fatalf("%q: fast path %+v, general parser %+v, %v", data, plain, general, err)
			}
		}
	})
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1 (init) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 5 1000 10 0 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"))
	f.Add([]byte("2 ()) Z 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseStat(data)
		if err != nil && !errors.Is(err, ErrStatSyntax) {
			t.Fatalf("error %v does not wrap ErrStatSyntax", err)
		}
		if err == nil && (len(st.State) != 1 || st.PPID < 0) {
			t.Fatalf("accepted bad stat: %+v", st)
		}
	})
}

func FuzzParseNamespaceLink(f *testing.F) {
	f.Add([]byte("net:[4026531840]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, _, err := ParseNamespaceLink(data)
		if err != nil && !errors.Is(err, ErrNamespaceSyntax) {
			t.Fatalf("error %v does not wrap ErrNamespaceSyntax", err)
		}
		if err == nil && typ == "" {
			t.Fatal("empty type accepted")
		}
	})
}

func TestParseStatusIDs(t *testing.T) {
	ids, err := ParseStatusIDs([]byte("Name:\tx\nUmask:\t0022\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t6\t7\t8\nGroups:\t\n"))
	if err != nil || ids.UID != [4]int{1000, 1001, 1002, 1003} || ids.GID != [4]int{5, 6, 7, 8} {
		t.Errorf("got %+v, %v", ids, err)
	}
	for _, bad := range []string{"", "Uid:\t1\t2\t3\n", "Uid:\t1\t2\t3\tx\nGid:\t1\t1\t1\t1\n", "Uid:\t0\t0\t0\t0\n"} {
		if _, err := ParseStatusIDs([]byte(bad)); !errors.Is(err, ErrStatusSyntax) {
			t.Errorf("%q: err = %v, want ErrStatusSyntax", bad, err)
		}
	}
}

func TestParseStatusPIDs(t *testing.T) {
	ids, err := ParseStatusPIDs([]byte("Name:\tx\nState:\tt (tracing stop)\nTgid:\t1234\nNgid:\t0\nPid:\t1240\nPPid:\t1\nTracerPid:\t777\nUid:\t0\t0\t0\t0\n"))
	if err != nil || ids.Tgid != 1234 || ids.TracerPid != 777 {
		t.Errorf("got %+v, %v", ids, err)
	}
	for _, bad := range []string{"", "Tgid:\t1\n", "TracerPid:\t0\n", "Tgid:\tx\nTracerPid:\t0\n", "Tgid:\t1\nTracerPid:\t-1\n", "Tgid:\t1\nTracerPid:\t99999999999\n"} {
		if _, err := ParseStatusPIDs([]byte(bad)); !errors.Is(err, ErrStatusSyntax) {
			t.Errorf("%q: err = %v, want ErrStatusSyntax", bad, err)
		}
	}
}

func FuzzParseStatusPIDs(f *testing.F) {
	f.Add([]byte("Tgid:\t1\nPid:\t1\nTracerPid:\t0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ids, err := ParseStatusPIDs(data)
		if err != nil && !errors.Is(err, ErrStatusSyntax) {
			t.Fatalf("error %v does not wrap ErrStatusSyntax", err)
		}
		if ids.Tgid < 0 || ids.TracerPid < 0 {
			t.Fatalf("negative pid in %+v", ids)
		}
	})
}

func TestParseCmdline(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "[]",
		"/bin/sh\x00-c\x00x\x00": "[/bin/sh -c x]",
		"nginx: worker":          "[nginx: worker]",
		"a\x00\x00b\x00\x00":     "[a  b]",
	} {
		if got := fmt.Sprint(ParseCmdline([]byte(in))); got != want {
			t.Errorf("ParseCmdline(%q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzParseStatusIDs(f *testing.F) {
	f.Add([]byte("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ids, err := ParseStatusIDs(data)
		if err != nil && !errors.Is(err, ErrStatusSyntax) {
			t.Fatalf("error %v does not wrap ErrStatusSyntax", err)
		}
		for _, v := range append(ids.UID[:], ids.GID[:]...) {
			if v < 0 {
				t.Fatalf("negative id %d", v)
			}
		}
	})
}

func TestParseUnixDiag(t *testing.T) {
	msg := []byte{1, 1, 1, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // family, type, state, pad, ino 16, cookie
		8, 0, 2, 0, 0x11, 0, 0, 0, // UNIX_DIAG_PEER 17
		9, 0, 0, 0, 0, 'a', 'b', 'c', 'd', 0, 0, 0} // UNIX_DIAG_NAME "\0abcd" (abstract)
	s, err := ParseUnixDiag(msg)
	if err != nil || s.Ino != 16 || s.Peer != 17 || s.Type != 1 || s.Name != "@abcd" {
		t.Errorf("got %+v, %v", s, err)
	}
	for _, bad := range [][]byte{msg[:10], append(append([]byte{}, msg[:16]...), 2, 0, 2, 0)} {
		if _, err := ParseUnixDiag(bad); !errors.Is(err, ErrSockDiagSyntax) {
			t.Errorf("%v: err = %v", bad, err)
		}
	}
}

func FuzzParseUnixDiag(f *testing.F) {
	f.Add([]byte{1, 1, 1, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 2, 0, 0x11, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := ParseUnixDiag(data); err != nil && !errors.Is(err, ErrSockDiagSyntax) {
			t.Fatalf("error %v does not wrap ErrSockDiagSyntax", err)
		}
	})
}

// The fast path takes the plain four-line fdinfo and nothing else.
func TestParsePlainFDInfo(t *testing.T) {
	info, ok := parsePlainFDInfo([]byte("pos:\t12\nflags:\t0100002\nmnt_id:\t24\nino:\t18446744073709551615\n"))
	want := FDInfo{Pos: 12, Flags: 0o100002, MntID: 24, Ino: 1<<64 - 1, EventfdID: -1, TTYIndex: -1}
	if !ok || !reflect.DeepEqual(info, want) {
		t.Fatalf("%+v, %v; want %+v", info, ok, want)
	}
	for _, in := range []string{
		"pos:\t12\nflags:\t0100002\nmnt_id:\t24\nino:\t3",                     // no last newline
		"pos:\t12\nflags:\t0100002\nmnt_id:\t24\nino:\t3\neventfd-count: 0\n", // more lines
		"pos:\t9223372036854775808\nflags:\t02\nmnt_id:\t24\nino:\t3\n",       // pos too large
		"pos:\t1\nflags:\t08\nmnt_id:\t24\nino:\t3\n",                         // not octal
		"pos:\t1\nflags:\t02\nmnt_id:\t2147483648\nino:\t3\n",                 // mnt_id too large
		"pos:\t1\nflags:\t02\nmnt_id:\t24\nino:\t18446744073709551616\n",      // ino too large
		"pos:\t+1\nflags:\t02\nmnt_id:\t24\nino:\t3\n",                        // a sign
		"flags:\t02\npos:\t1\nmnt_id:\t24\nino:\t3\n",                         // another order
		"pos:\t\nflags:\t02\nmnt_id:\t24\nino:\t3\n",                          // no digits
	} {
		if _, ok := parsePlainFDInfo([]byte(in)); ok {
			t.Errorf("%q taken by the fast path", in)
		}
	}
}
