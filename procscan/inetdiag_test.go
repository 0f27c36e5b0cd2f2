//go:build linux

package procscan

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// inetMsg builds a struct inet_diag_msg for tests.
func inetMsg(family, state byte, src, dst []byte, sport, dport uint16, ino uint32) []byte {
	b := make([]byte, sizeofInetDiagMsg)
	b[0], b[1] = family, state
	b[4], b[5], b[6], b[7] = byte(sport>>8), byte(sport), byte(dport>>8), byte(dport)
	copy(b[8:24], src)
	copy(b[24:40], dst)
	binary.NativeEndian.PutUint32(b[68:72], ino)
	return b
}

func TestParseInetDiag(t *testing.T) {
	lo := []byte{127, 0, 0, 1}
	s, err := ParseInetDiag(inetMsg(unix.AF_INET, TCPEstablished, lo, lo, 41822, 5000, 77))
	if err != nil {
		t.Fatal(err)
	}
	if s.Family != unix.AF_INET || s.Ino != 77 || s.Local.String() != "127.0.0.1:41822" || s.Remote.String() != "127.0.0.1:5000" {
		t.Errorf("v4: %+v", s)
	}
	s.Protocol = unix.IPPROTO_TCP
	if !s.Connected() {
		t.Errorf("established tcp is not connected: %+v", s)
	}
	v6 := netip.MustParseAddr("::1").As16()
	s, err = ParseInetDiag(append(inetMsg(unix.AF_INET6, TCPListen, v6[:], make([]byte, 16), 5000, 0, 78), 5, 0, 8, 0, 1, 0, 0, 0))
	if err != nil || s.Local.String() != "[::1]:5000" || s.Remote.Port() != 0 {
		t.Errorf("v6 with an attribute: %+v, %v", s, err)
	}
	s.Protocol = unix.IPPROTO_TCP
	if s.Connected() {
		t.Errorf("a listening socket counts as connected: %+v", s)
	}
	for name, c := range map[string]struct {
		state byte
		proto int
		dport uint16
		ino   uint32
		want  bool
	}{
		"udp connected":   {TCPEstablished, unix.IPPROTO_UDP, 53, 1, true},
		"udp unconnected": {TCPClose, unix.IPPROTO_UDP, 0, 1, false},
		"tcp close-wait":  {TCPCloseWait, unix.IPPROTO_TCP, 80, 1, true},
		"tcp closed":      {TCPClose, unix.IPPROTO_TCP, 80, 1, false},
		"no inode":        {TCPEstablished, unix.IPPROTO_TCP, 80, 0, false},
	} {
		s, err := ParseInetDiag(inetMsg(unix.AF_INET, c.state, lo, lo, 1000, c.dport, c.ino))
		s.Protocol = c.proto
		if err != nil || s.Connected() != c.want {
			t.Errorf("%s: Connected() = %v, want %v (%v)", name, s.Connected(), c.want, err)
		}
	}
	for name, bad := range map[string][]byte{
		"short":  inetMsg(unix.AF_INET, 1, lo, lo, 1, 2, 3)[:71],
		"family": inetMsg(unix.AF_UNIX, 1, lo, lo, 1, 2, 3),
	} {
		if _, err := ParseInetDiag(bad); !errors.Is(err, ErrSockDiagSyntax) {
			t.Errorf("%s: err = %v, want ErrSockDiagSyntax", name, err)
		}
	}
}

// FuzzParseInetDiag: any payload parses or fails with ErrSockDiagSyntax;
// what parses has addresses of its family. The corpus holds real answers
// of this kernel (testdata/fuzz/FuzzParseInetDiag: TCP and UDP over IPv4
// and IPv6, listening, connected, IPv4-mapped).
func FuzzParseInetDiag(f *testing.F) {
	f.Add(inetMsg(unix.AF_INET, TCPEstablished, []byte{127, 0, 0, 1}, []byte{127, 0, 0, 1}, 1, 2, 3))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseInetDiag(data)
		if err != nil {
			if !errors.Is(err, ErrSockDiagSyntax) {
				t.Fatalf("error %v does not wrap ErrSockDiagSyntax", err)
			}
			return
		}
		if s.Local.Addr().Is4() != (s.Family == unix.AF_INET) || s.Remote.Addr().Is4() != (s.Family == unix.AF_INET) {
			t.Fatalf("family %d with addresses %v, %v", s.Family, s.Local, s.Remote)
		}
		if s.Local.Port() != uint16(data[4])<<8|uint16(data[5]) || s.Remote.Port() != uint16(data[6])<<8|uint16(data[7]) {
			t.Fatalf("ports %d, %d from % x", s.Local.Port(), s.Remote.Port(), data[4:8])
		}
	})
}
