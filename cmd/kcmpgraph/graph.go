//go:build linux

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/graphout"
)

func newGraphCmd() *cobra.Command {
	var sel selectionFlags
	var format, output, view string
	var noCollapse, quiet bool
	var maxNodes int
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "graph [SNAPSHOT]",
		Short: "Draw the sharing diagram (DOT or SVG) of a snapshot or of the live host",
		Long: `graph draws who shares what: processes are boxes; an object two
processes share is an edge between them (one edge per object type, with a
count); an object three or more processes share is an ellipse they all
connect to. Identical siblings (same parent, same comm, same sharing)
collapse into one box "×N", and objects held by most processes (/dev/null,
a journal socket) are named in the legend instead of drawn.

Without SNAPSHOT the live host is scanned. SVG is rendered by the
kcmpgraph-render program installed next to kcmpgraph.`,
		Example: `  kcmpgraph graph -o sharing.svg                 # this host
  kcmpgraph graph host.json --tree 1234 -o tree.svg
  kcmpgraph graph host.json --types vm,files,sighand --format dot | less`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format == "" {
				format = formatFromName(output, "dot")
			}
			if format != "dot" && format != "svg" {
				return usagef("--format: %q is not supported (valid: dot, svg)", format)
			}
			if format == "svg" && (output == "" || output == "-") && isTerminal(cmd.OutOrStdout()) {
				return usagef("--format svg: refusing to write SVG to a terminal; use -o FILE.svg")
			}
			if view != graphout.ViewProcesses && view != graphout.ViewObjects {
				return usagef("--view: %q is not a view (valid: processes, objects)", view)
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			var snap *snapshot.Snapshot
			if len(args) == 1 {
				var err error
				if snap, err = snapshot.LoadFile(args[0], snapshot.LoadOptions{}); err != nil {
					return err
				}
				if len(sel.users) > 0 || sel.threads {
					return usagef("--user and --threads apply to a live scan, not to a snapshot")
				}
				sel2, err := sel.offline()
				if err != nil {
					return err
				}
				snap = snap.Select(sel2)
			} else {
				var err error
				if snap, err = liveSnapshot(cmd.Context(), cmd.ErrOrStderr(), &sel, quiet); err != nil {
					return err
				}
			}
			d, err := graphout.Build(snap, graphout.Options{View: view, NoCollapse: noCollapse, MaxNodes: maxNodes})
			if err != nil {
				if errors.Is(err, graphout.ErrTooLarge) {
					return usageError{err}
				}
				return err
			}
			dotText, err := d.DOT()
			if err != nil {
				return err
			}
			if format == "dot" {
				return writeOutput(output, cmd.OutOrStdout(), 0o644, func(w io.Writer) error {
					_, err := w.Write(append(dotText, '\n'))
					return err
				})
			}
			var svg bytes.Buffer
			if err := graphout.Render(cmd.Context(), dotText, d.Layout(), &svg, graphout.RenderOptions{Timeout: timeout}); err != nil {
				return err
			}
			return writeOutput(output, cmd.OutOrStdout(), 0o644, func(w io.Writer) error {
				_, err := w.Write(svg.Bytes())
				return err
			})
		},
	}
	sel.addPIDFlags(cmd)
	sel.addTypesFlag(cmd)
	sel.addLiveFlags(cmd)
	cmd.Flags().StringVar(&format, "format", "", "dot or svg (default: svg when -o ends in .svg, else dot)")
	cmd.Flags().StringVarP(&output, "output", "o", "-", "write to this file (atomically); - is stdout")
	cmd.Flags().StringVar(&view, "view", graphout.ViewProcesses, "processes (objects of 3+ holders as nodes) or objects (every object a node)")
	cmd.Flags().BoolVar(&noCollapse, "no-collapse", false, "draw identical siblings one by one")
	cmd.Flags().IntVar(&maxNodes, "max-nodes", 2000, "refuse diagrams with more nodes than this")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "give up rendering SVG after this long")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not print warnings")
	return cmd
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
