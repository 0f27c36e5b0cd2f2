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
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// endpoints pairs the two ends of channels among the scanned fds: a
// pipe's read and write ends (one inode, told apart by access mode) and
// connected AF_UNIX sockets (one sock_diag dump: each socket's peer
// inode). A channel is reported when both ends are held by scanned fds.
// Sockets are looked up in the scanner's network namespace only.
func (s *state) endpoints() []snapshot.Endpoint {
	type holder = snapshot.Member
	byIno := map[string][]holder{} // "pipe:123:r" / "socket:456"
	for pi, p := range s.procs {
		if !s.eligible[pi] {
			continue
		}
		for _, fd := range p.FDs {
			m := holder{PID: p.PID, FD: fd.Num}
			switch {
			case strings.HasPrefix(fd.Target, "pipe:"):
				if !fd.HasInfo {
					continue
				}
				end := "r"
				if fd.Flags&3 != unix.O_RDONLY {
					end = "w"
				}
				key := "pipe:" + strconv.FormatUint(fd.Ino, 10) + ":" + end
				byIno[key] = append(byIno[key], m)
			case strings.HasPrefix(fd.Target, "socket:"):
				key := "socket:" + strconv.FormatUint(fd.Ino, 10)
				byIno[key] = append(byIno[key], m)
			}
		}
	}
	var out []snapshot.Endpoint
	for key, readers := range byIno {
		if !strings.HasSuffix(key, ":r") || !strings.HasPrefix(key, "pipe:") {
			continue
		}
		writers := byIno[strings.TrimSuffix(key, ":r")+":w"]
		if len(writers) > 0 {
			out = append(out, snapshot.Endpoint{Kind: "pipe", Ends: [][]holder{sorted(readers), sorted(writers)}})
		}
	}
	socks := s.unixSockets()
	for ino, sk := range socks {
		if sk.Peer == 0 || sk.Peer < ino && socks[sk.Peer].Peer == ino {
			continue // each connected pair once, from its lower inode
		}
		a := byIno["socket:"+strconv.FormatUint(ino, 10)]
		b := byIno["socket:"+strconv.FormatUint(sk.Peer, 10)]
		if len(a) == 0 || len(b) == 0 {
			continue
		}
		name := sk.Name
		if name == "" {
			name = socks[sk.Peer].Name
		}
		out = append(out, snapshot.Endpoint{Kind: "unix-" + sockType(sk.Type), Name: name, Ends: [][]holder{sorted(a), sorted(b)}})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Ends[0][0], out[j].Ends[0][0]
		if a != b {
			return a.Less(b)
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// unixSockets dumps the unix sockets of every network namespace the
// scanned processes are in: one sock_diag dump per namespace. Socket
// inodes are unique across namespaces, so the dumps merge.
func (s *state) unixSockets() map[uint64]procscan.UnixSocket {
	all := map[uint64]procscan.UnixSocket{}
	own, _ := os.Readlink("/proc/self/ns/net")
	seen := map[uint64]bool{}
	for pi, p := range s.procs {
		ns := p.Namespaces["net"]
		if !s.eligible[pi] || seen[ns] {
			continue
		}
		seen[ns] = true
		var socks map[uint64]procscan.UnixSocket
		var err error
		if ns == 0 || own == "net:["+strconv.FormatUint(ns, 10)+"]" {
			socks, err = procscan.UnixSockets()
		} else {
			socks, err = procscan.UnixSocketsIn(filepath.Join(s.procRoot, strconv.Itoa(p.PID), "ns", "net"))
		}
		if err != nil {
			s.warnings = append(s.warnings, fmt.Sprintf("unix socket endpoints of network namespace %d not resolved: %v", ns, err))
			continue
		}
		for k, v := range socks {
			all[k] = v
		}
	}
	return all
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
