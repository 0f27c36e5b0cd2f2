//go:build linux

package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/kcmpgraph/kcmpgraph/analyzer/audit"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// auditFlags choose the audit's rules and known-good sharing; audit,
// serve and metrics share them.
type auditFlags struct {
	rules     []string
	disable   []string
	allowFile string
}

func (f *auditFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&f.rules, "rules", nil, "run only these rules (ids, comma-separated)")
	cmd.Flags().StringSliceVar(&f.disable, "disable", nil, "skip these rules")
	cmd.Flags().StringVar(&f.allowFile, "allow", "", "allow-list file of known-good sharing")
}

// options loads the allow-list and checks the rule ids, so that a bad
// flag fails before any scan.
func (f *auditFlags) options() (audit.Options, error) {
	opts := audit.Options{Rules: f.rules, Disable: f.disable}
	if f.allowFile != "" {
		allow, err := audit.LoadAllowList(f.allowFile)
		if err != nil {
			return opts, usageError{err}
		}
		opts.Allow = allow
	}
	// audit.Run is the one place that knows the rule ids: an empty
	// snapshot checks them.
	if _, err := audit.Run(&snapshot.Snapshot{}, opts); err != nil {
		if errors.Is(err, audit.ErrUnknownRule) {
			return opts, usageError{err}
		}
		return opts, err
	}
	return opts, nil
}
