//go:build linux

package analyzer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kcmpgraph/kcmpgraph/analyzer/identity"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/errno"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/freeze"
)

// Options configure a run.
type Options struct {
	// Scan chooses what is read from /proc.
	Scan procscan.Options
	// Types are the object types to group; empty means all.
	Types []kcmp.Type
	// Comparer replaces the kcmp system call (tests); nil means kcmp.
	Comparer Comparer
	// Freeze stops the selected processes with ptrace (see package
	// freeze: they are always resumed, whatever ends this process) for a
	// consistent snapshot. It needs a selection: freezing every process
	// could stop the user's own session. Processes it cannot or must not
	// stop are scanned running, with a warning that names them.
	Freeze bool
	// FreezeMax bounds the freeze; 0 means freeze.DefaultMax.
	FreezeMax time.Duration
	// NoVerify skips the final re-check of every group against the kernel
	// (about one kcmp call per grouped member). Frozen scans need it only
	// when the freeze left a process running.
	NoVerify bool
	// StreamFDs leaves the processes' FDs nil and sets their StreamFDs
	// instead: the fds are converted as the snapshot is encoded, and the
	// scan's own records are the only copy held (a fifth less peak memory
	// on a 100k-fd host). Only for a snapshot that is encoded and dropped.
	StreamFDs bool
	// HostRoot is where the host's container runtime state directories
	// (/run/runc, ...) and metadata are read ("" is /); see package
	// identity.
	HostRoot string
}

// ErrFreezeProcRoot is returned when Freeze is asked for a proc mount
// other than /proc: the pids of another mount are not this namespace's.
var ErrFreezeProcRoot = errors.New("freeze needs the live /proc: the pids of another proc mount are not this process's to stop")

// ErrFreezeAll is returned when Freeze is asked without a selection.
var ErrFreezeAll = errors.New("freeze needs a selection of processes (pids, tree or users): stopping every process could stop the terminal or ssh session in use")

// Skip reasons the analyzer adds to the snapshot's stats.
const (
	SkipKcmpDenied    = "processes_kcmp_denied"
	SkipFDsRaced      = "fds_dropped_changed"
	SkipTasksVanished = "tasks_vanished"
)

// ErrKcmpDenied is returned when kcmp works on this host but every
// selected process refused it (EPERM): nothing could be compared.
var ErrKcmpDenied = errors.New("kcmp not permitted on any selected process")

// Run scans the live host and groups its kernel objects.
func Run(ctx context.Context, opts Options) (*snapshot.Snapshot, error) {
	start := time.Now()
	types := opts.Types
	if len(types) == 0 {
		types = kcmp.AllTypes
	}
	probeErr := kcmp.Probe()
	if opts.Comparer != nil {
		probeErr = nil
	}
	var sentinel *kcmp.NullSentinel
	if probeErr == nil && needsSentinel(types) {
		var err error
		sentinel, err = kcmp.NewNullSentinel()
		if err != nil {
			return nil, fmt.Errorf("analyzer: %w", err)
		}
		defer sentinel.Close()
		opts.Scan.Exclude = append(append([]int(nil), opts.Scan.Exclude...), sentinel.PID())
	}
	scanOpts := opts.Scan
	var frozen *freeze.Freeze
	if opts.Freeze {
		if len(scanOpts.PIDs) == 0 && scanOpts.Tree == 0 && len(scanOpts.Users) == 0 {
			return nil, ErrFreezeAll
		}
		if scanOpts.ProcRoot != "" && filepath.Clean(scanOpts.ProcRoot) != "/proc" {
			return nil, ErrFreezeProcRoot
		}
		var pids []int
		var err error
		frozen, pids, err = freezeSelection(ctx, scanOpts, opts.FreezeMax)
		if err != nil {
			return nil, fmt.Errorf("analyzer: %w", err)
		}
		defer frozen.Thaw()
		scanOpts.PIDs, scanOpts.Tree, scanOpts.AllowVanished = pids, 0, true
	}
	res, err := procscan.Scan(ctx, scanOpts)
	if err != nil {
		return nil, err
	}
	scanDone := time.Now()
	verify := !opts.NoVerify && (frozen == nil || leftRunning(frozen))
	if frozen != nil {
		for _, p := range res.Processes {
			// During the freeze every held process shows "t".
			if st, ok := frozen.StateBefore(p.PID); ok {
				p.State = st
			}
		}
		if n := len(frozen.Vanished()); n > 0 {
			res.Skipped[procscan.SkipVanished] += n
		}
	}
	snap, err := analyze(ctx, res, opts, types, sentinel, probeErr, verify)
	if err != nil {
		return nil, err
	}
	if frozen != nil {
		if err := frozen.Check(); err != nil {
			snap.Warnings = append(snap.Warnings, "the freeze outlasted its maximum and the processes were resumed before the scan ended: the snapshot may be inconsistent (raise the maximum)")
		}
		frozen.Thaw()
		snap.Warnings = append(snap.Warnings, freezeWarnings(frozen)...)
	}
	end := time.Now()
	snap.Stats.ScanSeconds = scanDone.Sub(start).Seconds()
	snap.Stats.GroupSeconds = end.Sub(scanDone).Seconds()
	snap.Stats.Seconds = end.Sub(start).Seconds()
	snap.Host = hostInfo(opts, types, start)
	snap.Host.Namespaces, snap.Host.NamespacesOf = res.HostNamespaces, res.HostNamespacesOf
	snap.Host.NetNS = res.HostNamespaces["net"]
	snap.Host.Scope.Frozen = frozen != nil
	if frozen != nil {
		snap.Host.Scope.FreezeMethod = freeze.Method
	}
	return snap, nil
}

