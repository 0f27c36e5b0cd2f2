//go:build linux

// Package containertest starts real containers for tests: runc (and
// podman, where it works on the machine) running busybox-static from a
// read-only root, without a network, optionally handed host descriptors
// with --preserve-fds: the runc CVE-2024-21626 shape, made on purpose.
//
// Every container, bundle and cgroup a test makes is removed in its
// cleanup, even when the test fails; containers left by a test binary
// that was killed (their id names its pid) are removed by the next one.
// Container tests of all packages take one lock, so that they never race
// on a runtime's shared parent cgroups. It is for tests only.
package containertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Container is one running container.
type Container struct {
	// ID is the runtime's id (runc: the name given; podman: 64 hex).
	ID string
	// Name is the runtime's name for it (runc: the id).
	Name string
	// PID is its init process, in the caller's pid namespace.
	PID int
}

// Prefix starts the id of every container this package makes, then the
// test binary's pid.
const Prefix = "kgtest-"

// busybox is where busybox-static installs its binary on Debian.
var busyboxPaths = []string{"/bin/busybox", "/usr/bin/busybox"}

// lockPath serialises container tests across test binaries.
const lockPath = "/run/lock/kcmpgraph-containertest.lock"

func need(t testing.TB) (busybox string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("real containers need root")
	}
	for _, p := range busyboxPaths {
		if out, err := exec.Command("file", "-L", p).Output(); err == nil && bytes.Contains(out, []byte("statically linked")) {
			return p
		}
		if _, err := os.Stat(p); err == nil {
			busybox = p
		}
	}
	if busybox == "" {
		t.Skip("busybox-static is not installed (.ci/run installs it)")
	}
	// Containers get the host's /dev/null as stdio: a regular file there
	// (an output renamed over it) would be a host file inside them.
	if st, err := os.Stat(os.DevNull); err != nil {
		t.Fatal(err)
	} else if st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("the host's %s is not the null device (mode %v): something replaced it", os.DevNull, st.Mode())
	}
	return busybox
}

// lock takes the package-wide lock for the rest of the test.
func lock(t testing.TB) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(lockPath), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
}

// rootfs builds a busybox root with the directories runc mounts over.
func rootfs(t testing.TB, busybox string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sh", "sleep", "ls", "cat", "true"} {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// command makes a runtime command with a deadline, killed with the test.
func command(dir string, extra []*os.File, name string, args []string) (*exec.Cmd, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.ExtraFiles = extra
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd, cancel
}

// run runs a command with a deadline and returns its output or a failure
// naming it. Output goes through files, not pipes: a detached container
// inherits the runtime's stdio and would hold a pipe open for its life.
func run(dir string, extra []*os.File, name string, args ...string) (string, error) {
	cmd, cancel := command(dir, extra, name, args)
	defer cancel()
	out, err := os.CreateTemp("", "containertest-out-")
	if err != nil {
		return "", err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	errOut, err := os.CreateTemp("", "containertest-err-")
	if err != nil {
		return "", err
	}
	defer os.Remove(errOut.Name())
	defer errOut.Close()
	cmd.Stdout, cmd.Stderr = out, errOut
	runErr := cmd.Run()
	stdout, _ := os.ReadFile(out.Name())
	if runErr != nil {
		stderr, _ := os.ReadFile(errOut.Name())
		return string(stdout), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), runErr, strings.TrimSpace(string(stderr)))
	}
	return string(stdout), nil
}

// runDetached runs a runtime command whose container inherits its stdio:
// /dev/null.
func runDetached(dir string, extra []*os.File, name string, args ...string) error {
	cmd, cancel := command(dir, extra, name, args)
	defer cancel()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// staleID reports whether id was made by a test binary that is gone.
func staleID(id string) bool {
	rest, ok := strings.CutPrefix(id, Prefix)
	if !ok {
		return false
	}
	pidText, _, _ := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(pidText)
	if err != nil {
		return false
	}
	if pid == os.Getpid() {
		return false
	}
	_, err = os.Stat(filepath.Join("/proc", pidText))
	return os.IsNotExist(err)
}

// Runc starts runc containers.
type Runc struct {
	t      testing.TB
	rootfs string
}

// NewRunc checks for root, runc and busybox-static (skipping the test
// with the reason when one is missing), takes the container lock and
// removes containers of killed test binaries.
func NewRunc(t testing.TB) *Runc {
	t.Helper()
	busybox := need(t)
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc is not installed (.ci/run installs it)")
	}
	lock(t)
	_, statErr := os.Stat("/run/runc")
	if out, err := run("", nil, "runc", "list", "-q"); err == nil {
		for _, id := range strings.Fields(out) {
			if staleID(id) {
				removeRunc(id, 0)
			}
		}
	}
	if os.IsNotExist(statErr) {
		// runc makes its state root; leave the host as it was.
		t.Cleanup(removeStateRoot)
	}
	return &Runc{t: t, rootfs: rootfs(t, busybox)}
}

