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

// endpoints pairs the ends of channels among the scanned fds (channels)
// and describes the sockets they hold (socketsOut). A channel is reported
// when each of its ends is held by scanned fds.
func (s *state) endpoints(groups []snapshot.Group) ([]snapshot.Endpoint, []snapshot.Socket) {
	x := s.indexChannels(nil)
	var out []snapshot.Endpoint
	for _, e := range s.channels(x, groups, nil) {
		if complete(e) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Ends[0][0], out[j].Ends[0][0]
		if a != b {
			return a.Less(b)
		}
		return out[i].Kind < out[j].Kind
	})
	firstHolder := map[uint64]snapshot.Member{}
	for k, hs := range x.byIno {
		if k.kind == 's' {
			firstHolder[k.ino] = hs[0]
		}
	}
	return out, s.socketsOut(firstHolder, x.socks, x.unixNS, x.inet)
}

// complete reports whether every end of a channel, two or more, is held.
func complete(e snapshot.Endpoint) bool {
	if len(e.Ends) < 2 {
		return false
	}
	for _, end := range e.Ends {
		if len(end) == 0 {
			return false
		}
	}
	return true
}

// chanFocus restricts channel pairing to the channel one fd (of table
// table) is an end of: what who asks.
type chanFocus struct {
	table int
	fd    *procscan.FD
}

// chanKey is what pairs channel ends: a pipe's ends are told apart by
// access mode; a socket is itself. Pipes and sockets have inodes of their
// own file system; a fifo's is on any, so its device is part of its key.
type chanKey struct {
	dev  uint64
	ino  uint64
	kind byte // 'r' or 'w' for a pipe's read and write ends, 'R' and 'W' a fifo's, 's' for a socket
}

// chanIndex is what channels pairs: the fds that are pipe, fifo and
// socket ends by key, and the sockets of the dumped network namespaces.
type chanIndex struct {
	byIno    map[chanKey][]snapshot.Member
	fifoName map[[2]uint64]string
	socks    map[uint64]procscan.UnixSocket
	unixNS   map[uint64]uint64
	inet     map[uint64][]procscan.InetSocket
}

// indexChannels indexes the fds of the eligible tables that are pipe,
// fifo and socket ends, and dumps the sockets of their network
// namespaces. With a focus, only the pipe or fifo on the focus's inode is
// indexed, and only the focus's network namespace dumped.
func (s *state) indexChannels(focus *chanFocus) *chanIndex {
	x := &chanIndex{byIno: map[chanKey][]snapshot.Member{}, fifoName: map[[2]uint64]string{}}
	for ti, fd := range s.eligibleFDs() {
		m := s.member(ti, fd.Num)
		pipe := strings.HasPrefix(fd.Target, "pipe:")
		fifo := !pipe && fd.Mode&unix.S_IFMT == unix.S_IFIFO // a pipe's inode is a fifo too
		switch {
		case pipe || fifo:
			if focus != nil && (fd.Dev != focus.fd.Dev || fd.Ino != focus.fd.Ino) {
				continue
			}
			flags, ok := s.openFlags(ti, fd)
			if !ok {
				continue
			}
			k := chanKey{0, fd.Ino, 'r'}
			if fifo {
				k = chanKey{fd.Dev, fd.Ino, 'R'}
			}
			if flags&3 != unix.O_RDONLY {
				k.kind += 'w' - 'r' // 'w' or 'W'
			}
			x.byIno[k] = append(x.byIno[k], m)
			if fifo && x.fifoName[[2]uint64{k.dev, k.ino}] == "" {
				x.fifoName[[2]uint64{k.dev, k.ino}] = fd.Target
			}
		case strings.HasPrefix(fd.Target, "socket:"):
			k := chanKey{0, fd.Ino, 's'}
			x.byIno[k] = append(x.byIno[k], m)
		}
	}
	var only *procscan.Process
	if focus != nil {
		if !strings.HasPrefix(focus.fd.Target, "socket:") {
			return x
		}
		only = s.procs[s.tables[focus.table].proc]
	}
	x.socks, x.unixNS, x.inet = s.netSockets(only)
	return x
}

