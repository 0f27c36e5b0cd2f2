package procscan

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// ErrStatSyntax is wrapped by ParseStat errors.
var ErrStatSyntax = errors.New("stat syntax error")

// pfKthread is PF_KTHREAD in the flags field of /proc/PID/stat.
const pfKthread = 0x00200000

// Stat is what kcmpgraph uses from /proc/PID/stat.
type Stat struct {
	Comm  string
	State string
	PPID  int
	Flags uint64
	// Threads is num_threads: the process's threads, those that exited
	// but are not yet released (a traced one, say) included.
	Threads   int
	StartTime uint64
}

// KernelThread reports whether the process is a kernel thread (PF_KTHREAD).
func (s Stat) KernelThread() bool { return s.Flags&pfKthread != 0 }

type statTail struct {
	state     string
	ppid      int
	flags     uint64
	threads   int
	startTime uint64
}

// ParseStat parses /proc/PID/stat. The comm field is everything between
// the first "(" and the last ")", so a comm holding ") " parses right.
func ParseStat(data []byte) (Stat, error) {
	l := bytes.IndexByte(data, '(')
	r := bytes.LastIndexByte(data, ')')
	if l < 0 || r < l {
		return Stat{}, fmt.Errorf("%w: no (comm)", ErrStatSyntax)
	}
	t, err := parseStatTail(data)
	if err != nil {
		return Stat{}, err
	}
	return Stat{Comm: string(data[l+1 : r]), State: t.state, PPID: t.ppid, Flags: t.flags, Threads: t.threads, StartTime: t.startTime}, nil
}

// parseStatTail parses the fields after the comm: 3 state, 4 ppid,
// 9 flags, 20 num_threads, 22 starttime (1-based, as in proc(5)).
func parseStatTail(data []byte) (statTail, error) {
	r := bytes.LastIndexByte(data, ')')
	if r < 0 {
		return statTail{}, fmt.Errorf("%w: no (comm)", ErrStatSyntax)
	}
	fields := bytes.Fields(data[r+1:])
	// fields[0] is field 3.
	if len(fields) < 20 {
		return statTail{}, fmt.Errorf("%w: %d fields after comm, want at least 20", ErrStatSyntax, len(fields))
	}
	var t statTail
	var err error
	t.state = string(fields[0])
	if len(t.state) != 1 {
		return t, fmt.Errorf("%w: state %q", ErrStatSyntax, truncateBytes(fields[0], 20))
	}
	if t.ppid, err = strconv.Atoi(string(fields[1])); err != nil || t.ppid < 0 {
		return t, fmt.Errorf("%w: ppid %q", ErrStatSyntax, truncateBytes(fields[1], 20))
	}
	if t.flags, err = strconv.ParseUint(string(fields[6]), 10, 64); err != nil {
		return t, fmt.Errorf("%w: flags %q", ErrStatSyntax, truncateBytes(fields[6], 20))
	}
	if t.threads, err = strconv.Atoi(string(fields[17])); err != nil || t.threads < 0 {
		return t, fmt.Errorf("%w: num_threads %q", ErrStatSyntax, truncateBytes(fields[17], 20))
	}
	if t.startTime, err = strconv.ParseUint(string(fields[19]), 10, 64); err != nil {
		return t, fmt.Errorf("%w: starttime %q", ErrStatSyntax, truncateBytes(fields[19], 20))
	}
	return t, nil
}
