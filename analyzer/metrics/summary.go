package metrics

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kcmpgraph/kcmpgraph/analyzer/audit"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/escape"
)

// Summary is what a scan leaves for the metrics: counts with bounded
// label values, a few hundred bytes, never the snapshot itself.
type Summary struct {
	TakenAt   time.Time
	Exact     bool
	Processes int
	Tasks     int
	FDs       int
	// KcmpCalls and Errors are the scan's own counts, by kcmp type (and
	// "verify") and by errno name.
	KcmpCalls map[string]int64
	Errors    map[string]int
	// Unreadable counts processes by reason (proc, fds, kcmp, vanished).
	Unreadable map[string]int
	// Shared counts groups by object type, for the types the scan covered
	// (zero included) and any other type the snapshot has groups of.
	Shared map[string]int
	// Channels counts endpoints by kind.
	Channels map[string]int
	// Findings counts audit findings by rule and severity, for the rules
	// that ran; Allowed counts those the allow-list removed.
	Findings map[FindingKey]int
	Allowed  int
	// ContainerFindings counts, for each container, the findings with a
	// holder inside it (its runtime's helpers on the host not included);
	// only containers with findings, at most maxContainerSeries keys.
	ContainerFindings map[ContainerKey]int
	// ReadSeconds and GroupSeconds are the scan's phases; AuditSeconds is
	// the audit's wall time (set by the Exporter).
	ReadSeconds  float64
	GroupSeconds float64
	AuditSeconds float64
}

// FindingKey labels a count of findings.
type FindingKey struct {
	Rule     string
	Severity string
}

// ContainerKey labels a count of findings in one container: the rule and
// severity, and the container's runtime, Kubernetes namespace and pod
// (empty outside Kubernetes) and name (its short id when it has none).
type ContainerKey struct {
	FindingKey
	Runtime   string
	Namespace string
	Pod       string
	Container string
}

// maxContainerSeries bounds ContainerFindings: past it, findings count
// under a key whose identity labels are all "other".
const maxContainerSeries = 200

// containerRuntimes are the values of snapshot.Container.Runtime.
var containerRuntimes = []string{"docker", "containerd", "cri-o", "podman", "runc", "crun", "lxc", "systemd-nspawn", "cri"}

var (
	// kcmpCallTypes are the keys of stats.kcmp_calls: the group types,
	// epoll, and verify.
	kcmpCallTypes = append(slices.Clone(snapshot.GroupTypes), "epoll", "verify")
	// errnoNames are the errno names a scan may count (see procscan's
	// errnoName); the label has only these and "other".
	errnoNames = []string{
		"E2BIG", "EACCES", "EAGAIN", "EBADF", "EBUSY", "EFAULT", "EINTR", "EINVAL", "EIO",
		"ELOOP", "EMFILE", "ENAMETOOLONG", "ENFILE", "ENODEV", "ENOENT", "ENOMEM", "ENOSPC",
		"ENOSYS", "ENOTDIR", "ENOTSUP", "ENXIO", "EOPNOTSUPP", "EOVERFLOW", "EPERM", "ERANGE",
		"ESRCH", "ETIMEDOUT",
	}
)

