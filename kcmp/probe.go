//go:build linux

package kcmp

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrUnavailable is wrapped by Probe when kcmp cannot be used at all here.
var ErrUnavailable = errors.New("kcmp unavailable")

// Probe reports whether kcmp works for this process, by comparing this
// process's address space with itself. It returns nil, or an error that
// wraps ErrUnavailable and the errno, with the likely reason:
// ENOSYS means a kernel without CONFIG_KCMP (CONFIG_CHECKPOINT_RESTORE
// before 5.12) or a seccomp filter, as in many container runtimes; EPERM
// means a security module or seccomp denies it.
func Probe() error {
	self := os.Getpid()
	o, err := Tasks(VM, self, self)
	if err == nil {
		if o != Equal {
			return fmt.Errorf("%w: kcmp(self, self, KCMP_VM) returned %s, not equal", ErrUnavailable, o)
		}
		return nil
	}
	var why string
	switch {
	case errors.Is(err, unix.ENOSYS):
		why = "the kernel lacks CONFIG_KCMP or a seccomp filter blocks the call"
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		why = "a security policy (seccomp, LSM) denies the call"
	default:
		why = "unexpected error"
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, why, err)
}
