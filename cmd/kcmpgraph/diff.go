//go:build linux

package main

import (
	"bytes"
	"errors"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/kcmpgraph/kcmpgraph/analyzer/diff"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/graphout"
)

func newDiffCmd() *cobra.Command {
	var sel selectionFlags
	var format, output string
	var ignoreStdio bool
	var maxNodes int
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "diff BEFORE AFTER",
		Short: "Compare two snapshots: processes, fds, sharing and epoll watches that changed",
		Long: `diff compares two snapshots of one host, for example before and after a
daemon upgrade, like a unified diff: processes that exited (-) or started
(+), processes that changed (exec, setuid, another cgroup or namespace),
fds closed (-) and opened (+), objects whose holders changed, epoll
watches removed and added, and channels (pipes, unix sockets) that went
away or appeared.

A process is its pid, its start time and its boot: a reused pid is an exit
and a start. A description now held by a process that held none of it,
received while it ran or kept across an exec, is marked LEAK and listed
first; a child forked without exec inherits its parent's fds and is not.

--pid, --tree and --types apply to both snapshots. --format json is
stable and documented (go doc github.com/kcmpgraph/kcmpgraph/analyzer/diff);
dot and svg draw added sharing in green and removed in red.

Exit status, like diff(1): 0 no differences, 1 differences, 2 trouble
(bad usage, unreadable or invalid snapshot).`,
		Example: `  kcmpgraph scan -o before.json; systemctl restart app; kcmpgraph scan -o after.json
  kcmpgraph diff before.json after.json --ignore-stdio
  kcmpgraph diff before.json after.json --tree 1234 --types file --format json
  kcmpgraph diff before.json after.json -o changes.svg`,
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
			if args[0] == "-" && args[1] == "-" {
				return usagef("BEFORE and AFTER cannot both be standard input")
			}
			s, err := sel.offline()
			if err != nil {
				return err
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
			d := diff.Compare(before, after, args[0], args[1], diff.Options{IgnoreStdio: ignoreStdio, Selection: s})
			var picture []byte
			if format == "dot" || format == "svg" {
				if picture, err = diffPicture(cmd, d, format, maxNodes, timeout); err != nil {
					return err
				}
			}
			// --quiet is the root command's persistent flag.
			if quiet, _ := cmd.Flags().GetBool("quiet"); format != "text" && !quiet {
				d.WriteWarnings(cmd.ErrOrStderr(), "kcmpgraph: warning: ")
			}
			err = writeOutput(output, cmd.OutOrStdout(), 0o644, func(w io.Writer) error {
				switch format {
				case "json":
					return d.WriteJSON(w)
				case "text":
					return d.WriteText(w)
				}
				_, err := w.Write(picture)
				return err
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
	cmd.Flags().StringVar(&format, "format", "", "text, json, dot or svg (default: from the -o name's extension, else text)")
	cmd.Flags().StringVarP(&output, "output", "o", "-", "write to this file (atomically); - is stdout")
	cmd.Flags().BoolVar(&ignoreStdio, "ignore-stdio", false, "leave fds 0, 1 and 2 out")
	cmd.Flags().IntVar(&maxNodes, "max-nodes", 2000, "dot, svg: refuse diagrams with more nodes than this")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "svg: give up rendering after this long")
	return cmd
}

// diffPicture draws the diff as DOT, or renders it as SVG.
func diffPicture(cmd *cobra.Command, d *diff.Diff, format string, maxNodes int, timeout time.Duration) ([]byte, error) {
	g, err := graphout.BuildDiff(d, graphout.Options{MaxNodes: maxNodes})
	if err != nil {
		if errors.Is(err, graphout.ErrTooLarge) {
			return nil, usageError{err}
		}
		return nil, err
	}
	dotText, err := g.DOT()
	if err != nil {
		return nil, err
	}
	if format == "dot" {
		return append(dotText, '\n'), nil
	}
	var svg bytes.Buffer
	if err := graphout.Render(cmd.Context(), dotText, g.Layout(), &svg, graphout.RenderOptions{Timeout: timeout}); err != nil {
		return nil, err
	}
	return svg.Bytes(), nil
}