// Summarize counts what the metrics export from a snapshot and its audit.
// Every label value it returns is in its label's fixed set: a snapshot
// file is untrusted input, and a label must never carry its strings.
func Summarize(s *snapshot.Snapshot, rep *audit.Report) *Summary {
	sum := &Summary{
		TakenAt:      s.Host.TakenAt,
		Exact:        s.Exact,
		Processes:    s.Stats.Processes,
		Tasks:        s.Stats.Tasks,
		FDs:          s.Stats.FDs,
		KcmpCalls:    map[string]int64{},
		Errors:       map[string]int{},
		Unreadable:   map[string]int{},
		Shared:       map[string]int{},
		Channels:     map[string]int{},
		Findings:     map[FindingKey]int{},
		ReadSeconds:  s.Stats.ScanSeconds,
		GroupSeconds: s.Stats.GroupSeconds,
	}
	for typ, n := range s.Stats.KcmpCalls {
		sum.KcmpCalls[inSet(typ, kcmpCallTypes)] += n
	}
	for errno, n := range s.Stats.Errors {
		sum.Errors[inSet(errno, errnoNames)] += n
	}
	for _, r := range unreadableReasons {
		sum.Unreadable[r.reason] = s.Stats.Skipped[r.skipped]
	}
	for _, t := range scannedGroupTypes(s) {
		sum.Shared[t] = 0
	}
	for _, g := range s.Groups {
		// The loader admits only known group types.
		sum.Shared[inSet(g.Type, snapshot.GroupTypes)]++
	}
	for _, k := range channelKinds {
		sum.Channels[k] = 0
	}
	for _, e := range s.Endpoints {
		sum.Channels[inSet(e.Kind, channelKinds)]++
	}
	if rep != nil {
		for _, r := range rep.Rules {
			for sev := audit.Info; sev <= audit.Critical; sev++ {
				sum.Findings[FindingKey{r.ID, sev.String()}] = 0
			}
		}
		for _, f := range rep.Findings {
			k := FindingKey{f.Rule, f.Severity.String()}
			if _, ok := sum.Findings[k]; ok {
				sum.Findings[k]++
			}
		}
		sum.Allowed = rep.Allowed
		sum.ContainerFindings = containerFindings(s, rep)
	}
	return sum
}

// containerFindings counts each finding once for every container one of
// its holders runs in.
func containerFindings(s *snapshot.Snapshot, rep *audit.Report) map[ContainerKey]int {
	out := map[ContainerKey]int{}
	for _, f := range rep.Findings {
		fk := FindingKey{f.Rule, f.Severity.String()}
		seen := map[ContainerKey]bool{}
		for _, h := range f.Holders {
			p := s.Process(h.PID)
			if p == nil || p.Container == nil || p.Container.Helper {
				continue
			}
			k := containerKey(fk, p.Container)
			if _, ok := out[k]; !ok && len(out) >= maxContainerSeries {
				k = ContainerKey{FindingKey: fk, Runtime: other, Namespace: other, Pod: other, Container: other}
			}
			if !seen[k] {
				seen[k] = true
				out[k]++
			}
		}
	}
	return out
}

func containerKey(fk FindingKey, c *snapshot.Container) ContainerKey {
	name := c.Name
	if name == "" {
		name = c.ShortID()
	}
	k := ContainerKey{FindingKey: fk, Runtime: inSet(c.Runtime, containerRuntimes), Container: labelText(name)}
	if c.Pod != nil {
		k.Namespace, k.Pod = labelText(c.Pod.Namespace), labelText(c.Pod.Name)
		if k.Pod == "" {
			k.Pod = labelText(c.Pod.UID)
		}
	}
	return k
}

// labelText makes a name from a runtime's state or a cgroup path fit for
// a label value: escaped with escape.Text, as a terminal shows it (the
// exposition is read by people too, and a bidi override or zero-width
// character in a label would hide what it names), and cut to at most 128
// bytes between escapes. The exposition format escapes the rest.
func labelText(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		_, n := utf8.DecodeRuneInString(s)
		e := escape.Text(s[:n])
		if b.Len()+len(e) > 128 {
			break
		}
		b.WriteString(e)
		s = s[n:]
	}
	return b.String()
}

// scannedGroupTypes are the group types the snapshot's scan covered:
// host.scope.types, or every type when a snapshot does not say.
func scannedGroupTypes(s *snapshot.Snapshot) []string {
	if len(s.Host.Scope.Types) == 0 {
		return snapshot.GroupTypes
	}
	var out []string
	for _, t := range snapshot.GroupTypes {
		if slices.Contains(s.Host.Scope.Types, t) {
			out = append(out, t)
		}
	}
	return out
}

func inSet(v string, set []string) string {
	if slices.Contains(set, v) {
		return v
	}
	return other
}
