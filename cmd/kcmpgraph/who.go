//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer"
	"github.com/kcmpgraph/kcmpgraph/analyzer/objname"
	"github.com/kcmpgraph/kcmpgraph/internal/escape"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

func newWhoCmd() *cobra.Command {
	var sel *selection
	var wide bool
	cmd := &cobra.Command{
		Use:   "who PID:FD",
		Short: "List every fd that holds the same open file description, and the epoll instances watching it",
		Long: `who answers the question lsof and lsfd cannot: which fds on this host hold
the very open file description behind PID:FD — the one dup(), fork() and
SCM_RIGHTS share, with one file offset and one set of status flags — as
opposed to another open() of the same file. It also lists the epoll
instances that watch that description and, for one end of a pipe, a
connected unix socket, a local TCP or UDP connection or a pty, the fds
that hold the other end. A WHERE column names the container (or systemd
unit) each holder runs in.

PID may be any task id: a thread's tid names the fd in that thread's fd
table, its own if it called unshare(CLONE_FILES), and a first line names
the process it belongs to. Fds in such private tables, which
/proc/PID/fd does not show, are found and listed with their TID.

Only fds on the same inode are compared, plus one kcmp call per thread to
find the threads with a table of their own, so it is fast on any host.`,
		Example: `  kcmpgraph who 1234:3
  kcmpgraph who 1234:3 --tree 1      # only that process tree
  kcmpgraph who $$:1                 # who else writes to this shell's stdout?
  kcmpgraph who 1240:5               # fd 5 of thread 1240`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completePIDFD,
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, fd, err := parsePIDFD(args[0])
			if err != nil {
				return err
			}
			opts, err := sel.liveOptions()
			if err != nil {
				return err
			}
			progress := newScanProgress(cmd.ErrOrStderr(), quietFlag(cmd))
			if !progress.off {
				opts.Scan.Progress = progress.report
			}
			res, err := analyzer.Who(cmd.Context(), opts, pid, fd)
			progress.finish()
			var np *procscan.NoProcessError
			switch {
			case err == nil:
			case errors.Is(err, analyzer.ErrNoSuchFD):
				return usageError{err}
			case errors.Is(err, unix.EACCES):
				return usagef("not permitted: %v; %s", err, needPrivilege())
			case errors.As(err, &np) && np.PID == pid && !np.TreeRoot && !slices.Contains(sel.pids, pid):
				return usageError{fmt.Errorf("pid %d: %w", pid, procscan.ErrNoSuchProcess)}
			default:
				return liveError(err)
			}
			width := 0
			if !wide {
				width = terminalWidth(cmd.OutOrStdout())
			}
			printWho(cmd.OutOrStdout(), res, width)
			printWarnings(cmd, whoWarnings(res))
			return nil
		},
	}
	sel = addSelection(cmd, selectPIDs|selectUsers)
	cmd.Flags().BoolVar(&wide, "wide", false, "never cut targets to the terminal width")
	return cmd
}

// whoWarnings says what who could not see: holders among the processes
// it could not read or compare are missing from its answer.
func whoWarnings(res *analyzer.WhoResult) []string {
	var w []string
	if n := res.Skipped[procscan.SkipDenied] + res.Skipped[procscan.SkipFDTablesDenied]; n > 0 {
		w = append(w, fmt.Sprintf("partial result: the fds of %s could not be read, so holders among them are not listed; %s",
			plural.Count(n, "process", "processes"), needPrivilege()))
	}
	kcmpFailed := 0
	for k, n := range res.Skipped {
		if strings.HasPrefix(k, "fds_kcmp_") {
			kcmpFailed += n
		}
	}
	if kcmpFailed > 0 {
		w = append(w, fmt.Sprintf("partial result: %s on the same inode could not be compared with kcmp and are not listed; %s",
			plural.Count(kcmpFailed, "fd", "fds"), needPrivilege()))
	}
	return w
}

// completePIDFD completes PID: with the host's pids, then PID:FD with that
// process's fds and their targets.
func completePIDFD(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	pidText, fdText, ok := strings.Cut(toComplete, ":")
	if !ok {
		return livePIDCompletions(toComplete, ":"), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), fdText) {
			continue
		}
		target, _ := os.Readlink(dir + "/" + e.Name())
		out = append(out, pidText+":"+e.Name()+"\t"+escape.Text(target))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func parsePIDFD(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, ":")
	pid, err1 := strconv.Atoi(a)
	fd, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || pid <= 0 || fd < 0 {
		return 0, 0, usagef("%q is not PID:FD", s)
	}
	return pid, fd, nil
}

