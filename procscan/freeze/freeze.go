//go:build linux

package freeze

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DefaultMax is the longest a freeze lasts unless the caller says otherwise.
const DefaultMax = 5 * time.Second

// Signals the watchdog waits for: wakeSignal from its parent when the scan
// is done, deathSignal from the kernel when its parent dies.
const (
	wakeSignal  = syscall.SIGUSR1
	deathSignal = syscall.SIGUSR2
)

// Freeze is a set of stopped processes. Thaw resumes them.
type Freeze struct {
	mu       sync.Mutex
	stopped  []int  // pids this freeze stopped and must resume
	already  []int  // pids that were stopped before; left alone
	cgroup   string // the cgroup v2 directory frozen instead, if any
	watchdog int
	thawed   bool
	deadline time.Time
}

// Method says how the processes were stopped: "cgroup" (the cgroup v2
// freezer; invisible to their parents) or "sigstop".
func (f *Freeze) Method() string {
	if f.cgroup != "" {
		return "cgroup"
	}
	return "sigstop"
}

// ErrTooLong is returned by Check when the freeze passed its maximum and
// the watchdog resumed the processes: a scan that continues is no longer
// consistent.
var ErrTooLong = errors.New("freeze exceeded its maximum time; processes were resumed")

// Stop freezes pids for at most max (DefaultMax if zero). The caller must
// call Thaw (defer it at once); if it cannot, the watchdog resumes them.
// Pids that no longer exist are skipped.
func Stop(ctx context.Context, pids []int, max time.Duration) (*Freeze, error) {
	if max <= 0 {
		max = DefaultMax
	}
	f := &Freeze{deadline: time.Now().Add(max)}
	// When the selection is exactly one cgroup's subtree, its freezer
	// stops it without the SIGSTOP that parents and shells see. A cgroup
	// that is frozen already stays as it is.
	if dir := cgroupFor(pids); dir != "" {
		if frozen, err := cgroupFrozen(dir); err == nil && frozen {
			f.already = append(f.already, pids...)
			return f, nil
		}
		wd, err := startWatchdog(nil, filepath.Join(dir, "cgroup.freeze"), max)
		if err != nil {
			return nil, fmt.Errorf("freeze: start watchdog: %w", err)
		}
		f.watchdog, f.cgroup = wd, dir
		if err := freezeCgroup(dir, f.deadline); err != nil {
			f.Thaw()
			return nil, err
		}
		return f, nil
	}
	var targets []int32
	for _, pid := range pids {
		if pid == os.Getpid() {
			continue
		}
		state, err := processState(pid)
		if err != nil {
			continue
		}
		if state == 'T' || state == 't' {
			f.already = append(f.already, pid)
			continue
		}
		if state == 'Z' || state == 'X' {
			continue
		}
		targets = append(targets, int32(pid))
	}
	// The watchdog is forked before anything is stopped, holding the full
	// list: whatever happens to this process from here on, it resumes them.
	wd, err := startWatchdog(targets, "", max)
	if err != nil {
		return nil, fmt.Errorf("freeze: start watchdog: %w", err)
	}
	f.watchdog = wd
	for _, pid := range targets {
		if err := unix.Kill(int(pid), unix.SIGSTOP); err != nil {
			if errors.Is(err, unix.ESRCH) {
				continue
			}
			f.Thaw()
			return nil, fmt.Errorf("freeze: stop %d: %w", pid, err)
		}
		f.stopped = append(f.stopped, int(pid))
	}
	// SIGSTOP is asynchronous: wait until each process reports stopped.
	for _, pid := range f.stopped {
		for {
			if ctx.Err() != nil {
				f.Thaw()
				return nil, fmt.Errorf("freeze: %w", ctx.Err())
			}
			state, err := processState(pid)
			if err != nil || state == 'T' || state == 'Z' || state == 'X' {
				break
			}
			if time.Now().After(f.deadline) {
				f.Thaw()
				return nil, fmt.Errorf("freeze: process %d did not stop: %w", pid, ErrTooLong)
			}
			time.Sleep(200 * time.Microsecond)
		}
	}
	return f, nil
}

// Stopped returns the pids this freeze stopped.
func (f *Freeze) Stopped() []int { return append([]int(nil), f.stopped...) }

// AlreadyStopped returns the pids that were stopped before the freeze and
// stay stopped.
func (f *Freeze) AlreadyStopped() []int { return append([]int(nil), f.already...) }

// Check returns ErrTooLong once the maximum freeze time has passed.
func (f *Freeze) Check() error {
	if time.Now().After(f.deadline) {
		return ErrTooLong
	}
	return nil
}

