package procscan

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// FDInfo is what kcmpgraph uses from /proc/PID/fdinfo/N.
type FDInfo struct {
	Pos   int64
	Flags int // octal in the file
	MntID int
	Ino   uint64
	// EventfdID is the eventfd's id (never changes for a description), or
	// -1 when the fd is no eventfd or the kernel does not print it.
	EventfdID int64
	// Watches are an epoll instance's registrations, in the kernel's order.
	Watches []EpollWatch
	// TTYIndex is a pty master's index in its devpts instance, or -1 when
	// the fd is no master or the kernel (before 5.1) does not print it.
	TTYIndex int
}

// EpollWatch is one "tfd:" line of an epoll fdinfo.
type EpollWatch struct {
	TFD    int
	Events uint32
	Data   uint64
	// Ino and Dev identify the watched inode; Dev is converted from the
	// kernel-internal encoding fdinfo prints to the user-space one, so it
	// compares with FD.Dev.
	Ino uint64
	Dev uint64
}

// ErrFDInfoSyntax is wrapped by ParseFDInfo errors.
var ErrFDInfoSyntax = errors.New("fdinfo syntax error")

// ParseFDInfo parses the text of a /proc/PID/fdinfo/N file. Unknown lines
// are ignored; a known line with a bad value is an error.
func ParseFDInfo(data []byte) (FDInfo, error) {
	if info, ok := parsePlainFDInfo(data); ok {
		return info, nil
	}
	return parseFDInfoLines(data)
}

// parsePlainFDInfo reads the fdinfo of a plain file, pipe or socket, the
// four lines "pos:\t%d\nflags:\t0%o\nmnt_id:\t%d\nino:\t%d\n" and nothing
// else, digit by digit; ok is false for any other text, which the general
// parser then reads. Most fds of a host have this fdinfo, and the general
// parser's line splitting and trimming took about 3% of a scan's CPU.
// FuzzParseFDInfo holds the two to the same result.
func parsePlainFDInfo(data []byte) (info FDInfo, ok bool) {
	var v uint64
	info = FDInfo{EventfdID: -1, TTYIndex: -1}
	if data, v, ok = plainField(data, "pos:\t", 10, 1<<63-1); !ok {
		return info, false
	}
	info.Pos = int64(v)
	if data, v, ok = plainField(data, "flags:\t", 8, 1<<32-1); !ok {
		return info, false
	}
	info.Flags = int(v)
	if data, v, ok = plainField(data, "mnt_id:\t", 10, 1<<31-1); !ok {
		return info, false
	}
	info.MntID = int(v)
	if data, info.Ino, ok = plainField(data, "ino:\t", 10, 1<<64-1); !ok {
		return info, false
	}
	return info, len(data) == 0
}

// plainField reads "name<digits>\n" at the start of data: a value of at
// most max in base (8 or 10).
func plainField(data []byte, name string, base, max uint64) (rest []byte, v uint64, ok bool) {
	if len(data) < len(name) || string(data[:len(name)]) != name {
		return data, 0, false
	}
	data = data[len(name):]
	i := 0
	for ; i < len(data) && data[i] != '\n'; i++ {
		d := uint64(data[i]) - '0'
		if d >= base || v > (max-d)/base {
			return data, 0, false
		}
		v = v*base + d
	}
	if i == 0 || i == len(data) {
		return data, 0, false
	}
	return data[i+1:], v, true
}

// parseFDInfoLines is the general fdinfo parser: any lines in any order.
func parseFDInfoLines(data []byte) (FDInfo, error) {
	info := FDInfo{EventfdID: -1, TTYIndex: -1}
	for lineNo := 1; len(data) > 0; lineNo++ {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		key, val := line[:colon], bytes.TrimSpace(line[colon+1:])
		var err error
		switch string(key) {
		case "pos":
			info.Pos, err = strconv.ParseInt(string(val), 10, 64)
		case "flags":
			var v uint64
			v, err = strconv.ParseUint(string(val), 8, 32)
			info.Flags = int(v)
		case "mnt_id":
			var v uint64
			v, err = strconv.ParseUint(string(val), 10, 31)
			info.MntID = int(v)
		case "ino":
			info.Ino, err = strconv.ParseUint(string(val), 10, 64)
		case "eventfd-id":
			info.EventfdID, err = strconv.ParseInt(string(val), 10, 64)
			if err == nil && info.EventfdID < 0 {
				err = errors.New("negative id")
			}
		case "tty-index":
			var v uint64
			v, err = strconv.ParseUint(string(val), 10, 31)
			info.TTYIndex = int(v)
		case "tfd":
			var w EpollWatch
			w, err = parseEpollWatch(line[colon+1:])
			if err == nil {
				info.Watches = append(info.Watches, w)
			}
		}
		if err != nil {
			return info, fmt.Errorf("%w: line %d (%q): %w", ErrFDInfoSyntax, lineNo, truncateBytes(line, 80), err)
		}
	}
	return info, nil
}

func truncateBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// parseEpollWatch parses the rest of a line
// "tfd:        5 events:       19 data:                5  pos:0 ino:61af sdev:e".
func parseEpollWatch(rest []byte) (EpollWatch, error) {
	var w EpollWatch
	fields := bytes.Fields(rest)
	if len(fields) == 0 {
		return w, errors.New("no tfd")
	}
	tfd, err := strconv.ParseUint(string(fields[0]), 10, 31)
	if err != nil {
		return w, fmt.Errorf("tfd: %w", err)
	}
	w.TFD = int(tfd)
	var haveIno, haveDev bool
	for i := 1; i < len(fields); i++ {
		f := fields[i]
		var key, val []byte
		if c := bytes.IndexByte(f, ':'); c >= 0 {
			key, val = f[:c], f[c+1:]
			if len(val) == 0 && i+1 < len(fields) { // "events:       19"
				i++
				val = fields[i]
			}
		} else {
			continue
		}
		switch string(key) {
		case "events":
			v, err := strconv.ParseUint(string(val), 16, 32)
			if err != nil {
				return w, fmt.Errorf("events: %w", err)
			}
			w.Events = uint32(v)
		case "data":
			v, err := strconv.ParseUint(string(val), 16, 64)
			if err != nil {
				return w, fmt.Errorf("data: %w", err)
			}
			w.Data = v
		case "ino":
			v, err := strconv.ParseUint(string(val), 16, 64)
			if err != nil {
				return w, fmt.Errorf("ino: %w", err)
			}
			w.Ino, haveIno = v, true
		case "sdev":
			v, err := strconv.ParseUint(string(val), 16, 32)
			if err != nil {
				return w, fmt.Errorf("sdev: %w", err)
			}
			w.Dev, haveDev = kernelDevToUser(uint32(v)), true
		}
	}
	if !haveIno || !haveDev {
		return w, errors.New("watch without ino or sdev")
	}
	return w, nil
}

// kernelDevToUser converts the kernel's internal dev_t (major<<20 | minor)
// to the user-space encoding of st_dev (glibc's makedev).
func kernelDevToUser(d uint32) uint64 {
	major := uint64(d >> 20)
	minor := uint64(d & 0xfffff)
	return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor &^ 0xff) << 12) | ((major &^ 0xfff) << 32)
}
