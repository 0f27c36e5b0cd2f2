//go:build linux

package graphout

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/internal/outfile"
)

// maxCacheEntries bounds the walk over the cache directory's contents.
const maxCacheEntries = 256

// openRenderCache opens the directory where the renderer keeps graphviz
// compiled for this machine: $XDG_CACHE_HOME/kcmpgraph/graphviz, else
// $HOME/.cache/kcmpgraph/graphviz, making what is missing below
// XDG_CACHE_HOME or HOME with mode 0700. Compiled code there is executed,
// so the directory is refused unless it, every directory above it and
// everything in it belongs to root or to this user and can be written by
// no one else (a sticky directory above it, like /tmp, may be: others
// cannot move what they do not own out of it). Then no other user can
// change what the renderer loads; the open directory is handed to the
// renderer, so that nothing is looked up by path again.
func openRenderCache() (*os.File, error) {
	base, below := os.Getenv("XDG_CACHE_HOME"), []string{"kcmpgraph", "graphviz"}
	if !filepath.IsAbs(base) {
		home := os.Getenv("HOME")
		if !filepath.IsAbs(home) {
			return nil, errors.New("neither XDG_CACHE_HOME nor HOME is an absolute path")
		}
		base, below = home, append([]string{".cache"}, below...)
	}
	real, err := filepath.EvalSymlinks(base)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	path := "/"
	if err := checkTrusted(fd, path, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	var existing []string
	if real != "/" {
		existing = strings.Split(strings.TrimPrefix(real, "/"), "/")
	}
	names := append(existing, below...)
	for i, name := range names {
		next, err := openDirAt(fd, name, i >= len(existing))
		unix.Close(fd)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(path, name), err)
		}
		fd, path = next, filepath.Join(path, name)
		if err := checkTrusted(fd, path, i < len(names)-1); err != nil {
			unix.Close(fd)
			return nil, err
		}
	}
	n := 0
	if err := checkContents(fd, path, &n); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// openDirAt opens the directory name in dirfd without following a
// symbolic link, first making it (0700) if create is set and it is missing.
func openDirAt(dirfd int, name string, create bool) (int, error) {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(dirfd, name, flags, 0)
	if errors.Is(err, unix.ENOENT) && create {
		if err := unix.Mkdirat(dirfd, name, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, err
		}
		fd, err = unix.Openat(dirfd, name, flags, 0)
	}
	return fd, err
}

// trusted reports whether st is a directory or regular file that only root
// or this user can change (outfile.OthersCanChange). A directory on the
// way to the cache (above is set) may be writable by others if it is
// sticky, like /tmp, and belongs to root or this user: others cannot then
// rename or remove the next directory, which must be root's or this
// user's.
func trusted(st *unix.Stat_t, above bool) bool {
	kind := st.Mode & unix.S_IFMT
	if kind != unix.S_IFDIR && kind != unix.S_IFREG {
		return false
	}
	euid := os.Geteuid()
	if !outfile.OthersCanChange(st, euid) {
		return true
	}
	return above && kind == unix.S_IFDIR && st.Mode&unix.S_ISVTX != 0 && (st.Uid == 0 || int(st.Uid) == euid)
}

func checkTrusted(fd int, path string, above bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if !trusted(&st, above) {
		return fmt.Errorf("%s (owner %d, mode %o) could be changed by another user", path, st.Uid, st.Mode&0o7777)
	}
	return nil
}

// checkContents checks everything below the directory fd, counting
// entries in n.
func checkContents(fd int, path string, n *int) error {
	dup, err := unix.Dup(fd)
	if err != nil {
		return err
	}
	dir := os.NewFile(uintptr(dup), path)
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, name := range names {
		if *n++; *n > maxCacheEntries {
			return fmt.Errorf("%s: more than %d entries", path, maxCacheEntries)
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		p := filepath.Join(path, name)
		if !trusted(&st, false) {
			return fmt.Errorf("%s (owner %d, mode %o) could be changed by another user, or is no file", p, st.Uid, st.Mode&0o7777)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			sub, err := openDirAt(fd, name, false)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			err = checkContents(sub, p, n)
			unix.Close(sub)
			if err != nil {
				return err
			}
		}
	}
	return nil
}
