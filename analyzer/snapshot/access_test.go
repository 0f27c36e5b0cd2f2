package snapshot

import "testing"

func TestFlagsText(t *testing.T) {
	for flags, want := range map[int]string{
		0:                                "O_RDONLY",
		OWrOnly | OAppend | OLargefile:   "O_WRONLY|O_APPEND|O_LARGEFILE",
		ORdWr | ONonblock | OCloexec:     "O_RDWR|O_NONBLOCK|O_CLOEXEC",
		OPath | ODirectory:               "O_RDONLY|O_DIRECTORY|O_PATH",
		OWrOnly | OSync:                  "O_WRONLY|O_SYNC",
		OWrOnly | ODsync:                 "O_WRONLY|O_DSYNC",
		ORdWr | 0o40000000 | 0o100000000: "O_RDWR|0140000000",
		3:                                "O_ACCMODE",
	} {
		if got := FlagsText(flags); got != want {
			t.Errorf("FlagsText(%#o) = %q, want %q", flags, got, want)
		}
	}
}

func TestMayOpen(t *testing.T) {
	nobody := &Process{UID: 65534, EUID: 65534, GID: 65534, EGID: 65534}
	file := func(mode uint32, uid, gid, flags int) *FD {
		return &FD{Mode: 0o100000 | mode, OwnerUID: uid, OwnerGID: gid, Flags: flags}
	}
	for _, c := range []struct {
		p    *Process
		f    *FD
		want bool
	}{
		{nobody, file(0o600, 0, 0, 0), false},
		{nobody, file(0o644, 0, 0, 0), true},
		{nobody, file(0o644, 0, 0, OWrOnly), false},
		{nobody, file(0o640, 0, 65534, 0), true},
		{nobody, file(0o600, 65534, 0, ORdWr), true},
		{nobody, file(0o604, 0, 0, ORdWr), false},
		{&Process{EUID: 0}, file(0o000, 1, 1, ORdWr), true},
		{nobody, &FD{Mode: 0o040711, OwnerUID: 0}, false}, // a directory needs read
	} {
		if got := MayOpen(c.p, c.f); got != c.want {
			t.Errorf("MayOpen(uid %d, mode %o owner %d:%d flags %o) = %v", c.p.EUID, c.f.Mode, c.f.OwnerUID, c.f.OwnerGID, c.f.Flags, got)
		}
	}
	if (&FD{Mode: 0o140777}).IsFileOrDir() || !(&FD{Mode: 0o100644}).IsFileOrDir() {
		t.Error("IsFileOrDir: a socket is not, a regular file is")
	}
}
