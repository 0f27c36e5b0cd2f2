package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/analyzer/objname"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// Severity orders findings.
type Severity int

// Severities, lowest first. Info is a pattern the audit knows as a normal
// design (Finding.Expected says which): shown, never failing --fail-on.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = map[Severity]string{Info: "info", Low: "low", Medium: "medium", High: "high", Critical: "critical"}

func (s Severity) String() string { return severityNames[s] }

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ErrUnknownSeverity is wrapped by ParseSeverity.
var ErrUnknownSeverity = errors.New("unknown severity")

// ParseSeverity parses low, medium, high or critical (the levels
// --fail-on accepts; info findings never fail).
func ParseSeverity(name string) (Severity, error) {
	for s, n := range severityNames {
		if s != Info && strings.EqualFold(name, n) {
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
	check    func(*checker, Rule) []raw
	// message words a merged finding of the rule, given the distinct
	// details of its raws.
	message func(c *checker, f *Finding, details []string) string
}

// Holder is one process of a finding and what it holds: its fds (with
// the object each opens) or its tasks.
type Holder struct {
	PID  int    `json:"pid"`
	Comm string `json:"comm"`
	Exe  string `json:"exe,omitempty"`
	UID  int    `json:"uid"`
	EUID int    `json:"euid"`
	// Place is the container or systemd unit the process runs in
	// (snapshot Process.Place); Container and Unit are its parts.
	Place      string              `json:"place,omitempty"`
	Container  *snapshot.Container `json:"container,omitempty"`
	Unit       string              `json:"unit,omitempty"`
	Namespaces map[string]uint64   `json:"namespaces,omitempty"`
	Cgroup     string              `json:"cgroup,omitempty"`
	// Role is "master" or "worker" in a master/worker design, "runtime"
	// for a container runtime's helper.
	Role string   `json:"role,omitempty"`
	FDs  []HeldFD `json:"fds,omitempty"`
	TIDs []int    `json:"tids,omitempty"`
}

// HeldFD is one fd of a holder.
type HeldFD struct {
	FD int `json:"fd"`
	// TID is set for an fd of a task's own fd table (a thread that
	// called unshare(CLONE_FILES)).
	TID int `json:"tid,omitempty"`
	// Object names what the fd opens (package objname).
	Object string `json:"object"`
	Target string `json:"target"`
	Access string `json:"access"`
	// Note is the rule's evidence about this fd: "cannot open" (KG001:
	// the holder could not open it with its own credentials), "host
	// mount" or "mount of another container" (KG008), "runtime API"
	// (KG009), "host namespace" (KG010).
	Note string `json:"note,omitempty"`
}

// Finding is one pattern a rule found: the objects and every holder, once.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	Message  string   `json:"message"`
	// Object names the first object; Objects all of them, each once.
	Object  string   `json:"object"`
	Objects []string `json:"objects"`
	Holders []Holder `json:"holders"`
	// Expected says why the pattern is a normal design (Severity Info).
	Expected string `json:"expected,omitempty"`
	// Fingerprint identifies the finding across rescans and hosts: a hash
	// of the rule, the objects (without inode numbers or ephemeral
	// ports) and where and as whom its holders run (container or unit,
	// program, user), never pids or fd numbers.
	Fingerprint string `json:"fingerprint"`
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

// raw is what a rule's check finds about one object (or a few): it
// becomes part of a Finding once raws of one pattern are merged.
type raw struct {
	rule     Rule
	severity Severity
	expected string
	members  []snapshot.Member
	// notes are per-fd evidence (HeldFD.Note).
	notes map[snapshot.Member]string
	// object names the object of task members (their type).
	object string
	// detail is a fact the rule's message uses (the namespaces crossed,
	// the program exec'd).
	detail string
	// key, when set, says which raws are one pattern instead of their
	// holders: the container, a parent and the program its children run.
	key string
}

type checker struct {
	s     *snapshot.Snapshot
	procs map[int]*snapshot.Process
	names *objname.Names
	// group maps each fd member of a file group to the group's index.
	group map[snapshot.Member]int
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
				return nil, fmt.Errorf("%w %q (valid: KG001 to KG%03d)", ErrUnknownRule, id, len(all))
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
	c := &checker{s: s, procs: map[int]*snapshot.Process{}, names: objname.New(s), group: s.FileGroupIndex()}
	for i := range s.Processes {
		c.procs[s.Processes[i].PID] = &s.Processes[i]
	}
	rep := &Report{Exact: s.Exact, Findings: []Finding{}}
	for _, r := range all {
		if (len(enabled) > 0 && !enabled[r.ID]) || disabled[r.ID] {
			continue
		}
		rep.Rules = append(rep.Rules, r)
		for _, f := range c.merge(r.check(c, r)) {
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

// Worst returns the highest severity among the findings, or Info.
func (r *Report) Worst() Severity {
	var w Severity
	for _, f := range r.Findings {
		w = max(w, f.Severity)
	}
	return w
}

// merge makes one finding per pattern: raws of one rule, severity and
// expected design held by the same processes (for a master/worker
// design, by the same family) are one finding listing every object and,
// per holder, every fd.
func (c *checker) merge(raws []raw) []Finding {
	type bucket struct {
		raws []raw
	}
	var order []string
	buckets := map[string]*bucket{}
	for _, r := range raws {
		who := r.key
		if who == "" {
			who = c.processKey(r.members)
		}
		key := fmt.Sprintf("%s|%d|%s|%s", r.rule.ID, r.severity, r.expected, who)
		b := buckets[key]
		if b == nil {
			b = &bucket{}
			buckets[key] = b
			order = append(order, key)
		}
		b.raws = append(b.raws, r)
	}
	out := make([]Finding, 0, len(order))
	for _, key := range order {
		out = append(out, c.finding(buckets[key].raws))
	}
	return out
}

// processKey keys the holders of a raw: the master's pid for a
// master/worker family, else the sorted pids.
func (c *checker) processKey(ms []snapshot.Member) string {
	if m := c.family(ms); m != 0 {
		return "family " + strconv.Itoa(m)
	}
	pids := map[int]bool{}
	for _, m := range ms {
		pids[m.PID] = true
	}
	var list []int
	for p := range pids {
		list = append(list, p)
	}
	sort.Ints(list)
	var b strings.Builder
	for _, p := range list {
		b.WriteString(strconv.Itoa(p))
		b.WriteByte(',')
	}
	return b.String()
}

// finding builds one finding from the raws of one pattern.
func (c *checker) finding(raws []raw) Finding {
	r0 := raws[0]
	f := Finding{Rule: r0.rule.ID, Severity: r0.severity, Title: r0.rule.Title, Expected: r0.expected, Objects: []string{}}
	byPID := map[int]*Holder{}
	seenObj := map[string]bool{}
	seenFD := map[snapshot.Member]bool{}
	master := c.family(allMembers(raws))
	for _, r := range raws {
		if r.object != "" && !seenObj[r.object] {
			seenObj[r.object] = true
			f.Objects = append(f.Objects, r.object)
		}
		for _, m := range r.members {
			h := byPID[m.PID]
			if h == nil {
				h = c.holder(m.PID, master)
				byPID[m.PID] = h
			}
			if m.IsTask() {
				if !containsInt(h.TIDs, m.TID) {
					h.TIDs = append(h.TIDs, m.TID)
				}
				continue
			}
			if seenFD[m] {
				continue
			}
			seenFD[m] = true
			held := HeldFD{FD: m.FD, TID: m.Thread, Note: r.notes[m]}
			if fd := c.fdOf(m); fd != nil {
				held.Target, held.Access = fd.Target, accessMode(fd.Flags)
				held.Object = c.names.FD(m).String()
			}
			h.FDs = append(h.FDs, held)
			if r.object == "" && held.Object != "" && !seenObj[held.Object] {
				seenObj[held.Object] = true
				f.Objects = append(f.Objects, held.Object)
			}
		}
	}
	for _, h := range byPID {
		sort.Slice(h.FDs, func(i, j int) bool {
			if h.FDs[i].TID != h.FDs[j].TID {
				return h.FDs[i].TID < h.FDs[j].TID
			}
			return h.FDs[i].FD < h.FDs[j].FD
		})
		sort.Ints(h.TIDs)
		f.Holders = append(f.Holders, *h)
	}
	// The master first, then by pid.
	sort.Slice(f.Holders, func(i, j int) bool {
		a, b := f.Holders[i], f.Holders[j]
		if (a.Role == "master") != (b.Role == "master") {
			return a.Role == "master"
		}
		return a.PID < b.PID
	})
	if len(f.Objects) > 0 {
		f.Object = f.Objects[0]
	}
	f.Message = r0.rule.message(c, &f, distinct(raws, func(r raw) string { return r.detail }))
	f.Fingerprint = c.fingerprint(&f)
	return f
}

func allMembers(raws []raw) []snapshot.Member {
	var out []snapshot.Member
	for _, r := range raws {
		out = append(out, r.members...)
	}
	return out
}

func distinct(raws []raw, key func(raw) string) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range raws {
		if k := key(r); k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func (c *checker) holder(pid, master int) *Holder {
	h := &Holder{PID: pid}
	p := c.procs[pid]
	if p == nil {
		return h
	}
	h.Comm, h.Exe, h.UID, h.EUID, h.Namespaces, h.Cgroup = p.Comm, p.Exe, p.UID, p.EUID, p.Namespaces, p.Cgroup
	h.Place, h.Container, h.Unit = p.Place(), p.Container, p.Unit
	switch {
	case master != 0 && pid == master:
		h.Role = "master"
	case master != 0:
		h.Role = "worker"
	case p.Container != nil && p.Container.Helper:
		h.Role = "runtime"
	}
	return h
}

// fingerprint hashes what identifies the finding on any host and any run.
func (c *checker) fingerprint(f *Finding) string {
	parts := []string{f.Rule}
	var objs []string
	seen := map[string]bool{}
	for _, h := range f.Holders {
		for _, fd := range h.FDs {
			if k := c.stableObject(fd); !seen[k] {
				seen[k] = true
				objs = append(objs, k)
			}
		}
	}
	if len(objs) == 0 {
		objs = append(objs, f.Objects...)
	}
	sort.Strings(objs)
	parts = append(parts, strings.Join(objs, "\x1f"))
	var who []string
	seen = map[string]bool{}
	for _, h := range f.Holders {
		where := h.Unit
		if h.Container != nil {
			where = h.Container.StableName()
			if h.Container.Helper {
				where = "runtime of " + where
			}
		}
		prog := h.Exe
		if prog == "" {
			prog = h.Comm
		}
		k := where + "\x1e" + prog + "\x1e" + strconv.Itoa(h.EUID) + "\x1e" + h.Role
		if !seen[k] {
			seen[k] = true
			who = append(who, k)
		}
	}
	sort.Strings(who)
	parts = append(parts, strings.Join(who, "\x1f"))
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x1d")))
	return hex.EncodeToString(sum[:16])
}

// stableObject names an fd's object without what changes between runs:
// inode numbers, a connection's ephemeral port.
func (c *checker) stableObject(fd HeldFD) string {
	name := fd.Object
	switch {
	case strings.HasPrefix(fd.Target, "pipe:["):
		return "pipe " + fd.Access
	case strings.HasPrefix(fd.Target, "socket:["):
		if strings.Contains(name, "socket:[") {
			return "socket"
		}
		if strings.Contains(name, " → ") && !strings.HasPrefix(name, "unix") {
			// A connection: keep the server side (the remote of a client).
			_, remote, _ := strings.Cut(name, " → ")
			proto, _, _ := strings.Cut(name, " ")
			return proto + " → " + remote
		}
	case strings.HasPrefix(fd.Target, "anon_inode:"):
		return fd.Target
	case !strings.HasPrefix(fd.Target, "/"):
		// A namespace file ("net:[4026531840]"): its type and whose it is.
		kind, _, _ := strings.Cut(fd.Target, ":")
		return kind + " namespace " + fd.Note
	}
	return name
}