func printWho(w io.Writer, res *analyzer.WhoResult, width int) {
	users := userNames{}
	t := res.Target
	if !res.Exact {
		fmt.Fprintln(w, "NOT EXACT: kcmp is unavailable; listing every fd on the same inode (a second open() of the file is listed too)")
	}
	if tk := res.Task; tk.IsThread() {
		table := "with its process's fd table"
		switch {
		case t.Thread == tk.TID:
			table = "with an fd table of its own (unshare(CLONE_FILES))"
		case t.Thread != 0:
			table = fmt.Sprintf("sharing thread %d's own fd table (unshare(CLONE_FILES))", t.Thread)
		}
		fmt.Fprintf(w, "task %d is a thread of pid %d (%s), %s\n", tk.TID, tk.PID, escape.Text(tk.Comm), table)
	}
	head := t.Member().String() + " "
	what := res.Name.String()
	if res.Name.Text != t.FD.Target {
		what += " (" + t.FD.Target + ")"
	}
	fmt.Fprintf(w, "%s%s\n", head, cutWidth(escape.Text(what), width-len(head)))
	fmt.Fprintf(w, "held by %s in %s:\n", plural.Count(len(res.Holders), "fd", "fds"), plural.Count(countProcs(res.Holders), "process", "processes"))
	printHolders(w, users, res.Holders, res.Places, width)
	if res.OtherKind != "" {
		other := escape.Text(otherEndText(res))
		if len(res.OtherEnd) == 0 {
			fmt.Fprintf(w, "%s: held by no scanned fd\n", other)
		} else {
			fmt.Fprintf(w, "%s, held by %s:\n", other, plural.Count(len(res.OtherEnd), "fd", "fds"))
			printHolders(w, users, res.OtherEnd, res.Places, width)
		}
	}
	if len(res.Watchers) > 0 {
		fmt.Fprintf(w, "watched by %s:\n", plural.Count(len(res.Watchers), "epoll registration", "epoll registrations"))
		tt := textTable{indent: "  ", header: []string{"PID", "EPOLL FD", "REGISTERED AS", "COMM", "USER"}}
		for _, x := range res.Watchers {
			epfd := strconv.Itoa(x.EpollFD)
			if x.Thread != 0 {
				epfd += " (tid " + strconv.Itoa(x.Thread) + ")"
			}
			tt.add(strconv.Itoa(x.Process.PID), epfd, "fd "+strconv.Itoa(x.TFD),
				escape.Text(x.Process.Comm), escape.Text(users.name(x.Process.UID)))
		}
		tt.write(w, width)
	} else {
		fmt.Fprintln(w, "watched by no epoll instance")
	}
	fmt.Fprintf(w, "(%s scanned, %s, %.2f s)\n", plural.Count(res.FDs, "fd", "fds"), plural.Count(int(res.KcmpCalls), "kcmp call", "kcmp calls"), res.Seconds)
}

// otherEndText says which end of the channel the other holders hold,
// against the end who was asked about: "other end of pipe:[4711], the
// read end", "other end of pty /dev/pts/3, the master", "other end of
// tcp 127.0.0.1:41822 → 127.0.0.1:8080".
func otherEndText(res *analyzer.WhoResult) string {
	n := res.Name
	switch res.OtherKind {
	case "pipe", "fifo":
		switch n.End {
		case "write end":
			return "other end of " + n.Text + ", the read end"
		case "read end":
			return "other end of " + n.Text + ", the write end"
		}
		return "other end of " + n.Text
	case "pty":
		if n.End == "master" {
			return "other end of pty " + res.OtherName + ", the slave"
		}
		return "other end of pty " + res.OtherName + ", the master"
	}
	if n.Kind == objname.Socket {
		return "other end of " + n.Text
	}
	channel := res.OtherKind
	if res.OtherName != "" {
		channel += " " + res.OtherName
	}
	return "other end of " + channel
}

// printHolders prints fds as an aligned table, targets cut to width. A
// TID column appears when an fd is in a thread's own fd table, a WHERE
// column (container or systemd unit) when a holder runs in one.
func printHolders(w io.Writer, users userNames, hs []analyzer.WhoHolder, places map[int]string, width int) {
	threads := slices.ContainsFunc(hs, func(h analyzer.WhoHolder) bool { return h.Thread != 0 })
	where := slices.ContainsFunc(hs, func(h analyzer.WhoHolder) bool { return places[h.Process.PID] != "" })
	header := []string{"PID", "FD", "COMM", "USER"}
	if threads {
		header = []string{"PID", "TID", "FD", "COMM", "USER"}
	}
	if where {
		header = append(header, "WHERE")
	}
	tt := textTable{indent: "  ", header: append(header, "TARGET")}
	for _, h := range hs {
		row := []string{strconv.Itoa(h.Process.PID)}
		if threads {
			tid := ""
			if h.Thread != 0 {
				tid = strconv.Itoa(h.Thread)
			}
			row = append(row, tid)
		}
		row = append(row, strconv.Itoa(h.FD.Num), escape.Text(h.Process.Comm), escape.Text(users.name(h.Process.UID)))
		if where {
			row = append(row, escape.Text(places[h.Process.PID]))
		}
		tt.add(append(row, escape.Text(h.FD.Target))...)
	}
	tt.write(w, width)
}

func countProcs(hs []analyzer.WhoHolder) int {
	seen := map[int]bool{}
	for _, h := range hs {
		seen[h.Process.PID] = true
	}
	return len(seen)
}
