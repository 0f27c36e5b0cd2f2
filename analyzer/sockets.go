//go:build linux

package analyzer

import (
	"errors"
	"io/fs"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// socketsOut describes every socket a scanned fd holds (held maps each
// socket inode to one holder) for the snapshot, from the dumps of
// netSockets: unix sockets by inode, tcp and udp sockets by network
// namespace. A socket no dump lists (netlink, packet, raw, or one of a
// namespace that could not be entered) gets its protocol from the
// kernel's sockprotoname, read through its holder's fd link; one that
// vanished since the scan is left out.
func (s *state) socketsOut(held map[uint64]snapshot.Member, socks map[uint64]procscan.UnixSocket, unixNS map[uint64]uint64,
	inet map[uint64][]procscan.InetSocket) []snapshot.Socket {
	out := make([]snapshot.Socket, 0, len(held))
	done := make(map[uint64]bool, len(held))
	for ino := range held {
		if sk, ok := socks[ino]; ok {
			out = append(out, unixSocketOut(sk, unixNS[ino], socks[sk.Peer].Name))
			done[ino] = true
		}
	}
	for ns, list := range inet {
		for i := range list {
			if _, ok := held[list[i].Ino]; ok && !done[list[i].Ino] {
				out = append(out, inetSocketOut(&list[i], ns))
				done[list[i].Ino] = true
			}
		}
	}
	failed := 0
	for ino, m := range held {
		if done[ino] {
			continue
		}
		proto, err := procscan.SocketProtocol(s.procRoot, m.PID, m.FD)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ESRCH) {
				failed++
			}
			continue
		}
		out = append(out, snapshot.Socket{Ino: ino, Protocol: strings.ToLower(proto)})
	}
	if failed > 0 {
		s.skipped[SkipSocketsUnnamed] += failed
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ino < out[j].Ino })
	return out
}

// SkipSocketsUnnamed counts sockets that no dump listed and whose protocol
// could not be read either.
const SkipSocketsUnnamed = "sockets_unnamed"

// unixSocketOut is a unix socket's snapshot form; peerName is the bound
// name of its connected peer, if any.
func unixSocketOut(sk procscan.UnixSocket, ns uint64, peerName string) snapshot.Socket {
	out := snapshot.Socket{Ino: sk.Ino, Protocol: "unix-" + sockType(sk.Type), NetNS: ns,
		State: procscan.StateName(sk.State), Local: sk.Name, Peer: sk.Peer}
	if sk.Peer != 0 {
		out.Remote = peerName
	}
	return out
}

// inetSocketOut is a tcp or udp socket's snapshot form.
func inetSocketOut(sk *procscan.InetSocket, ns uint64) snapshot.Socket {
	out := snapshot.Socket{Ino: sk.Ino, Protocol: protoKind(sk.Protocol), NetNS: ns,
		State: procscan.StateName(sk.State), Local: sk.Local.String()}
	if sk.Remote.Port() != 0 && sk.Remote.Addr().IsValid() && !sk.Remote.Addr().IsUnspecified() {
		out.Remote = sk.Remote.String()
	}
	return out
}
