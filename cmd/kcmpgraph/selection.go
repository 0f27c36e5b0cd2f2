//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kcmpgraph/kcmpgraph/analyzer"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/escape"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// selectionHelp ends the --help of the commands that take every shared
// selection flag and may read a snapshot.
const selectionHelp = `

--pid, --tree, --user, --types and --threads choose the same processes and
types on a snapshot as on the live host: a pid or tree root that is not
there, a type the snapshot was not scanned for, or --threads on a snapshot
scanned without it is refused (exit 2) rather than shown as "shares
nothing". Without --threads only thread-group leaders are compared, also
on a snapshot scanned with every thread.`

// selectFlags says which of the shared selection flags a command takes.
type selectFlags uint

const (
	selectPIDs    selectFlags = 1 << iota // --pid and --tree
	selectUsers                           // --user
	selectTypes                           // --types
	selectThreads                         // --threads

	selectAll = selectPIDs | selectUsers | selectTypes | selectThreads
)

// selection is the one definition of the flags that choose processes and
// object types: every command that takes them registers them with
// addSelection, and they mean the same on the live host (liveOptions) and
// on a snapshot (forSnapshots).
type selection struct {
	has     selectFlags
	pids    pidListFlag
	tree    pidFlag
	users   usersFlag
	types   typesFlag
	threads bool
}

// addSelection registers the selection flags which names on cmd.
func addSelection(cmd *cobra.Command, which selectFlags) *selection {
	s := &selection{has: which}
	f := cmd.Flags()
	if which&selectPIDs != 0 {
		f.Var(&s.pids, "pid", "only these processes (comma-separated)")
		f.Var(&s.tree, "tree", "only this process and all its descendants")
		cmd.MarkFlagsMutuallyExclusive("pid", "tree")
		cmd.RegisterFlagCompletionFunc("pid", completePIDList)
		cmd.RegisterFlagCompletionFunc("tree", completePIDList)
	}
	if which&selectUsers != 0 {
		f.Var(&s.users, "user", "only processes of these users (names or uids, by real uid; names are looked up on this host)")
	}
	if which&selectTypes != 0 {
		f.Var(&s.types, "types", "only these object types (comma-separated: "+strings.Join(kcmp.TypeNames(), ",")+")")
		cmd.RegisterFlagCompletionFunc("types", completeList(kcmp.TypeNames()))
	}
	if which&selectThreads != 0 {
		f.BoolVar(&s.threads, "threads", false, "every thread, not only thread-group leaders, and the fds of threads with an fd table of their own (a snapshot must have been scanned with --threads)")
	}
	return s
}

// processesChosen reports whether --pid, --tree or --user narrows the
// processes.
func (s *selection) processesChosen() bool {
	return len(s.pids) > 0 || s.tree != 0 || len(s.users) > 0
}

// uids resolves --user: uids as given, names through this host's user
// database.
func (s *selection) uids() ([]int, error) {
	var out []int
	for _, n := range s.users {
		n = strings.TrimSpace(n)
		if uid, err := strconv.Atoi(n); err == nil && uid >= 0 {
			out = append(out, uid)
			continue
		}
		u, err := user.Lookup(n)
		if err != nil {
			return nil, usagef("--user: no user %q on this host", n)
		}
		uid, err := strconv.Atoi(u.Uid)
		if err != nil {
			return nil, usagef("--user: user %q has no numeric uid (%q)", n, u.Uid)
		}
		out = append(out, uid)
	}
	return out, nil
}

// liveOptions turns the selection into the options of a live scan.
func (s *selection) liveOptions() (analyzer.Options, error) {
	users, err := s.uids()
	if err != nil {
		return analyzer.Options{}, err
	}
	return analyzer.Options{
		Scan: procscan.Options{
			PIDs:    []int(s.pids),
			Tree:    int(s.tree),
			Users:   users,
			Threads: s.threads,
		},
		Types: []kcmp.Type(s.types),
	}, nil
}

