//go:build linux

package analyzer

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// endpoints pairs the ends of channels among the scanned fds: a pipe's or
// a fifo's read and write ends (one inode, told apart by access mode),
// connected
// AF_UNIX sockets (sock_diag: each socket's peer inode), TCP and UDP
// connections between two local sockets (inet_diag: mirrored addresses
// within one network namespace) and pseudo-terminals (a master's tty index
// and devpts against a slave's device number). Sockets come from one
// sock_diag socket per network namespace of the scanned processes. A
// channel is reported when two of its ends are held by scanned fds;
// groups (the file groups) split a pty slave's fds by description.
func (s *state) endpoints(groups []snapshot.Group) ([]snapshot.Endpoint, []snapshot.Socket) {
	type holder = snapshot.Member
	// A pipe's ends are told apart by access mode; a socket is itself.
	// Pipes and sockets have inodes of their own file system; a fifo's
	// is on any, so its device is part of its key.
	type chanKey struct {
		dev  uint64
		ino  uint64
		kind byte // 'r' or 'w' for a pipe's read and write ends, 'R' and 'W' a fifo's, 's' for a socket
	}
	byIno := map[chanKey][]holder{}
	fifoName := map[[2]uint64]string{}
	for ti := range s.tables {
		if !s.tableEligible(ti) {
			continue
		}
		for _, fd := range s.tables[ti].FDs() {
			m := s.member(ti, fd.Num)
			switch {
			case strings.HasPrefix(fd.Target, "pipe:"):
				if !fd.HasInfo {
					continue
				}
				k := chanKey{0, fd.Ino, 'r'}
				if fd.Flags&3 != unix.O_RDONLY {
					k.kind = 'w'
				}
				byIno[k] = append(byIno[k], m)
			case fd.Mode&unix.S_IFMT == unix.S_IFIFO:
				if !fd.HasInfo {
					continue
				}
				k := chanKey{fd.Dev, fd.Ino, 'R'}
				if fd.Flags&3 != unix.O_RDONLY {
					k.kind = 'W'
				}
				byIno[k] = append(byIno[k], m)
				if fifoName[[2]uint64{k.dev, k.ino}] == "" {
					fifoName[[2]uint64{k.dev, k.ino}] = fd.Target
				}
			case strings.HasPrefix(fd.Target, "socket:"):
				k := chanKey{0, fd.Ino, 's'}
				byIno[k] = append(byIno[k], m)
			}
		}
	}
	var out []snapshot.Endpoint
	for k, readers := range byIno {
		switch k.kind {
		case 'r':
			if writers := byIno[chanKey{0, k.ino, 'w'}]; len(writers) > 0 {
				out = append(out, snapshot.Endpoint{Kind: "pipe", Ends: [][]holder{sorted(readers), sorted(writers)}})
			}
		case 'R':
			if writers := byIno[chanKey{k.dev, k.ino, 'W'}]; len(writers) > 0 {
				out = append(out, snapshot.Endpoint{Kind: "fifo", Name: fifoName[[2]uint64{k.dev, k.ino}], Ends: [][]holder{sorted(readers), sorted(writers)}})
			}
		}
	}
	socks, unixNS, inet := s.netSockets()
	for ino, sk := range socks {
		if sk.Peer == 0 || sk.Peer < ino && socks[sk.Peer].Peer == ino {
			continue // each connected pair once, from its lower inode
		}
		a := byIno[chanKey{0, ino, 's'}]
		b := byIno[chanKey{0, sk.Peer, 's'}]
		if len(a) == 0 || len(b) == 0 {
			continue
		}
		name := sk.Name
		if name == "" {
			name = socks[sk.Peer].Name
		}
		out = append(out, snapshot.Endpoint{Kind: "unix-" + sockType(sk.Type), Name: name, Ends: [][]holder{sorted(a), sorted(b)}})
	}
	held := func(ino uint64) []holder { return byIno[chanKey{0, ino, 's'}] }
	ambiguous := 0
	for _, list := range inet {
		pairs, n := pairInet(list, held)
		out = append(out, pairs...)
		ambiguous += n
	}
	if ambiguous > 0 {
		s.warnings = append(s.warnings, fmt.Sprintf("%s held by more than one socket in one network namespace (SO_REUSEPORT, VRF): not paired", plural.Count(ambiguous, "tcp/udp address pair is", "tcp/udp address pairs are")))
	}
	out = append(out, s.ptyEndpoints(groups)...)
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Ends[0][0], out[j].Ends[0][0]
		if a != b {
			return a.Less(b)
		}
		return out[i].Kind < out[j].Kind
	})
	firstHolder := map[uint64]holder{}
	for k, hs := range byIno {
		if k.kind == 's' {
			firstHolder[k.ino] = hs[0]
		}
	}
	return out, s.socketsOut(firstHolder, socks, unixNS, inet)
}

