//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/escape"
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
// the process exit code.
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

// oneLine joins the lines of a message, each trimmed. Errors of our
// packages escape the hostile text they quote; one that does not (a file
// name in an os.PathError) is escaped here.
func oneLine(msg string) string {
	var parts []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	msg = strings.Join(parts, " ")
	if !escape.Inert(msg) {
		msg = escape.Text(msg)
	}
	return msg
}
