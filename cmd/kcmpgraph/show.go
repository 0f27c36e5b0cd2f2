//go:build linux

package main

import (
	"io"
	"time"

	"github.com/spf13/cobra"
)

func newShowCmd() *cobra.Command {
	var sel *selection
	var timeout *time.Duration
	var format, output string
	var wide bool
	cmd := &cobra.Command{
		Use:   "show SNAPSHOT",
		Short: "Print a saved snapshot as a table (or JSON)",
		Long: `show prints a snapshot written by 'kcmpgraph scan': a header (host,
kernel, boot, time, what was scanned, whether kcmp was used), where the
processes run (each container, with its runtime's helpers such as conmon,
and each systemd unit), then one row per holder of each shared object, file descriptions first, the most shared
first within each type; the NULL classes as counts; epoll instances with
what they watch; channels between the fds; and the scan's warnings.
SNAPSHOT - reads stdin.

On a terminal, long paths are cut to its width (--wide keeps them whole).
Every string from the snapshot is escaped: a file name cannot move the
cursor or fake a line. The snapshot is checked first: a damaged or foreign
file is refused with the file and the JSON path of the problem (exit 2).` + selectionHelp,
		Example: `  kcmpgraph show host.json
  kcmpgraph show host.json --types file --tree 1234
  kcmpgraph show host.json --wide | less -S
  kcmpgraph show host.json --pid 1234 --format json > one.json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeSnapshotFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usagef("--format: %q is not supported (valid: table, json)", format)
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			return bounded(cmd, *timeout, func() error {
				src, err := loadFile(cmd, args[0], sel)
				if err != nil {
					return err
				}
				snap := src.snap
				return writeOutput(cmd, output, func(w io.Writer) error {
					if format == "json" {
						return snap.Encode(w)
					}
					width := 0
					if !wide {
						width = terminalWidth(w)
					}
					return writeTable(w, snap, tableOptions{width: width, filter: sel.describe(src.sel), total: src.total})
				})
			})
		},
	}
	sel = addSelection(cmd, selectAll)
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.Flags().StringVarP(&output, "output", "o", "-", "write to this file (atomically); - is stdout")
	cmd.Flags().BoolVar(&wide, "wide", false, "never cut the table to the terminal width")
	timeout = addTimeoutFlag(cmd, 0)
	return cmd
}

// completeSnapshotFile completes the snapshot argument with JSON files.
func completeSnapshotFile(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return []string{"json"}, cobra.ShellCompDirectiveFilterFileExt
}
