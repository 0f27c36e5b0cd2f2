//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// taskObject names the per-task objects in tables.
var taskObject = map[string]string{
	"vm": "address space", "files": "fd table", "fs": "fs info (root, cwd, umask)",
	"sighand": "signal handler table", "io": "I/O context", "sysvsem": "SysV undo list",
}

var nullMeaning = map[string]string{
	"vm": "without an address space", "files": "without an fd table", "fs": "without fs info",
	"io": "with no I/O context", "sysvsem": "with no SysV undo list",
}

// tableOptions shape the table view.
type tableOptions struct {
	// width truncates the object column to fit; 0 never truncates.
	width int
	users func(uid int) string
}

// terminalWidth returns the width of w if it is a terminal, else 0.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return width
}

func cut(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// writeTable prints a snapshot as a readable table: a header, one row per
// holder of each shared object, the NULL classes as counts, epoll watches
// and warnings. Every string from the snapshot goes through printable.
func writeTable(w io.Writer, s *snapshot.Snapshot, opts tableOptions) error {
	users := opts.users
	if users == nil {
		names := userNames{}
		users = names.name
	}
	h := s.Host
	fmt.Fprintf(w, "kcmpgraph snapshot of %s  kernel %s  boot %s  taken %s\n", printable(h.Hostname), printable(h.Kernel),
		printable(cut(h.BootID, 8)), h.TakenAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	st := s.Stats
	fmt.Fprintf(w, "%d processes, %d tasks, %d fds; %d kcmp calls; %.2f s\n", st.Processes, st.Tasks, st.FDs, st.TotalKcmpCalls(), st.Seconds)
	if !s.Exact {
		fmt.Fprintln(w, "*** NOT EXACT: kcmp was unavailable; file sharing is approximated by inode (a dup and a second open() look the same) ***")
	}
	objectWidth := 0
	if opts.width > 0 {
		objectWidth = max(16, opts.width-48)
	}
	groups := append([]snapshot.Group(nil), s.Groups...)
	rank := map[string]int{}
	for i, t := range snapshot.GroupTypes {
		rank[t] = i
	}
	name := func(g snapshot.Group) string {
		if g.Type != snapshot.TypeFile {
			return taskObject[g.Type]
		}
		m := g.Members[0]
		if p := s.Process(m.PID); p != nil {
			if fd := p.FDByNumber(m.FD); fd != nil {
				return fd.Target
			}
		}
		return "?"
	}
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if rank[a.Type] != rank[b.Type] {
			return rank[a.Type] < rank[b.Type]
		}
		if len(a.Members) != len(b.Members) {
			return len(a.Members) > len(b.Members)
		}
		return name(a) < name(b)
	})
	fmt.Fprintln(w)
	if len(groups) == 0 {
		fmt.Fprintln(w, "no shared objects")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TYPE\tOBJECT\tPID\tCOMM\tUSER\tFD/TID")
		for _, g := range groups {
			for i, m := range g.Members {
				typ, obj := "", ""
				if i == 0 {
					typ, obj = g.Type, cut(printable(name(g)), objectWidth)
				}
				comm, user := "?", "?"
				if p := s.Process(m.PID); p != nil {
					comm, user = printable(cut(p.Comm, 24)), printable(users(p.UID))
				}
				which := strconv.Itoa(m.FD)
				if m.IsTask() {
					which = "tid " + strconv.Itoa(m.TID)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", typ, obj, m.PID, comm, user, which)
			}
		}
		tw.Flush()
	}
	var nulls []string
	for _, t := range snapshot.GroupTypes {
		if n := len(s.Null[t]); n > 0 {
			nulls = append(nulls, fmt.Sprintf("%s: %d task(s) %s", t, n, nullMeaning[t]))
		}
	}
	if len(nulls) > 0 {
		fmt.Fprintf(w, "\nnot shared, though kcmp calls them equal (NULL objects): %s\n", strings.Join(nulls, "; "))
	}
	if len(s.Epoll) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EPOLL PID\tCOMM\tFD\tWATCHES (registered fd -> holder now)")
		for _, e := range s.Epoll {
			comm := "?"
			if p := s.Process(e.PID); p != nil {
				comm = printable(cut(p.Comm, 24))
			}
			var ws []string
			for _, wt := range e.Watches {
				if wt.Holder == nil {
					ws = append(ws, fmt.Sprintf("fd %d -> held by no scanned fd", wt.TFD))
					continue
				}
				target := "?"
				if p := s.Process(wt.Holder.PID); p != nil {
					if fd := p.FDByNumber(wt.Holder.FD); fd != nil {
						target = printable(cut(fd.Target, 40))
					}
				}
				ws = append(ws, fmt.Sprintf("fd %d -> %s %s", wt.TFD, wt.Holder, target))
			}
			if len(ws) == 0 {
				ws = []string{"(none)"}
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\n", e.PID, comm, e.FD, strings.Join(ws, "; "))
		}
		tw.Flush()
	}
	if len(s.Endpoints) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CHANNEL\tNAME\tONE END\tOTHER END")
		for _, e := range s.Endpoints {
			ends := make([]string, len(e.Ends))
			for i, end := range e.Ends {
				var hs []string
				for _, m := range end {
					comm := "?"
					if p := s.Process(m.PID); p != nil {
						comm = printable(cut(p.Comm, 16))
					}
					hs = append(hs, fmt.Sprintf("%s %s", m, comm))
				}
				ends[i] = strings.Join(hs, ", ")
			}
			name := printable(cut(e.Name, 40))
			if name == "" {
				name = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Kind, name, ends[0], strings.Join(ends[1:], " | "))
		}
		tw.Flush()
	}
	if len(s.Warnings) > 0 {
		fmt.Fprintln(w, "\nwarnings:")
		for _, warn := range s.Warnings {
			fmt.Fprintf(w, "  %s\n", printable(warn))
		}
	}
	return nil
}
