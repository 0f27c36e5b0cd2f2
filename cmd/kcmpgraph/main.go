//go:build linux

// Command kcmpgraph shows which Linux processes share which kernel
// objects: open file descriptions, address spaces, fd tables, fs info,
// signal handler tables, I/O contexts, SysV undo lists and epoll watches.
//
// This package is the command line only: flags, output formatting and exit
// codes. Everything a library user would need lives in the other packages.
package main

import (
	"os"
	"runtime/debug"

	"github.com/kcmpgraph/kcmpgraph/graphout"
)

// gcPercent is the garbage collector's target unless GOGC says otherwise:
// a scan is bound by system calls, so a tighter heap costs no time here
// and lowers peak RSS (1000x100 forest: 55 MiB at 100, 46 MiB at 25, wall
// time equal; see BENCHMARKS.md).
const gcPercent = 25

func main() {
	// graph and diff render SVG in a child: this binary, started again.
	graphout.ServeRenderer()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}
