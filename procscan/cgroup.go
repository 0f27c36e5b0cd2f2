//go:build linux

package procscan

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrCgroupSyntax is returned for a /proc/PID/cgroup line that is not
// "hierarchy-id:controllers:path".
var ErrCgroupSyntax = errors.New("cgroup: bad line")

// ParseCgroup renders /proc/PID/cgroup as one line of text: the path
// alone for a process that is only in the unified (v2) hierarchy, else
// the "id:controllers:path" entries joined by ";". It reads lines as
// bufio.ScanLines does and fields as prometheus/procfs's Proc.Cgroups
// does (a test holds it to procfs's result); the scan reads the file
// itself because procfs's path (a stat of /proc/PID, os.Open, a
// []Cgroup per process) was about 3% of a 1000-process scan's CPU.
func ParseCgroup(data []byte) (string, error) {
	var parts []string
	unifiedPath, unifiedOnly := "", false
	for len(data) > 0 {
		var line []byte
		line, data = cutLine(data)
		line = bytes.TrimSuffix(line, []byte{'\r'})
		id, rest, ok := bytes.Cut(line, []byte{':'})
		var path []byte
		if ok {
			_, path, ok = bytes.Cut(rest, []byte{':'})
		}
		if !ok {
			return "", fmt.Errorf("%w: %q", ErrCgroupSyntax, line)
		}
		n, err := strconv.Atoi(string(id))
		if err != nil {
			return "", fmt.Errorf("%w: hierarchy id %q", ErrCgroupSyntax, id)
		}
		unifiedPath, unifiedOnly = string(path), len(parts) == 0 && n == 0
		parts = append(parts, strconv.Itoa(n)+":"+string(rest))
	}
	if len(parts) == 1 && unifiedOnly {
		return unifiedPath, nil
	}
	return strings.Join(parts, ";"), nil
}
