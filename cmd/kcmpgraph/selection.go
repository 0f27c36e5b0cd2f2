//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
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
}

func (f *selectionFlags) addTypesFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.types, "types", "", "only these object types (comma-separated: "+strings.Join(kcmp.TypeNames(), ",")+")")
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
	opts, err := f.liveOptions()
	if err != nil {
		return nil, err
	}
	progress := newScanProgress(stderr, quiet)
	opts.Scan.Progress = progress.report
	snap, err := analyzer.Run(ctx, opts)
	progress.finish()
	if err != nil {
		return nil, err
	}
	if !quiet {
		for _, w := range snap.Warnings {
			fmt.Fprintf(stderr, "kcmpgraph: warning: %s\n", w)
		}
	}
	return snap, nil
}
