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
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Stderr, os.Args[1:])
	stop()
	os.Exit(exitCode(err, os.Stderr))
}
