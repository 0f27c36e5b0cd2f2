//go:build linux

package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kcmpgraph/kcmpgraph/analyzer/metrics"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

func newMetricsCmd() *cobra.Command {
	var sel *selection
	var af auditFlags
	var byContainer bool
	var output string
	cmd := &cobra.Command{
		Use:   "metrics [SNAPSHOT]",
		Short: "Write the Prometheus metrics of one scan or snapshot once",
		Long: `metrics writes, once, the metrics 'kcmpgraph serve' serves on /metrics,
for one scan of the live host or for a saved snapshot, in the Prometheus
text format and without the process and Go runtime metrics: the file
node_exporter's textfile collector reads (run it from cron or a systemd
timer with -o DIR/kcmpgraph.prom; the file is replaced atomically and is
readable by all, mode 0644: it holds counts, no pid, name or path).
Counters count the one scan; kcmpgraph_last_scan_timestamp_seconds is when
that scan was taken, so staleness shows.`,
		Example: `  kcmpgraph metrics                                          # scan now, print the exposition
  kcmpgraph metrics -o /var/lib/node_exporter/textfile/kcmpgraph.prom
  kcmpgraph metrics host.json --allow known-good.txt`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			auditOpts, err := af.options()
			if err != nil {
				return err
			}
			exp := metrics.NewExporter(metrics.Options{
				Scan: func(context.Context) (*snapshot.Snapshot, error) {
					src, err := load(cmd, args, sel)
					if err != nil {
						return nil, err
					}
					return src.snap, nil
				},
				Audit:               auditOpts,
				FindingsByContainer: byContainer,
				Version:             version,
			})
			if err := exp.Scan(cmd.Context()); err != nil {
				return err
			}
			// node_exporter, often another user, reads the file: 0644.
			return writeOutputMode(cmd, output, 0o644, exp.WriteText)
		},
	}
	sel = addSelection(cmd, selectAll)
	af.add(cmd)
	cmd.Flags().BoolVar(&byContainer, "findings-by-container", false, "also export kcmpgraph_container_audit_findings: findings per container, labelled with its runtime, Kubernetes namespace and pod, and name")
	cmd.Flags().StringVarP(&output, "output", "o", "-", "write to this file (atomically, mode 0644); - is stdout")
	return cmd
}
