//go:build linux

package kcmp_test

import (
	"errors"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
)

func TestOrderString(t *testing.T) {
	for o, want := range map[kcmp.Order]string{kcmp.Equal: "equal", kcmp.Less: "less", kcmp.Greater: "greater", kcmp.Unordered: "unordered", 9: "Order(9)"} {
		if got := o.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(o), got, want)
		}
	}
}

func TestFileDescsDupAndReopen(t *testing.T) {
	testkit.RequireKcmp(t)
	self := os.Getpid()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	dup, err := unix.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dup)

	if o, err := kcmp.FileDescs(self, int(f.Fd()), self, dup); err != nil || o != kcmp.Equal {
		t.Errorf("dup: %v, %v; want equal", o, err)
	}
	o1, err := kcmp.FileDescs(self, int(f.Fd()), self, int(g.Fd()))
	if err != nil || (o1 != kcmp.Less && o1 != kcmp.Greater) {
		t.Fatalf("second open: %v, %v; want less or greater", o1, err)
	}
	o2, err := kcmp.FileDescs(self, int(g.Fd()), self, int(f.Fd()))
	if err != nil || o2 == o1 || o2 == kcmp.Equal {
		t.Errorf("order is not antisymmetric: %v then %v (%v)", o1, o2, err)
	}
	_, err = kcmp.FileDescs(self, int(f.Fd()), self, 1<<20)
	if !errors.Is(err, unix.EBADF) {
		t.Errorf("closed fd: err = %v, want EBADF", err)
	}
	var kerr *kcmp.Error
	if !errors.As(err, &kerr) || kerr.Type != kcmp.File || kerr.Idx2 != 1<<20 {
		t.Errorf("error %v does not name the call", err)
	}
}

func TestTasksErrors(t *testing.T) {
	testkit.RequireKcmp(t)
	self := os.Getpid()
	if _, err := kcmp.Tasks(kcmp.File, self, self); !errors.Is(err, unix.EINVAL) {
		t.Errorf("Tasks(File) err = %v, want EINVAL", err)
	}
	// Pid 2^22+1 is above the kernel's pid_max limit: never a task.
	if _, err := kcmp.Tasks(kcmp.VM, self, 1<<22+1); !errors.Is(err, unix.ESRCH) {
		t.Errorf("missing task: err = %v, want ESRCH", err)
	}
	for _, typ := range []kcmp.Type{kcmp.VM, kcmp.Files, kcmp.FS, kcmp.Sighand} {
		if o, err := kcmp.Tasks(typ, self, unix.Gettid()); err != nil || o != kcmp.Equal {
			t.Errorf("%v self vs own thread: %v, %v; want equal", typ, o, err)
		}
	}
}

func TestEpollTarget(t *testing.T) {
	testkit.RequireKcmp(t)
	self := os.Getpid()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ep)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, p[0], &unix.EpollEvent{Events: unix.EPOLLIN}); err != nil {
		t.Fatal(err)
	}
	if o, err := kcmp.EpollTarget(self, p[0], self, kcmp.EpollSlot{EFD: uint32(ep), TFD: uint32(p[0])}); err != nil || o != kcmp.Equal {
		t.Errorf("watched fd: %v, %v; want equal", o, err)
	}
	o, err := kcmp.EpollTarget(self, p[1], self, kcmp.EpollSlot{EFD: uint32(ep), TFD: uint32(p[0])})
	if err != nil || o == kcmp.Equal || o == kcmp.Unordered {
		t.Errorf("other end: %v, %v; want less or greater", o, err)
	}
	// The epoll order is the file order.
	fo, err := kcmp.FileDescs(self, p[1], self, p[0])
	if err != nil || fo != o {
		t.Errorf("file order %v (%v) differs from epoll order %v", fo, err, o)
	}
	if _, err := kcmp.EpollTarget(self, p[0], self, kcmp.EpollSlot{EFD: uint32(ep), TFD: uint32(p[0]), TOff: 1}); !errors.Is(err, unix.ENOENT) {
		t.Errorf("second registration: err = %v, want ENOENT", err)
	}
}

func TestNullSentinel(t *testing.T) {
	testkit.RequireKcmp(t)
	s, err := kcmp.NewNullSentinel()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	self := os.Getpid()
	// A Go process has an undo list: its runtime made threads with
	// CLONE_SYSVSEM. It has an address space, fd table and fs info.
	for _, typ := range []kcmp.Type{kcmp.VM, kcmp.Files, kcmp.FS, kcmp.Sysvsem} {
		null, err := s.IsNull(typ, self)
		if err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		if null {
			t.Errorf("%v of this process reported NULL", typ)
		}
	}
	// A second zombie is NULL under every NullType, so the sentinel finds it.
	other, err := kcmp.NewNullSentinel()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for _, typ := range kcmp.NullTypes {
		if null, err := s.IsNull(typ, other.PID()); err != nil || !null {
			t.Errorf("%v of a zombie: null=%v err=%v; want NULL", typ, null, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.IsNull(kcmp.VM, self); !errors.Is(err, unix.ESRCH) {
		t.Errorf("after Close: err = %v, want ESRCH", err)
	}
	runtime.KeepAlive(s)
}

func TestProbe(t *testing.T) {
	err := kcmp.Probe()
	if err != nil && !errors.Is(err, kcmp.ErrUnavailable) {
		t.Fatalf("Probe error %v does not wrap ErrUnavailable", err)
	}
}
