//go:build linux

package procscan

import (
	"errors"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/kcmpgraph/kcmpgraph/internal/errno"
	"golang.org/x/sys/unix"
)

// reader reads processes; one per worker goroutine, so its buffers are
// reused without locking.
type reader struct {
	root   string
	mode   FDInfoMode
	c      *counters
	link   []byte
	info   []byte
	names  []string
	statx  unix.Statx_t
	dirbuf []byte
	cname  []byte
	inodes *inodeCache
	// confine checks processes in another mount namespace than the
	// host's (confine.go); nil checks none.
	confine *confiner
}

// newReader makes a reader; readers of one scan share inodes.
func newReader(root string, mode FDInfoMode, c *counters, inodes *inodeCache) *reader {
	return &reader{root: root, mode: mode, c: c,
		link: make([]byte, unix.PathMax+1), info: make([]byte, 4096), dirbuf: make([]byte, 32768),
		inodes: inodes}
}

// inodeCache holds the Inode records of one scan, shared by its readers:
// statx runs once per inode and link text for the whole scan, and all fds
// on an inode reached by one text share one record. An inode can have
// several texts (hard links; the one anonymous inode behind eventfds,
// timerfds and epoll, told apart by its text alone), so a key keeps a few
// records. Sharded, so that readers seldom wait.
type inodeCache struct {
	shards [64]struct {
		mu sync.Mutex
		m  map[inodeKey][]*Inode
	}
}

// inodeTexts is how many link texts of one inode the cache keeps; a
// further one replaces the oldest.
const inodeTexts = 16

func newInodeCache() *inodeCache {
	c := &inodeCache{}
	for i := range c.shards {
		// Room for about 4k inodes at first (a few hundred KB): growing
		// from empty was a percent of a 100k-fd scan's CPU.
		c.shards[i].m = make(map[inodeKey][]*Inode, 64)
	}
	return c
}

func (c *inodeCache) shard(k inodeKey) int {
	return int((k.ino ^ uint64(k.mnt)*0x9e3779b97f4a7c15) % uint64(len(c.shards)))
}

