package procscan

// Process is one process (thread group) as read from /proc.
type Process struct {
	PID       int
	PPID      int
	Comm      string
	Cmdline   []string
	Exe       string
	State     string // one letter from /proc/PID/stat
	UID, EUID int
	GID, EGID int
	// StartTime is in clock ticks since boot.
	StartTime    uint64
	KernelThread bool
	Zombie       bool
	// Namespaces maps mnt, pid, net, user, ipc, uts, cgroup, time to the
	// namespace inode number.
	Namespaces map[string]uint64
	Cgroup     string
	Root       string
	Tasks      []int
	// FDs is the process's own fd table: the one /proc/PID/fd shows, its
	// leader's.
	FDs []FD
	// TaskTables are the fd tables of tasks that do not share it, read by
	// Result.ReadTaskTable; empty unless a caller asked.
	TaskTables []TaskTable
	// Denied lists what could not be read, as "what: ERRNO".
	Denied []string
	// ForeignMountNS maps the fds of a process in another mount
	// namespace than the host's that it could not have opened itself
	// (see the confinement check in confine.go) to the mount namespace
	// whose mount they are on. Nil for almost every process.
	ForeignMountNS map[int]uint64
	// foreign are the confinement check's candidates until the scan ends.
	foreign []foreignFD
}

// TaskTable is an fd table of tasks that left their process's: a thread
// that called unshare(CLONE_FILES), and the threads it started since.
// /proc/PID/fd shows only the leader's table; this one is read from
// /proc/PID/task/TID/fd.
type TaskTable struct {
	// TID names the table: the lowest of Tasks.
	TID int
	// Tasks are the tids that hold it, ascending.
	Tasks []int
	FDs   []FD
}

// FD is one file descriptor: 48 bytes, with what belongs to the inode
// (target text, device, inode number, mode, owner) in an Inode that the
// fds a reader met on that inode through the same link text share. On a
// 100k-fd host with 8k inodes that halves the memory of a scan. The Inode
// is shared: never write through it; build a new one to change it.
type FD struct {
	*Inode
	Num int
	// Flags are the open flags from fdinfo (O_CLOEXEC belongs to the fd,
	// the rest to the description); Pos is the file offset.
	Flags int
	Pos   int64
	// Extra is the whole parsed fdinfo where it says more than pos and
	// flags: an eventfd's id, an epoll instance's watches, a pty master's
	// index. Nil otherwise.
	Extra *FDInfo
	// HasInfo is false when fdinfo was not read (FDInfoNeeded mode) or
	// could not be read; then Flags, Pos and Extra are zero.
	HasInfo bool
}

// Inode is what an fd's link and statx say of the object it opens.
type Inode struct {
	Target string
	// Dev is st_dev of the opened inode in the user-space encoding
	// (unix.Mkdev(major, minor)).
	Dev      uint64
	Ino      uint64
	MntID    int
	Mode     uint32
	OwnerUID uint32
	OwnerGID uint32
	// Rdev is st_rdev, the device a character or block device fd opens,
	// in the encoding of Dev (unix.Mkdev; every Linux device number fits
	// 32 bits in it); 0 for other files.
	Rdev uint32
}

// EventfdID is the eventfd's id from fdinfo, or -1 when the fd is no
// eventfd, the kernel does not print it or fdinfo was not read.
func (fd *FD) EventfdID() int64 {
	if fd.Extra == nil {
		return -1
	}
	return fd.Extra.EventfdID
}

// TTYIndex is a pty master's index from its fdinfo; ok is false for other
// fds, when fdinfo was not read, or when the kernel does not print it.
func (fd *FD) TTYIndex() (index int, ok bool) {
	if fd.Extra == nil || fd.Extra.TTYIndex < 0 {
		return -1, false
	}
	return fd.Extra.TTYIndex, true
}

// Watches are an epoll instance's registrations from fdinfo, in the
// kernel's order; nil for other fds or when fdinfo was not read.
func (fd *FD) Watches() []EpollWatch {
	if fd.Extra == nil {
		return nil
	}
	return fd.Extra.Watches
}

// IsAnon reports whether the fd is on the shared anonymous inode
// (eventfd, timerfd, signalfd, epoll, ...).
func (fd *FD) IsAnon() bool { return len(fd.Target) > 11 && fd.Target[:11] == "anon_inode:" }

// IsEpoll reports whether the fd is an epoll instance.
func (fd *FD) IsEpoll() bool { return fd.Target == "anon_inode:[eventpoll]" }
