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
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	// then leaves out the metrics of the loop (kcmpgraph_scan_interval_seconds,
	// kcmpgraph_scan_cpu_seconds).
	Interval time.Duration
	// CPUBudget is the share of one CPU that the process may use on
	// average while Run scans (0.02 is 2%); 0 sets no bound. Run starts
	// the next scan no sooner than EffectiveInterval after the last one
	// started: where the CPU time used since the scan before ended (the
	// last scan, and the scrapes between) exceeds CPUBudget × Interval,
	// the interval stretches to that CPU time / CPUBudget.
	CPUBudget float64
	// CPUTime returns the CPU time (user and system) the process has
	// used so far; nil means getrusage(RUSAGE_SELF). A scan's CPU time
	// (kcmpgraph_scan_cpu_seconds) is what the whole process used while
	// it ran: the scan's goroutines and the few scrapes that came
	// meanwhile.
	CPUTime func() time.Duration
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
	cpu       time.Duration // CPU time of the last scan, successful or not
	effective time.Duration // Interval as the CPU budget stretched it
	kcmpCalls map[string]float64
	errors    map[string]float64
}

// NewExporter returns an Exporter that has not scanned yet.
func NewExporter(opts Options) *Exporter {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CPUTime == nil {
		opts.CPUTime = processCPUTime
	}
	return &Exporter{opts: opts, effective: opts.Interval, kcmpCalls: map[string]float64{}, errors: map[string]float64{}}
}

// processCPUTime is the user and system time of the whole process.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// maxInterval bounds EffectiveInterval where a tiny budget would overflow
// a time.Duration: about 146 years.
const maxInterval = time.Duration(1 << 62)

// EffectiveInterval is the time from the start of one scan to the start
// of the next when the scan took cpu of CPU time: interval, or longer if
// that is what keeps the scans within budget (a share of one CPU) on
// average: cpu / budget. A budget of 0 (or less) sets no bound.
func EffectiveInterval(interval, cpu time.Duration, budget float64) time.Duration {
	if budget <= 0 || cpu <= 0 {
		return interval
	}
	need := float64(cpu) / budget
	if need >= float64(maxInterval) {
		return maxInterval
	}
	return max(interval, time.Duration(need))
}

// ErrNoInterval is returned by Run for an Exporter without an Interval.
var ErrNoInterval = errors.New("metrics: the exporter has no scan interval")

// Run scans at once and then every Interval, one scan at a time, until
// ctx is done. A scan that outlasts the interval delays the next one.
// With a CPU budget (Options.CPUBudget), the next scan also waits
// EffectiveInterval of the CPU time the process used since the scan
// before ended (this scan, and the scrapes and idling between), so
// that the process's average stays within the budget; a stretch is
// logged once at info level (later ones at debug level).
func (e *Exporter) Run(ctx context.Context) error {
	if e.opts.Interval <= 0 {
		return ErrNoInterval
	}
	logged := false
	lastEnd := e.opts.CPUTime()
	for {
		start := time.Now()
		e.Scan(ctx)
		if ctx.Err() != nil {
			return nil
		}
		end := e.opts.CPUTime()
		used := max(end-lastEnd, 0)
		lastEnd = end
		next := EffectiveInterval(e.opts.Interval, used, e.opts.CPUBudget)
		e.mu.Lock()
		e.effective = next
		e.mu.Unlock()
		if next > e.opts.Interval {
			level := slog.LevelInfo
			if logged {
				level = slog.LevelDebug
			}
			logged = true
			e.opts.Logger.Log(ctx, level, "scan interval stretched to keep the exporter within its CPU budget",
				"interval", e.opts.Interval, "effective_interval", next.Round(time.Millisecond), "cpu", used.Round(time.Millisecond),
				"cpu_budget", strconv.FormatFloat(100*e.opts.CPUBudget, 'g', -1, 64)+"%")
		}
		wait := time.NewTimer(next - time.Since(start))
		select {
		case <-ctx.Done():
			wait.Stop()
			return nil
		case <-wait.C:
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
	start, cpu0 := time.Now(), e.opts.CPUTime()
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
	cpu := max(e.opts.CPUTime()-cpu0, 0)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.attempted = true
	e.scans++
	e.duration = took
	e.cpu = cpu
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
	e.opts.Logger.Debug("scan done", "duration", took, "cpu", cpu, "processes", sum.Processes, "fds", sum.FDs, "findings", findings)
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
		emit(mInterval, e.effective.Seconds())
	}
	emit(mScans, float64(e.scans))
	emit(mFailures, float64(e.failures))
	if !e.attempted {
		return
	}
	emit(mSuccess, boolValue(e.success))
	emit(mDuration, e.duration.Seconds())
	if e.opts.Interval > 0 {
		emit(mCPU, e.cpu.Seconds())
	}
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
