package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/kcmpgraph/kcmpgraph/analyzer/audit"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// Options configure an Exporter.
type Options struct {
	// Scan takes one snapshot: a live scan for "kcmpgraph serve", a
	// loaded file or a single live scan for "kcmpgraph metrics".
	Scan func(context.Context) (*snapshot.Snapshot, error)
	// Audit chooses the rules and the allow-list of each scan's audit.
	Audit audit.Options
	// Interval is the time between the starts of two scans in Run; zero
	// for an Exporter that only scans when asked (Scan), whose exposition
	// then leaves out kcmpgraph_scan_interval_seconds.
	Interval time.Duration
	// Version is the kcmpgraph version for kcmpgraph_build_info.
	Version string
	// Logger receives a line per failed scan (warn), per scan (debug),
	// and the scans' warnings (info the first time, then debug); nil
	// discards them.
	Logger *slog.Logger
	// FindingsByContainer adds kcmpgraph_container_audit_findings: the
	// findings counted per container, labelled with its runtime, pod and
	// name. Opt-in: its series grow with the containers that have
	// findings (at most a few hundred).
	FindingsByContainer bool
	// ReleaseMemory returns a scan's memory to the operating system once
	// the scan is summarized (debug.FreeOSMemory), so that a long-running
	// exporter holds a few MiB between scans instead of the peak of the
	// last one.
	ReleaseMemory bool
}

// Exporter scans when asked (Scan) or on a schedule (Run) and exposes the
// result of the last scan as a prometheus.Collector. Collect never scans:
// it reports what the last scan left.
type Exporter struct {
	opts Options
	// scanMu makes scans run one at a time; it guards warned.
	scanMu sync.Mutex
	// warned is set once a scan's warnings were logged at info level;
	// later scans log theirs at debug level.
	warned bool

	mu        sync.Mutex
	last      *Summary // last successful scan; nil before the first
	attempted bool
	success   bool
	scans     uint64
	failures  uint64
	duration  time.Duration // of the last scan, successful or not
	kcmpCalls map[string]float64
	errors    map[string]float64
}

// NewExporter returns an Exporter that has not scanned yet.
func NewExporter(opts Options) *Exporter {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Exporter{opts: opts, kcmpCalls: map[string]float64{}, errors: map[string]float64{}}
}

// ErrNoInterval is returned by Run for an Exporter without an Interval.
var ErrNoInterval = errors.New("metrics: the exporter has no scan interval")