// channels pairs the ends of channels in x: a pipe's or fifo's read and
// write ends (one inode, told apart by access mode), connected AF_UNIX
// sockets (sock_diag: each socket's peer inode), TCP and UDP connections
// between two local sockets (inet_diag: mirrored addresses within one
// network namespace) and pseudo-terminals (a master's tty index and
// devpts against a slave's device number); groups (the file groups) split
// a pty slave's fds by description. Without a focus a channel is listed
// when two of its ends are held; with one, only the focus's channel is
// wanted, and it is listed even when an end is held by no scanned fd or
// not known for certain (that end is then empty).
func (s *state) channels(x *chanIndex, groups []snapshot.Group, focus *chanFocus) []snapshot.Endpoint {
	partial := focus != nil
	var out []snapshot.Endpoint
	for k, readers := range x.byIno {
		var kind, name string
		var wk chanKey
		switch k.kind {
		case 'r':
			kind, wk = "pipe", chanKey{0, k.ino, 'w'}
		case 'R':
			kind, name, wk = "fifo", x.fifoName[[2]uint64{k.dev, k.ino}], chanKey{k.dev, k.ino, 'W'}
		default:
			continue
		}
		if writers := x.byIno[wk]; len(writers) > 0 || partial {
			out = append(out, snapshot.Endpoint{Kind: kind, Name: name, Ends: [][]snapshot.Member{sorted(readers), sorted(writers)}})
		}
	}
	if partial {
		// A write end with no reader held.
		for k, writers := range x.byIno {
			if rk := (chanKey{k.dev, k.ino, k.kind - ('w' - 'r')}); (k.kind == 'w' || k.kind == 'W') && len(x.byIno[rk]) == 0 {
				kind, name := "pipe", ""
				if k.kind == 'W' {
					kind, name = "fifo", x.fifoName[[2]uint64{k.dev, k.ino}]
				}
				out = append(out, snapshot.Endpoint{Kind: kind, Name: name, Ends: [][]snapshot.Member{nil, sorted(writers)}})
			}
		}
	}
	held := func(ino uint64) []snapshot.Member { return x.byIno[chanKey{0, ino, 's'}] }
	for ino, sk := range x.socks {
		if sk.Peer == 0 || sk.Peer < ino && x.socks[sk.Peer].Peer == ino {
			continue // each connected pair once, from its lower inode
		}
		a, b := held(ino), held(sk.Peer)
		if !partial && (len(a) == 0 || len(b) == 0) || len(a)+len(b) == 0 {
			continue
		}
		name := sk.Name
		if name == "" {
			name = x.socks[sk.Peer].Name
		}
		out = append(out, snapshot.Endpoint{Kind: "unix-" + sockType(sk.Type), Name: name, Ends: [][]snapshot.Member{sorted(a), sorted(b)}})
	}
	ambiguous := 0
	for _, list := range x.inet {
		pairs, n := pairInet(list, held, partial)
		out = append(out, pairs...)
		ambiguous += n
	}
	if ambiguous > 0 && !partial {
		s.warnings = append(s.warnings, fmt.Sprintf("%s held by more than one socket in one network namespace (SO_REUSEPORT, VRF): not paired", plural.Count(ambiguous, "tcp/udp address pair is", "tcp/udp address pairs are")))
	}
	if focus == nil || isPTY(focus.fd) {
		out = append(out, s.ptyEndpoints(groups, partial)...)
	}
	return out
}

// isPTY reports whether fd is a pseudo-terminal master or slave.
func isPTY(fd *procscan.FD) bool {
	_, slave := fd.PTYSlaveIndex()
	return slave || fd.IsPTYMaster()
}

// openFlags returns the open flags of fd of table ti, from the fdinfo the
// scan read or, for a scan that read none for it, read now (false if the
// fd is gone or is another file now).
func (s *state) openFlags(ti int, fd *procscan.FD) (int, bool) {
	if fd.HasInfo {
		return fd.Flags, true
	}
	info, err := procscan.ReadFDInfo(s.procRoot, s.task(ti), fd.Num)
	if err != nil || info.Ino != 0 && info.Ino != fd.Ino {
		return 0, false
	}
	return info.Flags, true
}

// netSockets dumps the unix, TCP and UDP sockets of every network
// namespace the scanned processes are in (only's alone, if set), on one sock_diag socket per
// namespace (a unix dump and four inet dumps). Socket inodes are unique
// across namespaces, so the unix dumps merge (unixNS says which
// namespace listed each); inet sockets stay apart by namespace, since only
// addresses pair them.
func (s *state) netSockets(only *procscan.Process) (all map[uint64]procscan.UnixSocket, unixNS map[uint64]uint64, inet map[uint64][]procscan.InetSocket) {
	all, unixNS = map[uint64]procscan.UnixSocket{}, map[uint64]uint64{}
	inet = map[uint64][]procscan.InetSocket{}
	own := ownNetNS()
	seen := map[uint64]bool{}
	dump := func(ns uint64, path string) {
		seen[ns] = true
		d, err := procscan.OpenSockDiag(path)
		if err != nil {
			s.warnings = append(s.warnings, fmt.Sprintf("socket endpoints of network namespace %d not resolved: %v", ns, err))
			return
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
	for pi, p := range s.procs {
		ns := p.Namespaces["net"]
		if !s.eligible[pi] || seen[ns] || only != nil && p != only {
			continue
		}
		dump(ns, netNSPath(s.procRoot, p, own))
	}
	// A socket lives in the namespace it was made in: one made on the
	// host and handed into a container (a runtime's API socket) is in
	// none of the container's dumps. Ours, usually the host's, is dumped
	// too when a scanned socket is missing.
	ownNS, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(own, "net:["), "]"), 10, 64)
	if err == nil && !seen[ownNS] && (s.procRoot == "" || s.procRoot == "/proc") && s.socketMissing(only, all, inet) {
		dump(ownNS, "")
	}
	return all, unixNS, inet
}

// socketMissing reports whether a socket fd of the scanned processes
// (only's, if set) is in none of the dumps.
func (s *state) socketMissing(only *procscan.Process, unixSocks map[uint64]procscan.UnixSocket, inet map[uint64][]procscan.InetSocket) bool {
	listed := map[uint64]bool{}
	for _, list := range inet {
		for _, k := range list {
			listed[k.Ino] = true
		}
	}
	for pi, p := range s.procs {
		if !s.eligible[pi] || only != nil && p != only {
			continue
		}
		for _, fd := range p.FDs {
			if fd.Inode == nil || !strings.HasPrefix(fd.Target, "socket:[") {
				continue
			}
			if _, ok := unixSocks[fd.Ino]; !ok && !listed[fd.Ino] {
				return true
			}
		}
	}
	return false
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
