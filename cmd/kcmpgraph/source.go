//go:build linux

package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/spf13/cobra"

	"github.com/kcmpgraph/kcmpgraph/analyzer"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/escape"
)

// source is what a command reads: a snapshot file or the live host, with
// the selection applied.
type source struct {
	// snap is the selected snapshot.
	snap *snapshot.Snapshot
	// file names the snapshot file; "" for the live host.
	file string
	// total counts the processes before the selection.
	total int
	// sel is the selection that was applied to the file.
	sel snapshot.Selection
}

// load is the one way a command with an optional SNAPSHOT argument gets
// its snapshot: the file args[0] names ("-" is standard input) with the
// selection applied, or without an argument a scan of the live host with
// the selection (its warnings printed unless --quiet). A command that
// registered fewer selection flags has them at their zero value.
func load(cmd *cobra.Command, args []string, s *selection) (*source, error) {
	if len(args) > 0 {
		return loadFile(cmd, args[0], s)
	}
	opts, err := s.liveOptions()
	if err != nil {
		return nil, err
	}
	snap, err := scanLive(cmd, opts)
	if err != nil {
		return nil, err
	}
	printWarnings(cmd, snap.Warnings)
	return &source{snap: snap, total: len(snap.Processes)}, nil
}

// loadFile loads the snapshot file name and applies the selection.
func loadFile(cmd *cobra.Command, name string, s *selection) (*source, error) {
	snap, err := loadSnapshot(cmd, name)
	if err != nil {
		return nil, err
	}
	sel, err := s.forSnapshots([]string{name}, snap)
	if err != nil {
		return nil, err
	}
	return &source{snap: snap.Select(sel), file: name, total: len(snap.Processes), sel: sel}, nil
}

// loadSnapshot reads and checks one snapshot file ("-" is standard
// input): every command reads snapshots through it.
// It stops when the command's context ends, and --max-input bounds it.
func loadSnapshot(cmd *cobra.Command, name string) (*snapshot.Snapshot, error) {
	opts := loadOptions(cmd)
	gcForLoading(opts, 1)
	snap, err := snapshot.LoadFileContext(cmd.Context(), name, opts)
	return snap, tooLargeHint(err)
}

// loadSnapshots loads the snapshot files names at once, one goroutine
// each (diff reads two), and returns the first error in names' order.
func loadSnapshots(cmd *cobra.Command, names ...string) ([]*snapshot.Snapshot, error) {
	gcForLoading(loadOptions(cmd), len(names))
	snaps := make([]*snapshot.Snapshot, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { snaps[i], errs[i] = loadSnapshot(cmd, name) })
	}
	wg.Wait()
	return snaps, firstError(errs)
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// scanLive scans the live host with opts, with a progress bar on a
// terminal unless --quiet, and fails when nothing selected could be read.
// The caller prints the snapshot's warnings (printWarnings).
func scanLive(cmd *cobra.Command, opts analyzer.Options) (*snapshot.Snapshot, error) {
	progress := newScanProgress(cmd.ErrOrStderr(), quietFlag(cmd))
	if !progress.off {
		opts.Scan.Progress = progress.report
	}
	snap, err := scanHost(cmd.Context(), opts)
	progress.finish()
	return snap, err
}

// scanHost scans the live host with opts and fails when nothing selected
// could be read; scanLive and serve's background scans use it.
func scanHost(ctx context.Context, opts analyzer.Options) (*snapshot.Snapshot, error) {
	snap, err := analyzer.Run(ctx, opts)
	if err != nil {
		return nil, liveError(err)
	}
	if err := checkReadable(snap); err != nil {
		return nil, err
	}
	return snap, nil
}

// printWarnings prints warnings to stderr, one line each, unless --quiet.
func printWarnings(cmd *cobra.Command, warnings []string) {
	if quietFlag(cmd) {
		return
	}
	for _, w := range warnings {
		fmt.Fprintf(cmd.ErrOrStderr(), "kcmpgraph: warning: %s\n", escape.Text(w))
	}
}

// quietFlag reports whether --quiet (a persistent flag of the root
// command, the only one) is set.
func quietFlag(cmd *cobra.Command) bool {
	q, err := cmd.Flags().GetBool("quiet")
	return err == nil && q
}