func needsSentinel(types []kcmp.Type) bool {
	for _, t := range types {
		if t.IsTask() {
			return true
		}
	}
	return false
}

// state is one analysis in progress.
type state struct {
	// mu guards skipped and warnings while types are grouped
	// concurrently.
	mu       sync.Mutex
	ctx      context.Context
	res      *procscan.Result
	procs    []*procscan.Process
	eligible []bool // live, readable, kcmp-accessible user processes
	parent   []int  // index of the parent process in procs, or -1
	byPID    map[int]int
	// tables are the fd tables: the processes' own, then task tables
	// (buildTables).
	tables []fdTable
	// threadTable maps the tid of each thread that findTaskTables asked
	// about to its table: 0 for its process's own, else the TaskTable's
	// TID (a task table that was read).
	threadTable map[int]int
	cmp         Comparer
	tally       *tally
	sentinel    *kcmp.NullSentinel
	skipped     map[string]int
	warnings    []string
	procRoot    string
	// streamFDs: see Options.StreamFDs.
	streamFDs bool
	// endpointSeconds is the time spent pairing channel ends.
	endpointSeconds float64
}

// newState starts an analysis of what a scan read: no process is
// eligible yet.
func newState(ctx context.Context, res *procscan.Result, opts Options) *state {
	cmp := opts.Comparer
	if cmp == nil {
		cmp = SystemComparer{}
	}
	s := &state{ctx: ctx, res: res, procs: res.Processes, cmp: cmp, tally: newTally(), streamFDs: opts.StreamFDs,
		byPID: map[int]int{}, skipped: map[string]int{}, procRoot: opts.Scan.ProcRoot}
	if s.procRoot == "" {
		s.procRoot = "/proc"
	}
	s.eligible = make([]bool, len(s.procs))
	s.parent = make([]int, len(s.procs))
	for i, p := range s.procs {
		s.byPID[p.PID] = i
	}
	for i, p := range s.procs {
		s.parent[i] = -1
		if pi, ok := s.byPID[p.PPID]; ok && p.PPID != p.PID {
			s.parent[i] = pi
		}
	}
	return s
}