func removeRunc(id string, pid int) {
	run("", nil, "runc", "kill", id, "KILL")
	for range 50 {
		if _, err := run("", nil, "runc", "delete", "-f", id); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := 0; i < 250 && pid > 0 && alive(pid); i++ {
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid runs (exists and is no zombie).
func alive(pid int) bool {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	return i < 0 || i+2 >= len(data) || data[i+2] != 'Z'
}

// removeStateRoot removes runc's state root once empty: a container podman
// removed may leave its state a moment later.
func removeStateRoot() {
	for range 100 {
		if err := os.Remove("/run/runc"); err == nil || os.IsNotExist(err) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Run starts a container named name whose init sleeps, holding files as
// fds 3, 4, ... (--preserve-fds). Its removal is registered with the test.
func (r *Runc) Run(name string, files ...*os.File) *Container {
	return r.make(name, []string{"run", "--detach"}, files)
}

// Create creates a container as Run does but does not start it: its init
// is runc init, waiting on runc's exec.fifo for Start, already in the
// container's namespaces and cgroup and holding the files.
func (r *Runc) Create(name string, files ...*os.File) *Container {
	return r.make(name, []string{"create"}, files)
}

// Start starts a created container: its init execs the sleep.
func (r *Runc) Start(c *Container) {
	r.t.Helper()
	if _, err := run("", nil, "runc", "start", c.ID); err != nil {
		r.t.Fatal(err)
	}
}

func (r *Runc) make(name string, verb []string, files []*os.File) *Container {
	t := r.t
	t.Helper()
	id := fmt.Sprintf("%s%d-%s", Prefix, os.Getpid(), name)
	bundle := filepath.Join(t.TempDir(), "bundle")
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := run(bundle, nil, "runc", "spec"); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	proc := spec["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = []string{"/bin/sleep", "3600"}
	spec["root"] = map[string]any{"path": r.rootfs, "readonly": true}
	// runc spec's namespaces include a new, empty network namespace: no
	// network.
	if data, err = json.MarshalIndent(spec, "", " "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(bundle, "init.pid")
	pid := 0
	t.Cleanup(func() {
		removeRunc(id, pid)
		for _, c := range cgroupDirs(id) {
			os.Remove(c)
		}
	})
	// The init inherits runc's stdio: /dev/null, so that it holds no
	// file of the test's but the ones handed on purpose; runc's own
	// errors go to its log.
	logFile := filepath.Join(bundle, "runc.log")
	args := append([]string{"--log", logFile}, verb...)
	args = append(args, "--pid-file", pidFile)
	if len(files) > 0 {
		args = append(args, "--preserve-fds", strconv.Itoa(len(files)))
	}
	if err := runDetached(bundle, files, "runc", append(args, id)...); err != nil {
		log, _ := os.ReadFile(logFile)
		t.Fatalf("%v: %s", err, bytes.TrimSpace(log))
	}
	pidText, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if pid, err = strconv.Atoi(strings.TrimSpace(string(pidText))); err != nil {
		t.Fatalf("runc pid file: %v", err)
	}
	return &Container{ID: id, Name: id, PID: pid}
}

// cgroupDirs lists the cgroup directories named after a container id on
// this host (runc puts them under the caller's cgroup per hierarchy).
func cgroupDirs(id string) []string {
	var out []string
	filepath.WalkDir("/sys/fs/cgroup", func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if strings.Contains(d.Name(), id) {
			out = append(out, p)
			return filepath.SkipDir
		}
		if strings.Count(strings.TrimPrefix(p, "/sys/fs/cgroup"), "/") > 4 {
			return filepath.SkipDir
		}
		return nil
	})
	return out
}

// CgroupsLeft lists the cgroup directories still named after the id:
// empty once a container is removed.
func CgroupsLeft(id string) []string { return cgroupDirs(id) }

// Podman starts podman containers from the same kind of root.
type Podman struct {
	t         testing.TB
	rootfs    string
	newParent []string // podman's parent cgroups this test made
}

// podmanArgs are the options every container gets: no network, a
// read-only root and the rlimits this kind of host allows without
// CAP_SYS_RESOURCE (podman's defaults raise them and fail).
var podmanArgs = []string{"--network", "none", "--read-only", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}

// NewPodman checks for root, podman and busybox-static and that podman
// can run a container here (skipping with podman's own reason when it
// cannot), takes the container lock and removes containers of killed test
// binaries.
func NewPodman(t testing.TB) *Podman {
	t.Helper()
	busybox := need(t)
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman is not installed")
	}
	lock(t)
	if out, err := run("", nil, "podman", "ps", "-a", "--format", "{{.Names}}"); err == nil {
		for _, name := range strings.Fields(out) {
			if staleID(name) {
				run("", nil, "podman", "rm", "-f", "-t", "0", name)
			}
		}
	}
	p := &Podman{t: t, rootfs: rootfs(t, busybox)}
	// With the cgroupfs manager podman makes libpod_parent in every
	// hierarchy (the systemd manager uses machine.slice, systemd's own).
	hierarchies, _ := filepath.Glob("/sys/fs/cgroup/*/cgroup.procs")
	hierarchies = append(hierarchies, "/sys/fs/cgroup/cgroup.procs")
	for _, h := range hierarchies {
		c := filepath.Join(filepath.Dir(h), "libpod_parent")
		if _, err := os.Stat(c); os.IsNotExist(err) {
			p.newParent = append(p.newParent, c)
		}
	}
	t.Cleanup(p.removeParents)
	if _, err := os.Stat("/run/runc"); os.IsNotExist(err) {
		// podman's runc makes its state root; leave the host as it was.
		t.Cleanup(removeStateRoot)
	}
	probe := fmt.Sprintf("%s%d-probe", Prefix, os.Getpid())
	args := append(append([]string{"run", "--rm", "--name", probe}, podmanArgs...), "--rootfs", p.rootfs, "/bin/true")
	if _, err := run("", nil, "podman", args...); err != nil {
		run("", nil, "podman", "rm", "-f", "-t", "0", probe)
		t.Skipf("podman cannot run a container on this machine: %v", err)
	}
	return p
}

// removeParents removes the parent cgroups podman made for this test
// once empty (rmdir of a cgroup with processes or children fails): conmon
// leaves its cgroup a moment after podman rm returns.
func (p *Podman) removeParents() {
	for try := 0; try < 100; try++ {
		left := false
		for _, c := range p.newParent {
			var dirs []string
			filepath.WalkDir(c, func(path string, d os.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					dirs = append(dirs, path)
				}
				return nil
			})
			for i := len(dirs) - 1; i >= 0; i-- {
				if err := os.Remove(dirs[i]); err != nil && !os.IsNotExist(err) {
					left = true
				}
			}
		}
		if !left {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Run starts a podman container named after name whose init sleeps,
// holding files as fds 3, 4, ...
func (p *Podman) Run(name string, files ...*os.File) *Container {
	t := p.t
	t.Helper()
	full := fmt.Sprintf("%s%d-%s", Prefix, os.Getpid(), name)
	t.Cleanup(func() { run("", nil, "podman", "rm", "-f", "-t", "0", full) })
	args := append([]string{"run", "-d", "--name", full}, podmanArgs...)
	if len(files) > 0 {
		args = append(args, "--preserve-fds", strconv.Itoa(len(files)))
	}
	out, err := run("", files, "podman", append(args, "--rootfs", p.rootfs, "/bin/sleep", "3600")...)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(out)
	pidText, err := run("", nil, "podman", "inspect", "--format", "{{.State.Pid}}", full)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(pidText))
	if err != nil || pid <= 0 {
		t.Fatalf("podman inspect %s: pid %q", full, pidText)
	}
	return &Container{ID: id, Name: full, PID: pid}
}

// ParentPID is the pid of the container init's parent (podman's conmon;
// for runc, whoever adopted the init), or 0 if it cannot be read.
func (c *Container) ParentPID() int {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(c.PID), "stat"))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// HostDir opens a new directory of the host, to hand to a container as
// the leak; it is closed and removed with the test.
func HostDir(t testing.TB) *os.File {
	t.Helper()
	f, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
