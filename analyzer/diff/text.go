package diff

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

var pr = snapshot.Printable

// WriteText writes the diff like a unified diff: "-" for what was there
// before and is gone, "+" for what is new, grouped by process, then the
// sharing changes (leaks first), then epoll watches.
func (d *Diff) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "--- %s\t%s\t%s\n", pr(d.Before.File), pr(d.Before.Hostname), d.Before.TakenAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	fmt.Fprintf(tw, "+++ %s\t%s\t%s\n", pr(d.After.File), pr(d.After.Hostname), d.After.TakenAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	tw.Flush()
	for _, warn := range d.Warnings {
		fmt.Fprintf(w, "! %s\n", warn)
	}
	if d.Differences == 0 {
		fmt.Fprintln(w, "no differences")
		return nil
	}
	if len(d.Exited)+len(d.Started)+len(d.FDs) > 0 {
		fmt.Fprintln(w, "\n@@ processes @@")
	}
	for _, p := range d.Exited {
		fmt.Fprintf(w, "-%s exited\n", procText(p))
	}
	for _, p := range d.Started {
		fmt.Fprintf(w, "+%s started\n", procText(p))
	}
	for _, f := range d.FDs {
		fmt.Fprintf(w, " %s\n", procText(f.Process))
		for _, fd := range f.Closed {
			fmt.Fprintf(w, "-   fd %-4d %s\n", fd.FD, pr(fd.Target))
		}
		for _, fd := range f.Opened {
			fmt.Fprintf(w, "+   fd %-4d %s\n", fd.FD, pr(fd.Target))
		}
	}
	if len(d.Sharing) > 0 {
		fmt.Fprintln(w, "\n@@ sharing @@")
	}
	for _, s := range d.Sharing {
		mark := ""
		if s.Leak {
			mark = "  LEAK: a new process holds it"
		}
		switch s.Change {
		case Began:
			fmt.Fprintf(w, "+%s %s: now shared by %s%s\n", s.Type, pr(s.Object), holderList(s.After), mark)
		case Ended:
			fmt.Fprintf(w, "-%s %s: no longer shared (was %s)\n", s.Type, pr(s.Object), holderList(s.Before))
		default:
			fmt.Fprintf(w, " %s %s: %s -> %s%s\n", s.Type, pr(s.Object), holderList(s.Before), holderList(s.After), mark)
			if len(s.Left) > 0 {
				fmt.Fprintf(w, "-   %s\n", holderList(s.Left))
			}
			if len(s.Joined) > 0 {
				fmt.Fprintf(w, "+   %s\n", holderList(s.Joined))
			}
		}
	}
	if len(d.Epoll) > 0 {
		fmt.Fprintln(w, "\n@@ epoll @@")
	}
	for _, e := range d.Epoll {
		fmt.Fprintf(w, " %s epoll fd %d\n", procText(e.Process), e.FD)
		for _, x := range e.Removed {
			fmt.Fprintf(w, "-   watch fd %d %s\n", x.TFD, pr(x.Object))
		}
		for _, x := range e.Added {
			fmt.Fprintf(w, "+   watch fd %d %s\n", x.TFD, pr(x.Object))
		}
	}
	if len(d.Endpoints) > 0 {
		fmt.Fprintln(w, "\n@@ endpoints @@")
	}
	for _, e := range d.Endpoints {
		sign := "+"
		if e.Change == "gone" {
			sign = "-"
		}
		ends := make([]string, len(e.Ends))
		for i, end := range e.Ends {
			ends[i] = holderList(end)
		}
		name := ""
		if e.Name != "" {
			name = " " + pr(e.Name)
		}
		fmt.Fprintf(w, "%s%s%s: %s\n", sign, e.Kind, name, strings.Join(ends, " <-> "))
	}
	_, err := fmt.Fprintf(w, "\n%d difference(s)\n", d.Differences)
	return err
}

func procText(p Proc) string {
	return fmt.Sprintf("%d %s (uid %d)", p.PID, pr(p.Comm), p.UID)
}
