// Package objname names kernel objects for people: the open file
// description behind an fd ("tcp 127.0.0.1:8080 LISTEN", "unix
// /run/app.sock LISTEN", "pipe:[4711] write end", "eventfd", "memfd
// heap"), and the channels between processes ("pipe:[4711]", "unix
// socketpair", "tcp 127.0.0.1:41822 ↔ 127.0.0.1:8080").
//
// It is the one place such names are made: show, who, graph, audit and
// diff call it, so an object reads the same in every output. Of names one
// fd from what the snapshot records of it (its link text, inode mode and
// open flags, and the sock_diag entry of its socket); Names indexes a
// whole snapshot so that each fd, group and channel is named with what
// the snapshot knows around it (a pty master's slave).
//
// Names are raw snapshot text (paths and unix socket names come from
// /proc and from other users): escape them for the medium they are
// printed in. objname neither escapes nor cuts.
package objname

import (
	"strconv"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// Kind is the sort of object a name is of.
type Kind string

// Kinds.
const (
	File      Kind = "file"      // a regular file
	Deleted   Kind = "deleted"   // a file that was unlinked while open
	Dir       Kind = "dir"       // a directory
	Device    Kind = "device"    // a character or block device (not a pty)
	PTY       Kind = "pty"       // a pseudo-terminal master or slave
	FIFO      Kind = "fifo"      // a named pipe
	Pipe      Kind = "pipe"      // an anonymous pipe
	Listener  Kind = "listener"  // a listening stream socket
	Socket    Kind = "socket"    // any other socket
	Anon      Kind = "anon"      // an anonymous inode: eventfd, timerfd, signalfd, epoll, pidfd, inotify...
	Memfd     Kind = "memfd"     // a memfd_create(2) file
	Namespace Kind = "namespace" // a namespace file (nsfs)
	Task      Kind = "task"      // a per-task object: an address space, an fd table...
	Other     Kind = "other"     // anything else
)

// Name names one open file description.
type Name struct {
	Kind Kind
	// Text is the object: a path, "tcp 127.0.0.1:8080 LISTEN", "eventfd".
	Text string
	// End says which end of a channel the description is, "" for none:
	// "read end", "write end", "read+write" (a pipe or fifo by its open
	// mode), "master" (a pty's).
	End string
}

// String is the text with the end: "pipe:[4711] write end".
func (n Name) String() string {
	if n.End == "" {
		return n.Text
	}
	return n.Text + " " + n.End
}

// Brief is a name as a drawing labels it: without the inode number that
// only tells one anonymous pipe or unnamed socket from another ("pipe:[4711]
// write end" is "pipe write end", "socket:[9]" "socket"), what a person
// reads at a glance. The full name stays where one object must be found
// again (tooltips, tables, who).
func Brief(name string) string {
	for _, p := range []string{"pipe:[", "socket:["} {
		if strings.HasPrefix(name, p) {
			if i := strings.IndexByte(name, ']'); i > 0 {
				return p[:len(p)-2] + name[i+1:]
			}
		}
	}
	return name
}

// Open-mode bits of the flags fdinfo gives (O_ACCMODE).
const (
	accMode  = 3
	readOnly = 0
	wrOnly   = 1
)

// Mode bits of an inode (S_IFMT and its types), as statx gives them.
const (
	sIFMT  = 0o170000
	sIFDIR = 0o040000
	sIFCHR = 0o020000
	sIFBLK = 0o060000
	sIFIFO = 0o010000
)

// Of names the open file description fd holds. sock is the snapshot's
// entry for its socket (nil when it is no socket or the snapshot has
// none); hostNetNS is the host's network namespace (Host.NetNS): a socket
// of another namespace says which.
func Of(fd *snapshot.FD, sock *snapshot.Socket, hostNetNS uint64) Name {
	t := fd.Target
	switch {
	case strings.HasPrefix(t, "socket:["):
		if sock == nil {
			return Name{Kind: Socket, Text: t}
		}
		return socketName(sock, hostNetNS)
	case strings.HasPrefix(t, "pipe:["):
		return Name{Kind: Pipe, Text: t, End: end(fd.Flags)}
	case strings.HasPrefix(t, "anon_inode:"):
		return Name{Kind: Anon, Text: anonKind(t)}
	case strings.HasPrefix(t, "/memfd:"):
		name := strings.TrimSuffix(strings.TrimPrefix(t, "/memfd:"), " (deleted)")
		return Name{Kind: Memfd, Text: "memfd " + name}
	case !strings.HasPrefix(t, "/") && nsfs(t):
		kind, ino, _ := strings.Cut(strings.TrimSuffix(t, "]"), ":[")
		return Name{Kind: Namespace, Text: kind + " namespace " + ino}
	}
	switch fd.Mode & sIFMT {
	case sIFDIR:
		return Name{Kind: Dir, Text: "dir " + t}
	case sIFIFO:
		return Name{Kind: FIFO, Text: "fifo " + t, End: end(fd.Flags)}
	case sIFCHR:
		switch {
		case t == "/dev/ptmx" || strings.HasSuffix(t, "/pts/ptmx"):
			return Name{Kind: PTY, Text: "pty", End: "master"}
		case strings.HasPrefix(t, "/dev/pts/"):
			return Name{Kind: PTY, Text: "pty " + t}
		}
		return Name{Kind: Device, Text: t}
	case sIFBLK:
		return Name{Kind: Device, Text: t}
	}
	if strings.HasSuffix(t, " (deleted)") {
		return Name{Kind: Deleted, Text: t}
	}
	if strings.HasPrefix(t, "/") {
		return Name{Kind: File, Text: t}
	}
	return Name{Kind: Other, Text: t}
}

// end names a pipe or fifo end by its open mode.
func end(flags int) string {
	switch flags & accMode {
	case readOnly:
		return "read end"
	case wrOnly:
		return "write end"
	}
	return "read+write"
}

// anonKind is the kind of an anonymous inode from its link text:
// "anon_inode:[eventfd]" is "eventfd", "anon_inode:[eventpoll]" "epoll",
// "anon_inode:inotify" "inotify".
func anonKind(t string) string {
	k := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(t, "anon_inode:"), "["), "]")
	if k == "eventpoll" {
		return "epoll"
	}
	return k
}