// Run scans at once and then every Interval, one scan at a time (a scan
// that outlasts the interval delays the next one), until ctx is done.
func (e *Exporter) Run(ctx context.Context) error {
	if e.opts.Interval <= 0 {
		return ErrNoInterval
	}
	tick := time.NewTicker(e.opts.Interval)
	defer tick.Stop()
	for {
		e.Scan(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Scan runs one scan and its audit and records the result: on success
// the new summary replaces the last one; on failure the last one stays
// and kcmpgraph_scan_success becomes 0. A scan cut short because ctx
// ended is not recorded at all.
func (e *Exporter) Scan(ctx context.Context) error {
	e.scanMu.Lock()
	defer e.scanMu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	sum, err := e.scanAndSummarize(ctx)
	took := time.Since(start)
	if err == nil {
		// The scan's own account (and the audit's): the same as the
		// wall time for a live scan, and the scan's cost, not the
		// loading's, for a snapshot file.
		took = time.Duration((sum.ReadSeconds + sum.GroupSeconds + sum.AuditSeconds) * float64(time.Second))
	}
	if e.opts.ReleaseMemory {
		debug.FreeOSMemory()
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.attempted = true
	e.scans++
	e.duration = took
	if err != nil {
		e.failures++
		e.success = false
		e.opts.Logger.Warn("scan failed; the metrics keep the last successful scan", "err", err, "duration", took, "failures", e.failures)
		return err
	}
	e.success = true
	e.last = sum
	for k, n := range sum.KcmpCalls {
		e.kcmpCalls[k] += float64(n)
	}
	for k, n := range sum.Errors {
		e.errors[k] += float64(n)
	}
	findings := 0
	for _, n := range sum.Findings {
		findings += n
	}
	e.opts.Logger.Debug("scan done", "duration", took, "processes", sum.Processes, "fds", sum.FDs, "findings", findings)
	return nil
}

// scanAndSummarize runs the scan and the audit and keeps only the counts:
// the snapshot is garbage once it returns.
func (e *Exporter) scanAndSummarize(ctx context.Context) (*Summary, error) {
	snap, err := e.opts.Scan(ctx)
	if err != nil {
		return nil, err
	}
	level := slog.LevelInfo
	if e.warned {
		level = slog.LevelDebug
	}
	for _, w := range snap.Warnings {
		e.opts.Logger.Log(ctx, level, "scan warning", "warning", w) // slog quotes control characters
		e.warned = true
	}
	auditStart := time.Now()
	rep, err := audit.Run(snap, e.opts.Audit)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	sum := Summarize(snap, rep)
	sum.AuditSeconds = time.Since(auditStart).Seconds()
	return sum, nil
}

// Describe sends the descriptor of every metric the Exporter may collect.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range table {
		if m.serveOnly && e.opts.Interval <= 0 || m.byContainer && !e.opts.FindingsByContainer {
			continue
		}
		ch <- m.desc
	}
}

// Collect sends the metrics of the last scan. It never scans.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	defer e.mu.Unlock()
	emit := func(m *metric, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(m.desc, m.typ, v, labels...)
	}
	emit(mBuildInfo, 1, strings.ToValidUTF8(e.opts.Version, "?"), runtime.Version())
	if e.opts.Interval > 0 {
		emit(mInterval, e.opts.Interval.Seconds())
	}
	emit(mScans, float64(e.scans))
	emit(mFailures, float64(e.failures))
	if !e.attempted {
		return
	}
	emit(mSuccess, boolValue(e.success))
	emit(mDuration, e.duration.Seconds())
	s := e.last
	if s == nil {
		return
	}
	emit(mPhase, s.ReadSeconds, "read")
	emit(mPhase, s.GroupSeconds, "group")
	emit(mPhase, s.AuditSeconds, "audit")
	emit(mTimestamp, float64(s.TakenAt.UnixMilli())/1e3)
	emit(mExact, boolValue(s.Exact))
	emit(mProcesses, float64(s.Processes))
	emit(mTasks, float64(s.Tasks))
	emit(mFDs, float64(s.FDs))
	for _, k := range sortedKeys(e.kcmpCalls) {
		emit(mKcmpCalls, e.kcmpCalls[k], k)
	}
	for _, k := range sortedKeys(e.errors) {
		emit(mErrors, e.errors[k], k)
	}
	for _, r := range unreadableReasons {
		emit(mUnreadable, float64(s.Unreadable[r.reason]), r.reason)
	}
	for _, k := range sortedKeys(s.Shared) {
		emit(mShared, float64(s.Shared[k]), k)
	}
	for _, k := range sortedKeys(s.Channels) {
		emit(mChannels, float64(s.Channels[k]), k)
	}
	for k, n := range s.Findings {
		emit(mFindings, float64(n), k.Rule, k.Severity)
	}
	emit(mAllowed, float64(s.Allowed))
	if e.opts.FindingsByContainer {
		for k, n := range s.ContainerFindings {
			emit(mContainerFindings, float64(n), k.Rule, k.Severity, k.Runtime, k.Namespace, k.Pod, k.Container)
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// registry holds the Exporter and, for a long-running process, the
// process and Go runtime collectors.
func (e *Exporter) registry(runtimeCollectors bool) (*prometheus.Registry, error) {
	reg := prometheus.NewPedanticRegistry()
	cs := []prometheus.Collector{e}
	if runtimeCollectors {
		cs = append(cs, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	return reg, nil
}

// Handler serves the exposition of the Exporter together with the process
// and Go runtime metrics (process_*, go_*) and the handler's own
// (promhttp_*), as /metrics of "kcmpgraph serve". A scrape reads what the
// last scan left and never starts one.
func (e *Exporter) Handler() (http.Handler, error) {
	reg, err := e.registry(true)
	if err != nil {
		return nil, err
	}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(e.opts.Logger.Handler(), slog.LevelError),
		MaxRequestsInFlight: 10,
		Timeout:             10 * time.Second,
	})
	return promhttp.InstrumentMetricHandler(reg, h), nil
}

// WriteText writes the Exporter's exposition in the Prometheus text
// format, without the process and Go runtime metrics: what a textfile
// collector (node_exporter --collector.textfile.directory) may read
// beside node_exporter's own.
func (e *Exporter) WriteText(w io.Writer) error {
	reg, err := e.registry(false)
	if err != nil {
		return err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}
