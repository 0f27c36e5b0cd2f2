//go:build linux

package main

import (
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kcmpgraph/kcmpgraph/analyzer/audit"
	"github.com/kcmpgraph/kcmpgraph/internal/escape"
)

func newAuditCmd() *cobra.Command {
	var sel *selection
	var timeout *time.Duration
	var af auditFlags
	var format, output, failOn string
	cmd := &cobra.Command{
		Use:   "audit [SNAPSHOT]",
		Short: "Find descriptors and kernel objects shared across users, containers and privilege boundaries",
		Long: `audit checks a snapshot (or the live host) for sharing that crosses a
boundary: a host directory or file inside a container that it could not
have opened (the runc CVE-2024-21626 shape), a container runtime's API
socket or the host's namespaces inside a container, an open file a less
privileged user could not have opened, a root daemon's socket or pipe in
another user's hands, a description crossing a mount/PID/user namespace,
a writable shadow/sudoers file, block device or /proc/PID/mem held by a
non-root process, address spaces or fd tables shared across users, and
files inherited across exec into another program.

Rules: KG001 high, KG002 medium, KG003 medium, KG004 critical, KG005
critical/high, KG006 low, KG007 low/medium (channels between users or
across namespaces), KG008 critical (host file or directory in a
container), KG009 critical (runtime socket in a container), KG010
critical/high (another namespace's file in a container).

One finding per pattern: a master and its workers sharing ten
descriptors are one finding, one line per process. Known designs are
shown as info with the reason and never fail --fail-on: listeners, logs
and control channels a root master shares with its workers (nginx,
apache), a container's stdio held by its runtime (conmon, shims), socket
activation. Each finding has a fingerprint stable across rescans and
hosts (SARIF partialFingerprints).

An allow-list file names known-good sharing, one entry per line: a rule
id and key=glob conditions (comm, exe, target, uid, user-ns, container,
unit) that must all match one holder, for example
  KG009 container=ci-agent

Exit status: 0, or 1 when a finding at or above --fail-on exists; 2 for
bad usage or input.` + selectionHelp,
		Example: `  kcmpgraph audit                               # the live host
  kcmpgraph audit host.json --fail-on high
  kcmpgraph audit host.json --format sarif -o kcmpgraph.sarif
  kcmpgraph audit host.json --allow known-good.txt --disable KG006`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format == "" {
				format = formatFromName(output, "text")
				if strings.HasSuffix(strings.ToLower(output), ".sarif") {
					format = "sarif"
				}
			}
			if format != "text" && format != "json" && format != "sarif" {
				return usagef("--format: %q is not supported (valid: text, json, sarif)", format)
			}
			threshold, err := audit.ParseSeverity(failOn)
			if err != nil {
				return usageError{errorsJoin("--fail-on", err)}
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			auditOpts, err := af.options()
			if err != nil {
				return err
			}
			return bounded(cmd, *timeout, func() error {
				src, err := load(cmd, args, sel)
				if err != nil {
					return err
				}
				rep, err := audit.Run(src.snap, auditOpts)
				if err != nil {
					return err
				}
				err = writeOutput(cmd, output, func(w io.Writer) error {
					switch format {
					case "json":
						return escape.WriteJSONIndent(w, rep, "", "  ")
					case "sarif":
						return rep.WriteSARIF(w, moduleVersion())
					}
					return rep.WriteText(w)
				})
				if err != nil {
					return err
				}
				if rep.Worst() >= threshold {
					return errFound
				}
				return nil
			})
		},
	}
	sel = addSelection(cmd, selectAll)
	cmd.Flags().StringVar(&format, "format", "", "text, json or sarif (default: from the -o extension, else text)")
	cmd.Flags().StringVarP(&output, "output", "o", "-", "write to this file (atomically); - is stdout")
	cmd.Flags().StringVar(&failOn, "fail-on", "critical", "exit 1 when a finding at or above this severity exists: low, medium, high, critical")
	timeout = addTimeoutFlag(cmd, 0)
	af.add(cmd)
	return cmd
}

func errorsJoin(what string, err error) error {
	return &prefixedError{what: what, err: err}
}

type prefixedError struct {
	what string
	err  error
}

func (e *prefixedError) Error() string { return e.what + ": " + e.err.Error() }
func (e *prefixedError) Unwrap() error { return e.err }
