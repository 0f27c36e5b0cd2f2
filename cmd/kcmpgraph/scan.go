//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"
)

func newScanCmd() *cobra.Command {
	var sel *selection
	var timeout *time.Duration
	var freeze bool
	var freezeMax time.Duration
	var format, output string
	var wide bool
	var profileDir string
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Scan the live host and write a snapshot of shared kernel objects",
		Long: `scan reads /proc, compares kernel objects with kcmp(2) and writes a
snapshot: the processes, their fds, and the groups of fds and tasks that
hold one kernel object. Kernel threads, zombies and kcmpgraph itself are
listed but never grouped.

On a terminal it prints a table (see 'kcmpgraph show'); into a file or a
pipe it writes the JSON snapshot that show, graph, audit and diff read.

Processes that cannot be read (another user's, without root or
CAP_SYS_PTRACE plus CAP_DAC_READ_SEARCH) are counted and reported as a warning: the result is
partial, not a failure. A scan in which no selected process could be read
fails with exit status 2. Without kcmp (kernel without CONFIG_KCMP, or a
seccomp filter) open files are grouped by inode and the snapshot is marked
NOT EXACT.

With --freeze every thread of the selected processes is held still with
ptrace while they are read and compared: their parents and shells see no
stop, signals sent to them meanwhile arrive afterwards, and the kernel
resumes them however kcmpgraph ends (SIGKILL of its process group or of
its whole cgroup included); --freeze-max bounds the hold. Kernel threads,
kcmpgraph's own ancestors and tracer, processes another debugger traces,
and a process that does not stop within a second (an uninterruptible
sleep) are left out and scanned as they run, each named in a warning.`,
		Example: `  kcmpgraph scan                          # a table of the whole host
  kcmpgraph scan -o host.json             # a snapshot for show, graph, audit, diff
  kcmpgraph scan --tree 1234 --types file,vm
  kcmpgraph scan --pid 1234,1250 --threads --format json | jq '.groups'
  kcmpgraph scan --tree 1234 --freeze -o consistent.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			stdout := cmd.OutOrStdout()
			toStdout := output == "" || output == "-"
			if format == "" {
				// A table for a person at a terminal, JSON for files and pipes.
				format = "json"
				if toStdout && isTerminal(stdout) {
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
				stop, err := startProfile(cmd, profileDir)
				if err != nil {
					return err
				}
				defer stop()
			}
			opts, err := sel.liveOptions()
			if err != nil {
				return err
			}
			if freeze {
				if !sel.processesChosen() {
					return usagef("--freeze needs --pid, --tree or --user: stopping every process could stop your own terminal or ssh session")
				}
				if freezeMax <= 0 {
					return usagef("--freeze-max must be positive")
				}
				opts.Freeze, opts.FreezeMax = true, freezeMax
			}
			// JSON is encoded straight from the scan's records.
			opts.StreamFDs = format == "json"
			defer withTimeout(cmd, *timeout)()
			snap, err := scanLive(cmd, opts)
			if err != nil {
				return why(cmd, err)
			}
			// A table on the terminal ends with the warnings: do not
			// print them twice.
			if !(format == "table" && toStdout && isTerminal(stdout)) {
				printWarnings(cmd, snap.Warnings)
			}
			return why(cmd, writeOutput(cmd, output, func(w io.Writer) error {
				if format == "table" {
					width := 0
					if !wide {
						width = terminalWidth(w)
					}
					return writeTable(w, snap, tableOptions{width: width})
				}
				return snap.Encode(w)
			}))
		},
	}
	sel = addSelection(cmd, selectAll)
	cmd.Flags().BoolVar(&freeze, "freeze", false, "hold the selected processes still (ptrace) during the scan for a consistent snapshot; the kernel resumes them whatever ends kcmpgraph (needs --pid, --tree or --user)")
	cmd.Flags().DurationVar(&freezeMax, "freeze-max", 5*time.Second, "resume frozen processes after at most this long")
	cmd.Flags().StringVar(&format, "format", "", "table or json (default: table on a terminal, else json)")
	cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.Flags().StringVarP(&output, "output", "o", "-", "write to this file (atomically); - is stdout")
	cmd.Flags().BoolVar(&wide, "wide", false, "never cut the table to the terminal width")
	timeout = addTimeoutFlag(cmd, 0)
	cmd.Flags().StringVar(&profileDir, "profile", "", "write cpu.prof and heap.prof of this scan into this directory (go tool pprof)")
	return cmd
}

// startProfile starts a CPU profile of the command; the returned function
// stops it and writes cpu.prof and heap.prof into dir with writeOutput,
// which follows no link and writes into no FIFO another user planted
// there, and replaces earlier profiles atomically.
func startProfile(cmd *cobra.Command, dir string) (func(), error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, usagef("--profile: %s is not a directory", dir)
	}
	cpuPath, heapPath := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "heap.prof")
	for _, p := range []string{cpuPath, heapPath} {
		if err := checkOutput(p); err != nil {
			return nil, usageError{fmt.Errorf("--profile: %w", err)}
		}
	}
	var cpu bytes.Buffer
	if err := pprof.StartCPUProfile(&cpu); err != nil {
		return nil, fmt.Errorf("--profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		err := writeOutput(cmd, cpuPath, func(w io.Writer) error {
			_, err := w.Write(cpu.Bytes())
			return err
		})
		if err == nil {
			runtime.GC()
			err = writeOutput(cmd, heapPath, pprof.WriteHeapProfile)
		}
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "kcmpgraph: warning: --profile: %s\n", oneLine(err.Error()))
		}
	}, nil
}
