package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every metric name.
const Namespace = "kcmpgraph"

// metric is one row of the table: every metric kcmpgraph exports is named,
// typed, labelled and explained here and nowhere else.
type metric struct {
	name   string
	help   string
	typ    prometheus.ValueType
	labels []string
	// serveOnly metrics describe the background loop; a one-shot
	// exposition (kcmpgraph metrics) leaves them out.
	serveOnly bool
	// byContainer metrics are exported only with
	// Options.FindingsByContainer.
	byContainer bool
	desc        *prometheus.Desc
}

const (
	gauge   = prometheus.GaugeValue
	counter = prometheus.CounterValue
)

var (
	mBuildInfo = &metric{name: "build_info", typ: gauge, labels: []string{"version", "goversion"},
		help: "A constant 1, labelled with the kcmpgraph version and the Go version it was built with."}
	mInterval = &metric{name: "scan_interval_seconds", typ: gauge, serveOnly: true,
		help: "Time between the starts of the last background scan and the next: serve --interval, or longer where the last scan's CPU time needed it to stay within --cpu-budget."}
	mScans = &metric{name: "scans_total", typ: counter,
		help: "Scans run since the exporter started, failed ones included."}
	mFailures = &metric{name: "scan_failures_total", typ: counter,
		help: "Scans that failed since the exporter started."}
	mSuccess = &metric{name: "scan_success", typ: gauge,
		help: "1 if the last scan succeeded, 0 if it failed; after a failure the other metrics still describe the last successful scan."}
	mDuration = &metric{name: "scan_duration_seconds", typ: gauge,
		help: "Wall time of the last scan, successful or not, audit included."}
	mCPU = &metric{name: "scan_cpu_seconds", typ: gauge, serveOnly: true,
		help: "CPU time (user and system) the exporter used during the last background scan, successful or not, audit included."}
	mPhase = &metric{name: "scan_phase_duration_seconds", typ: gauge, labels: []string{"phase"},
		help: "Wall time of each phase of the last successful scan: read (/proc), group (kcmp comparisons), audit."}
	mTimestamp = &metric{name: "last_scan_timestamp_seconds", typ: gauge,
		help: "Unix time at which the last successful scan started (the snapshot's taken_at)."}
	mExact = &metric{name: "exact", typ: gauge,
		help: "1 if the last successful scan used kcmp; 0 if kcmp was unavailable (no CONFIG_KCMP, a seccomp filter) and open files were grouped by inode: NOT EXACT."}
	mProcesses = &metric{name: "processes", typ: gauge,
		help: "Processes in the last successful scan, kernel threads and zombies included."}
	mTasks = &metric{name: "tasks", typ: gauge,
		help: "Tasks (threads) of the processes in the last successful scan."}
	mFDs = &metric{name: "fds", typ: gauge,
		help: "File descriptors read in the last successful scan."}
	mKcmpCalls = &metric{name: "kcmp_calls_total", typ: counter, labels: []string{"type"},
		help: "kcmp(2) calls made by successful scans, by object type (verify: the final re-check of every group)."}
	mErrors = &metric{name: "scan_errors_total", typ: counter, labels: []string{"errno"},
		help: "Reads and comparisons of successful scans that failed, by errno (ESRCH, ENOENT: vanished mid-scan; EACCES, EPERM: denied)."}
	mUnreadable = &metric{name: "unreadable_processes", typ: gauge, labels: []string{"reason"},
		help: "Processes of the last successful scan whose sharing is not (fully) known, by reason: proc (its /proc entry denied), fds (its fd table denied), kcmp (kcmp refused), vanished (exited mid-scan)."}
	mShared = &metric{name: "shared_objects", typ: gauge, labels: []string{"type"},
		help: "Kernel objects held by two or more members in the last successful scan, by object type."}
	mChannels = &metric{name: "channels", typ: gauge, labels: []string{"kind"},
		help: "Channels whose ends are both held by scanned fds in the last successful scan, by kind."}
	mFindings = &metric{name: "audit_findings", typ: gauge, labels: []string{"rule", "severity"},
		help: "Audit findings of the last successful scan, by rule and severity (see kcmpgraph audit --help)."}
	mAllowed = &metric{name: "audit_allowed_findings", typ: gauge,
		help: "Audit findings of the last successful scan that the allow-list removed."}
	mContainerFindings = &metric{name: "container_audit_findings", typ: gauge, byContainer: true,
		labels: []string{"rule", "severity", "runtime", "namespace", "pod", "container"},
		help:   "Audit findings of the last successful scan with a holder in each container, by rule and severity; only containers with findings (opt-in: --findings-by-container)."}
)

// table lists every metric, in the order of the README.
var table = []*metric{
	mBuildInfo, mInterval, mScans, mFailures, mSuccess, mDuration, mCPU, mPhase, mTimestamp, mExact,
	mProcesses, mTasks, mFDs, mKcmpCalls, mErrors, mUnreadable, mShared, mChannels, mFindings, mAllowed,
	mContainerFindings,
}

func init() {
	for _, m := range table {
		m.desc = prometheus.NewDesc(m.fullName(), m.help, m.labels, nil)
	}
}

// fullName is the metric's name as exposed.
func (m *metric) fullName() string { return prometheus.BuildFQName(Namespace, "", m.name) }

// Label values. Each label has a fixed set; see Summarize.
var (
	// unreadableReasons map the reasons of kcmpgraph_unreadable_processes
	// to the snapshot's stats.skipped keys (procscan.SkipDenied,
	// SkipFDTablesDenied, analyzer.SkipKcmpDenied, procscan.SkipVanished:
	// a test holds them equal; this package reads snapshots only).
	unreadableReasons = []struct{ reason, skipped string }{
		{"proc", "processes_denied"},
		{"fds", "fd_tables_denied"},
		{"kcmp", "processes_kcmp_denied"},
		{"vanished", "processes_vanished"},
	}
	// channelKinds are the kinds of snapshot.Endpoint.
	channelKinds = []string{"pipe", "unix-stream", "unix-dgram", "unix-seqpacket", "tcp", "udp", "pty"}
)

// other is the label value for what a snapshot file names outside a
// label's fixed set.
const other = "other"
