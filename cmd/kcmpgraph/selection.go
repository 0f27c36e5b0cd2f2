//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kcmpgraph/kcmpgraph/analyzer"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// selectionFlags are the flags that choose processes and types, shared by
// scan, show, graph and audit.
type selectionFlags struct {
	pids      string
	tree      int
	users     []string
	threads   bool
	types     string
	freeze    bool
	freezeMax time.Duration
}

func (f *selectionFlags) addPIDFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.pids, "pid", "", "only these processes (comma-separated pids)")
	cmd.Flags().IntVar(&f.tree, "tree", 0, "only this process and all its descendants")
	cmd.MarkFlagsMutuallyExclusive("pid", "tree")
	cmd.RegisterFlagCompletionFunc("pid", completePIDList)
	cmd.RegisterFlagCompletionFunc("tree", completePIDList)
}

func (f *selectionFlags) addTypesFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.types, "types", "", "only these object types (comma-separated: "+strings.Join(kcmp.TypeNames(), ",")+")")
	cmd.RegisterFlagCompletionFunc("types", completeList(kcmp.TypeNames()))
}

// quietFlag reports whether --quiet (a persistent flag of the root
// command) is set.
func quietFlag(cmd *cobra.Command) bool {
	q, err := cmd.Flags().GetBool("quiet")
	return err == nil && q
}

func (f *selectionFlags) addLiveFlags(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&f.users, "user", nil, "only processes of these users (names or uids, real uid)")
	cmd.Flags().BoolVar(&f.threads, "threads", false, "compare every thread, not only thread-group leaders")
}

func (f *selectionFlags) addFreezeFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.freeze, "freeze", false, "stop the selected processes (SIGSTOP) during the scan for a consistent snapshot; they are always resumed, even if kcmpgraph is killed (needs --pid, --tree or --user)")
	cmd.Flags().DurationVar(&f.freezeMax, "freeze-max", 5*time.Second, "resume frozen processes after at most this long")
}

// parsePIDs parses a comma-separated pid list.
func parsePIDs(list string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return nil, usagef("--pid: %q is not a pid", s)
		}
		out = append(out, n)
	}
	if len(out) == 0 && list != "" {
		return nil, usagef("--pid: empty list")
	}
	return out, nil
}

func (f *selectionFlags) parseTypes() ([]kcmp.Type, error) {
	if f.types == "" {
		return kcmp.AllTypes, nil
	}
	ts, err := kcmp.ParseTypes(f.types)
	if err != nil {
		return nil, usageError{fmt.Errorf("--types: %w", err)}
	}
	return ts, nil
}

func parseUsers(names []string) ([]int, error) {
	var out []int
	for _, n := range names {
		n = strings.TrimSpace(n)
		if uid, err := strconv.Atoi(n); err == nil && uid >= 0 {
			out = append(out, uid)
			continue
		}
		u, err := user.Lookup(n)
		if err != nil {
			return nil, usagef("--user: no such user %q", n)
		}
		uid, _ := strconv.Atoi(u.Uid)
		out = append(out, uid)
	}
	return out, nil
}

// offline turns the flags into a selection on a loaded snapshot.
func (f *selectionFlags) offline() (snapshot.Selection, error) {
	pids, err := parsePIDs(f.pids)
	if err != nil {
		return snapshot.Selection{}, err
	}
	if f.tree < 0 {
		return snapshot.Selection{}, usagef("--tree: %d is not a pid", f.tree)
	}
	sel := snapshot.Selection{PIDs: pids, Tree: f.tree}
	if f.types != "" {
		ts, err := f.parseTypes()
		if err != nil {
			return sel, err
		}
		for _, t := range ts {
			sel.Types = append(sel.Types, t.String())
		}
	}
	return sel, nil
}

// liveOptions turns the flags into analyzer options for a live scan.
func (f *selectionFlags) liveOptions() (analyzer.Options, error) {
	pids, err := parsePIDs(f.pids)
	if err != nil {
		return analyzer.Options{}, err
	}
	if f.tree < 0 {
		return analyzer.Options{}, usagef("--tree: %d is not a pid", f.tree)
	}
	if f.freeze && len(pids) == 0 && f.tree == 0 && len(f.users) == 0 {
		return analyzer.Options{}, usagef("--freeze needs --pid, --tree or --user: stopping every process could stop your own terminal or ssh session")
	}
	if f.freezeMax <= 0 && f.freeze {
		return analyzer.Options{}, usagef("--freeze-max must be positive")
	}
	users, err := parseUsers(f.users)
	if err != nil {
		return analyzer.Options{}, err
	}
	types, err := f.parseTypes()
	if err != nil {
		return analyzer.Options{}, err
	}
	return analyzer.Options{
		Scan: procscan.Options{
			PIDs:    pids,
			Tree:    f.tree,
			Users:   users,
			Threads: f.threads,
		},
		Types:     types,
		Freeze:    f.freeze,
		FreezeMax: f.freezeMax,
	}, nil
}

