//go:build linux

package outfile

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultMode is the mode of the files Write creates unless told otherwise:
// outputs hold other users' file paths, which /proc hides from them.
const DefaultMode os.FileMode = 0o600

// DefaultFIFOWait is how long Write waits for a FIFO's reader unless told
// otherwise.
const DefaultFIFOWait = 30 * time.Second

// Options say where standard output is and how to create files.
type Options struct {
	// Stdout receives the output when the path is "" or "-".
	Stdout io.Writer
	// Mode is the permission of a file Write creates; 0 means DefaultMode.
	Mode os.FileMode
	// Notices, if set, is told when Write waits for a FIFO's reader.
	Notices io.Writer
	// FIFOWait bounds that wait; 0 means DefaultFIFOWait.
	FIFOWait time.Duration
}

// IsStdout reports whether path means standard output.
func IsStdout(path string) bool { return path == "" || path == "-" }

// Check reports early, before a long scan, why Write could not write
// path: a missing directory, a directory, a socket, a link or a node that
// is not safe to follow or write. It creates and opens nothing for
// writing.
func Check(path string) error {
	if IsStdout(path) {
		return nil
	}
	t, err := resolve(path)
	if err != nil {
		return err
	}
	defer t.close()
	return t.check(path)
}

// check refuses what no write could use.
func (t *target) check(path string) error {
	if !t.exists || t.magic {
		return nil
	}
	switch t.st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return nil
	case unix.S_IFSOCK:
		return fmt.Errorf("%s: %w", path, ErrSocket)
	}
	if !trusted(t.st.Uid, &t.dirSt, os.Geteuid()) {
		return fmt.Errorf("%s: %w (it belongs to uid %d, its directory to uid %d, mode %#o)",
			path, ErrUnsafeNode, t.st.Uid, t.dirSt.Uid, t.dirSt.Mode&0o7777)
	}
	return nil
}

// Write writes what write produces to path, as the package doc says: to
// standard output for "" and "-", in place for devices, FIFOs and this
// process's own descriptors, and otherwise by atomically replacing the
// file. write's error is returned as is; a failed write leaves no
// partial file behind. ctx ends a wait for a FIFO's reader.
func Write(ctx context.Context, path string, opts Options, write func(io.Writer) error) error {
	if IsStdout(path) {
		return write(opts.Stdout)
	}
	t, err := resolve(path)
	if err != nil {
		return err
	}
	defer t.close()
	if err := t.check(path); err != nil {
		return err
	}
	switch {
	case t.selfFD >= 0:
		return writeSelf(path, t.selfFD, write)
	case t.magic:
		return writeInPlace(ctx, path, t, unix.O_WRONLY, opts, write)
	case !t.exists || t.st.Mode&unix.S_IFMT == unix.S_IFREG:
		return replace(path, t, opts, write)
	}
	return writeInPlace(ctx, path, t, unix.O_WRONLY|unix.O_NOFOLLOW, opts, write)
}

// writeSelf writes to one of this process's own descriptors.
func writeSelf(path string, fd int, write func(io.Writer) error) error {
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(dup), path)
	defer f.Close()
	return buffered(f, write)
}

// buffered runs write on a buffer in front of w and flushes it.
func buffered(w io.Writer, write func(io.Writer) error) error {
	b := bufio.NewWriterSize(w, 64<<10)
	if err := write(b); err != nil {
		return err
	}
	return b.Flush()
}

