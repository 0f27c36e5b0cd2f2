package audit

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/kcmpgraph/kcmpgraph/escape"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
)

// WriteText writes the findings grouped by severity, most severe first,
// each with its evidence and the rule's why and fix.
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
	var last Severity
	for _, f := range r.Findings {
		if f.Severity != last {
			fmt.Fprintf(w, "\n== %s ==\n", strings.ToUpper(f.Severity.String()))
			last = f.Severity
		}
		fmt.Fprintf(w, "\n%s %s: %s\n", f.Rule, f.Title, escape.Text(f.Message))
		for _, h := range f.Holders {
			what := ""
			if h.FD != nil {
				what = fmt.Sprintf("fd %d (%s) %s", *h.FD, h.Access, escape.Text(h.Target))
				if h.TID != nil {
					what = fmt.Sprintf("fd %d of task %d (%s) %s", *h.FD, *h.TID, h.Access, escape.Text(h.Target))
				}
			} else if h.TID != nil {
				what = fmt.Sprintf("task %d", *h.TID)
			}
			fmt.Fprintf(w, "  pid %d %s uid %d euid %d: %s\n", h.PID, escape.Text(h.Comm), h.UID, h.EUID, what)
			if len(h.Namespaces) > 0 {
				fmt.Fprintf(w, "    mnt %d pid %d user %d cgroup %s\n", h.Namespaces["mnt"], h.Namespaces["pid"], h.Namespaces["user"], escape.Text(h.Cgroup))
			}
		}
		if rule, ok := rules[f.Rule]; ok {
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
	fmt.Fprintf(w, "\n%s: %s", plural.Count(len(r.Findings), "finding", "findings"), strings.Join(parts, ", "))
	if r.Allowed > 0 {
		fmt.Fprintf(w, "; %d allowed by the allow-list", r.Allowed)
	}
	_, err := fmt.Fprintln(w)
	return err
}

// sarifLevel maps severities onto SARIF's levels.
func sarifLevel(s Severity) string {
	switch s {
	case Critical, High:
		return "error"
	case Medium:
		return "warning"
	}
	return "note"
}

// WriteSARIF writes the report as SARIF 2.1.0, so findings flow into
// code-scanning dashboards. A host has no source files: each result's
// location is a logical location naming the process and fd.
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
			name := fmt.Sprintf("pid %d (%s)", h.PID, escape.Text(h.Comm))
			if h.FD != nil {
				name += fmt.Sprintf(" fd %d", *h.FD)
			}
			locs = append(locs, sarif.NewLocation().WithLogicalLocations([]*sarif.LogicalLocation{
				sarif.NewLogicalLocation().WithName(name).WithKind("process").WithFullyQualifiedName(escape.Text(h.Target)),
			}))
		}
		res := run.CreateResultForRule(f.Rule).
			WithLevel(sarifLevel(f.Severity)).
			WithMessage(sarif.NewTextMessage(f.Title + ": " + escape.Text(f.Message))).
			WithLocations(locs)
		props := sarif.NewPropertyBag()
		props.Add("severity", f.Severity.String())
		props.Add("object", escape.Text(f.Object))
		res.AttachPropertyBag(props)
	}
	runProps := sarif.NewPropertyBag()
	runProps.Add("exact", r.Exact)
	runProps.Add("allowed", r.Allowed)
	run.AttachPropertyBag(runProps)
	rep.AddRun(run)
	return rep.PrettyWrite(w)
}
