//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// What bounds a command: a signal ends it within a second, --timeout ends
// it when its time is up, --max-input bounds the snapshots it reads. Every
// loop of ours checks the command's context; a library loop that does not
// (building a diagram, comparing two snapshots) is abandoned where it is,
// since the process exits right after. Either way no output file is left
// half written: outfile writes files unnamed until they are complete.

// signalGrace is how long a command may take to end after SIGINT or
// SIGTERM before the process exits anyway, unless it allows itself more.
const signalGrace = 500 * time.Millisecond

// grace is the signal grace of the running command.
var grace atomic.Int64

// allowShutdown gives a command that shuts down in order when told to
// (serve waits for the scrapes in flight) up to d after a signal.
func allowShutdown(d time.Duration) { grace.Store(int64(d)) }

func signalGraceNow() time.Duration {
	if d := time.Duration(grace.Load()); d > 0 {
		return d
	}
	return signalGrace
}

// interrupted is the cause of a command's context when a signal ended it.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return "interrupted by " + signalName(i.sig) }

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// runMain runs the command line with the process's streams and returns
// the exit code: that of the command, or 128 plus the signal's number
// when SIGINT or SIGTERM ended it, within signalGrace of the signal. A
// command that ends without error when told to (serve shuts down) exits
// 0.
func runMain(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- run(ctx, stdout, stderr, args) }()
	select {
	case err := <-done:
		return exitCode(err, stderr)
	case s := <-sigs:
		sig := s.(syscall.Signal)
		cancel(interrupted{sig})
		select {
		case err := <-done:
			if err == nil {
				return exitOK
			}
		case <-time.After(signalGraceNow()):
		case <-sigs:
		}
		fmt.Fprintf(stderr, "kcmpgraph: %s\n", interrupted{sig})
		return 128 + int(sig)
	}
}

// timedOut is the cause of a command's context when --timeout ran out.
type timedOut struct{ after time.Duration }

func (t timedOut) Error() string {
	return fmt.Sprintf("gave up after %v (--timeout); narrow the input with --pid, --tree or --types, or allow more time", t.after)
}

// addTimeoutFlag registers --timeout, which bounds the whole command.
func addTimeoutFlag(cmd *cobra.Command, def time.Duration) *time.Duration {
	d := new(time.Duration)
	cmd.Flags().DurationVar(d, "timeout", def, "give up the whole command (reading, comparing, drawing, writing) after this long; 0 never")
	return d
}

// withTimeout gives the command a context that --timeout ends (0: never)
// and returns what releases it.
func withTimeout(cmd *cobra.Command, timeout time.Duration) context.CancelFunc {
	if timeout <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithTimeoutCause(cmd.Context(), timeout, timedOut{timeout})
	cmd.SetContext(ctx)
	return cancel
}

// why is err, or the cause of the command's context (a timeout, a signal)
// when that is what err reports.
func why(cmd *cobra.Command, err error) error {
	if ctx := cmd.Context(); err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return context.Cause(ctx)
	}
	return err
}

// bounded runs body with the command's context, which --timeout ends (0:
// never). When the context ends first, bounded returns at once with its
// cause, whether or not body has noticed: body goes on until the process
// exits, which it does next. A live scan, which must end its freeze
// itself, uses withTimeout alone.
func bounded(cmd *cobra.Command, timeout time.Duration, body func() error) error {
	defer withTimeout(cmd, timeout)()
	done := make(chan error, 1)
	go func() { done <- body() }()
	select {
	case err := <-done:
		return why(cmd, err)
	case <-cmd.Context().Done():
		return context.Cause(cmd.Context())
	}
}

// sizeFlag is a byte count with an optional K, M or G suffix (powers of
// 1024): 192M, 1G, 5000000.
type sizeFlag int64

func (s *sizeFlag) String() string { return strconv.FormatInt(int64(*s), 10) }
func (s *sizeFlag) Type() string   { return "size" }

func (s *sizeFlag) Set(v string) error {
	mult := int64(1)
	t := strings.ToUpper(strings.TrimSpace(v))
	for suffix, m := range map[string]int64{"K": 1 << 10, "M": 1 << 20, "G": 1 << 30} {
		if c, ok := strings.CutSuffix(strings.TrimSuffix(t, "B"), suffix); ok && c != t {
			t, mult = c, m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return badValue("%q is not a size (for example 192M, 1G or 5000000)", v)
	}
	*s = sizeFlag(n * mult)
	return nil
}

// addMaxInputFlag registers --max-input on the root command.
func addMaxInputFlag(root *cobra.Command) {
	v := sizeFlag(snapshot.DefaultMaxBytes)
	root.PersistentFlags().Var(&v, "max-input", "refuse snapshot files larger than this (K, M, G suffixes)")
}

// loadOptions are the snapshot loader's bounds from --max-input.
func loadOptions(cmd *cobra.Command) snapshot.LoadOptions {
	var opts snapshot.LoadOptions
	if f := cmd.Flags().Lookup("max-input"); f != nil {
		if v, ok := f.Value.(*sizeFlag); ok {
			opts.MaxBytes = int64(*v)
		}
	}
	return opts
}

// gcForLoading lets the garbage collector work lazily while n snapshots
// are loaded and used: the loader already bounds what they take
// (opts.MaxBytes each), so a soft memory limit a quarter above that, and
// GOGC 100 below it, keep the peak where the scan's tight GOGC would,
// for a quarter less CPU (40,000 processes: 2.8 s instead of 3.8 s). A
// GOGC or GOMEMLIMIT in the environment wins.
func gcForLoading(opts snapshot.LoadOptions, n int) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	per := opts.MaxBytes
	if per <= 0 {
		per = snapshot.DefaultMaxBytes
	}
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(int64(n)*per*5/4 + 32<<20)
}

// tooLargeHint adds the flag that raises the limit to a size refusal.
func tooLargeHint(err error) error {
	if errors.Is(err, snapshot.ErrTooLarge) {
		return &hinted{err, "--max-input raises the limit"}
	}
	return err
}

// hinted is an error with advice for the user after it.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() + "; " + h.hint }
func (h *hinted) Unwrap() error { return h.err }
