//go:build linux

package procscan

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Device numbers of Unix 98 pseudo-terminals (Documentation/admin-guide/
// devices.txt): the multiplexer /dev/ptmx is 5:2; slaves are majors
// 136-143, minor 0-255 each, numbered in that order.
const (
	ptmxMajor      = 5
	ptmxMinor      = 2
	ptsMajorFirst  = 136
	ptsMajorCount  = 8
	devptsRootIno  = 1 // the root directory of every devpts instance
	ptsMinorsEach  = 256
	fdinfoTTYIndex = "tty-index"
)

// IsPTYMaster reports whether the fd is a pseudo-terminal master: a
// character device fd on 5:2, opened through /dev/ptmx or a devpts
// instance's own ptmx node.
func (fd *FD) IsPTYMaster() bool {
	return fd.Mode&unix.S_IFMT == unix.S_IFCHR && fd.Rdev == uint32(unix.Mkdev(ptmxMajor, ptmxMinor))
}

// PTYSlaveIndex returns the index N of a pseudo-terminal slave fd
// (/dev/pts/N in its devpts instance) and true, or false for any other fd.
// The slave's devpts instance is its Dev.
func (fd *FD) PTYSlaveIndex() (int, bool) {
	if fd.Mode&unix.S_IFMT != unix.S_IFCHR {
		return 0, false
	}
	major, minor := unix.Major(uint64(fd.Rdev)), unix.Minor(uint64(fd.Rdev))
	if major < ptsMajorFirst || major >= ptsMajorFirst+ptsMajorCount || minor >= ptsMinorsEach {
		return 0, false
	}
	return int(major-ptsMajorFirst)*ptsMinorsEach + int(minor), true
}

// ErrNoTTYIndex is returned for a master fd whose fdinfo has no tty-index
// line (kernels before 5.1).
var ErrNoTTYIndex = errors.New("fdinfo has no tty-index")

// ParseTTYIndex returns the "tty-index:" and "ino:" values of a pty
// master's fdinfo text (ParseFDInfo's TTYIndex and Ino).
func ParseTTYIndex(data []byte) (index int, ino uint64, err error) {
	info, err := ParseFDInfo(data)
	if err != nil {
		return -1, 0, err
	}
	if info.TTYIndex < 0 {
		return -1, info.Ino, ErrNoTTYIndex
	}
	return info.TTYIndex, info.Ino, nil
}

// ReadTTYIndex reads the tty index of the pty master fd of pid from its
// fdinfo under procRoot ("" is /proc), for fds a scan read without fdinfo
// (FDInfoNeeded); a scan that read it has it in fd.TTYIndex(). It fails
// with unix.EBADF when the fd number now names another inode (closed and
// reused since the scan).
func ReadTTYIndex(procRoot string, pid int, fd *FD) (int, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	data, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "fdinfo", strconv.Itoa(fd.Num)))
	if err != nil {
		return -1, fmt.Errorf("procscan: tty index of pid %d fd %d: %w", pid, fd.Num, err)
	}
	index, ino, err := ParseTTYIndex(data)
	if err != nil {
		return -1, fmt.Errorf("procscan: tty index of pid %d fd %d: %w", pid, fd.Num, err)
	}
	if ino != fd.Ino {
		return -1, fmt.Errorf("procscan: pid %d fd %d was reused since the scan: %w", pid, fd.Num, unix.EBADF)
	}
	return index, nil
}

// ErrDevptsUnknown is wrapped by MasterDevpts errors that say the rule
// could not name the master's devpts instance (rather than that the
// process or fd went away).
var ErrDevptsUnknown = errors.New("devpts instance of the pty master unknown")

