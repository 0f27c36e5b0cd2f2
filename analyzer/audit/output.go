package audit

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/kcmpgraph/kcmpgraph/internal/escape"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
)

// WriteText writes the findings grouped by severity, most severe first:
// per finding a headline, one line per holder (its fds, each object
// named once), the rule's why and fix at its first finding, and for a
// finding of a known design the reason it is expected.
func (r *Report) WriteText(w io.Writer) error {
	if !r.Exact {
		fmt.Fprintln(w, "*** NOT EXACT: the snapshot was taken without kcmp; file sharing is approximated by inode, so findings about shared files may be false ***")
	}
	rules := map[string]Rule{}
	for _, rule := range r.Rules {
		rules[rule.ID] = rule
	}
	if len(r.Findings) == 0 {
		fmt.Fprintf(w, "no findings (%d rules", len(r.Rules))
		if r.Allowed > 0 {
			fmt.Fprintf(w, ", %d allowed by the allow-list", r.Allowed)
		}
		fmt.Fprintln(w, ")")
		return nil
	}
	last := Severity(-1)
	explained := map[string]bool{}
	for _, f := range r.Findings {
		if f.Severity != last {
			head := strings.ToUpper(f.Severity.String())
			if f.Severity == Info {
				head += " (known designs; never fail --fail-on)"
			}
			fmt.Fprintf(w, "\n== %s ==\n", head)
			last = f.Severity
		}
		fmt.Fprintf(w, "\n%s %s: %s\n", f.Rule, f.Title, escape.Text(f.Message))
		prev, prevPID := "", 0
		for _, h := range f.Holders {
			what := holdsText(h)
			if what == prev && what != "" {
				what = "the same as pid " + strconv.Itoa(prevPID)
			} else {
				prev, prevPID = what, h.PID
			}
			fmt.Fprintf(w, "  %s: %s\n", holderText(h), what)
		}
		switch rule, ok := rules[f.Rule]; {
		case f.Expected != "":
			fmt.Fprintf(w, "  expected: %s\n", f.Expected)
		case ok && !explained[f.Rule]:
			explained[f.Rule] = true
			fmt.Fprintf(w, "  why: %s\n  fix: %s\n", rule.Why, rule.Fix)
		}
	}
	counts := map[Severity]int{}
	for _, f := range r.Findings {
		counts[f.Severity]++
	}
	var parts []string
	for s := Critical; s >= Low; s-- {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	fmt.Fprintf(w, "\n%s", plural.Count(len(r.Findings)-counts[Info], "finding", "findings"))
	if len(parts) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(parts, ", "))
	}
	if counts[Info] > 0 {
		fmt.Fprintf(w, "; %s (info)", plural.Count(counts[Info], "known design", "known designs"))
	}
	if r.Allowed > 0 {
		fmt.Fprintf(w, "; %d allowed by the allow-list", r.Allowed)
	}
	_, err := fmt.Fprintln(w)
	return err
}

// holderText names a holder: pid, comm, user, where it runs, its role.
func holderText(h Holder) string {
	s := fmt.Sprintf("pid %d %s uid %d", h.PID, escape.Text(h.Comm), h.UID)
	if h.EUID != h.UID {
		s += fmt.Sprintf(" euid %d", h.EUID)
	}
	if h.Place != "" {
		s += " in " + escape.Text(h.Place)
	}
	if h.Role != "" && h.Role != "runtime" {
		s += " (" + h.Role + ")"
	}
	return s
}

