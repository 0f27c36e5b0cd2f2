//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// checkOutput fails early, before a long scan, when path cannot be
// written: its directory is missing or it is a directory.
func checkOutput(path string) error {
	if path == "" || path == "-" {
		return nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usagef("output %s is a directory", path)
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return usagef("cannot write %s: directory %s does not exist", path, dir)
	}
	return nil
}

// writeOutput writes what write produces to path atomically: a temporary
// file in the same directory, fsync, rename. A failed write leaves no file
// behind and the old file, if any, untouched. An empty path or "-" writes
// to stdout.
func writeOutput(path string, stdout io.Writer, mode os.FileMode, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return write(stdout)
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usagef("output %s is a directory", path)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return usagef("cannot write %s: directory %s does not exist", path, dir)
		}
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	committed = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
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
