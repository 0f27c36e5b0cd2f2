//go:build linux

package freeze

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// cgroupV2Mount returns where the cgroup v2 hierarchy is mounted, or "".
func cgroupV2Mount() string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ... mount-point ... - fstype source options
		fields := strings.Fields(sc.Text())
		for i, x := range fields {
			if x == "-" && i+1 < len(fields) && fields[i+1] == "cgroup2" && len(fields) > 4 {
				return fields[4]
			}
		}
	}
	return ""
}

// cgroupV2Path returns a process's cgroup v2 path ("/a/b"), or "".
func cgroupV2Path(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p
		}
	}
	return ""
}

// subtreeProcs lists every process in a cgroup and its descendants.
func subtreeProcs(dir string) ([]int, error) {
	var pids []int
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(filepath.Join(path, "cgroup.procs"))
		if err != nil {
			return err
		}
		for _, f := range strings.Fields(string(data)) {
			if p, err := strconv.Atoi(f); err == nil {
				pids = append(pids, p)
			}
		}
		return nil
	})
	sort.Ints(pids)
	return pids, err
}

// cgroupFor returns the cgroup v2 directory whose subtree holds exactly
// pids, or "" when there is none (the processes are spread over several
// cgroups, share one with others, or sit in the root cgroup). Freezing it
// stops exactly the selection, without the SIGSTOP that parents see.
func cgroupFor(pids []int) string {
	mnt := cgroupV2Mount()
	if mnt == "" || len(pids) == 0 {
		return ""
	}
	// The cgroup closest to the root that holds any of them.
	best := ""
	for _, p := range pids {
		cg := cgroupV2Path(p)
		if cg == "" || cg == "/" {
			return ""
		}
		if best == "" || len(cg) < len(best) {
			best = cg
		}
	}
	for _, p := range pids {
		cg := cgroupV2Path(p)
		if cg != best && !strings.HasPrefix(cg, best+"/") {
			return ""
		}
	}
	dir := filepath.Join(mnt, best)
	if _, err := os.Stat(filepath.Join(dir, "cgroup.freeze")); err != nil {
		return ""
	}
	members, err := subtreeProcs(dir)
	if err != nil || len(members) != len(pids) {
		return ""
	}
	want := append([]int(nil), pids...)
	sort.Ints(want)
	for i := range want {
		if want[i] != members[i] {
			return ""
		}
	}
	return dir
}

// cgroupFrozen reads "frozen" from cgroup.events.
func cgroupFrozen(dir string) (bool, error) {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return false, err
	}
	return bytes.Contains(data, []byte("frozen 1")), nil
}

func writeFreeze(dir, v string) error {
	return os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte(v), 0)
}

// freezeCgroup freezes dir and waits until the kernel reports it frozen.
func freezeCgroup(dir string, deadline time.Time) error {
	if err := writeFreeze(dir, "1"); err != nil {
		return fmt.Errorf("freeze: %s: %w", dir, err)
	}
	for {
		frozen, err := cgroupFrozen(dir)
		if err != nil {
			return fmt.Errorf("freeze: %s: %w", dir, err)
		}
		if frozen {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("freeze: cgroup did not freeze in time")
		}
		time.Sleep(200 * time.Microsecond)
	}
}
