//go:build linux

package analyzer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/objname"
	"github.com/kcmpgraph/kcmpgraph/internal/errno"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// ErrNoSuchFD is returned by Who when the process has no such fd.
var ErrNoSuchFD = errors.New("no such fd")

// WhoHolder is one fd that holds the asked-for description.
type WhoHolder struct {
	Process *procscan.Process
	FD      procscan.FD
}

// WhoWatcher is one epoll watch on the asked-for description.
type WhoWatcher struct {
	Process *procscan.Process
	EpollFD int
	// TFD is the number the watch was registered under.
	TFD    int
	Events uint32
}

// WhoResult answers "who else holds this open file description?".
type WhoResult struct {
	Target WhoHolder
	// Name names the target's description as every output does: a
	// socket by its protocol, addresses and state, a pipe or fifo with the
	// end the target holds.
	Name     objname.Name
	Holders  []WhoHolder // every holder, the target included, by pid and fd
	Watchers []WhoWatcher
	// OtherEnd holds the other end of the channel the description is one
	// end of: a pipe's other direction, a connected unix socket's peer,
	// the other socket of a local TCP or UDP connection, a pty's slave or
	// master. OtherKind names the channel ("pipe", "unix-stream", "tcp",
	// "pty", ...); OtherName says which: a unix socket's name, a pty's
	// slave name, or a connection's addresses, this end's first
	// ("127.0.0.1:41822 <-> 127.0.0.1:5000").
	OtherEnd  []WhoHolder
	OtherKind string
	OtherName string
	// Exact is false when kcmp is unavailable: holders are then every fd
	// on the same inode.
	Exact     bool
	FDs       int // fds scanned
	KcmpCalls int64
	Skipped   map[string]int
	Seconds   float64
}

// Who finds every fd in the scan that holds the same open file description
// as fd of pid, and the epoll instances watching it. It reads fdinfo only
// where needed and calls kcmp only on fds on the same inode.
func Who(ctx context.Context, opts procscan.Options, pid, fd int) (*WhoResult, error) {
	start := time.Now()
	if len(opts.PIDs) > 0 || opts.Tree != 0 {
		opts.PIDs = append(append([]int(nil), opts.PIDs...), pid)
	}
	opts.FDInfo = procscan.FDInfoNeeded
	res, err := procscan.Scan(ctx, opts)
	if err != nil {
		return nil, err
	}
	out := &WhoResult{Skipped: res.Skipped, FDs: res.FDs}
	var target *procscan.Process
	for _, p := range res.Processes {
		if p.PID == pid {
			target = p
		}
	}
	if target == nil {
		return nil, &procscan.NoProcessError{PID: pid}
	}
	var tfd *procscan.FD
	for i := range target.FDs {
		if target.FDs[i].Num == fd {
			tfd = &target.FDs[i]
		}
	}
	if tfd == nil {
		if len(target.Denied) > 0 {
			return nil, fmt.Errorf("pid %d fd %d: cannot read its fds (%s): %w", pid, fd, target.Denied[0], unix.EACCES)
		}
		return nil, fmt.Errorf("pid %d has no fd %d: %w", pid, fd, ErrNoSuchFD)
	}
	out.Target = WhoHolder{Process: target, FD: *tfd}
	probeErr := kcmp.Probe()
	out.Exact = probeErr == nil
	tables := make([]fdTable, len(res.Processes))
	for i, p := range res.Processes {
		tables[i] = fdTable{proc: i, fds: &p.FDs}
	}
	keys := newKeyer(tables, func(int) bool { return true })
	key := keys.key(tfd)
	for _, p := range res.Processes {
		for i := range p.FDs {
			f := &p.FDs[i]
			if keys.key(f) != key {
				continue
			}
			if p == target && f.Num == fd {
				out.Holders = append(out.Holders, out.Target)
				continue
			}
			if out.Exact {
				out.KcmpCalls++
				o, err := kcmp.FileDescs(pid, fd, p.PID, f.Num)
				if err != nil {
					if errors.Is(err, unix.ESRCH) && p.PID != pid {
						continue
					}
					if errors.Is(err, unix.EBADF) || errors.Is(err, unix.ESRCH) {
						if _, err := kcmp.FileDescs(pid, fd, pid, fd); err != nil {
							return nil, fmt.Errorf("pid %d fd %d closed during the scan: %w", pid, fd, err)
						}
						continue
					}
					out.Skipped["fds_kcmp_"+errno.Name(err)]++
					continue
				}
				if o != kcmp.Equal {
					continue
				}
			}
			out.Holders = append(out.Holders, WhoHolder{Process: p, FD: *f})
		}
	}
	for _, p := range res.Processes {
		for i := range p.FDs {
			ep := &p.FDs[i]
			if !ep.IsEpoll() || !ep.HasInfo {
				continue
			}
			seen := map[int]uint32{}
			for _, w := range ep.Watches() {
				slot := kcmp.EpollSlot{EFD: uint32(ep.Num), TFD: uint32(w.TFD), TOff: seen[w.TFD]}
				seen[w.TFD]++
				if w.Dev != tfd.Dev || w.Ino != tfd.Ino {
					continue
				}
				if out.Exact {
					out.KcmpCalls++
					o, err := kcmp.EpollTarget(pid, fd, p.PID, slot)
					if err != nil || o != kcmp.Equal {
						continue
					}
				}
				out.Watchers = append(out.Watchers, WhoWatcher{Process: p, EpollFD: ep.Num, TFD: w.TFD, Events: w.Events})
			}
		}
	}
	out.OtherKind, out.OtherName, out.OtherEnd = otherEnd(res, opts.ProcRoot, target, tfd)
	out.Name = whoName(opts.ProcRoot, target, tfd)
	out.Seconds = time.Since(start).Seconds()
	return out, nil
}
