//go:build linux

package analyzer

import (
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/objname"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// whoName names the description who was asked about, as a snapshot of it
// would (objname.Of): a pipe's or fifo's end from its open mode (read
// now when the scan read no fdinfo), a socket from the sock_diag dump of
// the target's network namespace.
func whoName(procRoot string, target *procscan.Process, tfd *procscan.FD) objname.Name {
	fd := snapshot.FD{FD: tfd.Num, Target: tfd.Target, Dev: tfd.Dev, Ino: tfd.Ino, Mode: tfd.Mode, Flags: tfd.Flags}
	if !tfd.HasInfo && (strings.HasPrefix(tfd.Target, "pipe:") || tfd.Mode&unix.S_IFMT == unix.S_IFIFO) {
		if info, err := procscan.ReadFDInfo(procRoot, target.PID, tfd.Num); err == nil {
			fd.Flags = info.Flags
		}
	}
	var sock *snapshot.Socket
	if strings.HasPrefix(tfd.Target, "socket:") {
		sock = describeSocket(procRoot, target, tfd)
	}
	hostNS, _ := procscan.HostNamespaces(procRoot)
	return objname.Of(&fd, sock, hostNS["net"])
}

// describeSocket is the snapshot description of the socket tfd holds,
// from the dumps of the target's network namespace; nil if no dump
// lists it.
func describeSocket(procRoot string, target *procscan.Process, tfd *procscan.FD) *snapshot.Socket {
	d, err := procscan.OpenSockDiag(netNSPath(procRoot, target, ownNetNS()))
	if err != nil {
		return nil
	}
	defer d.Close()
	ns := target.Namespaces["net"]
	if socks, err := d.Unix(); err == nil {
		if sk, ok := socks[tfd.Ino]; ok {
			k := unixSocketOut(sk, ns, socks[sk.Peer].Name)
			return &k
		}
	}
	list, _ := d.Inet()
	for i := range list {
		if list[i].Ino == tfd.Ino {
			k := inetSocketOut(&list[i], ns)
			return &k
		}
	}
	return nil
}