// liveError names the flag behind a process the scan could not find.
func liveError(err error) error {
	var np *procscan.NoProcessError
	if errors.As(err, &np) {
		flag := "--pid"
		if np.TreeRoot {
			flag = "--tree"
		}
		return usageError{fmt.Errorf("%s: pid %d: %w", flag, np.PID, procscan.ErrNoSuchProcess)}
	}
	return err
}

// forSnapshots checks the selection against the snapshots it is applied
// to (named by files) and returns it. A pid or tree root that none of
// them holds, a type none of them was scanned for, or --threads on a
// snapshot scanned without every thread is a usage error naming the
// file: an empty answer would read as "shares nothing". Without
// --threads, a snapshot scanned with every thread is cut to thread-group
// leaders, as a live scan without --threads would be.
func (s *selection) forSnapshots(files []string, snaps ...*snapshot.Snapshot) (snapshot.Selection, error) {
	users, err := s.uids()
	if err != nil {
		return snapshot.Selection{}, err
	}
	sel := snapshot.Selection{PIDs: []int(s.pids), Tree: int(s.tree), Users: users, Types: s.types.names()}
	inAny := func(pid int) bool {
		return slices.ContainsFunc(snaps, func(sn *snapshot.Snapshot) bool { return sn.Process(pid) != nil })
	}
	for _, pid := range sel.PIDs {
		if !inAny(pid) {
			return sel, usagef("--pid: pid %d is not in %s", pid, either(files))
		}
	}
	if sel.Tree != 0 && !inAny(sel.Tree) {
		return sel, usagef("--tree: pid %d is not in %s", sel.Tree, either(files))
	}
	for _, t := range sel.Types {
		scanned := slices.ContainsFunc(snaps, func(sn *snapshot.Snapshot) bool {
			return len(sn.Host.Scope.Types) == 0 || slices.Contains(sn.Host.Scope.Types, t)
		})
		switch {
		case scanned:
		case len(snaps) == 1:
			return sel, usagef("--types: %s was not scanned for %s (its types: %s)", files[0], t, strings.Join(snaps[0].Host.Scope.Types, ","))
		default:
			return sel, usagef("--types: neither %s was scanned for %s", strings.Join(files, " nor "), t)
		}
	}
	for i, sn := range snaps {
		switch {
		case s.threads && !sn.Host.Scope.Threads:
			return sel, usagef("--threads: %s was scanned without --threads and holds thread-group leaders only; scan again with --threads", files[i])
		case !s.threads && sn.Host.Scope.Threads:
			sel.LeadersOnly = true
		}
	}
	return sel, nil
}

// either names one file, or "either A or B" for two.
func either(files []string) string {
	if len(files) == 2 {
		return "either " + files[0] + " or " + files[1]
	}
	return strings.Join(files, ", ")
}

// describe says which part of a snapshot a selection shows, in the
// flags' own words ("--tree 300 --types file"), "" for all of it.
func (s *selection) describe(sel snapshot.Selection) string {
	var parts []string
	if len(s.pids) > 0 {
		parts = append(parts, "--pid "+s.pids.String())
	}
	if s.tree != 0 {
		parts = append(parts, "--tree "+s.tree.String())
	}
	if len(s.users) > 0 {
		parts = append(parts, "--user "+escape.Text(s.users.String()))
	}
	if len(s.types) > 0 {
		parts = append(parts, "--types "+s.types.String())
	}
	out := strings.Join(parts, " ")
	if sel.LeadersOnly {
		if out != "" {
			out += "; "
		}
		out += "thread-group leaders only, --threads shows every thread"
	}
	return out
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
		plural.Count(denied, "process", "processes"), needPrivilege())
}

// needPrivilege says what it takes to read other users' processes.
func needPrivilege() string {
	if os.Geteuid() == 0 {
		return "even root is refused here (Yama ptrace_scope 3, an LSM, or a non-dumpable or protected process)"
	}
	return "reading another user's fds and calling kcmp on its processes needs root or CAP_SYS_PTRACE plus CAP_DAC_READ_SEARCH"
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
				out = append(out, pidComm{p.PID, escape.Text(p.Comm)})
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
		out = append(out, pidComm{pid, escape.Text(strings.TrimSuffix(string(comm), "\n"))})
	}
	return out
}
