// Command kcmpgraph-render renders a DOT graph to SVG with go-graphviz
// (graphviz compiled to WebAssembly: no system graphviz, no cgo).
//
// It is a program of its own, run by "kcmpgraph graph --format svg", for
// three reasons: go-graphviz compiles its WebAssembly module in a package
// init (about 0.4 s), which no other kcmpgraph command should pay; it
// chooses its compilation cache directory from TMPDIR in that init, before
// any code of ours could run, so the caller starts it with TMPDIR pointing
// at a private 0700 directory; and it has no memory cap and ignores
// deadlines, so the caller bounds it from outside (timeout, memory limit)
// and kills it if needed.
//
// Usage: kcmpgraph-render -layout dot|sfdp < graph.dot > graph.svg
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/goccy/go-graphviz"
)

// maxInput bounds the DOT text accepted on stdin.
const maxInput = 64 << 20

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "kcmpgraph-render: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	layout := flag.String("layout", "dot", "graphviz layout engine: dot, sfdp, neato, fdp")
	flag.Parse()
	switch graphviz.Layout(*layout) {
	case graphviz.DOT, graphviz.SFDP, graphviz.NEATO, graphviz.FDP:
	default:
		return fmt.Errorf("unknown layout %q", *layout)
	}
	data, err := io.ReadAll(io.LimitReader(os.Stdin, maxInput+1))
	if err != nil {
		return fmt.Errorf("read DOT: %w", err)
	}
	if len(data) > maxInput {
		return fmt.Errorf("DOT input larger than %d bytes", maxInput)
	}
	ctx := context.Background()
	g, err := graphviz.ParseBytes(data)
	if err != nil {
		return fmt.Errorf("parse DOT: %w", err)
	}
	defer g.Close()
	gv, err := graphviz.New(ctx)
	if err != nil {
		return err
	}
	defer gv.Close()
	gv.SetLayout(graphviz.Layout(*layout))
	w := bufio.NewWriter(os.Stdout)
	if err := gv.Render(ctx, g, graphviz.SVG, w); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	return w.Flush()
}
