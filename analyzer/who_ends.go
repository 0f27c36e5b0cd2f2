//go:build linux

package analyzer

import (
	"strconv"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// otherEnd finds the kind, the name and the holders of the other end of
// the channel tfd is one end of: a pipe (ends share an inode and differ in
// access mode, read from the fdinfo of those few fds only), a connected
// unix socket, a local TCP or UDP connection (one sock_diag socket in the
// target's network namespace) or a pty. Empty when tfd is no such end or
// its peer cannot be found.
func otherEnd(res *procscan.Result, procRoot string, target *procscan.Process, tfd *procscan.FD) (kind, name string, out []WhoHolder) {
	holdersOf := func(match func(p *procscan.Process, f *procscan.FD) bool) []WhoHolder {
		var hs []WhoHolder
		for _, p := range res.Processes {
			for i := range p.FDs {
				if match(p, &p.FDs[i]) {
					hs = append(hs, WhoHolder{Process: p, FD: p.FDs[i]})
				}
			}
		}
		return hs
	}
	switch {
	case strings.HasPrefix(tfd.Target, "pipe:"):
		mine, err := procscan.ReadFDInfo(procRoot, target.PID, tfd.Num)
		if err != nil {
			return "", "", nil
		}
		return "pipe", "", holdersOf(func(p *procscan.Process, f *procscan.FD) bool {
			if f.Dev != tfd.Dev || f.Ino != tfd.Ino {
				return false
			}
			info, err := procscan.ReadFDInfo(procRoot, p.PID, f.Num)
			return err == nil && (info.Flags&3 == 0) != (mine.Flags&3 == 0)
		})
	case strings.HasPrefix(tfd.Target, "socket:"):
		return socketPeer(res, procRoot, target, tfd, holdersOf)
	case tfd.IsPTYMaster():
		k, err := ptyMaster(procRoot, target.PID, tfd)
		if err != nil {
			return "", "", nil
		}
		return "pty", "/dev/pts/" + strconv.Itoa(k.index), holdersOf(func(_ *procscan.Process, f *procscan.FD) bool {
			index, ok := f.PTYSlaveIndex()
			return ok && ptyKey{f.Dev, index} == k
		})
	}
	if index, ok := tfd.PTYSlaveIndex(); ok {
		k := ptyKey{tfd.Dev, index}
		return "pty", "/dev/pts/" + strconv.Itoa(index), holdersOf(func(p *procscan.Process, f *procscan.FD) bool {
			if !f.IsPTYMaster() {
				return false
			}
			mk, err := ptyMaster(procRoot, p.PID, f)
			return err == nil && mk == k
		})
	}
	return "", "", nil
}

// socketPeer finds the peer of a unix, TCP or UDP socket with the dumps
// of the target's network namespace.
func socketPeer(res *procscan.Result, procRoot string, target *procscan.Process, tfd *procscan.FD,
	holdersOf func(func(*procscan.Process, *procscan.FD) bool) []WhoHolder) (string, string, []WhoHolder) {
	d, err := procscan.OpenSockDiag(netNSPath(procRoot, target, ownNetNS()))
	if err != nil {
		return "", "", nil
	}
	defer d.Close()
	heldBy := func(ino uint64) []WhoHolder {
		peer := "socket:[" + strconv.FormatUint(ino, 10) + "]"
		return holdersOf(func(_ *procscan.Process, f *procscan.FD) bool { return f.Target == peer })
	}
	if socks, err := d.Unix(); err == nil {
		if sk, ok := socks[tfd.Ino]; ok {
			if sk.Peer == 0 {
				return "", "", nil
			}
			name := sk.Name
			if name == "" {
				name = socks[sk.Peer].Name
			}
			return "unix-" + sockType(sk.Type), name, heldBy(sk.Peer)
		}
	}
	list, _ := d.Inet() // what the dumps that worked saw
	mine := -1
	for i := range list {
		if list[i].Ino == tfd.Ino {
			mine = i
		}
	}
	if mine < 0 || !list[mine].Connected() {
		return "", "", nil
	}
	k := keyOfInet(&list[mine])
	mirror := inetKey{k.proto, k.remote, k.local}
	var same, peers []int
	for i := range list {
		if !list[i].Connected() {
			continue
		}
		switch keyOfInet(&list[i]) {
		case k:
			same = append(same, i)
		case mirror:
			peers = append(peers, i)
		}
	}
	kind := protoKind(list[mine].Protocol)
	name := list[mine].Local.String() + " <-> " + list[mine].Remote.String()
	if len(same) != 1 || len(peers) != 1 || list[peers[0]].Ino == tfd.Ino {
		return kind, name, nil // no peer, or not one that is certain
	}
	return kind, list[mine].Local.String() + " <-> " + list[peers[0]].Local.String(), heldBy(list[peers[0]].Ino)
}