// writeInPlace opens an existing device, FIFO or /proc link and writes to
// it: no O_CREAT (nothing is ever created through a link), no O_TRUNC.
// The FIFO case opens without blocking and waits for a reader.
func writeInPlace(ctx context.Context, path string, t *target, flags int, opts Options, write func(io.Writer) error) error {
	flags |= unix.O_NOCTTY | unix.O_NONBLOCK | unix.O_CLOEXEC
	fd, err := unix.Openat(t.dir, t.name, flags, 0)
	if errors.Is(err, unix.ENXIO) {
		fd, err = waitForReader(ctx, path, t, flags, opts)
	}
	if err != nil {
		if errors.Is(err, ErrNoReader) || ctx.Err() != nil {
			return err
		}
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if !t.magic && (st.Dev != t.st.Dev || st.Ino != t.st.Ino) {
		unix.Close(fd)
		return fmt.Errorf("%s: replaced while it was opened; not written", path)
	}
	if t.magic && st.Mode&unix.S_IFMT == unix.S_IFREG {
		// Another process's fd naming a file: write the file, not into it.
		if err := unix.Ftruncate(fd, 0); err != nil {
			unix.Close(fd)
			return &os.PathError{Op: "truncate", Path: path, Err: err}
		}
	}
	// Writes block normally from here on: a slow reader slows us down.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return &os.PathError{Op: "fcntl", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if err := buffered(f, write); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFBLK || st.Mode&unix.S_IFMT == unix.S_IFREG {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return f.Close()
}

// waitForReader retries the non-blocking open of a FIFO until a process
// opens it for reading, ctx ends or opts.FIFOWait passes.
func waitForReader(ctx context.Context, path string, t *target, flags int, opts Options) (int, error) {
	wait := opts.FIFOWait
	if wait <= 0 {
		wait = DefaultFIFOWait
	}
	if opts.Notices != nil {
		fmt.Fprintf(opts.Notices, "kcmpgraph: %s is a FIFO without a reader; waiting up to %v for one\n", path, wait)
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("%s: %w while waiting for a reader", path, context.Cause(ctx))
		case <-deadline.C:
			return -1, fmt.Errorf("%s: %w after %v", path, ErrNoReader, wait)
		case <-tick.C:
		}
		fd, err := unix.Openat(t.dir, t.name, flags, 0)
		if !errors.Is(err, unix.ENXIO) {
			return fd, err
		}
	}
}

// replace writes a new file in the directory and renames it over the
// name.
func replace(path string, t *target, opts Options, write func(io.Writer) error) error {
	mode := opts.Mode
	if mode == 0 {
		mode = DefaultMode
	}
	tmp, name, err := createTemp(t)
	if err != nil {
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS) {
			return fmt.Errorf("cannot write %s: no new file can be created in its directory: %w", path, err)
		}
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	linked := name != ""
	done := false
	defer func() {
		tmp.Close()
		if linked && !done {
			unix.Unlinkat(t.dir, name, 0)
		}
	}()
	if err := buffered(tmp, write); err != nil {
		return err
	}
	if err := unix.Fchmod(int(tmp.Fd()), uint32(mode.Perm())); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if !linked {
		if name, err = linkTemp(tmp, t); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		linked = true
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := unix.Renameat(t.dir, name, t.dir, t.name); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	done = true
	if d, err := unix.Openat(t.dir, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		unix.Fsync(d)
		unix.Close(d)
	}
	return nil
}

// tmpfileFlag is O_TMPFILE; tests clear it to take the path of file
// systems without O_TMPFILE.
var tmpfileFlag = unix.O_TMPFILE

// createTemp creates the new file: unnamed (O_TMPFILE, name "") where the
// file system supports it, else under a fresh hidden name.
func createTemp(t *target) (*os.File, string, error) {
	err := error(unix.EOPNOTSUPP)
	if tmpfileFlag != 0 {
		var fd int
		fd, err = unix.Openat(t.dir, ".", tmpfileFlag|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
		if err == nil {
			return os.NewFile(uintptr(fd), t.name), "", nil
		}
	}
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EINVAL) {
		return nil, "", err
	}
	for range 10 {
		name := tempName(t.name)
		fd, err := unix.Openat(t.dir, name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return os.NewFile(uintptr(fd), name), name, nil
	}
	return nil, "", unix.EEXIST
}

// linkTemp gives the unnamed file a hidden name in the directory.
func linkTemp(tmp *os.File, t *target) (string, error) {
	for range 10 {
		name := tempName(t.name)
		err := unix.Linkat(int(tmp.Fd()), "", t.dir, name, unix.AT_EMPTY_PATH)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EPERM) {
			// AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc link does not.
			err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(int(tmp.Fd())), t.dir, name, unix.AT_SYMLINK_FOLLOW)
		}
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		return name, err
	}
	return "", unix.EEXIST
}

func tempName(base string) string {
	var r [6]byte
	rand.Read(r[:])
	if len(base) > 200 {
		base = base[:200]
	}
	return "." + base + ".tmp-" + hex.EncodeToString(r[:])
}