// records returns the records of inode k. A published slice is never
// written again (put makes a new one), so callers search it unlocked: one
// locked look-up per fd serves both the pipe-or-socket check before the
// readlink and the search by link text after it.
func (c *inodeCache) records(k inodeKey) []*Inode {
	sh := &c.shards[c.shard(k)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.m[k]
}

// put adds ino to the records of inode k as the newest, in place of a
// record with the same text; the oldest leaves when inodeTexts are kept.
func (c *inodeCache) put(k inodeKey, ino *Inode) {
	sh := &c.shards[c.shard(k)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old := sh.m[k]
	list := make([]*Inode, 0, min(len(old)+1, inodeTexts))
	for _, r := range old {
		if r.Target != ino.Target {
			list = append(list, r)
		}
	}
	if len(list) == inodeTexts {
		list = list[1:]
	}
	sh.m[k] = append(list, ino)
}

// withText returns the record among recs reached by link text target.
func withText(recs []*Inode, target []byte) *Inode {
	for _, r := range recs {
		if r.Target == string(target) {
			return r
		}
	}
	return nil
}

// syntheticOf returns the record among recs of pipe or socket inode ino
// (see syntheticName).
func syntheticOf(recs []*Inode, ino uint64) *Inode {
	for _, r := range recs {
		if syntheticName(r.Target, ino) {
			return r
		}
	}
	return nil
}

// readProcess reads one process; nil means it vanished or could not be
// read at all (counted).
func (r *reader) readProcess(pid int) *Process {
	dir := filepath.Join(r.root, strconv.Itoa(pid))
	data, err := r.readFile(filepath.Join(dir, "stat"))
	if err != nil {
		r.c.addErr(err)
		if denied(err) {
			r.c.skip(SkipDenied, 1)
		} else {
			r.c.skip(SkipVanished, 1)
		}
		return nil
	}
	st, err := ParseStat(data)
	if err != nil {
		r.c.addErr(err)
		r.c.skip(SkipVanished, 1)
		return nil
	}
	p := &Process{
		PID: pid, PPID: st.PPID, Comm: st.Comm, State: st.State, StartTime: st.StartTime,
		KernelThread: st.KernelThread(),
		Zombie:       st.State == "Z" || st.State == "X",
	}
	// status and cmdline are read here rather than with procfs: procfs
	// opens each file with os.Open (an extra fcntl and poller set-up per
	// file) and parses all of status; measured, that was a tenth of a
	// 1000-process scan.
	if data, err := r.readFile(filepath.Join(dir, "status")); err != nil {
		if gone(err) {
			r.c.addErr(err)
			r.c.skip(SkipVanished, 1)
			return nil
		}
		r.deny(p, "status", err)
	} else if ids, err := ParseStatusIDs(data); err != nil {
		r.c.addErr(err)
	} else {
		p.UID, p.EUID, p.GID, p.EGID = ids.UID[0], ids.UID[1], ids.GID[0], ids.GID[1]
	}
	p.Tasks = r.readTasks(p, dir)
	if p.KernelThread {
		return p
	}
	if data, err := r.readFile(filepath.Join(dir, "cmdline")); err == nil {
		p.Cmdline = ParseCmdline(data)
	} else if !gone(err) {
		r.deny(p, "cmdline", err)
	}
	if p.Zombie {
		return p
	}
	p.Exe = r.readLink(p, dir, "exe")
	p.Root = r.readLink(p, dir, "root")
	if data, err := r.readFile(filepath.Join(dir, "cgroup")); err != nil {
		if !gone(err) {
			r.deny(p, "cgroup", err)
		}
	} else if cg, err := ParseCgroup(data); err != nil {
		r.c.addErr(err)
	} else {
		p.Cgroup = cg
	}
	p.Namespaces = r.readNamespaces(p, dir)
	p.FDs = r.readFDs(p, dir)
	if r.confine.confined(p) {
		r.confine.check(r, p, dir)
	}
	return p
}

// readFile reads a small /proc file into the reader's buffer; the result
// is valid until the next call.
func (r *reader) readFile(path string) ([]byte, error) {
	f, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(f)
	return r.readAll(f)
}

// readAll reads an open file to its end into the reader's buffer.
func (r *reader) readAll(f int) ([]byte, error) {
	total := 0
	for {
		if total == len(r.info) {
			r.info = append(r.info, make([]byte, len(r.info))...)
		}
		n, err := unix.Read(f, r.info[total:])
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return nil, err
		}
		if n == 0 {
			return r.info[:total], nil
		}
		total += n
	}
}

// readLink reads a link of the process directory ("exe", "root"); a
// missing link (kernel thread, exited) is "".
func (r *reader) readLink(p *Process, dir, name string) string {
	n, err := unix.Readlink(filepath.Join(dir, name), r.link)
	if err != nil {
		if !gone(err) {
			r.deny(p, name, err)
		}
		return ""
	}
	return string(r.link[:n])
}

func (r *reader) deny(p *Process, what string, err error) {
	r.c.addErr(err)
	p.Denied = append(p.Denied, what+": "+errno.Name(err))
}

func (r *reader) readTasks(p *Process, dir string) []int {
	d, err := unix.Open(filepath.Join(dir, "task"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if !gone(err) {
			r.deny(p, "task", err)
		}
		return []int{p.PID}
	}
	names, err := readDirNames(d, r.dirbuf, r.names[:0])
	unix.Close(d)
	r.names = names[:0]
	if err != nil {
		return []int{p.PID}
	}
	tasks := make([]int, 0, len(names))
	for _, n := range names {
		if t, err := strconv.Atoi(n); err == nil {
			tasks = append(tasks, t)
		}
	}
	if len(tasks) == 0 {
		tasks = append(tasks, p.PID)
	}
	sort.Ints(tasks)
	return tasks
}

func (r *reader) readNamespaces(p *Process, dir string) map[string]uint64 {
	ns := make(map[string]uint64, len(NamespaceTypes))
	for _, t := range NamespaceTypes {
		n, err := unix.Readlink(filepath.Join(dir, "ns", t), r.link)
		if err != nil {
			if !gone(err) && !denied(err) {
				r.c.addErr(err)
			} else if denied(err) {
				r.deny(p, "ns/"+t, err)
			}
			continue
		}
		if typ, ino, err := ParseNamespaceLink(r.link[:n]); err == nil && typ == t {
			ns[t] = ino
		}
	}
	if len(ns) == 0 {
		return nil
	}
	return ns
}

// readFDs lists dir/fd (dir is /proc/PID, or /proc/PID/task/TID for a
// task's own table) and reads each fd relative to the directory: its link with readlinkat, its fdinfo as the mode asks, and
// the inode's metadata with statx. fdinfo carries the inode number and
// mount id, so statx runs once per inode (and target text) per reader, not
// once per fd: in a forest of 100k fds on 8k inodes that is 90k fewer
// system calls, and fds on one inode share one target string.
func (r *reader) readFDs(p *Process, dir string) []FD {
	fdDir, err := unix.Open(filepath.Join(dir, "fd"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if !gone(err) {
			r.deny(p, "fds", err)
			r.c.skip(SkipFDTablesDenied, 1)
		}
		return nil
	}
	defer unix.Close(fdDir)
	names, err := readDirNames(fdDir, r.dirbuf, r.names[:0])
	r.names = names[:0]
	if err != nil {
		if !gone(err) {
			r.deny(p, "fds", err)
		}
		return nil
	}
	infoDir := -1
	defer func() {
		if infoDir >= 0 {
			unix.Close(infoDir)
		}
	}()
	fds := make([]FD, 0, len(names))
	vanished := 0
	for _, name := range names {
		num, err := strconv.Atoi(name)
		if err != nil || num < 0 {
			continue
		}
		cname := r.cName(name)
		fd := FD{Num: num}
		var info FDInfo
		// With every fdinfo to read, it comes first: it names the inode,
		// and a pipe's or socket's link text is a function of its inode
		// ("pipe:[ino]"), so a cached one saves the readlink.
		infoRead := false
		var recs []*Inode // the cache's records of the inode fdinfo names
		if r.mode == FDInfoAll {
			var skip, stop bool
			info, skip, stop = r.readFDInfoOf(p, dir, &infoDir, cname, &fd, len(names), true, &vanished)
			if stop {
				return nil
			}
			if skip {
				continue
			}
			infoRead = true
			if fd.HasInfo && info.Ino != 0 {
				recs = r.inodes.records(inodeKey{mnt: info.MntID, ino: info.Ino})
				if ino := syntheticOf(recs, info.Ino); ino != nil {
					fd.Inode = ino
					fds = append(fds, fd)
					continue
				}
			}
		}
		n, err := readlinkat(fdDir, cname, r.link)
		if err != nil {
			if denied(err) {
				r.denyFDs(p, err, len(names))
				return nil
			}
			r.fdError(p, err, &vanished)
			continue
		}
		link := r.link[:n]
		if !infoRead && isAnonLink(link) {
			var skip bool // never stop: the readlink was allowed
			if info, skip, _ = r.readFDInfoOf(p, dir, &infoDir, cname, &fd, len(names), false, &vanished); skip {
				continue
			}
		}
		key := inodeKey{mnt: info.MntID, ino: info.Ino}
		var ino *Inode
		if fd.HasInfo && info.Ino != 0 {
			if !infoRead {
				recs = r.inodes.records(key)
			}
			ino = withText(recs, link)
		}
		if ino == nil {
			if err := statx(fdDir, cname, &r.statx); err != nil {
				r.fdError(p, err, &vanished)
				continue
			}
			// A changed inode means the fd number was closed and
			// reused between the reads: drop it.
			if fd.HasInfo && info.Ino != 0 && r.statx.Ino != info.Ino {
				vanished++
				continue
			}
			ino = &Inode{
				Target: string(link),
				Dev:    unix.Mkdev(r.statx.Dev_major, r.statx.Dev_minor),
				Ino:    r.statx.Ino, MntID: int(r.statx.Mnt_id), Mode: uint32(r.statx.Mode),
				OwnerUID: r.statx.Uid, OwnerGID: r.statx.Gid,
				Rdev: uint32(unix.Mkdev(r.statx.Rdev_major, r.statx.Rdev_minor)),
			}
			// The cache holds what fdinfo can name.
			if fd.HasInfo && info.Ino != 0 {
				r.inodes.put(key, ino)
			}
		}
		fd.Inode = ino
		fds = append(fds, fd)
	}
	// /proc lists fds in ascending order; sort only if a kernel did not.
	if !sort.SliceIsSorted(fds, func(i, j int) bool { return fds[i].Num < fds[j].Num }) {
		sort.Slice(fds, func(i, j int) bool { return fds[i].Num < fds[j].Num })
	}
	r.c.skip(SkipFDsVanished, vanished)
	return fds
}

// readFDInfoOf reads the fdinfo of one fd into fd (HasInfo, Flags, Pos,
// Extra) and returns it; it opens the fdinfo directory on first use. skip
// means the fd is left out (gone, or unreadable and counted); stop means
// none of p's fds can be read: only when first, as when the readlink
// that would otherwise come first is refused, access being decided per
// process.
func (r *reader) readFDInfoOf(p *Process, dir string, infoDir *int, cname *byte, fd *FD, total int, first bool, vanished *int) (info FDInfo, skip, stop bool) {
	var err error
	if *infoDir < 0 {
		*infoDir, err = unix.Open(filepath.Join(dir, "fdinfo"), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_DIRECTORY, 0)
		if err != nil {
			*infoDir = -1
		}
	}
	if err == nil {
		info, err = r.readFDInfo(*infoDir, cname)
	}
	switch {
	case err == nil:
		fd.HasInfo, fd.Flags, fd.Pos = true, info.Flags, info.Pos
		if info.EventfdID >= 0 || len(info.Watches) > 0 || info.TTYIndex >= 0 {
			extra := info
			fd.Extra = &extra
		}
		return info, false, false
	case errors.Is(err, ErrFDInfoSyntax):
		r.c.addErr(err)
		return info, false, false
	case first && denied(err):
		r.denyFDs(p, err, total)
		return info, true, true
	default:
		r.fdError(p, err, vanished)
		return info, true, false
	}
}

// denyFDs records that none of the fds of a table of p can be read.
func (r *reader) denyFDs(p *Process, err error, total int) {
	r.deny(p, "fds", err)
	r.c.skip(SkipFDsDenied, total)
}

// syntheticName reports whether target is the link text pipefs or sockfs
// makes from inode number ino alone ("pipe:[ino]", "socket:[ino]"): every
// fd on that inode then has that text.
func syntheticName(target string, ino uint64) bool {
	var rest string
	switch {
	case strings.HasPrefix(target, "pipe:["):
		rest = target[len("pipe:["):]
	case strings.HasPrefix(target, "socket:["):
		rest = target[len("socket:["):]
	default:
		return false
	}
	var digits [20]byte
	return rest == string(strconv.AppendUint(digits[:0], ino, 10))+"]"
}

// inodeKey names an inode as fdinfo does: a mount holds one superblock,
// so its id and the inode number are unique while the inode lives. A
// cached Inode is used only for the same link text, so an inode number a
// file system reuses or reports twice (overlayfs without xino) never lends
// another file its metadata.
type inodeKey struct {
	mnt int
	ino uint64
}

// isAnonLink reports whether a /proc/PID/fd link names the anonymous inode.
func isAnonLink(link []byte) bool {
	return len(link) > 11 && string(link[:11]) == "anon_inode:"
}

// cName returns name NUL-terminated in the reader's buffer, for the
// system calls below that take it relative to a directory fd without
// allocating a copy per call.
func (r *reader) cName(name string) *byte {
	r.cname = append(append(r.cname[:0], name...), 0)
	return &r.cname[0]
}

func readlinkat(dirfd int, name *byte, buf []byte) (int, error) {
	n, _, errno := unix.Syscall6(unix.SYS_READLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(name)),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func statx(dirfd int, name *byte, st *unix.Statx_t) error {
	const mask = unix.STATX_TYPE | unix.STATX_MODE | unix.STATX_INO | unix.STATX_UID | unix.STATX_GID | unix.STATX_MNT_ID
	_, _, errno := unix.Syscall6(unix.SYS_STATX, uintptr(dirfd), uintptr(unsafe.Pointer(name)),
		unix.AT_NO_AUTOMOUNT, mask, uintptr(unsafe.Pointer(st)), 0)
	if errno != 0 {
		return errno
	}
	return nil
}

func openat(dirfd int, name *byte) (int, error) {
	fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(name)),
		unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

func (r *reader) fdError(p *Process, err error, vanished *int) {
	r.c.addErr(err)
	if gone(err) {
		*vanished++
		return
	}
	r.c.skip(SkipFDsDenied, 1)
	p.Denied = append(p.Denied, "fd: "+errno.Name(err))
}

func (r *reader) readFDInfo(dirfd int, name *byte) (FDInfo, error) {
	f, err := openat(dirfd, name)
	if err != nil {
		return FDInfo{}, err
	}
	defer unix.Close(f)
	// fdinfo is generated whole on the first read: a read that leaves
	// room in the buffer got all of it, and the read that would return 0
	// is saved (100k system calls on a 100k-fd host).
	n, err := unix.Read(f, r.info)
	for errors.Is(err, unix.EINTR) {
		n, err = unix.Read(f, r.info)
	}
	if err != nil {
		return FDInfo{}, err
	}
	if n < len(r.info) {
		return ParseFDInfo(r.info[:n])
	}
	// A long epoll or inotify list: read the rest after what we have.
	data := append([]byte(nil), r.info[:n]...)
	rest, err := r.readAll(f)
	if err != nil {
		return FDInfo{}, err
	}
	return ParseFDInfo(append(data, rest...))
}

// readDirNames lists a directory fd with getdents64.
func readDirNames(fd int, buf []byte, names []string) ([]string, error) {
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return names, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// ReadFDInfo reads and parses /proc/PID/fdinfo/FD under procRoot ("" is
// /proc), for callers that need fdinfo of a few fds only.
func ReadFDInfo(procRoot string, pid, fd int) (FDInfo, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	r := newReader(procRoot, FDInfoAll, nil, newInodeCache())
	data, err := r.readFile(filepath.Join(procRoot, strconv.Itoa(pid), "fdinfo", strconv.Itoa(fd)))
	if err != nil {
		return FDInfo{}, err
	}
	return ParseFDInfo(data)
}
