//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kcmpgraph/kcmpgraph/analyzer/metrics"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// defaultListen is serve's address: loopback only, so that nothing is
// exposed until the operator says so. The port is not in Prometheus's
// port allocation list (its 9100-9999 range is full).
const defaultListen = "127.0.0.1:9842"

// shutdownGrace bounds how long serve waits for scrapes in flight when it
// is told to stop.
const shutdownGrace = 5 * time.Second

// minInterval is the shortest --interval serve accepts: a scan of a
// busy host costs seconds of CPU, and back-to-back scans would take a
// CPU for as long as the exporter runs.
const minInterval = time.Second

// defaultCPUBudget is the share of one CPU serve's scans may use on
// average unless --cpu-budget says otherwise.
const defaultCPUBudget = 0.02

// cpuShare is a share of one CPU, given as a percentage ("2%") or a
// fraction ("0.02"): the value of --cpu-budget.
type cpuShare float64

func (c *cpuShare) String() string {
	return strconv.FormatFloat(100*float64(*c), 'g', -1, 64) + "%"
}

func (c *cpuShare) Set(s string) error {
	num, percent := strings.CutSuffix(strings.TrimSpace(s), "%")
	v, err := strconv.ParseFloat(num, 64)
	if percent {
		v /= 100
	}
	if err != nil || math.IsNaN(v) || v < 0 || v > 1 {
		return badValue("%q is not a share of one CPU between 0 and 100%% (such as 2%%, 0.5%% or 0.02; 0 sets no budget)", s)
	}
	*c = cpuShare(v)
	return nil
}

func (c *cpuShare) Type() string { return "share" }

func newServeCmd() *cobra.Command {
	var sel *selection
	var af auditFlags
	var byContainer bool
	var listen []string
	var interval time.Duration
	budget := cpuShare(defaultCPUBudget)
	var backToBack bool
	var webConfig, logLevel, logFormat string
	var systemdSocket bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Scan in the background and serve Prometheus metrics on /metrics",
		Long: `serve is a Prometheus exporter: it scans the host at once and then every
--interval, one scan at a time, audits each scan, and serves the counts of
the last one on /metrics (with the process and Go runtime metrics). A
scrape never starts a scan. A scan that fails keeps the last good data
and sets kcmpgraph_scan_success to 0. The metrics carry no pid or path:
a few hundred series on a busy host (the README lists them).

It listens on loopback only unless --listen says otherwise (repeatable;
node_exporter's --web.listen-address is accepted too). --web.config.file
is the exporter-toolkit web configuration that every official Prometheus
exporter reads: TLS certificates, basic-auth users with bcrypt hashes
(https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md).
SIGINT or SIGTERM stops it: the scan in progress is abandoned and scrapes
in flight get up to 5 seconds.

--cpu-budget bounds the average CPU the scans use (default 2% of one CPU):
a scan that took more CPU than the budget allows over --interval delays
the next one until its CPU time / budget has passed since it started. A
full scan of a host with 100k fds takes seconds of CPU: at 2% the scans
of such a host come every few minutes, whatever --interval says (the log
says so once; kcmpgraph_scan_interval_seconds is the interval in force).

Reading every process needs root, or CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH
(see the README for a systemd unit and a Kubernetes DaemonSet).`,
		Example: `  kcmpgraph serve                                   # 127.0.0.1:9842/metrics, a scan a minute
  kcmpgraph serve --listen :9842 --web.config.file web.yml
  kcmpgraph serve --interval 5m --allow known-good.txt --disable KG006
  curl -s 127.0.0.1:9842/metrics | grep ^kcmpgraph_audit_findings`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			allowShutdown(shutdownGrace + time.Second)
			if interval < minInterval {
				return usagef("--interval %v: must be at least %v (a scan of a busy host costs seconds of CPU)", interval, minInterval)
			}
			if backToBack {
				// For benchmarks: no wait between scans, no budget.
				interval, budget = time.Nanosecond, 0
			}
			if !systemdSocket && len(listen) == 0 {
				return usagef("--listen: no address")
			}
			scanOpts, err := sel.liveOptions()
			if err != nil {
				return err
			}
			auditOpts, err := af.options()
			if err != nil {
				return err
			}
			if err := web.Validate(webConfig); err != nil {
				return usagef("--web.config.file %s: %v", webConfig, err)
			}
			logger, err := newLogger(cmd.ErrOrStderr(), logLevel, logFormat)
			if err != nil {
				return err
			}
			exp := metrics.NewExporter(metrics.Options{
				Scan: func(ctx context.Context) (*snapshot.Snapshot, error) {
					return scanHost(ctx, scanOpts)
				},
				Audit:               auditOpts,
				FindingsByContainer: byContainer,
				Interval:            interval,
				CPUBudget:           float64(budget),
				Version:             version,
				Logger:              logger,
				ReleaseMemory:       true,
			})
			return serve(cmd.Context(), exp, logger, &web.FlagConfig{
				WebListenAddresses: &listen,
				WebSystemdSocket:   &systemdSocket,
				WebConfigFile:      &webConfig,
			})
		},
	}
	sel = addSelection(cmd, selectAll)
	af.add(cmd)
	cmd.Flags().BoolVar(&byContainer, "findings-by-container", false, "also export kcmpgraph_container_audit_findings: findings per container, labelled with its runtime, Kubernetes namespace and pod, and name")
	cmd.Flags().StringArrayVar(&listen, "listen", []string{defaultListen}, "address to serve /metrics on (repeatable; :9842 means every interface)")
	cmd.Flags().DurationVar(&interval, "interval", time.Minute, "time between the starts of two scans (at least 1s; --cpu-budget may stretch it)")
	cmd.Flags().Var(&budget, "cpu-budget", "the share of one CPU the scans may use on average, such as 2% or 0.5%; a scan that cost more stretches the interval (0: no budget)")
	cmd.Flags().BoolVar(&backToBack, "bench.back-to-back", false, "for benchmarks only: scan back to back, ignoring --interval and --cpu-budget")
	if err := cmd.Flags().MarkHidden("bench.back-to-back"); err != nil {
		panic(err)
	}
	cmd.Flags().StringVar(&webConfig, "web.config.file", "", "exporter-toolkit web configuration file: TLS, basic auth")
	cmd.Flags().BoolVar(&systemdSocket, "web.systemd-socket", false, "serve on the listeners systemd passes (socket activation) instead of --listen")
	cmd.Flags().StringVar(&logLevel, "log.level", "info", "log level: debug, info, warn, error")
	cmd.Flags().StringVar(&logFormat, "log.format", "logfmt", "log format: logfmt, json")
	cmd.Flags().SetNormalizeFunc(func(f *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "web.listen-address" {
			name = "listen"
		}
		return pflag.NormalizedName(name)
	})
	return cmd
}

