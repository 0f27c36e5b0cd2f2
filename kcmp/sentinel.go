//go:build linux

package kcmp

import (
	"errors"
	"fmt"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// NullSentinel is a zombie child of this process. A task that has exited
// holds no address space, fd table, fs info, I/O context or undo list: its
// pointers are NULL, and kcmp reports NULL equal to NULL. Comparing a task
// with the sentinel therefore tells whether that task's object is NULL
// (true for most tasks under IO and Sysvsem) instead of shared.
//
// The sentinel is made with a bare fork whose child exits at once, so it
// never runs Go code and never creates threads (each new thread would
// allocate an undo list). It stays a zombie until Close reaps it. Its
// signal handler table is still there, so it is no sentinel for Sighand.
type NullSentinel struct {
	pid  int
	once sync.Once
}

// NullTypes lists the types for which a NullSentinel holds NULL.
var NullTypes = []Type{VM, Files, FS, IO, Sysvsem}

// NewNullSentinel forks the zombie and waits until it has exited.
func NewNullSentinel() (*NullSentinel, error) {
	pid, errno := forkExit()
	if errno != 0 {
		return nil, fmt.Errorf("kcmp: fork null sentinel: %w", errno)
	}
	// Wait for the exit without reaping, so the zombie stays.
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, int(pid), &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EINTR) {
			return nil, fmt.Errorf("kcmp: wait for null sentinel %d: %w", pid, err)
		}
	}
	return &NullSentinel{pid: int(pid)}, nil
}

// PID returns the sentinel's pid.
func (s *NullSentinel) PID() int { return s.pid }

// IsNull reports whether task's object of type t is NULL: it compares
// equal to the sentinel's.
func (s *NullSentinel) IsNull(t Type, task int) (bool, error) {
	o, err := Tasks(t, task, s.pid)
	if err != nil {
		return false, err
	}
	return o == Equal, nil
}

// Close reaps the zombie. It is safe to call more than once.
func (s *NullSentinel) Close() error {
	var err error
	s.once.Do(func() {
		var ws unix.WaitStatus
		for {
			_, e := unix.Wait4(s.pid, &ws, 0, nil)
			if !errors.Is(e, unix.EINTR) {
				err = e
				break
			}
		}
		if err != nil {
			err = fmt.Errorf("kcmp: reap null sentinel %d: %w", s.pid, err)
		}
	})
	return err
}

// forkExit forks a child that exits immediately. Between the fork and the
// exit the child runs only these raw system calls: no Go runtime code, no
// stack growth, no race instrumentation.
//
//go:nosplit
//go:norace
func forkExit() (uintptr, syscall.Errno) {
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	if pid == 0 {
		for {
			syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
		}
	}
	return pid, 0
}
