//go:build linux

package kcmp

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Order is the result of a comparison.
type Order int

// The four results kcmp can give. Less and Greater refer to the first
// object against the second.
const (
	Equal     Order = 0 // the same kernel object
	Less      Order = 1 // different; the first orders before the second
	Greater   Order = 2 // different; the first orders after the second
	Unordered Order = 3 // different, and the kernel gives no order
)

// String returns "equal", "less", "greater" or "unordered".
func (o Order) String() string {
	switch o {
	case Equal:
		return "equal"
	case Less:
		return "less"
	case Greater:
		return "greater"
	case Unordered:
		return "unordered"
	}
	return fmt.Sprintf("Order(%d)", int(o))
}

// EpollSlot names one watch of an epoll instance: the epoll file
// descriptor, the target fd number it was registered under, and which of
// several registrations under that number (counted from zero). It has the
// layout of the kernel's struct kcmp_epoll_slot: three __u32 (the man
// page's __u64 toff is wrong).
type EpollSlot struct {
	EFD  uint32
	TFD  uint32
	TOff uint32
}

// Error describes a failed kcmp call. It unwraps to the errno.
type Error struct {
	Type       Type
	Pid1, Pid2 int
	Idx1, Idx2 uint64 // fd numbers for File; for EpollTFD Idx2 is the epoll fd
	TFD, TOff  uint32 // the watch, for EpollTFD
	Err        error  // a unix.Errno
}

func (e *Error) Error() string {
	why := errText(e.Err)
	switch e.Type {
	case File:
		return fmt.Sprintf("kcmp file %d:%d vs %d:%d: %s", e.Pid1, e.Idx1, e.Pid2, e.Idx2, why)
	case EpollTFD:
		return fmt.Sprintf("kcmp epoll %d:%d vs watch tfd %d (#%d) of %d:%d: %s",
			e.Pid1, e.Idx1, e.TFD, e.TOff, e.Pid2, e.Idx2, why)
	}
	return fmt.Sprintf("kcmp %s %d vs %d: %s", e.Type, e.Pid1, e.Pid2, why)
}

// errText names an errno and says what it means: "EPERM (operation not
// permitted)".
func errText(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		if name := unix.ErrnoName(errno); name != "" {
			return name + " (" + errno.Error() + ")"
		}
	}
	return err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

func kcmp(pid1, pid2 int, t Type, idx1, idx2 uintptr) (Order, unix.Errno) {
	r, _, errno := unix.Syscall6(unix.SYS_KCMP, uintptr(pid1), uintptr(pid2), uintptr(t), idx1, idx2, 0)
	if errno != 0 {
		return 0, errno
	}
	return Order(r), 0
}

// Tasks compares a per-task object (VM, Files, FS, Sighand, IO, Sysvsem)
// of two tasks, named by pid or tid in the caller's PID namespace.
func Tasks(t Type, pid1, pid2 int) (Order, error) {
	if !t.IsTask() {
		return 0, &Error{Type: t, Pid1: pid1, Pid2: pid2, Err: unix.EINVAL}
	}
	o, errno := kcmp(pid1, pid2, t, 0, 0)
	if errno != 0 {
		return 0, &Error{Type: t, Pid1: pid1, Pid2: pid2, Err: errno}
	}
	return o, nil
}

// FileDescs compares the open file descriptions behind fd1 of pid1 and fd2 of
// pid2.
func FileDescs(pid1, fd1, pid2, fd2 int) (Order, error) {
	o, errno := kcmp(pid1, pid2, File, uintptr(fd1), uintptr(fd2))
	if errno != 0 {
		return 0, &Error{Type: File, Pid1: pid1, Pid2: pid2, Idx1: uint64(fd1), Idx2: uint64(fd2), Err: errno}
	}
	return o, nil
}

// EpollTarget compares the open file description behind fd of pid1 with
// the file watched by slot in the epoll instance slot.EFD of pid2. The
// order is the File order, so the result can be used to binary-search a
// list of descriptions sorted with FileDescs. ENOENT means the epoll
// instance has no such watch.
func EpollTarget(pid1, fd int, pid2 int, slot EpollSlot) (Order, error) {
	s := slot
	r, _, errno := unix.Syscall6(unix.SYS_KCMP, uintptr(pid1), uintptr(pid2), uintptr(EpollTFD),
		uintptr(fd), uintptr(unsafe.Pointer(&s)), 0)
	if errno != 0 {
		return 0, &Error{Type: EpollTFD, Pid1: pid1, Pid2: pid2, Idx1: uint64(fd), Idx2: uint64(slot.EFD),
			TFD: slot.TFD, TOff: slot.TOff, Err: errno}
	}
	return Order(r), nil
}