// netSockets dumps the unix, TCP and UDP sockets of every network
// namespace the scanned processes are in, on one sock_diag socket per
// namespace (a unix dump and four inet dumps). Socket inodes are unique
// across namespaces, so the unix dumps merge (unixNS says which
// namespace listed each); inet sockets stay apart by namespace, since only
// addresses pair them.
func (s *state) netSockets() (all map[uint64]procscan.UnixSocket, unixNS map[uint64]uint64, inet map[uint64][]procscan.InetSocket) {
	all, unixNS = map[uint64]procscan.UnixSocket{}, map[uint64]uint64{}
	inet = map[uint64][]procscan.InetSocket{}
	own := ownNetNS()
	seen := map[uint64]bool{}
	for pi, p := range s.procs {
		ns := p.Namespaces["net"]
		if !s.eligible[pi] || seen[ns] {
			continue
		}
		seen[ns] = true
		d, err := procscan.OpenSockDiag(netNSPath(s.procRoot, p, own))
		if err != nil {
			s.warnings = append(s.warnings, fmt.Sprintf("socket endpoints of network namespace %d not resolved: %v", ns, err))
			continue
		}
		socks, err := d.Unix()
		if err != nil {
			s.warnings = append(s.warnings, fmt.Sprintf("unix socket endpoints of network namespace %d not resolved: %v", ns, err))
		}
		for k, v := range socks {
			all[k] = v
			unixNS[k] = ns
		}
		list, err := d.Inet()
		if err != nil {
			s.warnings = append(s.warnings, fmt.Sprintf("tcp/udp endpoints of network namespace %d not (all) resolved: %v", ns, err))
		}
		inet[ns] = list
		d.Close()
	}
	return all, unixNS, inet
}

// ownNetNS is this process's network namespace link text.
func ownNetNS() string {
	own, _ := os.Readlink("/proc/self/ns/net")
	return own
}

// netNSPath is the path to enter p's network namespace for a sock_diag
// dump, or "" when p is in ours (own, from ownNetNS) or its namespace is
// unknown.
func netNSPath(procRoot string, p *procscan.Process, own string) string {
	ns := p.Namespaces["net"]
	if ns == 0 || own == "net:["+strconv.FormatUint(ns, 10)+"]" {
		return ""
	}
	if procRoot == "" {
		procRoot = "/proc"
	}
	return filepath.Join(procRoot, strconv.Itoa(p.PID), "ns", "net")
}

func sorted(ms []snapshot.Member) []snapshot.Member {
	c := append([]snapshot.Member(nil), ms...)
	sort.Slice(c, func(i, j int) bool { return c[i].Less(c[j]) })
	return c
}

func sockType(t int) string {
	switch t {
	case unix.SOCK_STREAM:
		return "stream"
	case unix.SOCK_DGRAM:
		return "dgram"
	case unix.SOCK_SEQPACKET:
		return "seqpacket"
	}
	return strconv.Itoa(t)
}
