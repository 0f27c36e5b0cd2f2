//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/escape"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// Exit codes, as the README gives them.
const (
	exitOK      = 0
	exitFound   = 1 // audit findings at or above --fail-on, diff differences, cmp "different"
	exitUsage   = 2 // bad usage or unreadable input
	exitRuntime = 3 // the run itself failed
)

// errFound ends a command that already printed its result with exit code 1.
var errFound = errors.New("found")

// usageError marks an error caused by the user's arguments or input (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitCode prints err as one line (unless it is errFound) and maps it to
// the process exit code. The message is escaped here, once, for the
// terminal: errors carry file names, JSON keys and /proc text raw, as Go
// errors do.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errFound) {
		return exitFound
	}
	fmt.Fprintf(stderr, "kcmpgraph: %s\n", oneLine(err.Error()))
	var ue usageError
	var le *snapshot.LoadError
	switch {
	case errors.As(err, &ue), errors.As(err, &le), errors.Is(err, procscan.ErrNoSuchProcess):
		return exitUsage
	}
	return exitRuntime
}

// oneLine joins the lines of a message, each trimmed, and escapes the
// result for a terminal.
func oneLine(msg string) string {
	var parts []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return escape.Text(strings.Join(parts, " "))
}
