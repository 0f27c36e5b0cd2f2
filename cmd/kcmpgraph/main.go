//go:build linux

// Command kcmpgraph shows which Linux processes share which kernel
// objects: open file descriptions, address spaces, fd tables, fs info,
// signal handler tables, I/O contexts, SysV undo lists and epoll watches.
//
// This package is the command line only: flags, output formatting and exit
// codes. Everything a library user would need lives in the other packages.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Stderr, os.Args[1:])
	stop()
	os.Exit(exitCode(err, os.Stderr))
}