// Thaw resumes every process the freeze stopped and ends the watchdog. It
// is safe to call more than once and from a deferred function during a
// panic.
func (f *Freeze) Thaw() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.thawed {
		return
	}
	f.thawed = true
	if f.cgroup != "" {
		writeFreeze(f.cgroup, "0")
	}
	for _, pid := range f.stopped {
		unix.Kill(pid, unix.SIGCONT)
	}
	if f.watchdog > 0 {
		unix.Kill(f.watchdog, wakeSignal)
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(f.watchdog, &ws, 0, nil)
			if !errors.Is(err, unix.EINTR) {
				break
			}
		}
	}
}

// processState reads the one-letter state from /proc/PID/stat.
func processState(pid int) (byte, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(data)
	r := strings.LastIndexByte(s, ')')
	if r < 0 || r+2 >= len(s) {
		return 0, fmt.Errorf("freeze: bad stat for %d", pid)
	}
	return s[r+2], nil
}

// watchdogArgs is everything the watchdog child needs, prepared before the
// fork so the child only reads memory and makes system calls.
type watchdogArgs struct {
	pids     *int32
	n        int
	thawPath *byte // NUL-terminated cgroup.freeze path, or nil
	zero     byte  // the "0" written there
	parent   int
	sigset   uint64 // wakeSignal and deathSignal
	allMask  uint64 // every signal: no Go handler may ever run in the child
	timeout  unix.Timespec
	deathSig uintptr
}

func sigbit(s syscall.Signal) uint64 { return 1 << (uint(s) - 1) }

func startWatchdog(pids []int32, cgroupFreeze string, max time.Duration) (int, error) {
	if len(pids) == 0 {
		pids = []int32{0}[:0]
	}
	buf := make([]int32, len(pids)+1) // never empty, so &buf[0] is valid
	copy(buf, pids)
	var pathBuf []byte
	a := &watchdogArgs{
		pids:     &buf[0],
		n:        len(pids),
		zero:     '0',
		parent:   os.Getpid(),
		sigset:   sigbit(wakeSignal) | sigbit(deathSignal),
		allMask:  ^uint64(0),
		timeout:  unix.NsecToTimespec(max.Nanoseconds()),
		deathSig: uintptr(deathSignal),
	}
	if cgroupFreeze != "" {
		pathBuf = append([]byte(cgroupFreeze), 0)
		a.thawPath = &pathBuf[0]
	}
	// Block every signal in this thread across the fork, so the child
	// starts with all of them blocked: Go's handlers must never run in it.
	// The thread is locked so the mask, the fork and the restore happen
	// on one OS thread; the parent thread's mask is restored at once.
	runtime.LockOSThread()
	var old uint64
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
		uintptr(unsafe.Pointer(&a.allMask)), uintptr(unsafe.Pointer(&old)), 8, 0, 0); errno != 0 {
		runtime.UnlockOSThread()
		return 0, errno
	}
	pid, errno := forkWatchdog(a)
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	runtime.UnlockOSThread()
	runtime.KeepAlive(buf)
	runtime.KeepAlive(pathBuf)
	runtime.KeepAlive(a)
	if errno != 0 {
		return 0, errno
	}
	return int(pid), nil
}

// forkWatchdog forks the watchdog. The child sets its death signal, then
// waits (rt_sigtimedwait) for the parent's word, the parent's death or the
// timeout, sends SIGCONT to every pid and exits. It runs no Go code.
//
//go:nosplit
//go:norace
func forkWatchdog(a *watchdogArgs) (uintptr, syscall.Errno) {
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	if pid != 0 {
		return pid, 0
	}
	syscall.RawSyscall6(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, a.deathSig, 0, 0, 0, 0)
	ppid, _, _ := syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
	if int(ppid) == a.parent {
		syscall.RawSyscall6(syscall.SYS_RT_SIGTIMEDWAIT, uintptr(unsafe.Pointer(&a.sigset)), 0,
			uintptr(unsafe.Pointer(&a.timeout)), 8, 0, 0)
	}
	if a.thawPath != nil {
		// The path is absolute, so openat ignores the directory fd.
		fd, _, errno := syscall.RawSyscall6(syscall.SYS_OPENAT, 0, uintptr(unsafe.Pointer(a.thawPath)),
			uintptr(syscall.O_WRONLY|syscall.O_CLOEXEC), 0, 0, 0)
		if errno == 0 {
			syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&a.zero)), 1)
			syscall.RawSyscall(syscall.SYS_CLOSE, fd, 0, 0)
		}
	}
	for i := 0; i < a.n; i++ {
		p := *(*int32)(unsafe.Add(unsafe.Pointer(a.pids), uintptr(i)*4))
		syscall.RawSyscall(syscall.SYS_KILL, uintptr(p), uintptr(syscall.SIGCONT), 0)
	}
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	}
}
