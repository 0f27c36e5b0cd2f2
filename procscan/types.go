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
	FDs        []FD
	// Denied lists what could not be read, as "what: ERRNO".
	Denied []string
}

// FD is one file descriptor.
type FD struct {
	Num    int
	Target string
	// Dev is st_dev of the opened inode in the user-space encoding
	// (unix.Mkdev(major, minor)).
	Dev      uint64
	Ino      uint64
	MntID    int
	Mode     uint32
	OwnerUID uint32
	OwnerGID uint32
	// Info is the parsed fdinfo; HasInfo is false when it was not read
	// (FDInfoNeeded mode) or could not be read.
	HasInfo bool
	Info    FDInfo
}

// IsAnon reports whether the fd is on the shared anonymous inode
// (eventfd, timerfd, signalfd, epoll, ...).
func (fd *FD) IsAnon() bool { return len(fd.Target) > 11 && fd.Target[:11] == "anon_inode:" }

// IsEpoll reports whether the fd is an epoll instance.
func (fd *FD) IsEpoll() bool { return fd.Target == "anon_inode:[eventpoll]" }