// liveSnapshot scans the live host with the selection and prints the
// run's warnings (partial results) to stderr.
func liveSnapshot(ctx context.Context, stderr io.Writer, f *selectionFlags, quiet bool) (*snapshot.Snapshot, error) {
	snap, err := scanLive(ctx, stderr, f, quiet, false)
	if err == nil && !quiet {
		printWarnings(stderr, snap.Warnings)
	}
	return snap, err
}

// scanLive scans the live host with the selection, with a progress bar
// unless quiet, and fails when nothing selected could be read.
// With streamFDs the snapshot's fds are converted as it is encoded (see
// analyzer.Options.StreamFDs): only for a snapshot that is written as JSON
// and dropped.
func scanLive(ctx context.Context, stderr io.Writer, f *selectionFlags, quiet, streamFDs bool) (*snapshot.Snapshot, error) {
	opts, err := f.liveOptions()
	if err != nil {
		return nil, err
	}
	opts.StreamFDs = streamFDs
	progress := newScanProgress(stderr, quiet)
	if !progress.off {
		opts.Scan.Progress = progress.report
	}
	snap, err := analyzer.Run(ctx, opts)
	progress.finish()
	if err != nil {
		return nil, liveError(err)
	}
	if err := checkReadable(snap); err != nil {
		return nil, err
	}
	return snap, nil
}

func printWarnings(stderr io.Writer, warnings []string) {
	for _, w := range warnings {
		fmt.Fprintf(stderr, "kcmpgraph: warning: %s\n", printable(w))
	}
}

// liveError turns a scan's "no such process" into a usage error whose
// message names the pid without the package prefix.
func liveError(err error) error {
	if errors.Is(err, procscan.ErrNoSuchProcess) {
		msg := strings.TrimPrefix(err.Error(), "procscan: ")
		msg = strings.TrimSuffix(msg, ": "+procscan.ErrNoSuchProcess.Error())
		return usageError{fmt.Errorf("%s: %w", msg, procscan.ErrNoSuchProcess)}
	}
	return err
}

// checkReadable fails a scan in which no selected process could be read
// or compared: that is not a partial result but a refusal.
func checkReadable(snap *snapshot.Snapshot) error {
	denied := unreadable(snap)
	if denied == 0 {
		return nil
	}
	candidates := snap.Stats.Skipped[procscan.SkipDenied]
	for _, p := range snap.Processes {
		if !p.KernelThread && !p.Zombie {
			candidates++
		}
	}
	if denied < candidates {
		return nil
	}
	return usagef("not permitted: none of the %s selected could be read or compared; %s",
		plural(denied, "process", "processes"), needPrivilege())
}

// needPrivilege says what it takes to read other users' processes.
func needPrivilege() string {
	if os.Geteuid() == 0 {
		return "even root is refused here (Yama ptrace_scope 3, an LSM, or a non-dumpable or protected process)"
	}
	return "reading another user's fds and calling kcmp on its processes needs root or CAP_SYS_PTRACE"
}

// completeList completes a comma-separated list of names, offering the
// names not yet in the list.
func completeList(names []string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		done, cur := "", toComplete
		if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
			done, cur = toComplete[:i+1], toComplete[i+1:]
		}
		have := map[string]bool{}
		for _, n := range strings.Split(done, ",") {
			have[n] = true
		}
		var out []string
		for _, n := range names {
			if !have[n] && strings.HasPrefix(n, cur) {
				out = append(out, done+n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// completePIDList completes pids, with their comm as the description:
// from the snapshot named by the first argument, if it is one, else from
// the live host.
func completePIDList(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	done, cur := "", toComplete
	if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
		done, cur = toComplete[:i+1], toComplete[i+1:]
	}
	return pidCompletions(completionProcesses(args), cur, done, ""), cobra.ShellCompDirectiveNoFileComp
}

// livePIDCompletions offers the host's pids that start with cur, each
// followed by suffix.
func livePIDCompletions(cur, suffix string) []string {
	return pidCompletions(liveProcesses(), cur, "", suffix)
}

func pidCompletions(procs []pidComm, cur, prefix, suffix string) []string {
	var out []string
	for _, p := range procs {
		if s := strconv.Itoa(p.pid); strings.HasPrefix(s, cur) {
			out = append(out, prefix+s+suffix+"\t"+p.comm)
		}
	}
	return out
}

type pidComm struct {
	pid  int
	comm string
}

func completionProcesses(args []string) []pidComm {
	var out []pidComm
	if len(args) > 0 {
		if s, err := snapshot.LoadFile(args[0], snapshot.LoadOptions{}); err == nil {
			for _, p := range s.Processes {
				out = append(out, pidComm{p.PID, printable(p.Comm)})
			}
			return out
		}
	}
	return liveProcesses()
}

// liveProcesses lists the host's processes for shell completion.
func liveProcesses() []pidComm {
	ents, _ := os.ReadDir("/proc")
	var out []pidComm
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		out = append(out, pidComm{pid, printable(strings.TrimSuffix(string(comm), "\n"))})
	}
	return out
}