// analyze groups what the scan read; it consumes res (the fds of its
// processes are released as the snapshot takes them over).
func analyze(ctx context.Context, res *procscan.Result, opts Options, types []kcmp.Type,
	sentinel *kcmp.NullSentinel, probeErr error, verify bool) (*snapshot.Snapshot, error) {
	s := newState(ctx, res, opts)
	s.sentinel = sentinel
	snap := &snapshot.Snapshot{Schema: snapshot.Schema, Exact: probeErr == nil, Null: map[string][]snapshot.Member{}}
	want := map[kcmp.Type]bool{}
	for _, t := range types {
		want[t] = true
	}

	if probeErr != nil {
		s.warnings = append(s.warnings, fmt.Sprintf(
			"NOT EXACT: %v; open file descriptions are approximated by inode (a dup and a second open() look the same) and per-task sharing is not reported", probeErr))
		for i, p := range s.procs {
			s.eligible[i] = !p.KernelThread && !p.Zombie
		}
		s.buildTables()
		if want[kcmp.File] {
			snap.Groups = append(snap.Groups, s.approximateFileGroups()...)
		}
		if want[kcmp.EpollTFD] {
			snap.Epoll = s.approximateEpoll()
		}
	} else {
		s.checkAccess()
		fds := want[kcmp.File] || want[kcmp.EpollTFD]
		if fds {
			s.findTaskTables(opts.Scan.Threads)
		}
		s.buildTables()
		owner := s.tableOwners(fds || want[kcmp.Files])
		var fg *fileGroups
		if fds {
			fg = s.groupFiles(owner)
		}
		if want[kcmp.File] {
			snap.Groups = append(snap.Groups, s.fileGroupsOut(fg, owner)...)
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("analyzer: %w", err)
		}
		groups, null := s.groupTaskTypes(want, opts.Scan.Threads, owner)
		snap.Groups = append(snap.Groups, groups...)
		for t, n := range null {
			snap.Null[t] = n
		}
		if want[kcmp.EpollTFD] {
			snap.Epoll = s.epollWatches(fg, owner)
		}
		if verify {
			snap.Groups = s.verifyGroups(snap.Groups)
		}
		if want[kcmp.File] {
			t0 := time.Now()
			snap.Endpoints, snap.Sockets = s.endpoints(snap.Groups)
			s.endpointSeconds = time.Since(t0).Seconds()
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("analyzer: %w", err)
	}
	cat := identity.Load(identity.Options{ProcRoot: opts.Scan.ProcRoot, HostRoot: opts.HostRoot, HostMountNS: res.HostNamespaces["mnt"]})
	if len(cat.Errors) > 0 {
		s.warnings = append(s.warnings, fmt.Sprintf("%s could not be read, their containers are named by cgroup alone: %s",
			plural.Count(len(cat.Errors), "container runtime state file", "container runtime state files"), cat.Errors[0]))
	}
	snap.Processes = s.processesOut(cat)
	snap.Stats = snapshot.Stats{
		Processes: len(res.Processes), Tasks: res.Tasks, FDs: res.FDs, // res.FDs counts the task tables read
		// The scan's counts are taken now: reading task tables added to them.
		KcmpCalls: s.tally.calls, Errors: mergeCounts(res.Errors, s.tally.errors), Skipped: mergeCounts(res.Skipped, s.skipped),
		EndpointSeconds: s.endpointSeconds,
	}
	snap.Warnings = append(s.warnings, partialWarnings(snap)...)
	if snap.Groups == nil {
		snap.Groups = []snapshot.Group{}
	}
	if snap.Epoll == nil {
		snap.Epoll = []snapshot.Epoll{}
	}
	snap.Normalize()
	return snap, nil
}

func mergeCounts(a, b map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range a {
		out[k] += v
	}
	for k, v := range b {
		out[k] += v
	}
	return out
}

// checkAccess marks the processes that can be compared: live user
// processes that kcmp accepts. One call per process finds the ones kcmp
// refuses (EPERM without CAP_SYS_PTRACE) before they fail inside a sort.
func (s *state) checkAccess() {
	cnt := newCounter(s.cmp)
	defer s.tally.add(cnt)
	for i, p := range s.procs {
		if p.KernelThread || p.Zombie {
			continue
		}
		_, err := cnt.task(kcmp.VM, p.PID, p.PID)
		switch {
		case err == nil:
			s.eligible[i] = true
		case isGone(err):
			s.skipped[procscan.SkipVanished]++
		default:
			s.skipped[SkipKcmpDenied]++
			p.Denied = append(p.Denied, "kcmp: "+errno.Name(err))
		}
	}
}

func isGone(err error) bool {
	n := errno.Name(err)
	return n == "ESRCH" || n == "EBADF" || n == "ENOENT"
}

// processesOut converts the scanned processes for the snapshot, each
// with its own fds and then those of its task tables (FD.Thread set). It
// is the analysis's last use of the scanned fds, so each process's are
// dropped as soon as they are copied (the two copies of 100k fds never
// coexist), or, with StreamFDs, handed to the encoder to convert one
// process at a time.
func (s *state) processesOut(cat *identity.Catalog) []snapshot.Process {
	out := make([]snapshot.Process, 0, len(s.procs))
	for _, p := range s.procs {
		sp := snapshot.Process{
			PID: p.PID, PPID: p.PPID, Comm: p.Comm, Cmdline: p.Cmdline, Exe: p.Exe, State: p.State,
			UID: p.UID, EUID: p.EUID, GID: p.GID, EGID: p.EGID, StartTime: p.StartTime,
			KernelThread: p.KernelThread, Zombie: p.Zombie, Namespaces: p.Namespaces,
			Cgroup: p.Cgroup, Root: p.Root, Tasks: p.Tasks, Denied: p.Denied,
		}
		if !p.KernelThread {
			id := identify(cat, p)
			sp.Container, sp.Unit, sp.Slice = id.Container, id.Unit, id.Slice
		}
		foreign := p.ForeignMountNS
		if s.streamFDs {
			own, tables := p.FDs, p.TaskTables
			sp.StreamFDs = func(buf []snapshot.FD) []snapshot.FD { return appendProcessFDs(buf, own, tables, foreign) }
		} else {
			n := len(p.FDs)
			for _, tt := range p.TaskTables {
				n += len(tt.FDs)
			}
			sp.FDs = appendProcessFDs(make([]snapshot.FD, 0, n), p.FDs, p.TaskTables, foreign)
		}
		p.FDs, p.TaskTables = nil, nil
		out = append(out, sp)
	}
	s.tables = nil
	return out
}

// identify says where a scanned process runs.
func identify(cat *identity.Catalog, p *procscan.Process) identity.Identity {
	return cat.Identify(identity.Process{PID: p.PID, StartTime: p.StartTime, Comm: p.Comm, Exe: p.Exe,
		Cmdline: p.Cmdline, Cgroup: p.Cgroup, MountNS: p.Namespaces["mnt"]})
}

// appendProcessFDs appends the snapshot form of a process's fds to buf:
// its own table's, then each task table's.
// foreign is the process's ForeignMountNS (its own table's fds).
func appendProcessFDs(buf []snapshot.FD, own []procscan.FD, tables []procscan.TaskTable, foreign map[int]uint64) []snapshot.FD {
	buf = appendSnapshotFDs(buf, own, 0, foreign)
	for _, tt := range tables {
		buf = appendSnapshotFDs(buf, tt.FDs, tt.TID, nil)
	}
	return buf
}

// appendSnapshotFDs appends the snapshot form of the fds of one table
// (thread: FD.Thread) to buf; foreign maps fd numbers to ForeignMountNS.
func appendSnapshotFDs(buf []snapshot.FD, fds []procscan.FD, thread int, foreign map[int]uint64) []snapshot.FD {
	for _, fd := range fds {
		buf = append(buf, snapshot.FD{FD: fd.Num, Thread: thread, Target: fd.Target, Dev: fd.Dev, Ino: fd.Ino, MntID: fd.MntID,
			Flags: fd.Flags, Pos: fd.Pos, Mode: fd.Mode,
			OwnerUID: int(fd.OwnerUID), OwnerGID: int(fd.OwnerGID), ForeignMountNS: foreign[fd.Num]})
	}
	return buf
}

// groupTaskTypes groups the tasks by each wanted per-task type, the types
// side by side on all CPUs (each is independent of the others and is a
// chain of kcmp calls): the groups in kcmp.TaskTypes order, and the NULL
// classes by type name.
func (s *state) groupTaskTypes(want map[kcmp.Type]bool, threads bool, owner []int) ([]snapshot.Group, map[string][]snapshot.Member) {
	var types []kcmp.Type
	for _, t := range kcmp.TaskTypes {
		if want[t] {
			types = append(types, t)
		}
	}
	groups := make([][]snapshot.Group, len(types))
	nulls := make([][]snapshot.Member, len(types))
	var next atomic.Int32
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(types)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(types) || s.ctx.Err() != nil {
					return
				}
				groups[i], nulls[i] = s.groupTasks(types[i], threads, owner)
			}
		}()
	}
	wg.Wait()
	var all []snapshot.Group
	null := map[string][]snapshot.Member{}
	for i, t := range types {
		all = append(all, groups[i]...)
		if len(nulls[i]) > 0 {
			null[t.String()] = nulls[i]
		}
	}
	return all, null
}

