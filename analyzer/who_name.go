//go:build linux

package analyzer

import (
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/objname"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// whoName names the description who was asked about (tfd, in table tt),
// as a snapshot of it would (objname.Of): a pipe's or fifo's end from its
// open mode (read now when the scan read no fdinfo), a socket from the
// sock_diag dumps channel pairing made (x).
func (s *state) whoName(x *chanIndex, tt int, tfd *procscan.FD) objname.Name {
	fd := snapshot.FD{FD: tfd.Num, Target: tfd.Target, Dev: tfd.Dev, Ino: tfd.Ino, Mode: tfd.Mode, Flags: tfd.Flags}
	if strings.HasPrefix(tfd.Target, "pipe:") || tfd.Mode&unix.S_IFMT == unix.S_IFIFO {
		if flags, ok := s.openFlags(tt, tfd); ok {
			fd.Flags = flags
		}
	}
	var sock *snapshot.Socket
	if strings.HasPrefix(tfd.Target, "socket:") {
		sock = x.describe(tfd.Ino)
	}
	hostNS, _ := procscan.HostNamespaces(s.procRoot)
	return objname.Of(&fd, sock, hostNS["net"])
}

// describe is the snapshot description of socket inode ino from the
// dumps, or nil if none lists it.
func (x *chanIndex) describe(ino uint64) *snapshot.Socket {
	if sk, ok := x.socks[ino]; ok {
		k := unixSocketOut(sk, x.unixNS[ino], x.socks[sk.Peer].Name)
		return &k
	}
	for ns, list := range x.inet {
		for i := range list {
			if list[i].Ino == ino {
				k := inetSocketOut(&list[i], ns)
				return &k
			}
		}
	}
	return nil
}
