//go:build linux

package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/kcmpgraph/kcmpgraph/analyzer/audit"
	"github.com/kcmpgraph/kcmpgraph/analyzer/diff"
	"github.com/kcmpgraph/kcmpgraph/graphout/webview"
)

// viewHelp ends the --help of report and web: what the page shows.
const viewHelp = `

The page shows the process tree as boxes (past 400 processes, similar
ones — same parent, command and user — are one box "N ×") and what they
share as edges, one per pair of boxes and object type, coloured by type;
drag to pan, scroll to zoom. The search box finds processes by pid,
command, command line, user, fd path, socket address or container, and
highlights and zooms to them. Click a box for its command line, user,
container and namespaces, and every fd with what it is and who else holds
it (for a channel, the other end); click an edge or an object for its
holders. The checkboxes hide edges of a type; the list beside the diagram
is the audit's findings (two snapshots: the changes between them) and
selects what each one names.`

// viewFlags are the flags report and web share.
type viewFlags struct {
	sel         *selection
	ignoreStdio bool
}

func addViewFlags(cmd *cobra.Command) *viewFlags {
	v := &viewFlags{sel: addSelection(cmd, selectAll)}
	cmd.Flags().BoolVar(&v.ignoreStdio, "ignore-stdio", false, "two snapshots: leave fds 0, 1 and 2 out of the changes")
	return v
}

// model makes the page's model: of the live host (no argument), of a
// snapshot (one), or of two snapshots' differences (BEFORE AFTER).
func (v *viewFlags) model(cmd *cobra.Command, args []string) (*webview.Model, error) {
	users := userNames{}
	if len(args) == 2 {
		if args[0] == "-" && args[1] == "-" {
			return nil, usagef("BEFORE and AFTER cannot both be standard input")
		}
		snaps, err := loadSnapshots(cmd, args[0], args[1])
		if err != nil {
			return nil, err
		}
		before, after := snaps[0], snaps[1]
		s, err := v.sel.forSnapshots(args, before, after)
		if err != nil {
			return nil, err
		}
		d := diff.Compare(before, after, args[0], args[1], diff.Options{IgnoreStdio: v.ignoreStdio, Selection: s})
		return webview.BuildDiff(before.Select(s), after.Select(s), d, webview.Options{User: users.name}), nil
	}
	if v.ignoreStdio {
		return nil, usagef("--ignore-stdio: only for two snapshots (BEFORE AFTER)")
	}
	src, err := load(cmd, args, v.sel)
	if err != nil {
		return nil, err
	}
	rep, err := audit.Run(src.snap, audit.Options{})
	if err != nil {
		return nil, err
	}
	opts := webview.Options{User: users.name, Audit: rep}
	m := webview.Build(src.snap, opts)
	if d := v.sel.describe(src.sel); d != "" {
		m.Notes = append([]string{"selection: " + d}, m.Notes...)
	}
	return m, nil
}

func newReportCmd() *cobra.Command {
	var view *viewFlags
	var output string
	cmd := &cobra.Command{
		Use:   "report [SNAPSHOT [AFTER]] -o FILE.html",
		Short: "Write the interactive view as one self-contained HTML page",
		Long: `report writes the interactive view of a snapshot (or of the live host,
without SNAPSHOT) as one HTML file that holds its script, style and data:
it fetches nothing when opened, works from a file and offline, and can be
mailed or attached to a ticket. With two snapshots, BEFORE and AFTER, it
shows what changed between them, in colour: started processes and
sharing that began in green, exited processes and sharing that ended in
red, changed processes in orange, leaks first in the list.

The page's Content-Security-Policy allows only its own inline script and
style, by hash; every name from /proc is shown as text. The file is
written atomically, mode 0600: it names other users' processes and
files.` + viewHelp + selectionHelp,
		Example: `  kcmpgraph report -o host.html                  # this host
  kcmpgraph report host.json -o host.html
  kcmpgraph report host.json --tree 1234 -o app.html
  kcmpgraph report before.json after.json -o upgrade.html`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (output == "" || output == "-") && isTerminal(cmd.OutOrStdout()) {
				return usagef("refusing to write HTML to a terminal; use -o FILE.html")
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			m, err := view.model(cmd, args)
			if err != nil {
				return err
			}
			return writeOutput(cmd, output, func(w io.Writer) error { return webview.WriteReport(w, m) })
		},
	}
	view = addViewFlags(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "-", "write to this file (atomically, mode 0600); - is stdout")
	return cmd
}
