//go:build linux

package procscan

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// SocketProtocol returns the protocol name the kernel gives the socket
// that fd of pid holds ("NETLINK", "UNIX-STREAM", "TCPv6", "PACKET"), from
// the socket inode's system.sockprotoname attribute, read through the
// /proc/PID/fd/N link. It is for sockets no sock_diag dump lists: a
// netlink or packet socket, or one of a network namespace that could not
// be entered.
func SocketProtocol(procRoot string, pid, fd int) (string, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	link := filepath.Join(procRoot, strconv.Itoa(pid), "fd", strconv.Itoa(fd))
	var buf [64]byte
	n, err := unix.Getxattr(link, "system.sockprotoname", buf[:])
	if err != nil {
		return "", fmt.Errorf("procscan: protocol of pid %d fd %d: %w", pid, fd, err)
	}
	return string(bytes.TrimRight(buf[:n], "\x00")), nil
}

// StateName is the name ss(8) gives a socket state number of
// include/net/tcp_states.h ("LISTEN", "ESTAB", "UNCONN"), which unix
// sockets use too; an unknown number is given as "state N".
func StateName(state int) string {
	switch state {
	case TCPEstablished:
		return "ESTAB"
	case TCPSynSent:
		return "SYN-SENT"
	case TCPSynRecv:
		return "SYN-RECV"
	case TCPFinWait1:
		return "FIN-WAIT-1"
	case TCPFinWait2:
		return "FIN-WAIT-2"
	case TCPTimeWait:
		return "TIME-WAIT"
	case TCPClose:
		return "UNCONN"
	case TCPCloseWait:
		return "CLOSE-WAIT"
	case TCPLastAck:
		return "LAST-ACK"
	case TCPListen:
		return "LISTEN"
	case TCPClosing:
		return "CLOSING"
	case TCPNewSynRecv:
		return "NEW-SYN-RECV"
	}
	return "state " + strconv.Itoa(state)
}
