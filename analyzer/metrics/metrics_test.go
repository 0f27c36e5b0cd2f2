package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kcmpgraph/kcmpgraph/analyzer/audit"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/golden"
)

const hostSnapshot = "../audit/testdata/host.json"

func loadHost(t testing.TB) *snapshot.Snapshot {
	t.Helper()
	s, err := snapshot.LoadFile(hostSnapshot, snapshot.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// oneShot is an Exporter that has scanned s once.
func oneShot(t testing.TB, s *snapshot.Snapshot, opts audit.Options) *Exporter {
	t.Helper()
	e := NewExporter(Options{Scan: func(context.Context) (*snapshot.Snapshot, error) { return s, nil }, Audit: opts, Version: "test"})
	if err := e.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

func text(t testing.TB, e *Exporter) string {
	t.Helper()
	var b bytes.Buffer
	if err := e.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestSummarizeHost checks every count against the snapshot and the audit
// report themselves.
func TestSummarizeHost(t *testing.T) {
	s := loadHost(t)
	rep, err := audit.Run(s, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum := Summarize(s, rep)
	if sum.Processes != s.Stats.Processes || sum.FDs != s.Stats.FDs || sum.Tasks != s.Stats.Tasks || !sum.Exact || !sum.TakenAt.Equal(s.Host.TakenAt) {
		t.Errorf("counts: %+v, stats %+v", sum, s.Stats)
	}
	groups := map[string]int{}
	for _, g := range s.Groups {
		groups[g.Type]++
	}
	for typ, n := range groups {
		if sum.Shared[typ] != n {
			t.Errorf("shared %s: %d, snapshot has %d groups", typ, sum.Shared[typ], n)
		}
	}
	if len(groups) == 0 || groups["file"] == 0 {
		t.Fatalf("the test snapshot has no file groups: %v", groups)
	}
	kinds := map[string]int{}
	for _, e := range s.Endpoints {
		kinds[e.Kind]++
	}
	for _, k := range channelKinds {
		if got, ok := sum.Channels[k]; !ok || got != kinds[k] {
			t.Errorf("channels %s: %d (present %v), snapshot has %d", k, got, ok, kinds[k])
		}
	}
	findings := map[FindingKey]int{}
	for _, f := range rep.Findings {
		findings[FindingKey{f.Rule, f.Severity.String()}]++
	}
	if len(findings) < 3 {
		t.Fatalf("the test snapshot should have findings of several rules: %v", findings)
	}
	if len(sum.Findings) != 5*len(rep.Rules) {
		t.Errorf("%d finding series, want every severity of each of the %d rules", len(sum.Findings), len(rep.Rules))
	}
	for k, n := range sum.Findings {
		if findings[k] != n {
			t.Errorf("findings %v: %d, report has %d", k, n, findings[k])
		}
	}
}

func TestDisabledRulesHaveNoSeries(t *testing.T) {
	out := text(t, oneShot(t, loadHost(t), audit.Options{Disable: []string{"KG006"}}))
	if strings.Contains(out, `rule="KG006"`) {
		t.Errorf("a disabled rule is exported (it was not checked, so it has no count):\n%s", out)
	}
	if !strings.Contains(out, `kcmpgraph_audit_findings{rule="KG001",severity="high"}`) {
		t.Errorf("KG001 is missing:\n%s", out)
	}
}

// TestHostileLabelValues feeds label-bearing fields a snapshot file could
// carry: every one ends up under a fixed value, and the exposition stays
// valid (client_golang refuses invalid UTF-8 in a label).
func TestHostileLabelValues(t *testing.T) {
	s := loadHost(t)
	s.Endpoints = append(s.Endpoints, snapshot.Endpoint{Kind: "x\"}\n# EVIL 1\xff"}, snapshot.Endpoint{Kind: "pipe"})
	s.Stats.Errors = map[string]int{"E\xffVIL": 2, "EPERM": 1, `EVIL"} 1`: 1}
	s.Stats.KcmpCalls = map[string]int64{"file": 3, "</script>": 4}
	out := text(t, oneShot(t, s, audit.Options{}))
	for _, want := range []string{
		`kcmpgraph_channels{kind="other"} 1`, `kcmpgraph_scan_errors_total{errno="other"} 3`,
		`kcmpgraph_scan_errors_total{errno="EPERM"} 1`, `kcmpgraph_kcmp_calls_total{type="other"} 4`,
		`kcmpgraph_kcmp_calls_total{type="file"} 3`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("exposition lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"EVIL", "</script>", "\xff"} {
		if strings.Contains(out, bad) {
			t.Errorf("exposition carries %q from the snapshot:\n%s", bad, out)
		}
	}
}

// TestSeriesAreBounded: the series count does not grow with the host.
func TestSeriesAreBounded(t *testing.T) {
	small := series(t, text(t, oneShot(t, loadHost(t), audit.Options{})))
	big := loadHost(t)
	for i := range 5000 {
		big.Processes = append(big.Processes, snapshot.Process{PID: 100000 + i, Comm: fmt.Sprintf("w%d", i), Tasks: []int{100000 + i}})
		big.Endpoints = append(big.Endpoints, snapshot.Endpoint{Kind: fmt.Sprintf("kind%d", i)})
	}
	big.Stats.Errors = map[string]int{}
	big.Stats.KcmpCalls = map[string]int64{}
	for i := range 5000 {
		big.Stats.Errors[fmt.Sprintf("E%d", i)] = 1
		big.Stats.KcmpCalls[fmt.Sprintf("t%d", i)] = 1
	}
	n := series(t, text(t, oneShot(t, big, audit.Options{})))
	if n > small+8 || n > 140 {
		t.Errorf("%d series for a snapshot with 5000 more processes, kinds and errnos; %d for the small one", n, small)
	}
}

func series(t *testing.T, exposition string) int {
	n := 0
	for _, l := range strings.Split(exposition, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			n++
		}
	}
	return n
}

// TestFailedScanKeepsLastGood: a failure sets scan_success to 0 and keeps
// every other metric of the last good scan; the next success restores 1.
func TestFailedScanKeepsLastGood(t *testing.T) {
	s := loadHost(t)
	fail := errors.New("boom")
	results := []error{nil, fail, nil}
	var i int
	e := NewExporter(Options{Version: "test", Scan: func(context.Context) (*snapshot.Snapshot, error) {
		err := results[i]
		i++
		if err != nil {
			return nil, err
		}
		return s, nil
	}})
	if got := text(t, e); strings.Contains(got, "scan_success") || strings.Contains(got, "kcmpgraph_processes") {
		t.Errorf("before the first scan, no scan result is reported:\n%s", got)
	}
	check := func(success, scans, failures int) {
		t.Helper()
		want := fmt.Sprintf(`# HELP kcmpgraph_scan_success %s
# TYPE kcmpgraph_scan_success gauge
kcmpgraph_scan_success %d
# HELP kcmpgraph_scans_total %s
# TYPE kcmpgraph_scans_total counter
kcmpgraph_scans_total %d
# HELP kcmpgraph_scan_failures_total %s
# TYPE kcmpgraph_scan_failures_total counter
kcmpgraph_scan_failures_total %d
# HELP kcmpgraph_processes %s
# TYPE kcmpgraph_processes gauge
kcmpgraph_processes 13
`, mSuccess.help, success, mScans.help, scans, mFailures.help, failures, mProcesses.help)
		if err := testutil.CollectAndCompare(e, strings.NewReader(want),
			"kcmpgraph_scan_success", "kcmpgraph_scans_total", "kcmpgraph_scan_failures_total", "kcmpgraph_processes"); err != nil {
			t.Error(err)
		}
	}
	if err := e.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	check(1, 1, 0)
	if err := e.Scan(context.Background()); !errors.Is(err, fail) {
		t.Fatalf("scan error %v, want %v", err, fail)
	}
	check(0, 2, 1)
	if err := e.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	check(1, 3, 1)
}

func TestCountersAccumulate(t *testing.T) {
	s := loadHost(t)
	s.Stats.KcmpCalls = map[string]int64{"file": 10, "verify": 2}
	s.Stats.Errors = map[string]int{"ESRCH": 3}
	e := oneShot(t, s, audit.Options{})
	if err := e.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := text(t, e)
	for _, want := range []string{`kcmpgraph_kcmp_calls_total{type="file"} 20`, `kcmpgraph_kcmp_calls_total{type="verify"} 4`, `kcmpgraph_scan_errors_total{errno="ESRCH"} 6`} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("after two scans, exposition lacks %q:\n%s", want, out)
		}
	}
}

// TestScrapesNeverScan gathers many times and counts scans.
func TestScrapesNeverScan(t *testing.T) {
	s := loadHost(t)
	var scans atomic.Int32
	e := NewExporter(Options{Interval: time.Hour, Scan: func(context.Context) (*snapshot.Snapshot, error) {
		scans.Add(1)
		return s, nil
	}})
	h, err := e.Handler()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		text(t, e)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "kcmpgraph_scans_total 1\n") {
			t.Fatalf("scrape: %d\n%s", rec.Code, rec.Body.String())
		}
	}
	if n := scans.Load(); n != 1 {
		t.Errorf("%d scans after 100 scrapes, want 1", n)
	}
}

// TestRunOneScanAtATime: scans that outlast the interval run back to
// back, never two at once, and the loop stops with its context.
func TestRunOneScanAtATime(t *testing.T) {
	s := loadHost(t)
	var running, most, scans atomic.Int32
	e := NewExporter(Options{Interval: 5 * time.Millisecond, Scan: func(context.Context) (*snapshot.Snapshot, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		scans.Add(1)
		time.Sleep(20 * time.Millisecond)
		return s, nil
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	// Scrapes and direct scans race with the loop.
	for range 3 {
		wg.Go(func() {
			for ctx.Err() == nil {
				e.Scan(ctx)
				text(t, e)
			}
		})
	}
	start := time.Now()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if took := time.Since(start); took > time.Second {
		t.Errorf("Run returned %v after its context ended", took)
	}
	if most.Load() != 1 {
		t.Errorf("%d scans ran at once", most.Load())
	}
	// At most 300 ms / 20 ms back to back; at least two, however loaded the
	// machine (a scan here also audits and is scraped under -race).
	if n := scans.Load(); n < 2 || n > 16 {
		t.Errorf("%d scans of 20 ms in 300 ms", n)
	}
	if err := NewExporter(Options{}).Run(ctx); !errors.Is(err, ErrNoInterval) {
		t.Errorf("Run without an interval: %v", err)
	}
}

func TestCanceledScanIsNotCounted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e := NewExporter(Options{Scan: func(ctx context.Context) (*snapshot.Snapshot, error) {
		cancel()
		return nil, ctx.Err()
	}})
	if err := e.Scan(ctx); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if out := text(t, e); !strings.Contains(out, "kcmpgraph_scans_total 0\n") || strings.Contains(out, "scan_success") {
		t.Errorf("a scan cut short by shutdown is counted:\n%s", out)
	}
}

// TestLint runs client_golang's metric linter (promtool's rules) over the
// exposition, and promtool itself when it is installed.
func TestLint(t *testing.T) {
	e := oneShot(t, loadHost(t), audit.Options{})
	problems, err := testutil.CollectAndLint(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Skip("promtool not installed (Debian package prometheus; .ci/run installs it)")
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(text(t, e))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestGolden pins the exposition of the audit test snapshot.
func TestGolden(t *testing.T) {
	out := text(t, oneShot(t, loadHost(t), audit.Options{}))
	out = strings.ReplaceAll(out, `goversion="`+runtime.Version()+`"`, `goversion="GOVERSION"`)
	// The audit's own time is measured; the scan's comes from the file.
	timed := regexp.MustCompile(`(?m)^(kcmpgraph_scan_phase_duration_seconds\{phase="audit"\}|kcmpgraph_scan_duration_seconds) .*$`)
	out = timed.ReplaceAllString(out, "$1 AUDIT-TIMED")
	golden.Check(t, "host.prom", []byte(out))
}

// TestREADMEDocumentsEveryMetric keeps the README's table in step with
// this package's.
func TestREADMEDocumentsEveryMetric(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(kcmpgraph_[a-z_]+)(\\{[a-z,]*\\})?`")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		documented[m[1]] = m[2]
	}
	for _, m := range table {
		labels := ""
		if len(m.labels) > 0 {
			labels = "{" + strings.Join(m.labels, ",") + "}"
		}
		got, ok := documented[m.fullName()]
		switch {
		case !ok:
			t.Errorf("README does not document %s", m.fullName())
		case got != labels:
			t.Errorf("README documents %s%s, the metric has labels %s", m.fullName(), got, labels)
		}
		delete(documented, m.fullName())
	}
	for name := range documented {
		t.Errorf("README documents %s, which is not exported", name)
	}
}

// TestContainerFindings: with FindingsByContainer, each finding counts once
// per container one of its holders runs in (helpers on the host aside),
// names are made fit for labels, and the series are capped.
func TestContainerFindings(t *testing.T) {
	s := loadHost(t)
	rep, err := audit.Run(s, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var kg001 *audit.Finding
	for i, f := range rep.Findings {
		if f.Rule == "KG001" {
			kg001 = &rep.Findings[i]
		}
	}
	if kg001 == nil || len(kg001.Holders) < 2 {
		t.Fatalf("the test snapshot's KG001 finding: %+v", kg001)
	}
	web := &snapshot.Container{Runtime: "cri", ID: strings.Repeat("ab", 32), Name: "web\n\"}\xff", Pod: &snapshot.Pod{Namespace: "shop", Name: "web-7d9"}}
	for _, h := range kg001.Holders {
		s.Process(h.PID).Container = web
	}
	s.Process(kg001.Holders[0].PID).Container = &snapshot.Container{Runtime: "podman", ID: strings.Repeat("cd", 32), Helper: true}
	plain := text(t, oneShot(t, s, audit.Options{}))
	if strings.Contains(plain, "container_audit_findings") {
		t.Errorf("per-container findings without the option:\n%s", plain)
	}
	e := NewExporter(Options{FindingsByContainer: true, Scan: func(context.Context) (*snapshot.Snapshot, error) { return s, nil }})
	if err := e.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := text(t, e)
	want := `kcmpgraph_container_audit_findings{container="web\\n\"}\\xff",namespace="shop",pod="web-7d9",rule="KG001",runtime="cri",severity="high"} 1`
	kg001Series := regexp.MustCompile(`(?m)^kcmpgraph_container_audit_findings\{.*rule="KG001"`).FindAllString(out, -1)
	if len(kg001Series) != 1 || !strings.Contains(out, want+"\n") || strings.Contains(out, "cdcdcdcdcdcd") {
		t.Errorf("want one KG001 series, %s (the helper not counted), got:\n%s", want, out)
	}
	problems, err := testutil.CollectAndLint(e)
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}

	// A thousand containers with findings: the series stop at the cap.
	many := loadHost(t)
	r := &audit.Report{Rules: rep.Rules}
	for i := range 1000 {
		pid := 200000 + i
		many.Processes = append(many.Processes, snapshot.Process{PID: pid, Tasks: []int{pid},
			Container: &snapshot.Container{Runtime: "docker", ID: fmt.Sprintf("%012x%052d", i, 0)}})
		r.Findings = append(r.Findings, audit.Finding{Rule: "KG003", Severity: audit.Critical, Holders: []audit.Holder{{PID: pid}}})
	}
	sum := Summarize(many, r)
	if len(sum.ContainerFindings) != maxContainerSeries+1 {
		t.Errorf("%d per-container keys for 1000 containers, want %d and one other", len(sum.ContainerFindings), maxContainerSeries)
	}
	if n := sum.ContainerFindings[ContainerKey{FindingKey{"KG003", "critical"}, other, other, other, other}]; n != 1000-maxContainerSeries {
		t.Errorf("other counts %d findings, want %d", n, 1000-maxContainerSeries)
	}
}

func TestEffectiveInterval(t *testing.T) {
	for _, c := range []struct {
		interval, cpu time.Duration
		budget        float64
		want          time.Duration
	}{
		{time.Minute, 0, 0.02, time.Minute},
		{time.Minute, time.Second, 0.02, time.Minute},             // 1 s of 60 s: within 2%
		{time.Minute, 1200 * time.Millisecond, 0.02, time.Minute}, // exactly 2%
		{time.Minute, 3900 * time.Millisecond, 0.02, 195 * time.Second},
		{time.Minute, 3900 * time.Millisecond, 0, time.Minute},  // no budget
		{time.Minute, 3900 * time.Millisecond, -1, time.Minute}, // no budget
		{time.Second, 500 * time.Millisecond, 1, time.Second},   // a whole CPU
		{time.Second, 2 * time.Second, 1, 2 * time.Second},      // more than one CPU's worth
		{time.Minute, time.Hour, 1e-12, maxInterval},            // no overflow
		{time.Minute, -time.Second, 0.02, time.Minute},
	} {
		if got := EffectiveInterval(c.interval, c.cpu, c.budget); got != c.want {
			t.Errorf("EffectiveInterval(%v, %v, %v) = %v, want %v", c.interval, c.cpu, c.budget, got, c.want)
		}
	}
}

// TestRunStretchesInterval: scans that each take 50 ms of (a fake) CPU
// time with a budget of half a CPU start 100 ms apart, not every 5 ms;
// the exposition gives the CPU time and the stretched interval, and the
// stretch is logged at info level once.
func TestRunStretchesInterval(t *testing.T) {
	s := loadHost(t)
	var cpu atomic.Int64
	var scans atomic.Int32
	var log bytes.Buffer
	var logMu sync.Mutex
	e := NewExporter(Options{
		Interval:  5 * time.Millisecond,
		CPUBudget: 0.5,
		CPUTime:   func() time.Duration { return time.Duration(cpu.Load()) },
		Scan: func(context.Context) (*snapshot.Snapshot, error) {
			scans.Add(1)
			cpu.Add(int64(50 * time.Millisecond))
			return s, nil
		},
		Logger: slog.New(slog.NewTextHandler(syncWriter{&logMu, &log}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if out := text(t, e); !strings.Contains(out, "\nkcmpgraph_scan_interval_seconds 0.005\n") {
		t.Errorf("before the first scan, the interval is not --interval's:\n%s", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 450*time.Millisecond)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// 450 ms / 100 ms; at least two however loaded the machine.
	if n := scans.Load(); n < 2 || n > 5 {
		t.Errorf("%d scans in 450 ms, want at most 5 (100 ms apart)", n)
	}
	out := text(t, e)
	for _, want := range []string{"\nkcmpgraph_scan_interval_seconds 0.1\n", "\nkcmpgraph_scan_cpu_seconds 0.05\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q:\n%s", strings.TrimSpace(want), out)
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	lines := log.String()
	if n := strings.Count(lines, "level=INFO msg=\"scan interval stretched to keep the exporter within its CPU budget\""); n != 1 {
		t.Errorf("%d info lines about the stretch, want 1:\n%s", n, lines)
	}
	if !strings.Contains(lines, "interval=5ms effective_interval=100ms cpu=50ms cpu_budget=50%") {
		t.Errorf("the stretch's log line lacks its figures:\n%s", lines)
	}

	// Without a budget, the same scans run every 5 ms.
	scans.Store(0)
	e = NewExporter(Options{Interval: 5 * time.Millisecond, CPUTime: e.opts.CPUTime, Scan: e.opts.Scan})
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	e.Run(ctx)
	if n := scans.Load(); n < 6 {
		t.Errorf("without a budget, %d scans in 300 ms, want 6 or more (5 ms apart)", n)
	}
	if out := text(t, e); !strings.Contains(out, "\nkcmpgraph_scan_interval_seconds 0.005\n") {
		t.Errorf("without a budget, the interval changed:\n%s", out)
	}
}

// syncWriter serializes writes to a buffer the test reads.
type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
