//go:build linux

package procscan

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// The confinement check finds, for processes in another mount namespace
// than the host's (a container, a sandboxed service), the directories and
// regular files they hold but could not have opened: the runc
// CVE-2024-21626 shape, a host directory fd kept across the container's
// setup. An fd counts when
//
//   - its mount (mnt_id) is not a mount of the process's own mount
//     namespace (its /proc/PID/mountinfo), and
//   - its path does not lead to its inode inside the process's root:
//     openat2 of the target from /proc/PID/root with RESOLVE_IN_ROOT, then
//     fstat, device and inode compared (a file the process can reach by
//     another mount, such as a bind mount, is not counted), and
//   - its mount is one of another scanned mount namespace: the host's, or
//     another container's (kernel-internal mounts, a memfd's, and detached
//     ones are nobody's).
//
// Cost: one mountinfo read per confined mount namespace, and three system
// calls (openat2, fstat, close) only for fds on mounts not of their own
// namespace; processes in the host's namespace cost nothing.

// ErrMountinfoSyntax is wrapped by ParseMountIDs errors.
var ErrMountinfoSyntax = errors.New("mountinfo syntax error")

// ParseMountIDs returns the mount ids (the first field of each line) of a
// /proc/PID/mountinfo.
func ParseMountIDs(data []byte) (map[int]bool, error) {
	ids := map[int]bool{}
	for len(data) > 0 {
		var line []byte
		line, data = cutLine(data)
		if len(line) == 0 {
			continue
		}
		field, _, _ := bytes.Cut(line, []byte{' '})
		id, err := strconv.Atoi(string(field))
		if err != nil || id < 0 {
			return nil, fmt.Errorf("%w: %q", ErrMountinfoSyntax, truncateBytes(line, 60))
		}
		ids[id] = true
	}
	return ids, nil
}

// cutLine splits data after its first line (without the newline).
func cutLine(data []byte) (line, rest []byte) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[:i], data[i+1:]
	}
	return data, nil
}

// HostNamespaces reads the host's namespaces under the proc root ("" is
// /proc): pid 1's, or, when pid 1's mount namespace cannot be read (a
// sandbox that hides its init), the calling process's own. of says which:
// "pid 1" or "self"; it is "" when neither could be read.
func HostNamespaces(procRoot string) (ns map[string]uint64, of string) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	buf := make([]byte, 128)
	read := func(pid string) map[string]uint64 {
		out := map[string]uint64{}
		for _, t := range NamespaceTypes {
			n, err := unix.Readlink(filepath.Join(procRoot, pid, "ns", t), buf)
			if err != nil {
				continue
			}
			if typ, ino, err := ParseNamespaceLink(buf[:n]); err == nil && typ == t {
				out[t] = ino
			}
		}
		return out
	}
	if ns = read("1"); ns["mnt"] != 0 {
		return ns, "pid 1"
	}
	if ns = read("self"); ns["mnt"] != 0 {
		return ns, "self"
	}
	return nil, ""
}

// confiner holds what the confinement checks of one scan share: the host's
// mount namespace and the mount ids of each mount namespace met.
type confiner struct {
	procRoot string
	hostMnt  uint64
	// hostDir is the proc directory ("1" or "self") the host's namespaces
	// were read from.
	hostDir string
	mu      sync.Mutex
	mounts  map[uint64]map[int]bool // by mount namespace inode; nil: unreadable
}

func newConfiner(procRoot string, host map[string]uint64, of string) *confiner {
	c := &confiner{procRoot: procRoot, hostMnt: host["mnt"], mounts: map[uint64]map[int]bool{}}
	switch of {
	case "pid 1":
		c.hostDir = "1"
	case "self":
		c.hostDir = "self"
	}
	return c
}

// confined reports whether p is in another mount namespace than the
// host's.
func (c *confiner) confined(p *Process) bool {
	if c == nil || c.hostMnt == 0 {
		return false
	}
	mnt := p.Namespaces["mnt"]
	return mnt != 0 && mnt != c.hostMnt
}

