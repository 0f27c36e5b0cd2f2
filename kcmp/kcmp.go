//go:build linux

package kcmp

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Type is the kind of kernel object kcmp compares (the KCMP_* constants of
// <linux/kcmp.h>).
type Type int

// The kcmp types, with the kernel's numbering.
const (
	File     Type = 0 // KCMP_FILE: open file descriptions, by fd number
	VM       Type = 1 // KCMP_VM: address spaces
	Files    Type = 2 // KCMP_FILES: file descriptor tables
	FS       Type = 3 // KCMP_FS: filesystem information (root, cwd, umask)
	Sighand  Type = 4 // KCMP_SIGHAND: signal handler tables
	IO       Type = 5 // KCMP_IO: I/O contexts
	Sysvsem  Type = 6 // KCMP_SYSVSEM: System V semaphore undo lists
	EpollTFD Type = 7 // KCMP_EPOLL_TFD: a file against an epoll watch
)

// AllTypes lists every type in kernel order.
var AllTypes = []Type{File, VM, Files, FS, Sighand, IO, Sysvsem, EpollTFD}

// TaskTypes lists the types that compare whole tasks rather than fds.
var TaskTypes = []Type{VM, Files, FS, Sighand, IO, Sysvsem}

var typeNames = [...]string{
	File: "file", VM: "vm", Files: "files", FS: "fs",
	Sighand: "sighand", IO: "io", Sysvsem: "sysvsem", EpollTFD: "epoll",
}

// String returns the name kcmpgraph uses for the type on its command line
// and in snapshots: file vm files fs sighand io sysvsem epoll.
func (t Type) String() string {
	if t >= 0 && int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// IsTask reports whether the type compares tasks (vm, files, fs, sighand,
// io, sysvsem) rather than file descriptors.
func (t Type) IsTask() bool { return t >= VM && t <= Sysvsem }

// ErrUnknownType is returned by ParseType for a name that is not a type.
var ErrUnknownType = errors.New("unknown kcmp type")

// TypeNames returns the valid type names, in kernel order.
func TypeNames() []string {
	names := make([]string, len(typeNames))
	copy(names, typeNames[:])
	return names
}

// ParseType parses a type name as printed by String. Case is ignored, and
// the kernel's own spelling ("KCMP_FILE", "epoll_tfd") is accepted too.
func ParseType(name string) (Type, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.TrimPrefix(n, "kcmp_")
	if n == "epoll_tfd" {
		return EpollTFD, nil
	}
	for i, s := range typeNames {
		if s == n {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("%w %q (valid: %s)", ErrUnknownType, name, strings.Join(typeNames[:], ", "))
}

// ParseTypes parses a comma-separated list of type names. Duplicates are
// removed; the result is in kernel order. "all" selects every type.
func ParseTypes(list string) ([]Type, error) {
	seen := make(map[Type]bool)
	for _, part := range strings.Split(list, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		if strings.EqualFold(strings.TrimSpace(part), "all") {
			for _, t := range AllTypes {
				seen[t] = true
			}
			continue
		}
		t, err := ParseType(part)
		if err != nil {
			return nil, err
		}
		seen[t] = true
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("%w: empty type list (valid: %s)", ErrUnknownType, strings.Join(typeNames[:], ", "))
	}
	var out []Type
	for _, t := range AllTypes {
		if seen[t] {
			out = append(out, t)
		}
	}
	return out, nil
}

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
