//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// run is the whole command line: main only maps its error to an exit
// code, so tests run the CLI in-process, byte for byte.
func run(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	ran := false
	markRun(root, &ran)
	err := root.ExecuteContext(ctx)
	if err != nil && !ran {
		// Cobra rejected the command line before any command ran: an
		// unknown command, a flag conflict, wrong arguments.
		err = withSuggestion(root, args, err)
		var ue usageError
		if !errors.As(err, &ue) {
			err = usageError{err}
		}
	}
	return err
}

// withSuggestion adds the commands a mistyped one is close to, on the same
// line: cobra's own suggestion spans four lines.
func withSuggestion(root *cobra.Command, args []string, err error) error {
	if c, _, ferr := root.Find(args); ferr == nil || c != root {
		return err
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		if s := root.SuggestionsFor(a); len(s) > 0 {
			for i := range s {
				s[i] = strconv.Quote(s[i])
			}
			return fmt.Errorf("%w; did you mean %s?", err, strings.Join(s, " or "))
		}
		break
	}
	return err
}

// markRun wraps every command's RunE so run can tell the command's own
// errors from cobra's command-line errors.
func markRun(cmd *cobra.Command, ran *bool) {
	if cmd.RunE != nil {
		inner := cmd.RunE
		cmd.RunE = func(c *cobra.Command, args []string) error {
			*ran = true
			return inner(c, args)
		}
	}
	for _, c := range cmd.Commands() {
		markRun(c, ran)
	}
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "kcmpgraph",
		Short: "Show which Linux processes share which kernel objects",
		Long: `kcmpgraph finds the kernel objects that processes share — open file
descriptions, address spaces, fd tables, fs info, signal handler tables,
I/O contexts, SysV undo lists and epoll watches — with the kcmp(2) system
call, exactly: a dup'd fd and a second open() of the same file are told
apart, which lsof and lsfd cannot do.

Type names: file vm files fs sighand io sysvsem epoll.`,
		Version:       versionText(),
		SilenceUsage:  true,
		SilenceErrors: true,
		// withSuggestion says it on one line.
		DisableSuggestions:         true,
		SuggestionsMinimumDistance: 2,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(flagError)
	root.PersistentFlags().BoolP("quiet", "q", false, "print no warnings and no progress bar")
	addMaxInputFlag(root)
	root.AddCommand(
		newScanCmd(),
		newShowCmd(),
		newCmpCmd(),
		newWhoCmd(),
		newGraphCmd(),
		newDiffCmd(),
		newAuditCmd(),
		newReportCmd(),
		newWebCmd(),
		newServeCmd(),
		newMetricsCmd(),
	)
	for _, c := range root.Commands() {
		c.Args = wrapArgs(c.Args)
	}
	return root
}

// wrapArgs turns cobra's positional-argument errors into usage errors.
func wrapArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	if check == nil {
		return nil
	}
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