// mountsOf returns the mount ids of namespace ns, read from dir's
// mountinfo the first time; nil if it cannot be read.
func (c *confiner) mountsOf(ns uint64, dir string) (map[int]bool, error) {
	c.mu.Lock()
	ids, ok := c.mounts[ns]
	c.mu.Unlock()
	if ok {
		return ids, nil
	}
	data, err := os.ReadFile(filepath.Join(dir, "mountinfo"))
	if err == nil {
		ids, err = ParseMountIDs(data)
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.mounts[ns] = ids
	c.mu.Unlock()
	return ids, nil
}

// check marks p's candidate fds: directories and regular files on a mount
// not of p's mount namespace whose path does not lead to them inside p's
// root. Their owner namespace is found once the scan is done (resolve).
func (c *confiner) check(r *reader, p *Process, dir string) {
	own, err := c.mountsOf(p.Namespaces["mnt"], dir)
	if err != nil {
		if !gone(err) {
			r.deny(p, "mountinfo", err)
		}
		return
	}
	root := -1
	defer func() {
		if root >= 0 {
			unix.Close(root)
		}
	}()
	for i := range p.FDs {
		fd := &p.FDs[i]
		if fd.Inode == nil || own[fd.MntID] || !strings.HasPrefix(fd.Target, "/") {
			continue
		}
		if kind := fd.Mode & unix.S_IFMT; kind != unix.S_IFDIR && kind != unix.S_IFREG {
			continue
		}
		if !strings.HasSuffix(fd.Target, " (deleted)") {
			if root < 0 {
				if root, err = unix.Open(filepath.Join(dir, "root"), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
					root = -1
					if !gone(err) {
						r.deny(p, "root", err)
					}
					return
				}
			}
			if reachable(root, fd) {
				continue
			}
		}
		p.foreign = append(p.foreign, foreignFD{num: fd.Num, mnt: fd.MntID})
	}
}

// foreignFD is a candidate of the confinement check: an fd and its mount.
type foreignFD struct{ num, mnt int }

// reachable reports whether fd's path, resolved inside the root, is fd's
// inode.
func reachable(root int, fd *FD) bool {
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	node, err := unix.Openat2(root, fd.Target, how)
	if err != nil {
		return false
	}
	defer unix.Close(node)
	var st unix.Stat_t
	if err := unix.Fstat(node, &st); err != nil {
		return false
	}
	return st.Ino == fd.Ino && st.Dev == fd.Dev
}

// resolve names the mount namespace of each candidate fd: the host's
// first, then those of the other scanned processes; a candidate on no
// scanned namespace's mount (a memfd, a detached mount) is dropped.
func (c *confiner) resolve(procs []*Process) {
	var pending []*Process
	for _, p := range procs {
		if p != nil && len(p.foreign) > 0 {
			pending = append(pending, p)
		}
	}
	if len(pending) == 0 {
		return
	}
	// Candidate namespaces: the host's, then each other one met, read
	// through the lowest pid in it.
	type source struct {
		ns  uint64
		dir string
	}
	sources := []source{}
	if c.hostDir != "" {
		sources = append(sources, source{c.hostMnt, filepath.Join(c.procRoot, c.hostDir)})
	}
	seen := map[uint64]bool{c.hostMnt: true}
	for _, p := range procs {
		if p == nil {
			continue
		}
		if ns := p.Namespaces["mnt"]; ns != 0 && !seen[ns] {
			seen[ns] = true
			sources = append(sources, source{ns, filepath.Join(c.procRoot, strconv.Itoa(p.PID))})
		}
	}
	for _, p := range pending {
		for _, f := range p.foreign {
			for _, s := range sources {
				if s.ns == p.Namespaces["mnt"] {
					continue
				}
				if ids, err := c.mountsOf(s.ns, s.dir); err == nil && ids[f.mnt] {
					if p.ForeignMountNS == nil {
						p.ForeignMountNS = map[int]uint64{}
					}
					p.ForeignMountNS[f.num] = s.ns
					break
				}
			}
		}
		p.foreign = nil
	}
}
