//go:build linux

package outfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const payload = "the output\n"

func writePayload(w io.Writer) error {
	_, err := io.WriteString(w, payload)
	return err
}

func write(t *testing.T, path string, opts Options) error {
	t.Helper()
	return Write(context.Background(), path, opts, writePayload)
}

// entries lists a directory, to prove nothing was left behind.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range des {
		names = append(names, d.Name())
	}
	return names
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test makes device nodes or files of another user")
	}
}

func TestReplaceRegularFile(t *testing.T) {
	for _, tmpfile := range []bool{true, false} {
		t.Run(fmt.Sprintf("O_TMPFILE=%v", tmpfile), func(t *testing.T) {
			if !tmpfile {
				old := tmpfileFlag
				tmpfileFlag = 0
				t.Cleanup(func() { tmpfileFlag = old })
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "out.json")
			if err := os.WriteFile(path, []byte("old content, longer than the new\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := write(t, path, Options{}); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			st, _ := os.Stat(path)
			if string(got) != payload || st.Mode() != 0o600 {
				t.Errorf("file %q mode %v, want %q mode 0600", got, st.Mode(), payload)
			}
			if e := entries(t, dir); len(e) != 1 {
				t.Errorf("directory holds %v, want only out.json", e)
			}
			// A failed write keeps the old file and leaves nothing else.
			err := Write(context.Background(), path, Options{}, func(w io.Writer) error {
				io.WriteString(w, strings.Repeat("partial ", 100000))
				return errors.New("interrupted")
			})
			if err == nil || err.Error() != "interrupted" {
				t.Fatalf("err = %v, want the write function's error", err)
			}
			if got, _ := os.ReadFile(path); string(got) != payload {
				t.Errorf("a failed write changed the file to %.40q", got)
			}
			if e := entries(t, dir); len(e) != 1 {
				t.Errorf("a failed write left %v", e)
			}
		})
	}
}

func TestNewFileMode(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir := t.TempDir()
	for _, mode := range []os.FileMode{0, 0o644, 0o640} {
		path := filepath.Join(dir, fmt.Sprintf("new-%o", mode))
		if err := write(t, path, Options{Mode: mode}); err != nil {
			t.Fatal(err)
		}
		want := mode
		if want == 0 {
			want = DefaultMode
		}
		if st, err := os.Stat(path); err != nil || st.Mode() != want {
			t.Errorf("mode %v: file mode %v, %v", mode, st.Mode(), err)
		}
	}
}

func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "sock")
	l, err := (&netListen{}).unix(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(l)
	for path, want := range map[string]error{
		dir:                                ErrIsDirectory,
		dir + "/.":                         ErrIsDirectory,
		filepath.Join(dir, "none", "x"):    ErrNoDirectory,
		filepath.Join(sock, "x"):           ErrNoDirectory,
		sock:                               ErrSocket,
		"/":                                ErrIsDirectory,
		filepath.Join(dir, "missing.json"): nil,
	} {
		if err := Check(path); !errors.Is(err, want) {
			t.Errorf("Check(%s) = %v, want %v", path, err, want)
		}
	}
	if err := write(t, sock, Options{}); !errors.Is(err, ErrSocket) {
		t.Errorf("Write to a socket: %v", err)
	}
	if e := entries(t, dir); len(e) != 1 {
		t.Errorf("Check or Write created %v", e)
	}
}

type netListen struct{}

func (netListen) unix(path string) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// TestCharDevice: a character device is written in place, never replaced
// (kcmpgraph -o /dev/null once renamed a root-only regular file over it).
func TestCharDevice(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	null := filepath.Join(dir, "null")
	if err := unix.Mknod(null, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("mknod: %v (no CAP_MKNOD here)", err)
	}
	if err := os.Chmod(null, 0o666); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "stdout-like")
	if err := os.Symlink(null, link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{null, link} {
		if err := Check(path); err != nil {
			t.Errorf("Check(%s): %v", path, err)
		}
		if err := write(t, path, Options{}); err != nil {
			t.Errorf("Write(%s): %v", path, err)
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(null, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) || st.Mode&0o777 != 0o666 {
		t.Errorf("the device is now mode %o rdev %d:%d (%v), want a 0666 character device 1:3",
			st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev), err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link to the device was replaced: %v %v", fi.Mode(), err)
	}
	if e := entries(t, dir); len(e) != 2 {
		t.Errorf("directory holds %v", e)
	}
}

// TestFIFO: a FIFO is written in place to its reader; without a reader
// Write waits, says so, and fails with ErrNoReader.
func TestFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, late := range []time.Duration{0, 300 * time.Millisecond} {
		got := make(chan string, 1)
		go func() {
			time.Sleep(late)
			b, _ := os.ReadFile(fifo) // opens for reading, reads to EOF
			got <- string(b)
		}()
		var notices bytes.Buffer
		if err := write(t, fifo, Options{Notices: &notices, FIFOWait: 10 * time.Second}); err != nil {
			t.Fatalf("reader after %v: %v", late, err)
		}
		select {
		case s := <-got:
			if s != payload {
				t.Errorf("reader after %v read %q", late, s)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("reader after %v: no EOF", late)
		}
		if late > 0 && !strings.Contains(notices.String(), "waiting up to 10s") {
			t.Errorf("no notice of the wait: %q", notices.String())
		}
	}
	start := time.Now()
	var notices bytes.Buffer
	err := write(t, fifo, Options{Notices: &notices, FIFOWait: 300 * time.Millisecond})
	if !errors.Is(err, ErrNoReader) || time.Since(start) > 5*time.Second {
		t.Errorf("no reader: %v after %v, want ErrNoReader after 300ms", err, time.Since(start))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := Write(ctx, fifo, Options{}, writePayload); err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("no reader, cancelled: %v after %v", err, time.Since(start))
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v %v", fi.Mode(), err)
	}
}

// TestPlantedLinks: links and FIFOs that another user (uid 65534) could
// have planted are refused for root, however they are reached; the ones
// the kernel rule allows are followed.
func TestPlantedLinks(t *testing.T) {
	requireRoot(t)
	const nobody = 65534
	victimDir := t.TempDir()
	victim := filepath.Join(victimDir, "shadow")
	if err := os.WriteFile(victim, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sticky := t.TempDir()
	if err := os.Chmod(sticky, 0o1777); err != nil {
		t.Fatal(err)
	}
	owned := t.TempDir() // a directory of another user, not sticky
	if err := os.Chown(owned, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	plant := func(dir, name, dest string, uid int) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(dest, p); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := []string{
		plant(sticky, "out.json", victim, nobody),
		plant(owned, "out.json", victim, nobody),
		filepath.Join(plant(sticky, "dir", victimDir, nobody), "shadow"),
		plant(sticky, "hop", filepath.Join(owned, "out.json"), 0), // root's link to a planted one
	}
	fifo := filepath.Join(sticky, "snapshot.json")
	if err := unix.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(fifo, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	for _, p := range bad {
		if err := Check(p); !errors.Is(err, ErrUnsafeLink) {
			t.Errorf("Check(%s) = %v, want ErrUnsafeLink", p, err)
		}
		if err := write(t, p, Options{}); !errors.Is(err, ErrUnsafeLink) {
			t.Errorf("Write(%s) = %v, want ErrUnsafeLink", p, err)
		}
	}
	for _, err := range []error{Check(fifo), write(t, fifo, Options{FIFOWait: time.Second})} {
		if !errors.Is(err, ErrUnsafeNode) {
			t.Errorf("a FIFO of uid %d in a sticky directory: %v, want ErrUnsafeNode", nobody, err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "secret\n" {
		t.Fatalf("the victim file was written: %q", b)
	}
	for _, p := range bad[:2] {
		if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer the planted link", p)
		}
	}
	// The kernel rule's allowed cases: the caller's link, and a link of
	// the sticky directory's owner.
	mine := filepath.Join(victimDir, "mine.json")
	for _, p := range []string{plant(sticky, "root.json", mine, 0), plant(owned, "own.json", mine, 0)} {
		if err := write(t, p, Options{}); err != nil {
			t.Errorf("Write(%s): %v", p, err)
		}
		if b, _ := os.ReadFile(mine); string(b) != payload {
			t.Errorf("Write(%s) did not reach the link's target: %q", p, b)
		}
		os.Remove(mine)
	}
}

// TestOwnDescriptor: a path naming one of the process's own descriptors
// writes to it, keeping its offset and flags (an O_APPEND stdout appends).
func TestOwnDescriptor(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log")
	if err := os.WriteFile(path, []byte("first\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range []string{fmt.Sprintf("/proc/self/fd/%d", f.Fd()), fmt.Sprintf("/dev/fd/%d", f.Fd())} {
		if err := write(t, p, Options{}); err != nil {
			t.Fatalf("Write(%s): %v", p, err)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != "first\n"+payload+payload {
		t.Errorf("file holds %q, want the first line and two appended outputs", b)
	}
	if e := entries(t, dir); len(e) != 1 {
		t.Errorf("directory holds %v", e)
	}
}

const childEnv = "OUTFILE_TEST_NAMESPACE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		if err := namespaceChild(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// namespaceChild runs in a private mount namespace with a tmpfs of its
// own over /dev, in which it makes /dev/stdout and /dev/null as a host
// has them, and writes to both.
func namespaceChild() error {
	if err := unix.Mount("tmpfs", "/dev", "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755,size=1m"); err != nil {
		return fmt.Errorf("mount tmpfs on the private /dev: %w", err)
	}
	if err := os.Symlink("/proc/self/fd/1", "/dev/stdout"); err != nil {
		return err
	}
	if err := unix.Mknod("/dev/null", unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		return err
	}
	if err := os.Chmod("/dev/null", 0o666); err != nil {
		return err
	}
	for _, p := range []string{"/dev/stdout", "/dev/null"} {
		if err := Write(context.Background(), p, Options{}, writePayload); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	if fi, err := os.Lstat("/dev/stdout"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return fmt.Errorf("/dev/stdout is no longer a link: %v %v", fi.Mode(), err)
	}
	var st unix.Stat_t
	if err := unix.Lstat("/dev/null", &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Mode&0o777 != 0o666 {
		return fmt.Errorf("/dev/null is now mode %o (%v)", st.Mode, err)
	}
	des, _ := os.ReadDir("/dev")
	if len(des) != 2 {
		return fmt.Errorf("/dev holds %d entries, want 2", len(des))
	}
	return nil
}

// TestDevStdoutInPrivateNamespace writes to /dev/stdout and /dev/null the
// way "kcmpgraph scan -o /dev/stdout" does, in a child with a private
// mount namespace and a /dev of its own: the host's /dev is never touched.
func TestDevStdoutInPrivateNamespace(t *testing.T) {
	requireRoot(t)
	out := filepath.Join(t.TempDir(), "stdout")
	if err := os.WriteFile(out, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// Go makes the new namespace's mounts private (MS_REC|MS_PRIVATE on /)
	// before the child runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		if strings.Contains(err.Error(), "operation not permitted") {
			t.Skipf("no private mount namespace here: %v", err)
		}
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	if b, _ := os.ReadFile(out); string(b) != "first\n"+payload {
		t.Errorf("stdout file holds %q, want the first line and the output appended", b)
	}
}
