//go:build linux

package analyzer

import (
	"net/netip"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// inetKey is a connected socket's protocol and addresses, IPv4-mapped
// IPv6 addresses unmapped so that an IPv6 socket talking IPv4 meets its
// IPv4 peer.
type inetKey struct {
	proto         int
	local, remote netip.AddrPort
}

func unmapped(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

func keyOfInet(sk *procscan.InetSocket) inetKey {
	return inetKey{sk.Protocol, unmapped(sk.Local), unmapped(sk.Remote)}
}

// pairInet pairs the TCP and UDP sockets of one network namespace dump:
// a and b are the two ends of one connection when a's local address is
// b's remote one and the other way round. Only connected sockets take
// part (TCP with a peer, UDP after connect(2)): a listening or unconnected
// socket is no channel. A key held by more than one socket (SO_REUSEPORT
// UDP, VRF) cannot be paired with certainty and is left out; ambiguous
// counts those among held sockets. holders gives the scanned {pid, fd}
// holding a socket inode, nil if none. With partial, a held connected
// socket whose peer is not held, or not known for certain, is listed too,
// with an empty other end (its address the socket's remote one).
func pairInet(socks []procscan.InetSocket, holders func(ino uint64) []snapshot.Member, partial bool) (out []snapshot.Endpoint, ambiguous int) {
	idx := map[inetKey][]int{}
	for i := range socks {
		if socks[i].Connected() {
			k := keyOfInet(&socks[i])
			idx[k] = append(idx[k], i)
		}
	}
	for k, mine := range idx {
		theirs := idx[inetKey{k.proto, k.remote, k.local}]
		if partial && (len(mine) != 1 || len(theirs) != 1 || len(holders(socks[theirs[0]].Ino)) == 0) {
			for _, i := range mine {
				if hs := holders(socks[i].Ino); len(hs) > 0 {
					out = append(out, snapshot.Endpoint{Kind: protoKind(socks[i].Protocol),
						Addresses: []string{socks[i].Local.String(), socks[i].Remote.String()}, Ends: [][]snapshot.Member{sorted(hs), nil}})
				}
			}
			continue
		}
		if len(theirs) == 0 {
			continue
		}
		if len(mine) != 1 || len(theirs) != 1 {
			// Count each ambiguous pair of keys once, from its lesser side.
			if k.local.Compare(k.remote) <= 0 && anyHeld(socks, mine, theirs, holders) {
				ambiguous++
			}
			continue
		}
		a, b := &socks[mine[0]], &socks[theirs[0]]
		if a.Ino >= b.Ino {
			continue // each pair once; a socket connected to itself is no channel
		}
		ha, hb := holders(a.Ino), holders(b.Ino)
		if len(ha) == 0 || len(hb) == 0 {
			continue
		}
		e := snapshot.Endpoint{Kind: protoKind(a.Protocol),
			Addresses: []string{a.Local.String(), b.Local.String()}, Ends: [][]snapshot.Member{sorted(ha), sorted(hb)}}
		if e.Ends[1][0].Less(e.Ends[0][0]) {
			e.Ends[0], e.Ends[1] = e.Ends[1], e.Ends[0]
			e.Addresses[0], e.Addresses[1] = e.Addresses[1], e.Addresses[0]
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ends[0][0].Less(out[j].Ends[0][0]) })
	return out, ambiguous
}

func anyHeld(socks []procscan.InetSocket, a, b []int, holders func(uint64) []snapshot.Member) bool {
	for _, l := range [][]int{a, b} {
		for _, i := range l {
			if len(holders(socks[i].Ino)) > 0 {
				return true
			}
		}
	}
	return false
}

func protoKind(p int) string {
	if p == unix.IPPROTO_UDP {
		return "udp"
	}
	return "tcp"
}
