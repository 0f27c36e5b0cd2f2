//go:build linux

package procscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// UnixSocket is one AF_UNIX socket as sock_diag reports it.
type UnixSocket struct {
	Ino   uint64
	Type  int // unix.SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
	State int
	// Peer is the inode of the connected peer socket, or 0.
	Peer uint64
	// Name is the bound path, "@name" for an abstract name, or "".
	Name string
}

// Values of <linux/unix_diag.h> that x/sys/unix does not define.
const (
	udiagShowName = 0x1
	udiagShowPeer = 0x4
	unixDiagName  = 0
	unixDiagPeer  = 2
)

// unixDiagReq is struct unix_diag_req.
type unixDiagReq struct {
	Family   uint8
	Protocol uint8
	Pad      uint16
	States   uint32
	Ino      uint32
	Show     uint32
	Cookie   [2]uint32
}

// ErrSockDiagSyntax is wrapped by ParseUnixDiag errors.
var ErrSockDiagSyntax = errors.New("sock_diag message syntax error")

// ParseUnixDiag parses the payload of one SOCK_DIAG_BY_FAMILY answer for
// AF_UNIX: struct unix_diag_msg and its attributes.
func ParseUnixDiag(b []byte) (UnixSocket, error) {
	const head = 16 // family, type, state, pad, ino u32, cookie [2]u32
	if len(b) < head {
		return UnixSocket{}, fmt.Errorf("%w: %d bytes, want at least %d", ErrSockDiagSyntax, len(b), head)
	}
	s := UnixSocket{Type: int(b[1]), State: int(b[2]), Ino: uint64(binary.NativeEndian.Uint32(b[4:8]))}
	for rest := b[head:]; len(rest) >= 4; {
		l := int(binary.NativeEndian.Uint16(rest[0:2]))
		typ := binary.NativeEndian.Uint16(rest[2:4])
		if l < 4 || l > len(rest) {
			return s, fmt.Errorf("%w: attribute length %d", ErrSockDiagSyntax, l)
		}
		val := rest[4:l]
		switch typ {
		case unixDiagName:
			if len(val) > 0 && val[0] == 0 {
				s.Name = "@" + string(val[1:])
			} else {
				n := len(val)
				for n > 0 && val[n-1] == 0 {
					n--
				}
				s.Name = string(val[:n])
			}
		case unixDiagPeer:
			if len(val) < 4 {
				return s, fmt.Errorf("%w: short peer attribute", ErrSockDiagSyntax)
			}
			s.Peer = uint64(binary.NativeEndian.Uint32(val[:4]))
		}
		adv := (l + 3) &^ 3
		if adv > len(rest) {
			break
		}
		rest = rest[adv:]
	}
	return s, nil
}

// socketIn makes a NETLINK_SOCK_DIAG socket in another network namespace.
// If the thread cannot return to its own namespace it stays locked, and
// Go ends it with the goroutine: no other code ever runs in the wrong
// namespace.
func socketIn(nsPath string) (int, error) {
	target, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("procscan: open %s: %w", nsPath, err)
	}
	defer unix.Close(target)
	type result struct {
		fd  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		own, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{-1, fmt.Errorf("procscan: own network namespace: %w", err)}
			return
		}
		defer unix.Close(own)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{-1, fmt.Errorf("procscan: enter %s: %w", nsPath, err)}
			return
		}
		fd, sockErr := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
		if err := unix.Setns(own, unix.CLONE_NEWNET); err != nil {
			// Stay locked: the thread dies with this goroutine.
			if sockErr == nil {
				unix.Close(fd)
			}
			done <- result{-1, fmt.Errorf("procscan: leave %s: %w", nsPath, err)}
			return
		}
		runtime.UnlockOSThread()
		if sockErr != nil {
			sockErr = fmt.Errorf("procscan: sock_diag socket in %s: %w", nsPath, sockErr)
		}
		done <- result{fd, sockErr}
	}()
	r := <-done
	return r.fd, r.err
}

func dumpUnix(fd int) (map[uint64]UnixSocket, error) {
	req := unixDiagReq{Family: unix.AF_UNIX, States: 0xffffffff, Show: udiagShowName | udiagShowPeer}
	out := map[uint64]UnixSocket{}
	err := sockDiagDump(fd, (*[unsafe.Sizeof(req)]byte)(unsafe.Pointer(&req))[:], func(data []byte) error {
		s, err := ParseUnixDiag(data)
		if err != nil {
			return err
		}
		out[s.Ino] = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// sockDiagDump sends one SOCK_DIAG_BY_FAMILY dump request (req is the
// family's request struct) on a NETLINK_SOCK_DIAG socket and calls each
// with the payload of every answer until NLMSG_DONE. Requests on one
// socket run one after the other.
func sockDiagDump(fd int, req []byte, each func(data []byte) error) error {
	hdr := unix.NlMsghdr{
		Len:   uint32(unix.SizeofNlMsghdr + len(req)),
		Type:  unix.SOCK_DIAG_BY_FAMILY,
		Flags: unix.NLM_F_REQUEST | unix.NLM_F_DUMP,
		Seq:   1,
	}
	msg := make([]byte, 0, hdr.Len)
	msg = append(msg, (*[unix.SizeofNlMsghdr]byte)(unsafe.Pointer(&hdr))[:]...)
	msg = append(msg, req...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("procscan: sock_diag request: %w", err)
	}
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("procscan: sock_diag answer: %w", err)
		}
		for rest := buf[:n]; len(rest) >= unix.SizeofNlMsghdr; {
			l := int(binary.NativeEndian.Uint32(rest[0:4]))
			typ := binary.NativeEndian.Uint16(rest[4:6])
			if l < unix.SizeofNlMsghdr || l > len(rest) {
				return fmt.Errorf("procscan: sock_diag answer: %w: message length %d", ErrSockDiagSyntax, l)
			}
			data := rest[unix.SizeofNlMsghdr:l]
			switch typ {
			case unix.NLMSG_DONE:
				// A dump that failed part way says so here.
				if len(data) >= 4 {
					if code := int32(binary.NativeEndian.Uint32(data[:4])); code < 0 {
						return fmt.Errorf("procscan: sock_diag dump: %w", unix.Errno(-code))
					}
				}
				return nil
			case unix.NLMSG_ERROR:
				if len(data) >= 4 {
					if code := int32(binary.NativeEndian.Uint32(data[:4])); code != 0 {
						return fmt.Errorf("procscan: sock_diag: %w", unix.Errno(-code))
					}
				}
				return nil
			default:
				if err := each(data); err != nil {
					return err
				}
			}
			adv := (l + 3) &^ 3
			if adv >= len(rest) {
				break
			}
			rest = rest[adv:]
		}
	}
}
