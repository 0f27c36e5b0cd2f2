//go:build linux

package procscan

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// ReadTaskTable reads the fd table that tasks of p hold instead of p's
// own (/proc/PID/task/TID/fd of the lowest of them), as the scan read
// p's fds, and adds it to p.TaskTables. The result's counts grow with it.
// procscan cannot tell which tasks have a table of their own: the caller
// knows (kcmp KCMP_FILES) and names them. It is not safe for concurrent
// use on one process.
func (res *Result) ReadTaskTable(p *Process, tasks []int) error {
	if len(tasks) == 0 {
		return errors.New("procscan: ReadTaskTable: no tasks")
	}
	if res.c == nil {
		return errors.New("procscan: ReadTaskTable: the result is not a scan's")
	}
	tasks = slices.Clone(tasks)
	slices.Sort(tasks)
	r := newReader(res.root, res.mode, res.c, res.inodes)
	dir := filepath.Join(res.root, strconv.Itoa(p.PID), "task", strconv.Itoa(tasks[0]))
	fds := r.readFDs(p, dir)
	p.TaskTables = append(p.TaskTables, TaskTable{TID: tasks[0], Tasks: tasks, FDs: fds})
	res.FDs += len(fds)
	return nil
}

// Task names one task and its thread group.
type Task struct {
	TID int
	// PID is the thread group's (process's) id: TID for a leader.
	PID int
	// Comm is the process's comm (its leader's), raw.
	Comm string
}

// IsThread reports whether the task is not its process's leader.
func (t Task) IsThread() bool { return t.TID != t.PID }

// ThreadGroup finds the process (thread group) task tid belongs to, from
// the Tgid: line of /proc/TID/status under procRoot ("" is /proc), and
// its comm. A thread's tid is found as well as a pid: /proc lists only
// thread group leaders, but resolves any task id. A task that does not
// exist is a *NoProcessError.
func ThreadGroup(procRoot string, tid int) (Task, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	data, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(tid), "status"))
	if err != nil {
		if gone(err) {
			return Task{}, &NoProcessError{PID: tid}
		}
		return Task{}, fmt.Errorf("procscan: task %d: %w", tid, err)
	}
	pid, err := ParseStatusTgid(data)
	if err != nil {
		return Task{}, fmt.Errorf("procscan: task %d: %w", tid, err)
	}
	t := Task{TID: tid, PID: pid}
	if data, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat")); err == nil {
		if st, err := ParseStat(data); err == nil {
			t.Comm = st.Comm
		}
	}
	return t, nil
}

// ParseStatusTgid returns the Tgid: value of /proc/PID/status.
func ParseStatusTgid(data []byte) (int, error) {
	for line := range bytes.Lines(data) {
		if v, ok := bytes.CutPrefix(line, []byte("Tgid:")); ok {
			n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("%w: %q", ErrStatusSyntax, truncateBytes(line, 60))
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("%w: no Tgid: line", ErrStatusSyntax)
}