// nsfs reports whether a link text is a namespace file's, "net:[4026531840]".
func nsfs(t string) bool {
	kind, rest, ok := strings.Cut(t, ":[")
	if !ok || !strings.HasSuffix(rest, "]") {
		return false
	}
	switch kind {
	case "net", "mnt", "pid", "pid_for_children", "user", "uts", "ipc", "cgroup", "time", "time_for_children":
	default:
		return false
	}
	_, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64)
	return err == nil
}

// socketName names a socket from its sock_diag entry.
func socketName(k *snapshot.Socket, hostNetNS uint64) Name {
	n := Name{Kind: Socket}
	switch k.Protocol {
	case "unix-stream", "unix-dgram", "unix-seqpacket":
		n.Text = unixName(k)
	case "tcp", "udp":
		n.Text = inetName(k)
	default:
		n.Text = k.Protocol + " socket"
	}
	if k.State == "LISTEN" {
		n.Kind = Listener
	}
	if k.NetNS != 0 && hostNetNS != 0 && k.NetNS != hostNetNS {
		n.Text += " (netns " + strconv.FormatUint(k.NetNS, 10) + ")"
	}
	return n
}

// unixWord is how a unix socket's type is written: "unix" for a stream
// socket, the most common, "unix-dgram" and "unix-seqpacket" otherwise.
func unixWord(protocol string) string {
	if protocol == "unix-stream" {
		return "unix"
	}
	return protocol
}

func unixName(k *snapshot.Socket) string {
	w := unixWord(k.Protocol)
	switch {
	case k.State == "LISTEN":
		return w + " " + k.Local + " LISTEN"
	case k.Local != "" && k.Peer != 0 && k.Protocol != "unix-dgram":
		// A stream or seqpacket socket accepted from a listener has the
		// listener's name.
		return w + " " + k.Local + " (accepted)"
	case k.Local != "" && k.Remote != "":
		return w + " " + k.Local + " → " + k.Remote
	case k.Local != "":
		return w + " " + k.Local
	case k.Remote != "":
		return w + " → " + k.Remote
	case k.Peer != 0:
		return w + " socketpair"
	}
	return w + " (unconnected)"
}

func inetName(k *snapshot.Socket) string {
	switch {
	case k.State == "LISTEN":
		return k.Protocol + " " + k.Local + " LISTEN"
	case k.Remote != "" && k.State == "ESTAB":
		return k.Protocol + " " + k.Local + " → " + k.Remote
	case k.Remote != "":
		return k.Protocol + " " + k.Local + " → " + k.Remote + " " + k.State
	case k.Protocol == "udp":
		return "udp " + k.Local
	}
	return k.Protocol + " " + k.Local + " " + k.State
}
