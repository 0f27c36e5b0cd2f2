//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/kcmpgraph/kcmpgraph/analyzer/diff"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/graphout"
)

func newDiffCmd() *cobra.Command {
	var sel selectionFlags
	var format, output string
	var ignoreStdio bool
	cmd := &cobra.Command{
		Use:   "diff BEFORE AFTER",
		Short: "Compare two snapshots: processes, fds, sharing and epoll watches that changed",
		Long: `diff compares two snapshots of one host, for example before and after a
daemon upgrade: processes that started or exited (a process is its pid and
start time, so a reused pid is an exit and a start), fds opened and closed,
objects whose holders changed (a holder in a process that held none of it
before is marked LEAK), and epoll watches added or removed.

Exit status, like diff(1): 0 no differences, 1 differences, 2 trouble.`,
		Example: `  kcmpgraph scan -o before.json; systemctl restart app; kcmpgraph scan -o after.json
  kcmpgraph diff before.json after.json --ignore-stdio
  kcmpgraph diff before.json after.json --tree 1234 --types file --format json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format == "" {
				format = formatFromName(output, "text")
			}
			switch format {
			case "text", "json", "dot", "svg":
			default:
				return usagef("--format: %q is not supported (valid: text, json, dot, svg)", format)
			}
			if format == "svg" && (output == "" || output == "-") && isTerminal(cmd.OutOrStdout()) {
				return usagef("--format svg: refusing to write SVG to a terminal; use -o FILE.svg")
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			before, err := snapshot.LoadFile(args[0], snapshot.LoadOptions{})
			if err != nil {
				return err
			}
			after, err := snapshot.LoadFile(args[1], snapshot.LoadOptions{})
			if err != nil {
				return err
			}
			s, err := sel.offline()
			if err != nil {
				return err
			}
			d := diff.Compare(before, after, args[0], args[1], diff.Options{IgnoreStdio: ignoreStdio, Selection: s})
			var picture []byte
			if format == "dot" || format == "svg" {
				g, err := graphout.BuildDiff(d, graphout.Options{})
				if err != nil {
					if errors.Is(err, graphout.ErrTooLarge) {
						return usageError{err}
					}
					return err
				}
				if picture, err = g.DOT(); err != nil {
					return err
				}
				picture = append(picture, '\n')
				if format == "svg" {
					var svg bytes.Buffer
					if err := graphout.Render(cmd.Context(), picture, g.Layout(), &svg, graphout.RenderOptions{}); err != nil {
						return err
					}
					picture = svg.Bytes()
				}
			}
			err = writeOutput(output, cmd.OutOrStdout(), 0o644, func(w io.Writer) error {
				if picture != nil {
					_, err := w.Write(picture)
					return err
				}
				if format == "json" {
					enc := json.NewEncoder(w)
					enc.SetIndent("", "  ")
					return enc.Encode(d)
				}
				return d.WriteText(w)
			})
			if err != nil {
				return err
			}
			if d.Differences > 0 {
				return errFound
			}
			return nil
		},
	}
	sel.addPIDFlags(cmd)
	sel.addTypesFlag(cmd)
	cmd.Flags().StringVar(&format, "format", "", "text, json, dot or svg, added sharing green, removed red (default: from the -o name's extension, else text)")
	cmd.Flags().StringVarP(&output, "output", "o", "-", "write to this file (atomically); - is stdout")
	cmd.Flags().BoolVar(&ignoreStdio, "ignore-stdio", false, "leave fds 0, 1 and 2 out")
	return cmd
}
