package procscan

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// ErrStatusSyntax is wrapped by ParseStatusIDs errors.
var ErrStatusSyntax = errors.New("status syntax error")

// StatusIDs are the real, effective, saved and filesystem ids from the
// Uid: and Gid: lines of /proc/PID/status.
type StatusIDs struct {
	UID, GID [4]int
}

// ParseStatusIDs parses the Uid: and Gid: lines of /proc/PID/status. It
// replaces procfs's NewStatus, which parses every line of the file into a
// struct kcmpgraph does not use.
func ParseStatusIDs(data []byte) (StatusIDs, error) {
	var ids StatusIDs
	var haveUID, haveGID bool
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		var dst *[4]int
		switch {
		case bytes.HasPrefix(line, []byte("Uid:")):
			dst, haveUID = &ids.UID, true
		case bytes.HasPrefix(line, []byte("Gid:")):
			dst, haveGID = &ids.GID, true
		default:
			continue
		}
		fields := bytes.Fields(line[4:])
		if len(fields) != 4 {
			return ids, fmt.Errorf("%w: %q", ErrStatusSyntax, truncateBytes(line, 60))
		}
		for i, f := range fields {
			v, err := strconv.ParseUint(string(f), 10, 32)
			if err != nil {
				return ids, fmt.Errorf("%w: %q", ErrStatusSyntax, truncateBytes(line, 60))
			}
			dst[i] = int(v)
		}
		if haveUID && haveGID {
			return ids, nil
		}
	}
	return ids, fmt.Errorf("%w: no Uid: or Gid: line", ErrStatusSyntax)
}

// StatusPIDs are the Tgid: and TracerPid: lines of /proc/PID/status (or
// of /proc/PID/task/TID/status).
type StatusPIDs struct {
	// Tgid is the thread group (process) the task belongs to.
	Tgid int
	// TracerPid is the task id of the thread tracing the task (ptrace),
	// 0 when none. It names a thread, not a process.
	TracerPid int
}

// ParseStatusPIDs parses the Tgid: and TracerPid: lines of
// /proc/PID/status.
func ParseStatusPIDs(data []byte) (StatusPIDs, error) {
	var ids StatusPIDs
	var haveTgid, haveTracer bool
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		var dst *int
		var rest []byte
		var ok bool
		if rest, ok = bytes.CutPrefix(line, []byte("Tgid:")); ok {
			dst, haveTgid = &ids.Tgid, true
		} else if rest, ok = bytes.CutPrefix(line, []byte("TracerPid:")); ok {
			dst, haveTracer = &ids.TracerPid, true
		} else {
			continue
		}
		v, err := strconv.ParseUint(string(bytes.TrimSpace(rest)), 10, 31)
		if err != nil {
			return ids, fmt.Errorf("%w: %q", ErrStatusSyntax, truncateBytes(line, 60))
		}
		*dst = int(v)
		if haveTgid && haveTracer {
			return ids, nil
		}
	}
	return ids, fmt.Errorf("%w: no Tgid: or TracerPid: line", ErrStatusSyntax)
}

// ParseCmdline splits /proc/PID/cmdline at NUL bytes. A process that
// rewrote its argument area may leave no NUL at the end; that is kept.
func ParseCmdline(data []byte) []string {
	data = bytes.TrimRight(data, "\x00")
	if len(data) == 0 {
		return nil
	}
	parts := bytes.Split(data, []byte{0})
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(p)
	}
	return out
}
