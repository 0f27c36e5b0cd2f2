package audit

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
)

// Severity orders findings.
type Severity int

// Severities, lowest first.
const (
	Low Severity = iota + 1
	Medium
	High
	Critical
)

var severityNames = map[Severity]string{Low: "low", Medium: "medium", High: "high", Critical: "critical"}

func (s Severity) String() string { return severityNames[s] }

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ErrUnknownSeverity is wrapped by ParseSeverity.
var ErrUnknownSeverity = errors.New("unknown severity")

// ParseSeverity parses low, medium, high or critical.
func ParseSeverity(name string) (Severity, error) {
	for s, n := range severityNames {
		if strings.EqualFold(name, n) {
			return s, nil
		}
	}
	return 0, fmt.Errorf("%w %q (valid: low, medium, high, critical)", ErrUnknownSeverity, name)
}

// Rule is one check.
type Rule struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	Why      string   `json:"why"`
	Fix      string   `json:"fix"`
	check    func(*checker, Rule) []Finding
}

// Holder is one piece of evidence: a process and the fd or task that
// holds the object. FD and TID together are an fd of that task's own fd
// table (a thread that called unshare(CLONE_FILES)).
type Holder struct {
	PID        int               `json:"pid"`
	Comm       string            `json:"comm"`
	Exe        string            `json:"exe,omitempty"`
	UID        int               `json:"uid"`
	EUID       int               `json:"euid"`
	FD         *int              `json:"fd,omitempty"`
	TID        *int              `json:"tid,omitempty"`
	Target     string            `json:"target,omitempty"`
	Access     string            `json:"access,omitempty"`
	Namespaces map[string]uint64 `json:"namespaces,omitempty"`
	Cgroup     string            `json:"cgroup,omitempty"`
}

// Finding is one rule violation.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	Message  string   `json:"message"`
	Object   string   `json:"object"`
	Holders  []Holder `json:"holders"`
}

// Report is an audit's result.
type Report struct {
	Exact    bool      `json:"exact"`
	Rules    []Rule    `json:"rules"`
	Findings []Finding `json:"findings"`
	// Allowed counts findings an allow-list removed.
	Allowed int `json:"allowed"`
}

// Options choose rules and known-good sharing.
type Options struct {
	// Rules enables only these rule ids; empty means all.
	Rules []string
	// Disable disables these rule ids.
	Disable []string
	Allow   *AllowList
}

// ErrUnknownRule is returned for a rule id that does not exist.
var ErrUnknownRule = errors.New("unknown rule")

// Rules lists every rule.
func Rules() []Rule {
	return []Rule{
		{ID: "KG001", Severity: High, Title: "open file shared with a user who could not open it",
			Why: "An open file description carries the access of whoever opened it. A less privileged process holding it can read or write a file its own credentials would not open: a classic leak across a privilege drop.",
			Fix: "Open the file with O_CLOEXEC, close it before dropping privileges or before exec, or pass only what the other user may access.", check: crossUserFile},
		{ID: "KG002", Severity: Medium, Title: "socket or pipe of a root process held by another user",
			Why: "A root daemon's socket or pipe in the hands of another user lets that user speak for, or listen as, the daemon.",
			Fix: "Mark the descriptor O_CLOEXEC, close it in children, or allow-list sharing that is by design (for example a web server's workers inheriting its listening socket).", check: privilegedIPC},
		{ID: "KG003", Severity: Medium, Title: "open file description crosses a namespace or cgroup boundary",
			Why: "A description held on both sides of a mount, PID or user namespace or cgroup boundary is a way through it. A host directory or regular file inside another mount namespace is critical: that is how runc CVE-2024-21626 let containers escape. Sockets, pipes and devices crossing (a container's stdio, a runtime's control pipe) are medium: often by design, worth an allow-list entry.",
			Fix: "Close host descriptors (O_CLOEXEC, close_range) before entering the container; check the runtime's version.", check: crossNamespace},
		{ID: "KG004", Severity: Critical, Title: "writable sensitive object held by a non-root process",
			Why: "Write access to shadow or sudoers files, block devices or another process's memory is root access in disguise.",
			Fix: "Find who passed the descriptor (kcmpgraph who PID:FD) and close it there.", check: writableSensitive},
		{ID: "KG005", Severity: Critical, Title: "per-task kernel object shared across users",
			Why: "Tasks of different users sharing an address space or fd table (critical) or fs info or signal handlers (high) can act on each other directly.",
			Fix: "Do not create children with CLONE_VM, CLONE_FILES, CLONE_FS or CLONE_SIGHAND across a privilege change.", check: crossUserTask},
		{ID: "KG006", Severity: Low, Title: "file or directory inherited across exec into another program",
			Why: "Heuristic: a regular file or directory (not a socket or pipe, which are often passed on purpose) that a child still shares with its parent under the same fd number, after the child exec'd a different program, was most likely inherited by accident: the parent opened it without O_CLOEXEC.",
			Fix: "Open it with O_CLOEXEC in the parent.", check: inheritedAcrossExec},
		{ID: "KG007", Severity: Low, Title: "channel between users or across a namespace boundary",
			Why: "A pipe, unix socket, local TCP or UDP connection or pseudo-terminal whose ends are held by different users (low: daemons and their clients talk this way by design) or across a user, network or mount namespace (medium: a way into or out of a container that its configuration may not show).",
			Fix: "Check that the channel is meant to be there; allow-list the ones that are.", check: crossChannel},
	}
}