// holdsText lists what a holder holds: fds grouped by object ("fds 6, 7
// tcp 0.0.0.0:80 LISTEN; fd 3 /var/log/x (write, cannot open)"), or its
// tasks.
func holdsText(h Holder) string {
	if len(h.FDs) == 0 {
		if len(h.TIDs) == 1 {
			return "task " + strconv.Itoa(h.TIDs[0])
		}
		return "tasks " + joinInts(h.TIDs)
	}
	type item struct {
		text string
		fds  []string
	}
	var items []*item
	byText := map[string]*item{}
	for _, fd := range h.FDs {
		obj := fd.Object
		if obj == "" {
			obj = fd.Target
		}
		var notes []string
		if strings.HasPrefix(fd.Target, "/") {
			notes = append(notes, fd.Access)
		}
		if fd.Note != "" {
			notes = append(notes, fd.Note)
		}
		text := escape.Text(obj)
		if len(notes) > 0 {
			text += " (" + strings.Join(notes, ", ") + ")"
		}
		num := strconv.Itoa(fd.FD)
		if fd.TID != 0 {
			num += " of task " + strconv.Itoa(fd.TID)
		}
		it := byText[text]
		if it == nil {
			it = &item{text: text}
			byText[text] = it
			items = append(items, it)
		}
		it.fds = append(it.fds, num)
	}
	parts := make([]string, len(items))
	for i, it := range items {
		word := "fd "
		if len(it.fds) > 1 {
			word = "fds "
		}
		parts[i] = word + strings.Join(it.fds, ", ") + " " + it.text
	}
	return strings.Join(parts, "; ")
}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ", ")
}

// sarifLevel maps severities onto SARIF's levels.
func sarifLevel(s Severity) string {
	switch s {
	case Critical, High:
		return "error"
	case Medium:
		return "warning"
	case Low:
		return "note"
	}
	return "none"
}

// fingerprintKey names kcmpgraph's partial fingerprint in SARIF.
const fingerprintKey = "kcmpgraph/v1"

// WriteSARIF writes the report as SARIF 2.1.0, so findings flow into
// code-scanning dashboards. A host has no source files: each result's
// locations are logical locations naming each holder process. Each result
// carries partialFingerprints (Finding.Fingerprint), so a dashboard
// tracks one finding across rescans and hosts; a known design is a result
// of kind "informational" and level "none".
func (r *Report) WriteSARIF(w io.Writer, version string) error {
	rep, err := sarif.New(sarif.Version210, false)
	if err != nil {
		return err
	}
	run := sarif.NewRunWithInformationURI("kcmpgraph", "https://github.com/kcmpgraph/kcmpgraph")
	run.Tool.Driver.WithVersion(version)
	rules := append([]Rule(nil), r.Rules...)
	sort.Slice(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	for _, rule := range rules {
		run.AddRule(rule.ID).
			WithShortDescription(sarif.NewMultiformatMessageString(rule.Title)).
			WithFullDescription(sarif.NewMultiformatMessageString(rule.Why)).
			WithHelp(sarif.NewMultiformatMessageString(rule.Fix)).
			WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(sarifLevel(rule.Severity))).
			WithProperties(sarif.Properties{"severity": rule.Severity.String()})
	}
	for _, f := range r.Findings {
		var locs []*sarif.Location
		for _, h := range f.Holders {
			name := holderText(h)
			if what := holdsText(h); what != "" {
				name += ": " + what
			}
			qualified := strconv.Itoa(h.PID)
			if h.Place != "" {
				qualified = escape.Text(h.Place) + "/" + qualified
			}
			locs = append(locs, sarif.NewLocation().WithLogicalLocations([]*sarif.LogicalLocation{
				sarif.NewLogicalLocation().WithName(name).WithKind("process").WithFullyQualifiedName(qualified),
			}))
		}
		res := run.CreateResultForRule(f.Rule).
			WithLevel(sarifLevel(f.Severity)).
			WithMessage(sarif.NewTextMessage(f.Title + ": " + escape.Text(f.Message))).
			WithLocations(locs).
			WithPartialFingerPrints(map[string]any{fingerprintKey: f.Fingerprint})
		if f.Severity == Info {
			res.WithKind("informational")
		}
		props := sarif.NewPropertyBag()
		props.Add("severity", f.Severity.String())
		props.Add("object", escape.Text(f.Object))
		if f.Expected != "" {
			props.Add("expected", f.Expected)
		}
		res.AttachPropertyBag(props)
	}
	runProps := sarif.NewPropertyBag()
	runProps.Add("exact", r.Exact)
	runProps.Add("allowed", r.Allowed)
	run.AttachPropertyBag(runProps)
	rep.AddRun(run)
	return rep.PrettyWrite(w)
}
