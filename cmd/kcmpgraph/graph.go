//go:build linux

package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kcmpgraph/kcmpgraph/graphout"
)

func newGraphCmd() *cobra.Command {
	var sel *selection
	var diagram *diagramFlags
	var format, output, view, around string
	var noCollapse bool
	var depth int
	cmd := &cobra.Command{
		Use:   "graph [SNAPSHOT]",
		Short: "Draw the sharing diagram (DOT or SVG) of a snapshot or of the live host",
		Long: `graph draws who shares what, the way one sketches a server on a whiteboard:
processes are boxes with their command, user and pids; similar processes
(same parent, command and user, like a server's workers) are one box
"4 × nginx" that says what differs between them ("each: own unix
socketpair with nginx"); the objects a set of boxes holds in common are
one note that names them ("shared by nginx (root) + 4 × nginx (nobody):
tcp 0.0.0.0:80 LISTEN, unix /run/app.sock LISTEN, /var/log/nginx/access.log");
pipes are arrows from write end to read end, connections from client to
server; parents point at their children; systemd units and containers
are frames. Hover a box, note or edge for command lines and fds.

On a large host the diagram is a map: objects most processes hold
(/dev/null) are named in the legend, the services sharing least with the
others are left out and named, and the rest stays legible 1600 pixels
wide. --tree PID and --around PID draw one part of it in full.

Without SNAPSHOT the live host is scanned. SVG is rendered by graphviz
(compiled to WebAssembly, built in) in a child process bounded by
--timeout and a memory limit.` + selectionHelp,
		Example: `  kcmpgraph graph -o sharing.svg                 # this host
  kcmpgraph graph host.json --tree 1234 -o tree.svg
  kcmpgraph graph --around 1234 -o nginx.svg     # 1234 and every process it shares with
  kcmpgraph graph --around 1234:6 --depth 1 -o listener.svg   # who holds that fd's description, and their neighbours
  kcmpgraph graph host.json --types vm,files,sighand --format dot | less`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format == "" {
				format = formatFromName(output, "dot")
			}
			if format != "dot" && format != "svg" {
				return usagef("--format: %q is not supported (valid: dot, svg)", format)
			}
			if err := checkDiagramOutput(cmd, format, output); err != nil {
				return err
			}
			if view != graphout.ViewProcesses && view != graphout.ViewObjects {
				return usagef("--view: %q is not a view (valid: processes, objects)", view)
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			focus, err := parseAround(around, depth, cmd.Flags().Changed("depth"))
			if err != nil {
				return err
			}
			return bounded(cmd, diagram.timeout, func() error {
				src, err := load(cmd, args, sel)
				if err != nil {
					return err
				}
				if focus != nil {
					if src.snap, err = graphout.Around(src.snap, focus.pid, focus.fd, focus.depth); err != nil {
						if errors.Is(err, graphout.ErrNotInSnapshot) {
							return usagef("--around: %v", err)
						}
						return err
					}
				}
				picture, err := diagram.draw(cmd.Context(), format, graphout.Options{View: view, NoCollapse: noCollapse, Users: userNames{}.name},
					func(o graphout.Options) (*graphout.Diagram, error) { return graphout.Build(src.snap, o) })
				if err != nil {
					return err
				}
				return writeDiagram(cmd, output, picture)
			})
		},
	}
	sel = addSelection(cmd, selectAll)
	diagram = addDiagramFlags(cmd)
	cmd.Flags().StringVar(&format, "format", "", "dot or svg (default: svg when -o ends in .svg, else dot)")
	cmd.Flags().StringVarP(&output, "output", "o", "-", "write to this file (atomically); - is stdout")
	cmd.Flags().StringVar(&view, "view", graphout.ViewProcesses, "processes (objects of 3+ holders as nodes) or objects (every object a node)")
	cmd.Flags().BoolVar(&noCollapse, "no-collapse", false, "draw similar processes one by one")
	cmd.Flags().StringVar(&around, "around", "", "draw the neighbourhood of process PID, or of the description PID:FD holds")
	cmd.Flags().IntVar(&depth, "depth", 1, "with --around: how many hops of sharing away from PID to draw (PID:FD: 0 unless given)")
	return cmd
}

// aroundFocus is what --around and --depth ask for.
type aroundFocus struct{ pid, fd, depth int }

// parseAround reads --around PID or PID:FD (fd -1 for none) and --depth,
// whose default is 1 for a process and 0 (the description alone) for
// PID:FD; nil without --around.
func parseAround(around string, depth int, depthSet bool) (*aroundFocus, error) {
	if depth < 0 {
		return nil, usagef("--depth: %d is negative", depth)
	}
	if around == "" {
		if depthSet {
			return nil, usagef("--depth needs --around")
		}
		return nil, nil
	}
	if strings.Contains(around, ":") {
		pid, fd, err := parsePIDFD(around)
		if err != nil {
			return nil, usagef("--around: %q is not PID or PID:FD", around)
		}
		if !depthSet {
			depth = 0
		}
		return &aroundFocus{pid, fd, depth}, nil
	}
	pid, err := strconv.Atoi(around)
	if err != nil || pid <= 0 {
		return nil, usagef("--around: %q is not PID or PID:FD", around)
	}
	return &aroundFocus{pid, -1, depth}, nil
}
