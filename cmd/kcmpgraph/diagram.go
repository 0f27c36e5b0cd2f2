//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kcmpgraph/kcmpgraph/graphout"
)

// diagramFlags are the flags of every command that draws a diagram.
type diagramFlags struct {
	maxNodes int
	timeout  time.Duration
	cmd      *cobra.Command // for warnings
}

// addDiagramFlags registers --max-nodes and --timeout on cmd.
func addDiagramFlags(cmd *cobra.Command) *diagramFlags {
	f := &diagramFlags{cmd: cmd}
	cmd.Flags().IntVar(&f.maxNodes, "max-nodes", 2000, "dot, svg: refuse diagrams with more nodes than this")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 60*time.Second, "give up the whole command (reading, drawing, rendering, writing) after this long; 0 never")
	return f
}

// checkDiagramOutput refuses SVG on a terminal before any work is done.
func checkDiagramOutput(cmd *cobra.Command, format, output string) error {
	if format == "svg" && (output == "" || output == "-") && isTerminal(cmd.OutOrStdout()) {
		return usagef("--format svg: refusing to write SVG to a terminal; use -o FILE.svg")
	}
	return nil
}

// draw builds a diagram with build (opts with --max-nodes set) and returns
// it as format, dot or svg. A diagram over --max-nodes is a usage error.
func (f *diagramFlags) draw(ctx context.Context, format string, opts graphout.Options,
	build func(graphout.Options) (*graphout.Diagram, error)) ([]byte, error) {
	opts.MaxNodes = f.maxNodes
	d, err := build(opts)
	if err != nil {
		if errors.Is(err, graphout.ErrTooLarge) {
			return nil, usageError{err}
		}
		return nil, err
	}
	dotText, err := d.DOT()
	if err != nil {
		return nil, err
	}
	if format == "dot" {
		return append(dotText, '\n'), nil
	}
	var svg bytes.Buffer
	renderFor := f.timeout // the command's deadline bounds the renderer too
	if renderFor <= 0 {
		renderFor = 24 * time.Hour
	}
	// A refused cache of compiled graphviz is said once, as a warning.
	ro := graphout.RenderOptions{Timeout: renderFor, Warn: func(w string) { printWarnings(f.cmd, []string{w}) }}
	if err := graphout.Render(ctx, dotText, d.Layout(), &svg, ro); err != nil {
		return nil, err
	}
	return svg.Bytes(), nil
}

// writeDiagram writes a drawn diagram to -o (atomically) or stdout.
func writeDiagram(cmd *cobra.Command, output string, picture []byte) error {
	return writeOutput(cmd, output, func(w io.Writer) error {
		_, err := w.Write(picture)
		return err
	})
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
