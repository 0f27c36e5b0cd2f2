//go:build linux

// Package denykcmp makes the kcmp system call fail in the calling process,
// as container runtimes' default seccomp profiles do, so that tests can
// see what kcmpgraph does on such a host. It is for test children only: a
// process cannot undo it.
package denykcmp

import (
	"errors"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrArch is returned on architectures the filter is not written for.
var ErrArch = errors.New("denykcmp: the seccomp filter is written for amd64 only")

// Install installs a seccomp filter on every thread of this process that
// makes kcmp fail with ENOSYS and lets every other call through.
func Install() error {
	const (
		auditArchX8664     = 0xc000003e
		seccompRetAllow    = 0x7fff0000
		seccompRetErrno    = 0x00050000
		offsetNr           = 0
		offsetArch         = 4
		seccompFilterTsync = 1
	)
	if runtime.GOARCH != "amd64" {
		return ErrArch
	}
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: offsetArch},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 1, Jf: 0, K: auditArchX8664},
		{Code: unix.BPF_RET | unix.BPF_K, K: seccompRetAllow},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: offsetNr},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: unix.SYS_KCMP},
		{Code: unix.BPF_RET | unix.BPF_K, K: seccompRetErrno | uint32(unix.ENOSYS)},
		{Code: unix.BPF_RET | unix.BPF_K, K: seccompRetAllow},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, seccompFilterTsync, uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(filter)
	if errno != 0 {
		return errno
	}
	return nil
}