// namedDenied is how many processes the partial-result warning names.
const namedDenied = 3

// partialWarnings says what a reader must know about what was not seen.
func partialWarnings(snap *snapshot.Snapshot) []string {
	var w []string
	if d := deniedWarning(snap); d != "" {
		w = append(w, d)
	}
	if n := snap.Stats.Skipped[SkipTaskTablesUnread]; n > 0 {
		w = append(w, fmt.Sprintf("partial result: %s an fd table of their own (unshare(CLONE_FILES)) whose fds were not read; scan with --threads to see them",
			plural.Count(n, "thread has", "threads have")))
	}
	return w
}

// deniedWarning says which processes could not be read or compared: the
// first few by pid, comm and what was refused, and how many more; "" if
// none.
func deniedWarning(snap *snapshot.Snapshot) string {
	denied := snap.Stats.Skipped[procscan.SkipFDsDenied] > 0 || snap.Stats.Skipped[procscan.SkipDenied] > 0 ||
		snap.Stats.Skipped[SkipKcmpDenied] > 0 || snap.Stats.Skipped[procscan.SkipFDTablesDenied] > 0
	if !denied {
		return ""
	}
	var named []string
	n := 0
	for _, p := range snap.Processes {
		var why []string
		for _, d := range p.Denied {
			if strings.HasPrefix(d, "fds:") || strings.HasPrefix(d, "kcmp:") {
				why = append(why, d)
			}
		}
		if len(why) == 0 {
			continue
		}
		n++
		if len(named) < namedDenied {
			named = append(named, fmt.Sprintf("pid %d %s (%s)", p.PID, p.Comm, strings.Join(why, ", ")))
		}
	}
	// Processes whose stat could not be read are not in the snapshot: no
	// comm to name them by.
	unnamed := n - len(named) + snap.Stats.Skipped[procscan.SkipDenied]
	n += snap.Stats.Skipped[procscan.SkipDenied]
	list := strings.Join(named, ", ")
	switch {
	case len(named) == 0:
		list = "none of them readable enough to name"
	case unnamed > 0:
		list += fmt.Sprintf(" and %d more", unnamed)
	}
	hint := "run as root or with CAP_SYS_PTRACE plus CAP_DAC_READ_SEARCH to see them"
	if os.Geteuid() == 0 {
		hint = "even root is refused: ptrace restrictions (Yama, LSM, non-dumpable or protected processes)"
	}
	return fmt.Sprintf("partial result: %s could not be read or compared: %s; their sharing is not shown (%s)",
		plural.Count(n, "process", "processes"), list, hint)
}

func hostInfo(opts Options, types []kcmp.Type, start time.Time) snapshot.Host {
	h := snapshot.Host{TakenAt: start.UTC().Truncate(time.Millisecond), ClockTicks: 100, ProcRoot: opts.Scan.ProcRoot}
	if h.ProcRoot == "" {
		h.ProcRoot = "/proc"
	}
	h.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile(h.ProcRoot + "/sys/kernel/random/boot_id"); err == nil {
		h.BootID = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile(h.ProcRoot + "/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	h.Scope = snapshot.Scope{PIDs: opts.Scan.PIDs, Tree: opts.Scan.Tree, Users: opts.Scan.Users, Threads: opts.Scan.Threads}
	for _, t := range types {
		h.Scope.Types = append(h.Scope.Types, t.String())
	}
	return h
}
