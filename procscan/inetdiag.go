//go:build linux

package procscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// InetSocket is one TCP or UDP socket as inet_diag reports it.
type InetSocket struct {
	Ino uint64
	// Family is unix.AF_INET or unix.AF_INET6 (an AF_INET6 socket may
	// carry IPv4-mapped addresses).
	Family int
	// Protocol is unix.IPPROTO_TCP or unix.IPPROTO_UDP: the protocol the
	// dump asked for (the message does not repeat it).
	Protocol int
	// State is the kernel's TCP state number (TCPEstablished, ...); a
	// connected UDP socket is TCPEstablished, an unconnected one TCPClose.
	State int
	// Local and Remote are the socket's addresses; Remote has port 0 when
	// the socket is not connected.
	Local, Remote netip.AddrPort
	// IfIndex is the interface the socket is bound to, or 0.
	IfIndex uint32
	UID     uint32
}

// TCP states of include/net/tcp_states.h that the pairing uses.
const (
	TCPEstablished = 1
	TCPSynSent     = 2
	TCPSynRecv     = 3
	TCPFinWait1    = 4
	TCPFinWait2    = 5
	TCPTimeWait    = 6
	TCPClose       = 7
	TCPCloseWait   = 8
	TCPLastAck     = 9
	TCPListen      = 10
	TCPClosing     = 11
	TCPNewSynRecv  = 12
)

// Connected reports whether the socket has a peer it could be one end of
// a channel with: a TCP socket in a state that has a remote address (not
// listening, closed or a time-wait remnant) or a connected UDP socket.
func (s InetSocket) Connected() bool {
	if s.Ino == 0 || s.Remote.Port() == 0 || !s.Remote.Addr().IsValid() {
		return false
	}
	switch s.Protocol {
	case unix.IPPROTO_UDP:
		return s.State == TCPEstablished
	case unix.IPPROTO_TCP:
		switch s.State {
		case TCPEstablished, TCPSynSent, TCPSynRecv, TCPFinWait1, TCPFinWait2, TCPCloseWait, TCPLastAck, TCPClosing:
			return true
		}
	}
	return false
}

// inetDiagSockID is struct inet_diag_sockid (ports and addresses in
// network byte order).
type inetDiagSockID struct {
	Sport  [2]byte
	Dport  [2]byte
	Src    [16]byte
	Dst    [16]byte
	If     uint32
	Cookie [2]uint32
}

// inetDiagReqV2 is struct inet_diag_req_v2; x/sys/unix has only the
// generic SockDiagReq head.
type inetDiagReqV2 struct {
	Family   uint8
	Protocol uint8
	Ext      uint8
	Pad      uint8
	States   uint32
	ID       inetDiagSockID
}

// sizeofInetDiagMsg is the size of struct inet_diag_msg: family, state,
// timer, retrans, the 48-byte sockid, expires, rqueue, wqueue, uid, inode.
const sizeofInetDiagMsg = 72

// ParseInetDiag parses the payload of one SOCK_DIAG_BY_FAMILY answer for
// AF_INET or AF_INET6: struct inet_diag_msg. Attributes after it are not
// asked for and are ignored. Protocol is left 0 for the caller to set.
func ParseInetDiag(b []byte) (InetSocket, error) {
	if len(b) < sizeofInetDiagMsg {
		return InetSocket{}, fmt.Errorf("%w: %d bytes, want at least %d", ErrSockDiagSyntax, len(b), sizeofInetDiagMsg)
	}
	s := InetSocket{Family: int(b[0]), State: int(b[1])}
	id := b[4:52]
	sport, dport := binary.BigEndian.Uint16(id[0:2]), binary.BigEndian.Uint16(id[2:4])
	var local, remote netip.Addr
	switch s.Family {
	case unix.AF_INET:
		local, remote = netip.AddrFrom4([4]byte(id[4:8])), netip.AddrFrom4([4]byte(id[20:24]))
	case unix.AF_INET6:
		local, remote = netip.AddrFrom16([16]byte(id[4:20])), netip.AddrFrom16([16]byte(id[20:36]))
	default:
		return InetSocket{}, fmt.Errorf("%w: address family %d", ErrSockDiagSyntax, s.Family)
	}
	s.Local, s.Remote = netip.AddrPortFrom(local, sport), netip.AddrPortFrom(remote, dport)
	s.IfIndex = binary.NativeEndian.Uint32(id[36:40])
	s.UID = binary.NativeEndian.Uint32(b[64:68])
	s.Ino = uint64(binary.NativeEndian.Uint32(b[68:72]))
	return s, nil
}

