//go:build linux

package procscan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/kcmpgraph/kcmpgraph/internal/errno"
	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// FDInfoMode says which fdinfo files a scan reads.
type FDInfoMode int

const (
	// FDInfoAll reads every fd's fdinfo: pos and flags for every fd.
	FDInfoAll FDInfoMode = iota
	// FDInfoNeeded reads fdinfo only for anonymous-inode fds, where the
	// analyzer needs it (eventfd ids, epoll watches). About three times
	// faster on fd-heavy hosts; pos and flags are then unknown elsewhere.
	FDInfoNeeded
)

// Options choose what a scan reads.
type Options struct {
	// ProcRoot is the proc mount to read; "" means /proc.
	ProcRoot string
	// PIDs restricts the scan to these processes; Tree to this process
	// and its descendants. Both empty: every process.
	PIDs []int
	Tree int
	// AllowVanished counts a pid of PIDs that no longer exists in
	// Skipped[SkipVanished] instead of failing with ErrNoSuchProcess: for
	// PIDs that came from an earlier Select (a freeze), where an exit in
	// between is the processes' business, not a mistake of the caller.
	AllowVanished bool
	// Users keeps only processes whose real uid is listed.
	Users []int
	// Threads is recorded for the analyzer; task lists are always read.
	Threads bool
	// FDInfo chooses which fdinfo files are read.
	FDInfo FDInfoMode
	// Workers is the number of processes read in parallel; 0 means
	// twice GOMAXPROCS.
	Workers int
	// Exclude lists pids never to read. The scanning process itself is
	// always excluded: its own fds change while it reads them.
	Exclude []int
	// Progress, if set, is called after each process with the number done
	// and the total. It is called from several goroutines.
	Progress func(done, total int)
}

// Result is one scan.
type Result struct {
	// Processes sorted by pid.
	Processes []*Process
	// Counts of what was read and what was skipped.
	Tasks, FDs int
	// Errors counts failures by errno name (EACCES, ESRCH, ...).
	Errors map[string]int
	// Skipped counts processes and fds left out, by reason.
	Skipped map[string]int
	// HostNamespaces are the host's namespaces (HostNamespaces: pid 1's
	// or the scanner's own, as HostNamespacesOf says).
	HostNamespaces   map[string]uint64
	HostNamespacesOf string

	// How the scan read, for ReadTaskTable.
	root   string
	mode   FDInfoMode
	c      *counters
	inodes *inodeCache
}

// ErrNoSuchProcess is what every NoProcessError matches with errors.Is: a
// process asked for by pid does not exist when the scan starts.
var ErrNoSuchProcess = errors.New("no such process")

// NoProcessError names a process asked for in Options that does not
// exist: one of Options.PIDs, or the root of Options.Tree.
type NoProcessError struct {
	PID int
	// TreeRoot is true when PID is Options.Tree.
	TreeRoot bool
}

func (e *NoProcessError) Error() string {
	if e.TreeRoot {
		return fmt.Sprintf("procscan: tree root %d: %v", e.PID, ErrNoSuchProcess)
	}
	return fmt.Sprintf("procscan: pid %d: %v", e.PID, ErrNoSuchProcess)
}

// Is makes errors.Is(err, ErrNoSuchProcess) true.
func (e *NoProcessError) Is(target error) bool { return target == ErrNoSuchProcess }

// Skip reasons counted in Result.Skipped.
const (
	SkipVanished    = "processes_vanished"
	SkipDenied      = "processes_denied"
	SkipFDsVanished = "fds_vanished"
	SkipFDsDenied   = "fds_denied"
	// SkipFDTablesDenied counts processes whose fd list could not be
	// read at all (their fd count is unknown).
	SkipFDTablesDenied = "fd_tables_denied"
	SkipKernelThread   = "kernel_threads"
	SkipZombie         = "zombies"
)

type counters struct {
	mu      sync.Mutex
	errors  map[string]int
	skipped map[string]int
}

func (c *counters) addErr(err error) {
	name := errno.Name(err)
	c.mu.Lock()
	c.errors[name]++
	c.mu.Unlock()
}

func (c *counters) skip(reason string, n int) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	c.skipped[reason] += n
	c.mu.Unlock()
}

// gone reports whether err means the process or fd no longer exists.
func gone(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) || errors.Is(err, os.ErrNotExist)
}

func denied(err error) bool {
	return errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, os.ErrPermission)
}

