//go:build linux

package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

func newShowCmd() *cobra.Command {
	var sel selectionFlags
	var format, output string
	var wide bool
	cmd := &cobra.Command{
		Use:   "show SNAPSHOT",
		Short: "Print a saved snapshot as a table (or JSON)",
		Long: `show prints a snapshot written by 'kcmpgraph scan': one row per holder of
each shared object, most-shared first within each type; the NULL classes
as counts; epoll watches; and the scan's warnings. SNAPSHOT - reads stdin.
The snapshot is checked first: a damaged or foreign file is refused with
the file and the JSON path of the problem.`,
		Example: `  kcmpgraph show host.json
  kcmpgraph show host.json --types file --tree 1234
  kcmpgraph show host.json --pid 1234 --format json > one.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usagef("--format: %q is not supported (valid: table, json)", format)
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			snap, err := snapshot.LoadFile(args[0], snapshot.LoadOptions{})
			if err != nil {
				return err
			}
			s, err := sel.offline()
			if err != nil {
				return err
			}
			snap = snap.Select(s)
			return writeOutput(output, cmd.OutOrStdout(), 0o600, func(w io.Writer) error {
				if format == "json" {
					return snap.Encode(w)
				}
				width := 0
				if !wide {
					width = terminalWidth(w)
				}
				return writeTable(w, snap, tableOptions{width: width})
			})
		},
	}
	sel.addPIDFlags(cmd)
	sel.addTypesFlag(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.Flags().StringVarP(&output, "output", "o", "-", "write to this file (atomically); - is stdout")
	cmd.Flags().BoolVar(&wide, "wide", false, "never truncate objects to the terminal width")
	return cmd
}