type checker struct {
	s     *snapshot.Snapshot
	procs map[int]*snapshot.Process
}

func (c *checker) holder(m snapshot.Member) Holder {
	h := Holder{PID: m.PID}
	p := c.procs[m.PID]
	if p != nil {
		h.Comm, h.Exe, h.UID, h.EUID, h.Namespaces, h.Cgroup = p.Comm, p.Exe, p.UID, p.EUID, p.Namespaces, p.Cgroup
	}
	if m.IsTask() {
		tid := m.TID
		h.TID = &tid
		return h
	}
	fd := m.FD
	h.FD = &fd
	if m.Thread != 0 { // an fd of that task's own fd table
		tid := m.Thread
		h.TID = &tid
	}
	if p != nil {
		if f := p.FDOf(m); f != nil {
			h.Target = f.Target
			h.Access = accessMode(f.Flags)
		}
	}
	return h
}

func (c *checker) fdOf(m snapshot.Member) *snapshot.FD {
	if p := c.procs[m.PID]; p != nil {
		return p.FDOf(m)
	}
	return nil
}

func accessMode(flags int) string {
	switch flags & 3 {
	case 0:
		return "read"
	case 1:
		return "write"
	}
	return "read-write"
}

// Run audits a snapshot.
func Run(s *snapshot.Snapshot, opts Options) (*Report, error) {
	all := Rules()
	known := map[string]bool{}
	for _, r := range all {
		known[r.ID] = true
	}
	ruleSet := func(ids []string) (map[string]bool, error) {
		set := map[string]bool{}
		for _, id := range ids {
			id = strings.ToUpper(strings.TrimSpace(id))
			if !known[id] {
				return nil, fmt.Errorf("%w %q (valid: KG001 to KG007)", ErrUnknownRule, id)
			}
			set[id] = true
		}
		return set, nil
	}
	enabled, err := ruleSet(opts.Rules)
	if err != nil {
		return nil, err
	}
	disabled, err := ruleSet(opts.Disable)
	if err != nil {
		return nil, err
	}
	c := &checker{s: s, procs: map[int]*snapshot.Process{}}
	for i := range s.Processes {
		c.procs[s.Processes[i].PID] = &s.Processes[i]
	}
	rep := &Report{Exact: s.Exact, Findings: []Finding{}}
	for _, r := range all {
		if (len(enabled) > 0 && !enabled[r.ID]) || disabled[r.ID] {
			continue
		}
		rep.Rules = append(rep.Rules, r)
		for _, f := range r.check(c, r) {
			if opts.Allow.allows(f) {
				rep.Allowed++
				continue
			}
			rep.Findings = append(rep.Findings, f)
		}
	}
	sort.SliceStable(rep.Findings, func(i, j int) bool {
		a, b := rep.Findings[i], rep.Findings[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Holders[0].PID < b.Holders[0].PID
	})
	return rep, nil
}

// Worst returns the highest severity among the findings, or 0.
func (r *Report) Worst() Severity {
	var w Severity
	for _, f := range r.Findings {
		w = max(w, f.Severity)
	}
	return w
}

func (c *checker) fileGroups() []snapshot.Group {
	var out []snapshot.Group
	for _, g := range c.s.Groups {
		if g.Type == snapshot.TypeFile {
			out = append(out, g)
		}
	}
	return out
}

const (
	sIFMT  = 0o170000
	sIFDIR = 0o040000
	sIFREG = 0o100000
	sIFBLK = 0o060000
)

// mayOpen reports whether a process with euid/egid could open a file of
// this mode and owner for the access the holder has.
func mayOpen(p *snapshot.Process, f *snapshot.FD) bool {
	if p.EUID == 0 {
		return true
	}
	var bits uint32
	switch {
	case f.OwnerUID == p.EUID:
		bits = (f.Mode >> 6) & 7
	case f.OwnerGID == p.EGID || f.OwnerGID == p.GID:
		bits = (f.Mode >> 3) & 7
	default:
		bits = f.Mode & 7
	}
	need := uint32(4)
	switch f.Flags & 3 {
	case 1:
		need = 2
	case 2:
		need = 6
	}
	if f.Mode&sIFMT == sIFDIR {
		need = 4
	}
	return bits&need == need
}

func crossUserFile(c *checker, r Rule) []Finding {
	var out []Finding
	for _, g := range c.fileGroups() {
		users := map[int]bool{}
		var blocked []snapshot.Member
		for _, m := range g.Members {
			p, f := c.procs[m.PID], c.fdOf(m)
			if p == nil || f == nil {
				continue
			}
			users[p.EUID] = true
			kind := f.Mode & sIFMT
			if (kind == sIFREG || kind == sIFDIR) && !mayOpen(p, f) {
				blocked = append(blocked, m)
			}
		}
		if len(users) < 2 || len(blocked) == 0 {
			continue
		}
		f := finding(c, r, g, fmt.Sprintf("%s could not open %s with their own credentials", plural.Count(len(blocked), "holder", "holders"), c.holder(blocked[0]).Target))
		out = append(out, f)
	}
	return out
}

func finding(c *checker, r Rule, g snapshot.Group, msg string) Finding {
	f := Finding{Rule: r.ID, Severity: r.Severity, Title: r.Title, Message: msg}
	for _, m := range g.Members {
		f.Holders = append(f.Holders, c.holder(m))
	}
	if len(f.Holders) > 0 {
		f.Object = f.Holders[0].Target
		if f.Object == "" {
			f.Object = g.Type
		}
	}
	return f
}

func privilegedIPC(c *checker, r Rule) []Finding {
	var out []Finding
	for _, g := range c.fileGroups() {
		fd := c.fdOf(g.Members[0])
		if fd == nil || !(strings.HasPrefix(fd.Target, "socket:") || strings.HasPrefix(fd.Target, "pipe:")) {
			continue
		}
		root, other := false, map[int]bool{}
		for _, m := range g.Members {
			if p := c.procs[m.PID]; p != nil {
				if p.EUID == 0 {
					root = true
				} else {
					other[p.EUID] = true
				}
			}
		}
		if root && len(other) > 0 {
			out = append(out, finding(c, r, g, fmt.Sprintf("%s of a root process is held by %s %s", fd.Target, plural.Word(len(other), "uid", "uids"), uidList(other))))
		}
	}
	return out
}

func uidList(m map[int]bool) string {
	var ids []int
	for u := range m {
		ids = append(ids, u)
	}
	sort.Ints(ids)
	parts := make([]string, len(ids))
	for i, u := range ids {
		parts[i] = strconv.Itoa(u)
	}
	return strings.Join(parts, ", ")
}

func crossNamespace(c *checker, r Rule) []Finding {
	var out []Finding
	for _, g := range c.fileGroups() {
		var crossed []string
		for _, ns := range []string{"mnt", "pid", "user"} {
			vals := map[uint64]bool{}
			for _, m := range g.Members {
				if p := c.procs[m.PID]; p != nil && p.Namespaces[ns] != 0 {
					vals[p.Namespaces[ns]] = true
				}
			}
			if len(vals) > 1 {
				crossed = append(crossed, ns+" namespace")
			}
		}
		cgs := map[string]bool{}
		for _, m := range g.Members {
			if p := c.procs[m.PID]; p != nil && p.Cgroup != "" {
				cgs[p.Cgroup] = true
			}
		}
		if len(cgs) > 1 && len(crossed) > 0 {
			crossed = append(crossed, "cgroup")
		}
		if len(crossed) == 0 {
			continue
		}
		f := finding(c, r, g, "held across "+strings.Join(crossed, ", "))
		if fd := c.fdOf(g.Members[0]); fd != nil {
			kind := fd.Mode & sIFMT
			if (kind == sIFDIR || kind == sIFREG) && strings.Contains(strings.Join(crossed, " "), "mnt") {
				f.Severity = Critical
				f.Message += ": a host " + map[bool]string{true: "directory", false: "file"}[kind == sIFDIR] +
					" reachable from inside another mount namespace"
			}
		}
		out = append(out, f)
	}
	return out
}

var sensitivePaths = []string{"/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/sudoers.d/*", "/etc/shadow-", "/etc/gshadow-",
	"/proc/*/mem", "/dev/mem", "/dev/kmem", "/dev/port", "/root/.ssh/*", "/etc/ssh/ssh_host_*_key"}

func writableSensitive(c *checker, r Rule) []Finding {
	var out []Finding
	for _, p := range c.s.Processes {
		if p.EUID == 0 {
			continue
		}
		for _, f := range p.FDs {
			if f.Flags&3 == 0 {
				continue
			}
			sensitive := f.Mode&sIFMT == sIFBLK
			for _, pat := range sensitivePaths {
				if ok, _ := path.Match(pat, f.Target); ok {
					sensitive = true
				}
			}
			if !sensitive {
				continue
			}
			g := snapshot.Group{Type: "file", Members: []snapshot.Member{p.MemberOf(&f)}}
			out = append(out, finding(c, r, g, fmt.Sprintf("uid %d holds %s open for %s", p.EUID, f.Target, accessMode(f.Flags))))
		}
	}
	return out
}

func crossUserTask(c *checker, r Rule) []Finding {
	var out []Finding
	for _, g := range c.s.Groups {
		if !snapshot.IsTaskType(g.Type) || g.Type == "io" || g.Type == "sysvsem" {
			continue
		}
		users := map[int]bool{}
		for _, m := range g.Members {
			if p := c.procs[m.PID]; p != nil {
				users[p.EUID] = true
			}
		}
		if len(users) < 2 {
			continue
		}
		f := finding(c, r, g, fmt.Sprintf("%s shared by uids %s", g.Type, uidList(users)))
		f.Object = g.Type
		if g.Type == "fs" || g.Type == "sighand" {
			f.Severity = High
		}
		out = append(out, f)
	}
	return out
}

func inheritedAcrossExec(c *checker, r Rule) []Finding {
	var out []Finding
	for _, g := range c.fileGroups() {
		byProc := map[int]snapshot.Member{}
		for _, m := range g.Members {
			byProc[m.PID] = m
		}
		for _, m := range g.Members {
			child := c.procs[m.PID]
			if child == nil || m.FD <= 2 {
				continue
			}
			pm, ok := byProc[child.PPID]
			parent := c.procs[child.PPID]
			if !ok || parent == nil || pm.FD != m.FD || parent.Exe == "" || child.Exe == "" || parent.Exe == child.Exe {
				continue
			}
			fd := c.fdOf(m)
			if fd == nil {
				continue
			}
			if kind := fd.Mode & sIFMT; kind != sIFREG && kind != sIFDIR {
				continue
			}
			pair := snapshot.Group{Type: "file", Members: []snapshot.Member{pm, m}}
			out = append(out, finding(c, r, pair, fmt.Sprintf("fd %d of %s (%s) is still open in its child %d running %s",
				m.FD, parent.Exe, fd.Target, child.PID, child.Exe)))
		}
	}
	return out
}

func crossChannel(c *checker, r Rule) []Finding {
	var out []Finding
	for _, e := range c.s.Endpoints {
		users := map[int]bool{}
		ns := map[string]map[uint64]bool{"user": {}, "net": {}, "mnt": {}}
		var all []snapshot.Member
		for _, end := range e.Ends {
			for _, m := range end {
				all = append(all, m)
				if p := c.procs[m.PID]; p != nil {
					users[p.EUID] = true
					for k := range ns {
						if v := p.Namespaces[k]; v != 0 {
							ns[k][v] = true
						}
					}
				}
			}
		}
		var crossed []string
		for _, k := range []string{"user", "net", "mnt"} {
			if len(ns[k]) > 1 {
				crossed = append(crossed, k+" namespace")
			}
		}
		if len(users) < 2 && len(crossed) == 0 {
			continue
		}
		f := finding(c, r, snapshot.Group{Type: "file", Members: all}, "")
		f.Object = e.Label()
		if len(crossed) > 0 {
			f.Severity = Medium
			f.Message = f.Object + " crosses " + strings.Join(crossed, ", ")
		} else {
			f.Message = f.Object + " between uids " + uidList(users)
		}
		out = append(out, f)
	}
	return out
}
