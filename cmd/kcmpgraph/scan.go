//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

func newScanCmd() *cobra.Command {
	var sel selectionFlags
	var format, output string
	var quiet bool
	var profileDir string
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Scan the live host and write a snapshot of shared kernel objects",
		Long: `scan reads /proc, compares kernel objects with kcmp(2) and writes a
snapshot: the processes, their fds, and the groups of fds and tasks that
hold one kernel object. Kernel threads, zombies and kcmpgraph itself are
listed but never grouped. Processes that cannot be read (another user's,
without root or CAP_SYS_PTRACE) are counted and reported as a warning.`,
		Example: `  kcmpgraph scan -o host.json
  kcmpgraph scan --tree 1234 --types file,vm
  kcmpgraph scan --pid 1234,1250 --threads --format json | jq '.groups'
  kcmpgraph scan --tree 1234 --freeze -o consistent.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format == "" {
				// A table for a person at a terminal, JSON for files and pipes.
				format = "json"
				if (output == "" || output == "-") && isTerminal(cmd.OutOrStdout()) {
					format = "table"
				}
			}
			if format != "json" && format != "table" {
				return usagef("--format: %q is not supported (valid: table, json)", format)
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			if profileDir != "" {
				stop, err := startProfile(profileDir)
				if err != nil {
					return err
				}
				defer stop()
			}
			snap, err := liveSnapshot(cmd.Context(), cmd.ErrOrStderr(), &sel, quiet)
			if err != nil {
				return err
			}
			return writeOutput(output, cmd.OutOrStdout(), 0o600, func(w io.Writer) error {
				if format == "table" {
					return writeTable(w, snap, tableOptions{width: terminalWidth(w)})
				}
				return snap.Encode(w)
			})
		},
	}
	sel.addPIDFlags(cmd)
	sel.addTypesFlag(cmd)
	sel.addLiveFlags(cmd)
	sel.addFreezeFlags(cmd)
	cmd.Flags().StringVar(&format, "format", "", "table or json (default: table on a terminal, else json)")
	cmd.Flags().StringVarP(&output, "output", "o", "-", "write to this file (atomically); - is stdout")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not print warnings")
	cmd.Flags().StringVar(&profileDir, "profile", "", "write cpu.prof and heap.prof of this scan into this directory (go tool pprof)")
	return cmd
}

// startProfile starts a CPU profile in dir; the returned function stops it
// and writes the heap profile.
func startProfile(dir string) (func(), error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, usagef("--profile: %s is not a directory", dir)
	}
	cpu, err := os.Create(filepath.Join(dir, "cpu.prof"))
	if err != nil {
		return nil, fmt.Errorf("--profile: %w", err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		cpu.Close()
		return nil, fmt.Errorf("--profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		cpu.Close()
		if heap, err := os.Create(filepath.Join(dir, "heap.prof")); err == nil {
			runtime.GC()
			pprof.WriteHeapProfile(heap)
			heap.Close()
		}
	}, nil
}
