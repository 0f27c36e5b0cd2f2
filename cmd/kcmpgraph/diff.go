//go:build linux

package main

import (
	"github.com/spf13/cobra"

	"github.com/kcmpgraph/kcmpgraph/analyzer/diff"
	"github.com/kcmpgraph/kcmpgraph/graphout"
)

func newDiffCmd() *cobra.Command {
	var sel *selection
	var diagram *diagramFlags
	var format, output string
	var ignoreStdio, summary bool
	cmd := &cobra.Command{
		Use:   "diff BEFORE AFTER",
		Short: "Compare two snapshots: processes, fds, sharing and epoll watches that changed",
		Long: `diff compares two snapshots of one host, for example before and after a
daemon upgrade, like a unified diff: processes that exited (-) or started
(+), processes that changed (exec, setuid, another cgroup or namespace),
fds closed (-) and appeared (+: opened, dup'd or received), fds that
kept their number and file but hold another open file description (dup2
over them, as a log reopen does), fds whose flags changed (fcntl
O_NONBLOCK, O_APPEND, FD_CLOEXEC), objects whose holders changed, epoll
watches removed and added, and channels (pipes, unix sockets) that went
away or appeared.

A process is its pid, its start time and its boot: a reused pid is an exit
and a start. A description now held by a process that held none of it,
received while it ran or kept across an exec, is marked LEAK and listed
first, and so is a file that appeared in a process that ran before and
whose user could not have opened it (an SCM_RIGHTS pass across users);
a child forked without exec inherits its parent's fds and is not.

--summary prints a few lines for a reload or a deploy instead: "4 nginx
processes replaced, listeners kept, no leaks", then which processes, which
listening sockets survived, each leak, and counts of the rest.

The selection flags apply to both snapshots; a pid or tree root must be
in at least one of them. --format json is stable and documented (go doc
github.com/kcmpgraph/kcmpgraph/analyzer/diff); dot and svg draw added
sharing in green and removed in red.

Exit status, like diff(1): 0 no differences, 1 differences, 2 trouble
(bad usage, unreadable or invalid snapshot).` + selectionHelp,
		Example: `  kcmpgraph scan -o before.json; systemctl restart app; kcmpgraph scan -o after.json
  kcmpgraph diff before.json after.json --ignore-stdio
  kcmpgraph diff before-reload.json after-reload.json --summary
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
			if summary && format != "text" {
				return usagef("--summary is text; --format %s has the summary in its \"summary\" field (json) or draws the whole diff", format)
			}
			if err := checkDiagramOutput(cmd, format, output); err != nil {
				return err
			}
			if args[0] == "-" && args[1] == "-" {
				return usagef("BEFORE and AFTER cannot both be standard input")
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			return bounded(cmd, diagram.timeout, func() error {
				snaps, err := loadSnapshots(cmd, args[0], args[1])
				if err != nil {
					return err
				}
				before, after := snaps[0], snaps[1]
				s, err := sel.forSnapshots(args, before, after)
				if err != nil {
					return err
				}
				d := diff.Compare(before, after, args[0], args[1], diff.Options{IgnoreStdio: ignoreStdio, Selection: s})
				var picture []byte
				if format == "dot" || format == "svg" {
					picture, err = diagram.draw(cmd.Context(), format, graphout.Options{},
						func(o graphout.Options) (*graphout.Diagram, error) { return graphout.BuildDiff(d, o) })
					if err != nil {
						return err
					}
				}
				if format != "text" && !quietFlag(cmd) {
					d.WriteWarnings(cmd.ErrOrStderr(), "kcmpgraph: warning: ")
				}
				switch format {
				case "json":
					err = writeOutput(cmd, output, d.WriteJSON)
				case "text":
					if summary {
						err = writeOutput(cmd, output, d.WriteSummary)
					} else {
						err = writeOutput(cmd, output, d.WriteText)
					}
				default:
					err = writeDiagram(cmd, output, picture)
				}
				if err != nil {
					return err
				}
				if d.Differences > 0 {
					return errFound
				}
				return nil
			})
		},
	}
	sel = addSelection(cmd, selectAll)
	diagram = addDiagramFlags(cmd)
	cmd.Flags().StringVar(&format, "format", "", "text, json, dot or svg (default: from the -o name's extension, else text)")
	cmd.Flags().StringVarP(&output, "output", "o", "-", "write to this file (atomically); - is stdout")
	cmd.Flags().BoolVar(&ignoreStdio, "ignore-stdio", false, "leave fds 0, 1 and 2 out")
	cmd.Flags().BoolVar(&summary, "summary", false, "print a short summary (processes replaced, listeners kept, leaks, counts) instead of every change")
	return cmd
}
