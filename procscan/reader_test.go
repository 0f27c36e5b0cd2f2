//go:build linux

package procscan

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// startHolder starts a sleeping child that holds files as fds 3, 4, ...
func startHolder(t testing.TB, files ...*os.File) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.ExtraFiles = files
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd.Process.Pid
}

func scanOne(t *testing.T, pid int) *Process {
	t.Helper()
	res, err := Scan(context.Background(), Options{PIDs: []int{pid}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Processes) != 1 {
		t.Fatalf("scan of pid %d: %d processes", pid, len(res.Processes))
	}
	return res.Processes[0]
}

func fdByNum(t *testing.T, p *Process, num int) FD {
	t.Helper()
	for _, fd := range p.FDs {
		if fd.Num == num {
			return fd
		}
	}
	t.Fatalf("pid %d has no fd %d", p.PID, num)
	return FD{}
}

// The reader statxes an inode once and reuses the answer for later fds on
// it only when they were reached by the same link text: two hard links
// of one inode keep their own names, and a file of another mode on
// another inode is never confused with them.
func TestReadFDsInodeCache(t *testing.T) {
	dir := t.TempDir()
	a, b, other := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "other")
	if err := os.WriteFile(a, []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(a, b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var files []*os.File
	for _, p := range []string{a, a, b, other} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	if _, err := files[1].Seek(1, 0); err != nil {
		t.Fatal(err)
	}
	p := scanOne(t, startHolder(t, files...))
	fa, fa2, fb, fo := fdByNum(t, p, 3), fdByNum(t, p, 4), fdByNum(t, p, 5), fdByNum(t, p, 6)
	var st unix.Stat_t
	if err := unix.Stat(a, &st); err != nil {
		t.Fatal(err)
	}
	for _, fd := range []FD{fa, fa2, fb} {
		if fd.Ino != st.Ino || fd.Dev != st.Dev || fd.Mode != st.Mode || !fd.HasInfo {
			t.Errorf("fd %d: ino %d dev %d mode %o info %v, want %d %d %o true", fd.Num, fd.Ino, fd.Dev, fd.Mode, fd.HasInfo, st.Ino, st.Dev, st.Mode)
		}
	}
	if fa.Target != a || fa2.Target != a || fb.Target != b || fo.Target != other {
		t.Errorf("targets %q %q %q %q, want %q %q %q %q", fa.Target, fa2.Target, fb.Target, fo.Target, a, a, b, other)
	}
	if fa.Pos != 0 || fa2.Pos != 1 {
		t.Errorf("positions %d %d, want 0 1 (pos is per description, never cached)", fa.Pos, fa2.Pos)
	}
	if fo.Mode&0o777 != 0o600 || fo.Ino == st.Ino {
		t.Errorf("other: mode %o ino %d", fo.Mode, fo.Ino)
	}
}

// An epoll instance with hundreds of watches has an fdinfo far longer than
// the first read's buffer: every watch must still be read.
func TestReadFDsLongFDInfo(t *testing.T) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	epf := os.NewFile(uintptr(ep), "epoll")
	defer epf.Close()
	const watches = 300
	for i := 0; i < watches; i++ {
		efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(efd)
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, efd, &unix.EpollEvent{Events: unix.EPOLLIN}); err != nil {
			t.Fatal(err)
		}
	}
	p := scanOne(t, startHolder(t, epf))
	fd := fdByNum(t, p, 3)
	if !fd.IsEpoll() || len(fd.Watches()) != watches {
		t.Fatalf("fd 3 %q: %d watches, want %d", fd.Target, len(fd.Watches()), watches)
	}
}

