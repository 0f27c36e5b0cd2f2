//go:build linux

package analyzer

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// ptyKey names one pseudo-terminal: its devpts instance (the device
// number of its slaves) and its index there.
type ptyKey struct {
	devpts uint64
	index  int
}

// ptyMaster finds the pseudo-terminal a master fd of pid is the master
// of: its tty index from the fdinfo the scan read (read now only if the
// scan read none), its devpts by procscan.MasterDevpts.
func ptyMaster(procRoot string, pid int, fd *procscan.FD) (ptyKey, error) {
	index, ok := fd.TTYIndex()
	if !ok {
		if fd.HasInfo {
			return ptyKey{}, fmt.Errorf("pid %d fd %d: %w", pid, fd.Num, procscan.ErrNoTTYIndex)
		}
		var err error
		if index, err = procscan.ReadTTYIndex(procRoot, pid, fd); err != nil {
			return ptyKey{}, err
		}
	}
	dev, err := procscan.MasterDevpts(procRoot, pid, fd)
	if err != nil {
		return ptyKey{}, err
	}
	return ptyKey{dev, index}, nil
}

// vanished reports an error of a process or fd that went away since the
// scan: not worth a warning (unlike a devpts the rule could not name).
func vanished(err error) bool {
	if errors.Is(err, procscan.ErrDevptsUnknown) {
		return false
	}
	return errors.Is(err, unix.ESRCH) || errors.Is(err, unix.EBADF) || errors.Is(err, fs.ErrNotExist)
}

// ptyEndpoints pairs pseudo-terminal masters with their slaves. A slave
// fd is a character device on majors 136-143 whose Dev is its devpts; a
// master is a 5:2 fd whose fdinfo gives the index and whose devpts is
// found as procscan.MasterDevpts says. The ends are the master's holders,
// then the holders of each open file description of the slave (groups
// tell which slave fds share one); a pty is reported when its master and
// a slave are both held by scanned fds, or with partial when either is
// (the other end is then empty: a master with no slave end after it, a
// slave after an empty master end).
func (s *state) ptyEndpoints(groups []snapshot.Group, partial bool) []snapshot.Endpoint {
	type masterFD struct {
		table int
		fd    *procscan.FD
	}
	slaves := map[ptyKey][]snapshot.Member{}
	var masters []masterFD
	for ti, fd := range s.eligibleFDs() {
		if index, ok := fd.PTYSlaveIndex(); ok {
			k := ptyKey{fd.Dev, index}
			slaves[k] = append(slaves[k], s.member(ti, fd.Num))
		} else if fd.IsPTYMaster() {
			masters = append(masters, masterFD{ti, fd})
		}
	}
	if !partial && (len(slaves) == 0 || len(masters) == 0) {
		return nil
	}
	byMaster := map[ptyKey][]snapshot.Member{}
	failed := 0
	var firstErr error
	for _, m := range masters {
		k, err := ptyMaster(s.procRoot, s.task(m.table), m.fd)
		if err != nil {
			if !vanished(err) {
				failed++
				if firstErr == nil {
					firstErr = err
				}
			}
			continue
		}
		byMaster[k] = append(byMaster[k], s.member(m.table, m.fd.Num))
	}
	if failed > 0 {
		s.warnings = append(s.warnings, fmt.Sprintf("%s not paired with their slaves: %v", plural.Count(failed, "pty master fd", "pty master fds"), firstErr))
	}
	description := map[snapshot.Member]int{}
	for i, g := range groups {
		if g.Type == snapshot.TypeFile {
			for _, m := range g.Members {
				description[m] = i
			}
		}
	}
	keys := map[ptyKey]bool{}
	for k := range byMaster {
		keys[k] = true
	}
	if partial {
		for k := range slaves {
			keys[k] = true
		}
	}
	var out []snapshot.Endpoint
	for k := range keys {
		ms, sl := byMaster[k], slaves[k]
		if len(sl) == 0 && !partial {
			continue
		}
		e := snapshot.Endpoint{Kind: "pty", Name: "/dev/pts/" + strconv.Itoa(k.index), Ends: [][]snapshot.Member{sorted(ms)}}
		byDesc := map[int][]snapshot.Member{}
		var alone []snapshot.Member
		for _, m := range sl {
			if g, ok := description[m]; ok {
				byDesc[g] = append(byDesc[g], m)
			} else {
				alone = append(alone, m)
			}
		}
		var ends [][]snapshot.Member
		for _, ms := range byDesc {
			ends = append(ends, sorted(ms))
		}
		for _, m := range alone {
			ends = append(ends, []snapshot.Member{m})
		}
		sort.Slice(ends, func(i, j int) bool { return ends[i][0].Less(ends[j][0]) })
		e.Ends = append(e.Ends, ends...)
		out = append(out, e)
	}
	return out
}