// Scan reads the processes chosen by opts.
func Scan(ctx context.Context, opts Options) (*Result, error) {
	root, pids, err := selection(opts)
	if err != nil {
		return nil, err
	}
	users := map[int]bool{}
	for _, u := range opts.Users {
		users[u] = true
	}

	workers := opts.Workers
	if workers <= 0 {
		// Twice the CPUs: reading /proc sleeps on kernel locks now and
		// then, and a second reader per CPU fills that time (measured on
		// the 1000x100 forest: 0.94 -> 0.87 s median wall with 2 CPUs).
		workers = 2 * runtime.GOMAXPROCS(0)
	}
	if workers > len(pids) {
		workers = max(1, len(pids))
	}
	c := &counters{errors: map[string]int{}, skipped: map[string]int{}}
	hostNS, hostOf := HostNamespaces(root)
	conf := newConfiner(root, hostNS, hostOf)
	procs := make([]*Process, len(pids))
	var next, done atomic.Int64
	var wg sync.WaitGroup
	inodes := newInodeCache()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := newReader(root, opts.FDInfo, c, inodes)
			r.confine = conf
			for {
				if ctx.Err() != nil {
					return
				}
				i := int(next.Add(1) - 1)
				if i >= len(pids) {
					return
				}
				p := r.readProcess(pids[i])
				if p != nil && len(users) > 0 && !users[p.UID] {
					p = nil
				}
				procs[i] = p
				if opts.Progress != nil {
					opts.Progress(int(done.Add(1)), len(pids))
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("procscan: %w", err)
	}
	conf.resolve(procs)
	res := &Result{Errors: c.errors, Skipped: c.skipped, root: root, mode: opts.FDInfo, c: c, inodes: inodes,
		HostNamespaces: hostNS, HostNamespacesOf: hostOf}
	for _, p := range procs {
		if p == nil {
			continue
		}
		res.Processes = append(res.Processes, p)
		res.Tasks += len(p.Tasks)
		res.FDs += len(p.FDs)
		switch {
		case p.KernelThread:
			c.skipped[SkipKernelThread]++
		case p.Zombie:
			c.skipped[SkipZombie]++
		}
	}
	return res, nil
}

// Select returns the pids a scan with opts would report, in ascending
// order (the scanning process and opts.Exclude left out; with Users, only
// the processes whose real uid is listed). A caller that must act on the
// processes before reading them (freeze) uses it, then scans with exactly
// these PIDs.
func Select(opts Options) ([]int, error) {
	root, pids, err := selection(opts)
	if err != nil || len(opts.Users) == 0 {
		return pids, err
	}
	users := map[int]bool{}
	for _, u := range opts.Users {
		users[u] = true
	}
	out := pids[:0]
	for _, p := range pids {
		// A process whose status cannot be read (gone, or denied) cannot
		// be told to belong to a listed user: it is not selected.
		data, err := os.ReadFile(filepath.Join(root, strconv.Itoa(p), "status"))
		if err != nil {
			continue
		}
		if ids, err := ParseStatusIDs(data); err == nil && users[ids.UID[0]] {
			out = append(out, p)
		}
	}
	return out, nil
}

// selection checks the proc root (with procfs, which also tells a real
// proc mount) and lists the pids opts selects.
func selection(opts Options) (string, []int, error) {
	root := opts.ProcRoot
	if root == "" {
		root = "/proc"
	}
	if _, err := procfs.NewFS(root); err != nil {
		return root, nil, fmt.Errorf("procscan: open proc root %s: %w", root, err)
	}
	exclude := map[int]bool{os.Getpid(): true}
	for _, p := range opts.Exclude {
		exclude[p] = true
	}
	pids, err := selectPIDs(root, opts, exclude)
	return root, pids, err
}

// selectPIDs lists the pids to read, in ascending order.
func selectPIDs(root string, opts Options, exclude map[int]bool) ([]int, error) {
	var pids []int
	if len(opts.PIDs) > 0 {
		for _, p := range opts.PIDs {
			if opts.AllowVanished {
				// readProcess counts it if it is gone.
				pids = append(pids, p)
				continue
			}
			if _, err := os.Stat(filepath.Join(root, strconv.Itoa(p))); err != nil {
				return nil, &NoProcessError{PID: p}
			}
			pids = append(pids, p)
		}
	}
	if opts.Tree != 0 {
		tree, err := descendants(root, opts.Tree)
		if err != nil {
			return nil, err
		}
		pids = append(pids, tree...)
	}
	if len(opts.PIDs) == 0 && opts.Tree == 0 {
		all, err := listPIDs(root)
		if err != nil {
			return nil, err
		}
		pids = all
	}
	sort.Ints(pids)
	out := pids[:0]
	for i, p := range pids {
		if exclude[p] || (i > 0 && pids[i-1] == p) {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// listPIDs lists the numeric entries of the proc root.
func listPIDs(root string) ([]int, error) {
	d, err := os.Open(root)
	if err != nil {
		return nil, fmt.Errorf("procscan: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("procscan: list %s: %w", root, err)
	}
	var pids []int
	for _, n := range names {
		if p, err := strconv.Atoi(n); err == nil && p > 0 {
			pids = append(pids, p)
		}
	}
	return pids, nil
}

// descendants returns pid and all processes below it, by ppid. A process
// that is not visible is an error; children that vanish are ignored.
func descendants(root string, pid int) ([]int, error) {
	if _, err := os.Stat(filepath.Join(root, strconv.Itoa(pid))); err != nil {
		return nil, &NoProcessError{PID: pid, TreeRoot: true}
	}
	all, err := listPIDs(root)
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for _, p := range all {
		ppid, err := readPPID(root, p)
		if err != nil {
			continue
		}
		children[ppid] = append(children[ppid], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out, nil
}

// readPPID reads the ppid from /proc/PID/stat without procfs's full parse:
// --tree reads the stat of every process on the host just for this field.
func readPPID(root string, pid int) (int, error) {
	data, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	st, err := parseStatTail(data)
	return st.ppid, err
}