// MasterDevpts returns the device number (the Dev of its slaves) of the
// devpts instance a pty master fd of pid belongs to. It opens nothing but
// O_PATH handles, so no terminal is opened or touched. The rule follows
// the kernel's own (devpts_acquire in fs/devpts/inode.c):
//
//   - A master opened through a devpts instance's own ptmx node
//     (/dev/pts/ptmx, or /dev/ptmx as a symlink to it, as containers do)
//     lives on that instance: its Dev is the instance. Exact.
//   - A master opened through another ptmx node (devtmpfs /dev/ptmx)
//     belongs to the devpts mounted at "pts" next to that node when it was
//     opened. That lookup is repeated now, inside the holder's root
//     (RESOLVE_IN_ROOT from /proc/PID/root), and only when the fd's path
//     still leads there to the very node the fd was opened through (same
//     mount id and inode); otherwise the instance is unknown (an error
//     wrapping ErrDevptsUnknown).
//
// Limit of the second case: it reads the mounts as they are at scan time.
// A devpts mounted over that "pts" since the master was opened makes the
// answer the newer instance.
func MasterDevpts(procRoot string, pid int, fd *FD) (uint64, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	self, err := unix.Open(filepath.Join(dir, "fd", strconv.Itoa(fd.Num)), unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("procscan: pty master pid %d fd %d: %w", pid, fd.Num, err)
	}
	defer unix.Close(self)
	var st unix.Statx_t
	if err := unix.Statx(self, "", unix.AT_EMPTY_PATH, unix.STATX_INO|unix.STATX_MNT_ID, &st); err != nil {
		return 0, fmt.Errorf("procscan: pty master pid %d fd %d: %w", pid, fd.Num, err)
	}
	if st.Ino != fd.Ino || unix.Mkdev(st.Dev_major, st.Dev_minor) != fd.Dev {
		return 0, fmt.Errorf("procscan: pid %d fd %d was reused since the scan: %w", pid, fd.Num, unix.EBADF)
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(self, &sfs); err != nil {
		return 0, fmt.Errorf("procscan: pty master pid %d fd %d: %w", pid, fd.Num, err)
	}
	if sfs.Type == unix.DEVPTS_SUPER_MAGIC {
		return fd.Dev, nil
	}
	if !path.IsAbs(fd.Target) {
		return 0, fmt.Errorf("procscan: %w: pty master pid %d fd %d: path %q is not absolute", ErrDevptsUnknown, pid, fd.Num, fd.Target)
	}
	root, err := unix.Open(filepath.Join(dir, "root"), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("procscan: root of pid %d: %w", pid, err)
	}
	defer unix.Close(root)
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	node, err := unix.Openat2(root, fd.Target, how)
	if err != nil {
		return 0, fmt.Errorf("procscan: %w: pty master pid %d fd %d: %s in its root: %w", ErrDevptsUnknown, pid, fd.Num, fd.Target, err)
	}
	var nst unix.Statx_t
	err = unix.Statx(node, "", unix.AT_EMPTY_PATH, unix.STATX_INO|unix.STATX_MNT_ID, &nst)
	unix.Close(node)
	if err != nil {
		return 0, fmt.Errorf("procscan: %w: pty master pid %d fd %d: %s in its root: %w", ErrDevptsUnknown, pid, fd.Num, fd.Target, err)
	}
	if nst.Ino != st.Ino || nst.Mnt_id != st.Mnt_id || nst.Dev_major != st.Dev_major || nst.Dev_minor != st.Dev_minor {
		return 0, fmt.Errorf("procscan: %w: pty master pid %d fd %d: %s in its root is no longer the node it was opened through", ErrDevptsUnknown, pid, fd.Num, fd.Target)
	}
	pts, err := unix.Openat2(root, path.Join(path.Dir(fd.Target), "pts"), how)
	if err != nil {
		return 0, fmt.Errorf("procscan: %w: pty master pid %d fd %d: its devpts: %w", ErrDevptsUnknown, pid, fd.Num, err)
	}
	defer unix.Close(pts)
	if err := unix.Fstatfs(pts, &sfs); err != nil {
		return 0, fmt.Errorf("procscan: %w: pty master pid %d fd %d: its devpts: %w", ErrDevptsUnknown, pid, fd.Num, err)
	}
	var pst unix.Statx_t
	if err := unix.Statx(pts, "", unix.AT_EMPTY_PATH, unix.STATX_INO, &pst); err != nil {
		return 0, fmt.Errorf("procscan: %w: pty master pid %d fd %d: its devpts: %w", ErrDevptsUnknown, pid, fd.Num, err)
	}
	if sfs.Type != unix.DEVPTS_SUPER_MAGIC || pst.Ino != devptsRootIno {
		return 0, fmt.Errorf("procscan: %w: pty master pid %d fd %d: no devpts mounted at %s", ErrDevptsUnknown, pid, fd.Num, path.Join(path.Dir(fd.Target), "pts"))
	}
	return unix.Mkdev(pst.Dev_major, pst.Dev_minor), nil
}
