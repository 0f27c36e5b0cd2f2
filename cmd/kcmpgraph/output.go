//go:build linux

package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kcmpgraph/kcmpgraph/internal/outfile"
)

// checkOutput fails early, before a long scan, when path cannot be
// written (outfile.Check): a missing directory, a directory, a socket, a
// link or FIFO another user could have planted.
func checkOutput(path string) error {
	return outputError(outfile.Check(path))
}

// writeOutput writes what write produces to path, "-" or "" being stdout,
// with outfile: devices, FIFOs and /dev/stdout in place, files replaced
// atomically and created 0600 (every output names other users' files),
// nothing left behind by a failed write.
func writeOutput(cmd *cobra.Command, path string, write func(io.Writer) error) error {
	return writeOutputMode(cmd, path, 0, write)
}

// writeOutputMode is writeOutput for a file that others must read: a file
// it creates gets mode (0: outfile.DefaultMode).
func writeOutputMode(cmd *cobra.Command, path string, mode os.FileMode, write func(io.Writer) error) error {
	return outputError(outfile.Write(cmd.Context(), path, outfile.Options{
		Stdout:  cmd.OutOrStdout(),
		Notices: cmd.ErrOrStderr(),
		Mode:    mode,
	}, write))
}

// outputError makes the writer's refusals usage errors (exit 2).
func outputError(err error) error {
	for _, e := range []error{outfile.ErrIsDirectory, outfile.ErrNoDirectory, outfile.ErrSocket, outfile.ErrUnsafeLink,
		outfile.ErrUnsafeNode, outfile.ErrNoReader, outfile.ErrTooManyLinks} {
		if errors.Is(err, e) {
			return usageError{err}
		}
	}
	return err
}

// formatFromName picks an output format from a file name's extension
// (.svg, .dot, .json), or def.
func formatFromName(path, def string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg":
		return "svg"
	case ".dot", ".gv":
		return "dot"
	case ".json":
		return "json"
	}
	return def
}
