//go:build linux

package procscan

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