// newLogger makes the logger every Prometheus exporter writes: logfmt or
// JSON lines on stderr.
func newLogger(stderr io.Writer, level, format string) (*slog.Logger, error) {
	lvl := promslog.NewLevel()
	if err := lvl.Set(level); err != nil {
		return nil, usagef("--log.level: %q is not a level (valid: debug, info, warn, error)", level)
	}
	fmtv := promslog.NewFormat()
	if err := fmtv.Set(format); err != nil {
		return nil, usagef("--log.format: %q is not a format (valid: logfmt, json)", format)
	}
	return promslog.New(&promslog.Config{Level: lvl, Format: fmtv, Writer: stderr}), nil
}

// serve runs the exporter's scans and the HTTP server until ctx ends
// (SIGINT, SIGTERM) or the server fails, and stops both.
func serve(ctx context.Context, exp *metrics.Exporter, logger *slog.Logger, flags *web.FlagConfig) error {
	handler, err := exp.Handler()
	if err != nil {
		return err
	}
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "kcmpgraph",
		Description: "Which processes share which kernel objects, and which of them an audit calls a leak",
		Version:     version,
		Profiling:   "false",
		Links:       []web.LandingLinks{{Address: "/metrics", Text: "Metrics"}},
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", handler)
	mux.Handle("/", landing)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	scanCtx, stopScans := context.WithCancel(ctx)
	defer stopScans()
	var scans sync.WaitGroup
	scans.Go(func() { exp.Run(scanCtx) })
	defer scans.Wait()

	served := make(chan error, 1)
	go func() { served <- web.ListenAndServe(srv, flags, logger) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	stopScans()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