// A pipe's or socket's link text is made from its inode number, so the
// reader reads it once per inode; a FIFO's is a path and is read per fd.
// Every fd must still end up with its own flags and the right name.
func TestReadFDsSyntheticNames(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	s0, s1 := os.NewFile(uintptr(sp[0]), "s0"), os.NewFile(uintptr(sp[1]), "s1")
	defer s0.Close()
	defer s1.Close()
	fifo := filepath.Join(t.TempDir(), "pipe:[1]")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ff, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ff.Close()
	// fds 3..10: r, w, r again, w again, s0, s1, s0 again, the fifo.
	p := scanOne(t, startHolder(t, r, w, r, w, s0, s1, s0, ff))
	var pipeSt, s0St, s1St unix.Stat_t
	for f, st := range map[*os.File]*unix.Stat_t{r: &pipeSt, s0: &s0St, s1: &s1St} {
		if err := unix.Fstat(int(f.Fd()), st); err != nil {
			t.Fatal(err)
		}
	}
	want := map[int]struct {
		target string
		ino    uint64
		access int
	}{
		3: {"pipe:[" + itoa(pipeSt.Ino) + "]", pipeSt.Ino, unix.O_RDONLY},
		4: {"pipe:[" + itoa(pipeSt.Ino) + "]", pipeSt.Ino, unix.O_WRONLY},
		5: {"pipe:[" + itoa(pipeSt.Ino) + "]", pipeSt.Ino, unix.O_RDONLY},
		6: {"pipe:[" + itoa(pipeSt.Ino) + "]", pipeSt.Ino, unix.O_WRONLY},
		7: {"socket:[" + itoa(s0St.Ino) + "]", s0St.Ino, unix.O_RDWR},
		8: {"socket:[" + itoa(s1St.Ino) + "]", s1St.Ino, unix.O_RDWR},
		9: {"socket:[" + itoa(s0St.Ino) + "]", s0St.Ino, unix.O_RDWR},
	}
	for num, w := range want {
		fd := fdByNum(t, p, num)
		if fd.Target != w.target || fd.Ino != w.ino || !fd.HasInfo || fd.Flags&unix.O_ACCMODE != w.access {
			t.Errorf("fd %d: %q ino %d info %v access %d; want %q %d true %d", num, fd.Target, fd.Ino, fd.HasInfo, fd.Flags&unix.O_ACCMODE, w.target, w.ino, w.access)
		}
	}
	if fd := fdByNum(t, p, 10); fd.Target != fifo || fd.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("fifo: %q mode %o, want %q a fifo", fd.Target, fd.Mode, fifo)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func TestSyntheticName(t *testing.T) {
	for _, c := range []struct {
		target string
		ino    uint64
		want   bool
	}{
		{"pipe:[12]", 12, true},
		{"socket:[5521]", 5521, true},
		{"socket:[5521]", 5522, false},
		{"pipe:[012]", 12, false},
		{"pipe:[+12]", 12, false},
		{"pipe:[12", 12, false},
		{"pipe:[]", 0, false},
		{"/tmp/pipe:[12]", 12, false},
		{"anon_inode:[eventfd]", 0, false},
	} {
		if got := syntheticName(c.target, c.ino); got != c.want {
			t.Errorf("syntheticName(%q, %d) = %v", c.target, c.ino, got)
		}
	}
}

// The cache keeps each link text of an inode apart (an anonymous inode
// has one per kind), replaces a record of the same text, and holds at
// most inodeTexts texts per inode.
func TestInodeCache(t *testing.T) {
	c := newInodeCache()
	k := inodeKey{mnt: 15, ino: 1044}
	ev, tm := &Inode{Target: "anon_inode:[eventfd]"}, &Inode{Target: "anon_inode:[timerfd]"}
	c.put(k, ev)
	c.put(k, tm)
	if withText(c.records(k), []byte(ev.Target)) != ev || withText(c.records(k), []byte(tm.Target)) != tm || withText(c.records(k), []byte("anon_inode:[signalfd]")) != nil {
		t.Fatal("texts of one inode mixed up")
	}
	if withText(c.records(inodeKey{mnt: 16, ino: 1044}), []byte(ev.Target)) != nil {
		t.Fatal("another mount's inode found")
	}
	ev2 := &Inode{Target: ev.Target}
	c.put(k, ev2)
	if withText(c.records(k), []byte(ev.Target)) != ev2 {
		t.Fatal("same text not replaced")
	}
	for i := range inodeTexts {
		c.put(k, &Inode{Target: "/x/" + strconv.Itoa(i)})
	}
	if withText(c.records(k), []byte(ev.Target)) != nil || withText(c.records(k), []byte("/x/0")) == nil || withText(c.records(k), []byte("/x/"+strconv.Itoa(inodeTexts-1))) == nil {
		t.Fatal("oldest text not the one evicted")
	}
	p := inodeKey{mnt: 14, ino: 77}
	c.put(p, &Inode{Target: "pipe:[77]"})
	if syntheticOf(c.records(p), p.ino) == nil || syntheticOf(c.records(k), k.ino) != nil {
		t.Fatal("synthetic")
	}
}
