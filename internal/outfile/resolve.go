//go:build linux

package outfile

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Errors of Write and Check, testable with errors.Is.
var (
	// ErrUnsafeLink: the path goes through a symbolic link that another
	// user could have planted (see the package doc).
	ErrUnsafeLink = errors.New("refusing to follow a symbolic link another user could have planted")
	// ErrUnsafeNode: the path names a FIFO or device that another user
	// could have planted.
	ErrUnsafeNode = errors.New("refusing to write into a FIFO or device another user could have planted")
	// ErrIsDirectory: the path names a directory.
	ErrIsDirectory = errors.New("is a directory")
	// ErrNoDirectory: a directory on the path does not exist.
	ErrNoDirectory = errors.New("directory does not exist")
	// ErrSocket: the path names a socket, which cannot be opened.
	ErrSocket = errors.New("is a socket")
	// ErrNoReader: the path names a FIFO that no process opened for reading
	// within Options.FIFOWait.
	ErrNoReader = errors.New("FIFO has no reader")
	// ErrTooManyLinks: more symbolic links than the kernel would follow.
	ErrTooManyLinks = errors.New("too many levels of symbolic links")
)

// maxLinks is the kernel's limit on symbolic links in one path walk.
const maxLinks = 40

// target is where a path leads: a directory and a name in it.
type target struct {
	dir    int         // O_PATH descriptor of the directory holding name
	dirSt  unix.Stat_t // the directory
	name   string
	exists bool
	st     unix.Stat_t // name itself (not followed), when it exists
	// selfFD is one of this process's descriptors that the path names
	// (/dev/stdout, /proc/self/fd/N), or -1.
	selfFD int
	// magic is set for a /proc link that only the kernel can follow.
	magic bool
}

func (t *target) close() {
	if t.dir >= 0 {
		unix.Close(t.dir)
		t.dir = -1
	}
}

// OthersCanChange reports whether a user other than euid and root can
// change the file or directory st: it belongs to another user, or its
// group or others may write it (for a directory: add, remove or rename
// its entries). It is kcmpgraph's one test of whether a directory is
// private, here for outputs and in package graphout for the cache of
// compiled code.
func OthersCanChange(st *unix.Stat_t, euid int) bool {
	owner := int(st.Uid)
	return (owner != euid && owner != 0) || st.Mode&0o022 != 0
}

// trusted reports whether an entry owned by uid, in the directory dir,
// may be followed (a link) or written in place (a FIFO or device): the
// entry belongs to the caller, or nobody but the caller and root can
// change the directory, or the directory is sticky and the entry belongs
// to its owner, who is the caller or root.
func trusted(uid uint32, dir *unix.Stat_t, euid int) bool {
	if int(uid) == euid || !OthersCanChange(dir, euid) {
		return true
	}
	downer := int(dir.Uid)
	return dir.Mode&unix.S_ISVTX != 0 && uid == dir.Uid && (downer == euid || downer == 0)
}

func isProc(fd int) bool {
	var fs unix.Statfs_t
	return unix.Fstatfs(fd, &fs) == nil && fs.Type == unix.PROC_SUPER_MAGIC
}

// resolve walks path one component at a time and returns the directory
// and name it ends at, following symbolic links that are safe to follow.
func resolve(path string) (*target, error) {
	if path == "" {
		return nil, &os.PathError{Op: "open", Path: path, Err: unix.ENOENT}
	}
	start := "."
	if strings.HasPrefix(path, "/") {
		start = "/"
	}
	dir, err := unix.Openat(unix.AT_FDCWD, start, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: start, Err: err}
	}
	t := &target{dir: dir, selfFD: -1}
	fail := func(err error) (*target, error) {
		t.close()
		return nil, err
	}
	euid := os.Geteuid()
	comps := splitPath(path)
	if len(comps) == 0 { // "/" or "."
		return fail(fmt.Errorf("%s: %w", path, ErrIsDirectory))
	}
	links := 0
	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		if err := unix.Fstat(t.dir, &t.dirSt); err != nil {
			return fail(&os.PathError{Op: "stat", Path: path, Err: err})
		}
		if c == "." && len(comps) > 0 {
			continue
		}
		last := len(comps) == 0
		fd, err := unix.Openat(t.dir, c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			if errors.Is(err, unix.ENOENT) && last {
				t.name = c
				return t, nil
			}
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
				return fail(fmt.Errorf("%s: %w", path, ErrNoDirectory))
			}
			return fail(&os.PathError{Op: "open", Path: path, Err: err})
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return fail(&os.PathError{Op: "stat", Path: path, Err: err})
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			if isProc(t.dir) {
				// A process's fd, cwd, root or exe: text such as
				// "pipe:[123]" that only the kernel resolves.
				unix.Close(fd)
				if last {
					t.name, t.exists, t.st, t.magic = c, true, st, true
					t.selfFD = selfFD(t.dir, c)
					return t, nil
				}
				next, err := unix.Openat(t.dir, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
				if err != nil {
					return fail(&os.PathError{Op: "open", Path: path, Err: err})
				}
				unix.Close(t.dir)
				t.dir = next
				continue
			}
			if !trusted(st.Uid, &t.dirSt, euid) {
				unix.Close(fd)
				return fail(fmt.Errorf("%s: %w (the link %s belongs to uid %d, its directory to uid %d, mode %#o)",
					path, ErrUnsafeLink, c, st.Uid, t.dirSt.Uid, t.dirSt.Mode&0o7777))
			}
			if links++; links > maxLinks {
				unix.Close(fd)
				return fail(fmt.Errorf("%s: %w", path, ErrTooManyLinks))
			}
			dest, err := readLink(fd)
			unix.Close(fd)
			if err != nil {
				return fail(&os.PathError{Op: "readlink", Path: path, Err: err})
			}
			if strings.HasPrefix(dest, "/") {
				root, err := unix.Openat(unix.AT_FDCWD, "/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
				if err != nil {
					return fail(&os.PathError{Op: "open", Path: "/", Err: err})
				}
				unix.Close(t.dir)
				t.dir = root
			}
			rest := splitPath(dest)
			if len(rest) == 0 { // a link to "/" or "."
				rest = []string{"."}
			}
			comps = append(rest, comps...)
		case unix.S_IFDIR:
			if last {
				unix.Close(fd)
				return fail(fmt.Errorf("%s: %w", path, ErrIsDirectory))
			}
			unix.Close(t.dir)
			t.dir = fd
		default:
			unix.Close(fd)
			if !last {
				return fail(fmt.Errorf("%s: %w", path, ErrNoDirectory))
			}
			t.name, t.exists, t.st = c, true, st
			return t, nil
		}
	}
	// The path ended in "." or in a link to a directory.
	return fail(fmt.Errorf("%s: %w", path, ErrIsDirectory))
}

// splitPath splits a path into its components, without empty ones.
func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// readLink reads the target of the link opened (O_PATH|O_NOFOLLOW) as fd.
func readLink(fd int) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(fd, "", buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// selfFD returns N when name is N in this process's own fd directory
// (/proc/self/fd, /proc/thread-self/fd), which dir is; else -1.
func selfFD(dir int, name string) int {
	n, err := strconv.Atoi(name)
	if err != nil || n < 0 {
		return -1
	}
	var st unix.Stat_t
	if unix.Fstat(dir, &st) != nil {
		return -1
	}
	for _, own := range []string{"/proc/self/fd", "/proc/thread-self/fd"} {
		var o unix.Stat_t
		if unix.Stat(own, &o) == nil && o.Dev == st.Dev && o.Ino == st.Ino {
			return n
		}
	}
	return -1
}
