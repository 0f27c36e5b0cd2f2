//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer"
)

func newWhoCmd() *cobra.Command {
	var sel selectionFlags
	cmd := &cobra.Command{
		Use:   "who PID:FD",
		Short: "List every fd that holds the same open file description, and the epoll instances watching it",
		Long: `who answers the question lsof and lsfd cannot: which fds on this host hold
the very open file description behind PID:FD — the one dup(), fork() and
SCM_RIGHTS share, with one file offset and one set of status flags — as
opposed to another open() of the same file. It also lists the epoll
instances that watch that description.

Only fds on the same inode are compared, so it is fast on any host.`,
		Example: `  kcmpgraph who 1234:3
  kcmpgraph who 1234:3 --tree 1      # only that process tree`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, fd, err := parsePIDFD(args[0])
			if err != nil {
				return err
			}
			opts, err := sel.liveOptions()
			if err != nil {
				return err
			}
			res, err := analyzer.Who(cmd.Context(), opts.Scan, pid, fd)
			if err != nil {
				switch {
				case errors.Is(err, analyzer.ErrNoSuchFD):
					return usageError{err}
				case errors.Is(err, unix.EACCES):
					return usageError{fmt.Errorf("%w; run as root or with CAP_SYS_PTRACE", err)}
				}
				return err
			}
			printWho(cmd.OutOrStdout(), res)
			return nil
		},
	}
	sel.addPIDFlags(cmd)
	cmd.Flags().StringSliceVar(&sel.users, "user", nil, "only processes of these users (names or uids)")
	return cmd
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

func printWho(w io.Writer, res *analyzer.WhoResult) {
	users := userNames{}
	t := res.Target
	if !res.Exact {
		fmt.Fprintln(w, "NOT EXACT: kcmp is unavailable; listing every fd on the same inode (a second open() of the file is listed too)")
	}
	fmt.Fprintf(w, "%d:%d %s\n", t.Process.PID, t.FD.Num, printable(t.FD.Target))
	fmt.Fprintf(w, "held by %d fd(s) in %d process(es):\n", len(res.Holders), countProcs(res.Holders))
	printHolders(w, users, res.Holders)
	if res.OtherKind != "" {
		if len(res.OtherEnd) == 0 {
			fmt.Fprintf(w, "other end of the %s: held by no scanned fd\n", res.OtherKind)
		} else {
			fmt.Fprintf(w, "other end of the %s, held by %d fd(s):\n", res.OtherKind, len(res.OtherEnd))
			printHolders(w, users, res.OtherEnd)
		}
	}
	if len(res.Watchers) > 0 {
		fmt.Fprintf(w, "watched by %d epoll registration(s):\n", len(res.Watchers))
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  PID\tEPOLL FD\tREGISTERED AS\tCOMM\tUSER")
		for _, x := range res.Watchers {
			fmt.Fprintf(tw, "  %d\t%d\tfd %d\t%s\t%s\n", x.Process.PID, x.EpollFD, x.TFD, printable(x.Process.Comm),
				printable(users.name(x.Process.UID)))
		}
		tw.Flush()
	} else {
		fmt.Fprintln(w, "watched by no epoll instance")
	}
}

// printHolders prints fds as an aligned table.
func printHolders(w io.Writer, users userNames, hs []analyzer.WhoHolder) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  PID\tFD\tCOMM\tUSER\tTARGET")
	for _, h := range hs {
		fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\t%s\n", h.Process.PID, h.FD.Num, printable(h.Process.Comm),
			printable(users.name(h.Process.UID)), printable(h.FD.Target))
	}
	tw.Flush()
}

func countProcs(hs []analyzer.WhoHolder) int {
	seen := map[int]bool{}
	for _, h := range hs {
		seen[h.Process.PID] = true
	}
	return len(seen)
}
