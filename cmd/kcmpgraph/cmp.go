//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer"
	"github.com/kcmpgraph/kcmpgraph/internal/escape"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

func newCmpCmd() *cobra.Command {
	var typeName, fds string
	cmd := &cobra.Command{
		Use:   "cmp PID1 PID2",
		Short: "Tell whether two processes (or threads) share kernel objects",
		Long: `cmp compares two tasks with kcmp(2), one line per object type: vm files
fs sighand io sysvsem, and file when --fd names two descriptors. Each line
says same, different or unordered, or why it cannot tell. Two tasks that
both lack an object (most tasks have no I/O context and no SysV undo list)
are "different": kcmp calls them equal, but nothing is shared.

A PID may be any task id: a thread's tid compares that thread (its fd
table, its fs info, which it may have unshared), and a first line names
the process it belongs to. --fd then names fds of that thread's table.

Exit status, like cmp(1): 0 every compared object is shared, 1 some
object differs, 2 trouble (no such process, not permitted, bad usage).`,
		Example: `  kcmpgraph cmp 1234 1250              # every per-task type
  kcmpgraph cmp 1234 1250 --type vm    # one type
  kcmpgraph cmp 1234 1250 --fd 3:3     # are these fds one open file description?
  kcmpgraph cmp 1234 1240 --type files # does thread 1240 still share its process's fd table?`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			pid1, err := parsePIDArg(args[0])
			if err != nil {
				return err
			}
			pid2, err := parsePIDArg(args[1])
			if err != nil {
				return err
			}
			types := kcmp.TaskTypes
			fd1, fd2 := -1, -1
			if fds != "" {
				if fd1, fd2, err = parseFDPair(fds); err != nil {
					return err
				}
				types = []kcmp.Type{kcmp.File}
			}
			if typeName != "" {
				t, err := kcmp.ParseType(typeName)
				if err != nil {
					return usageError{fmt.Errorf("--type: %w", err)}
				}
				switch {
				case t == kcmp.EpollTFD:
					return usagef("--type epoll: use 'kcmpgraph who PID:FD' to see the epoll instances watching an fd")
				case t == kcmp.File && fds == "":
					return usagef("--type file needs --fd FD1:FD2")
				case t != kcmp.File && fds != "":
					return usagef("--fd goes with --type file, not --type %s", t)
				}
				types = []kcmp.Type{t}
			}
			return runCmp(cmd.OutOrStdout(), pid1, pid2, fd1, fd2, types)
		},
	}
	cmd.Flags().StringVar(&typeName, "type", "", "compare only this type ("+strings.Join(cmpTypeNames(), ", ")+"; file needs --fd)")
	cmd.Flags().StringVar(&fds, "fd", "", "compare the open file descriptions behind FD1 of PID1 and FD2 of PID2")
	cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(cmpTypeNames(), cobra.ShellCompDirectiveNoFileComp))
	cmd.ValidArgsFunction = func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) >= 2 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return livePIDCompletions(toComplete, ""), cobra.ShellCompDirectiveNoFileComp
	}
	return cmd
}

// cmpTypeNames lists the types cmp compares: every per-task type and
// file; epoll watches are who's.
func cmpTypeNames() []string {
	names := []string{kcmp.File.String()}
	for _, t := range kcmp.TaskTypes {
		names = append(names, t.String())
	}
	return names
}

func parsePIDArg(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, usagef("%q is not a pid", s)
	}
	return n, nil
}

func parseFDPair(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, ":")
	fd1, err1 := strconv.Atoi(a)
	fd2, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || fd1 < 0 || fd2 < 0 {
		return 0, 0, usagef("--fd: %q is not FD1:FD2", s)
	}
	return fd1, fd2, nil
}

func runCmp(w io.Writer, task1, task2, fd1, fd2 int, types []kcmp.Type) error {
	res, err := analyzer.Cmp(analyzer.Options{}, task1, task2, fd1, fd2, types)
	var np *procscan.NoProcessError
	switch {
	case errors.Is(err, kcmp.ErrUnavailable):
		return usagef("cannot compare: %v (cmp has no fallback; 'kcmpgraph scan' still groups open files by inode)", err)
	case errors.As(err, &np):
		return usagef("pid %d: no such process or thread", np.PID)
	case err != nil:
		return err
	}
	for _, t := range res.Tasks {
		if t.IsThread() {
			fmt.Fprintf(w, "%d is a thread of pid %d (%s)\n", t.TID, t.PID, escape.Text(t.Comm))
		}
	}
	anyDifferent := false
	for _, r := range res.Pairs {
		var verdict string
		switch {
		case r.Err != nil:
			// The same trouble would stop every other type: one line,
			// after the answers already printed.
			return cmpError(r.Type, r.Err, task1, task2, fd1, fd2)
		case r.BothNull:
			verdict = "different: both have " + r.Type.Info().Null + " (" + r.Type.Info().NullCause + ") — nothing shared"
			anyDifferent = true
		case r.Order == kcmp.Equal:
			verdict = "same"
		case r.Order == kcmp.Unordered:
			verdict = "different (the kernel gives no order)"
			anyDifferent = true
		default:
			verdict = "different"
			anyDifferent = true
		}
		fmt.Fprintf(w, "%-8s %s\n", r.Type, verdict)
	}
	if anyDifferent {
		return errFound
	}
	return nil
}

func processExists(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

// cmpError says in one line why type t of the two could not be compared:
// the user gets exit status 2 and what to do about it.
func cmpError(t kcmp.Type, err error, pid1, pid2, fd1, fd2 int) error {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return usagef("%s: not permitted to compare pids %d and %d: kcmp needs ptrace read access to both; %s", t, pid1, pid2, needPrivilege())
	case errors.Is(err, unix.ESRCH):
		for _, pid := range []int{pid1, pid2} {
			if !processExists(pid) {
				return usagef("%s: pid %d: no such process (it exited)", t, pid)
			}
		}
		return usagef("%s: no such process (%d or %d exited)", t, pid1, pid2)
	case errors.Is(err, unix.EBADF):
		for _, pf := range [][2]int{{pid1, fd1}, {pid2, fd2}} {
			if _, err := os.Lstat(fmt.Sprintf("/proc/%d/fd/%d", pf[0], pf[1])); errors.Is(err, os.ErrNotExist) {
				return usagef("%s: fd not open: pid %d has no fd %d", t, pf[0], pf[1])
			}
		}
		return usagef("%s: fd not open (%d:%d or %d:%d)", t, pid1, fd1, pid2, fd2)
	case errors.Is(err, unix.ENOSYS):
		return usagef("%s: kcmp is not available: the kernel lacks CONFIG_KCMP or a seccomp filter blocks it", t)
	}
	return fmt.Errorf("%s: %w", t, err)
}