// inetStates asks for every state but the inode-less remnants
// (TIME_WAIT, NEW_SYN_RECV): no fd can hold them.
const inetStates = 0xffffffff &^ (1<<TCPTimeWait | 1<<TCPNewSynRecv)

// dumpInet dumps the sockets of one family and protocol, with an inode
// (held by some fd) only.
func dumpInet(fd, family, protocol int, out []InetSocket) ([]InetSocket, error) {
	req := inetDiagReqV2{Family: uint8(family), Protocol: uint8(protocol), States: inetStates}
	err := sockDiagDump(fd, (*[unsafe.Sizeof(req)]byte)(unsafe.Pointer(&req))[:], func(data []byte) error {
		s, err := ParseInetDiag(data)
		if err != nil {
			return err
		}
		if s.Ino != 0 {
			s.Protocol = protocol
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

// SockDiag is a NETLINK_SOCK_DIAG socket made in one network namespace;
// its dumps run one after the other and see that namespace only.
type SockDiag struct {
	fd int
	ns string
}

// OpenSockDiag makes a sock_diag socket in the network namespace nsPath
// (a /proc/PID/ns/net link), or in the caller's own when nsPath is "".
func OpenSockDiag(nsPath string) (*SockDiag, error) {
	if nsPath == "" {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
		if err != nil {
			return nil, fmt.Errorf("procscan: sock_diag socket: %w", err)
		}
		return &SockDiag{fd: fd, ns: "own network namespace"}, nil
	}
	fd, err := socketIn(nsPath)
	if err != nil {
		return nil, err
	}
	return &SockDiag{fd: fd, ns: nsPath}, nil
}

// Close closes the socket.
func (d *SockDiag) Close() error { return unix.Close(d.fd) }

// Unix dumps the namespace's AF_UNIX sockets by inode.
func (d *SockDiag) Unix() (map[uint64]UnixSocket, error) { return dumpUnix(d.fd) }

// Inet dumps the namespace's TCP and UDP sockets over IPv4 and IPv6 that
// have an inode: four dumps (one per family and protocol). Sockets of
// the dumps that succeeded are returned even when another failed; the
// error names the failed ones. IPv6 dumps fail silently when the kernel
// has no IPv6 at all.
func (d *SockDiag) Inet() ([]InetSocket, error) {
	var out []InetSocket
	format, args := "procscan: inet_diag in %s", []any{d.ns}
	for _, family := range []int{unix.AF_INET, unix.AF_INET6} {
		for _, proto := range []int{unix.IPPROTO_TCP, unix.IPPROTO_UDP} {
			var err error
			out, err = dumpInet(d.fd, family, proto, out)
			if err == nil || family == unix.AF_INET6 && errors.Is(err, unix.ENOENT) && !haveIPv6() {
				continue
			}
			name := protoName(proto)
			if family == unix.AF_INET6 {
				name += "6"
			}
			format += "; " + name + ": %w"
			args = append(args, err)
		}
	}
	if len(args) > 1 {
		// One line that wraps every failure.
		return out, fmt.Errorf(format, args...)
	}
	return out, nil
}

func protoName(p int) string {
	if p == unix.IPPROTO_UDP {
		return "udp"
	}
	return "tcp"
}

// haveIPv6 reports whether the kernel can make IPv6 sockets at all.
func haveIPv6() bool {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return !errors.Is(err, unix.EAFNOSUPPORT)
	}
	unix.Close(fd)
	return true
}
