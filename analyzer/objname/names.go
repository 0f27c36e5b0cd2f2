package objname

import (
	"strconv"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
)

// Names names the objects of one snapshot. It indexes the snapshot once;
// the snapshot must not change while it is used.
type Names struct {
	s       *snapshot.Snapshot
	sockets map[uint64]*snapshot.Socket
	// ptySlave maps the holders of a pty master to the slave's name.
	ptySlave map[snapshot.Member]string
	// listening holds the local addresses of listening sockets, to tell
	// the server end of a tcp connection from its client.
	listening map[string]bool
	// endOf maps the holders of each channel end to the endpoint's index
	// and the end's: a socket the snapshot has no entry for (one written
	// before sockets were recorded) is named from its channel.
	endOf map[snapshot.Member][2]int
}

// New indexes s for naming.
func New(s *snapshot.Snapshot) *Names {
	n := &Names{s: s, sockets: s.SocketIndex(), ptySlave: map[snapshot.Member]string{}, listening: map[string]bool{},
		endOf: map[snapshot.Member][2]int{}}
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		if e.Kind == "pty" && len(e.Ends) > 0 && e.Name != "" {
			for _, m := range e.Ends[0] {
				n.ptySlave[m] = e.Name
			}
		}
		for j, end := range e.Ends {
			for _, m := range end {
				n.endOf[m] = [2]int{i, j}
			}
		}
	}
	for _, k := range s.Sockets {
		if k.State == "LISTEN" && (k.Protocol == "tcp" || k.Protocol == "udp") {
			n.listening[k.Local] = true
		}
	}
	return n
}

// FD names the open file description fd member m holds;
// Text is "?" when the snapshot has no such fd.
func (n *Names) FD(m snapshot.Member) Name {
	p := n.s.Process(m.PID)
	if p == nil {
		return Name{Kind: Other, Text: "?"}
	}
	fd := p.FDOf(m)
	if fd == nil {
		return Name{Kind: Other, Text: "?"}
	}
	sock := n.Socket(fd)
	name := Of(fd, sock, n.s.Host.NetNS)
	if slave := n.ptySlave[m]; slave != "" && name.Kind == PTY {
		name.Text = "pty " + slave
	}
	if ref, ok := n.endOf[m]; ok && sock == nil && name.Kind == Socket {
		name.Text = channelEnd(&n.s.Endpoints[ref[0]], ref[1])
	}
	return name
}

// channelEnd names a socket by the channel it is end i of, for snapshots
// without socket entries: a tcp or udp end by its address and its
// peer's, a unix socket by its channel's name.
func channelEnd(e *snapshot.Endpoint, i int) string {
	switch {
	case len(e.Addresses) == 2 && i < 2:
		return e.Kind + " " + e.Addresses[i] + " → " + e.Addresses[1-i]
	case strings.HasPrefix(e.Kind, "unix-") && e.Name == "":
		return unixWord(e.Kind) + " socketpair"
	case strings.HasPrefix(e.Kind, "unix-"):
		return unixWord(e.Kind) + " " + e.Name + " (connected)"
	}
	return e.Label()
}

// Socket returns the snapshot's entry for the socket fd holds, or nil.
func (n *Names) Socket(fd *snapshot.FD) *snapshot.Socket {
	if !strings.HasPrefix(fd.Target, "socket:[") {
		return nil
	}
	return n.sockets[fd.Ino]
}

// Group names the object a group holds: a file group's description (by
// its first member), or a per-task object as kcmp's table names it
// ("address space"), Kind Task.
func (n *Names) Group(g snapshot.Group) Name {
	if g.Type != snapshot.TypeFile || len(g.Members) == 0 {
		if t, ok := kcmp.Named(g.Type); ok {
			return Name{Kind: Task, Text: t.Info().Object}
		}
		return Name{Kind: Other, Text: g.Type}
	}
	return n.FD(g.Members[0])
}

// Channel describes a channel between processes for people.
type Channel struct {
	// Text names the channel: "pipe:[4711]", "fifo /run/ctl", "unix
	// /run/app.sock", "unix socketpair", "unix-dgram → /dev/log", "tcp
	// 127.0.0.1:41822 → 127.0.0.1:8080", "udp 10.0.0.1:5000 ↔
	// 10.0.0.2:53", "pty /dev/pts/3".
	Text string
	// From and To index the end data flows from and the end it flows to
	// (a pipe's write end and read end), or a connection's client and
	// server; both are -1 when the channel has no such direction (a
	// socketpair, a udp exchange, a pty).
	From, To int
	// Ends names each end, in the order of Endpoint.Ends: "read end",
	// "write end"; "client", "server"; "master", "slave"; the address of
	// a tcp or udp end.
	Ends []string
}

// Channel names endpoint e.
func (n *Names) Channel(e *snapshot.Endpoint) Channel {
	c := Channel{From: -1, To: -1, Ends: make([]string, len(e.Ends))}
	switch {
	case e.Kind == "pipe" || e.Kind == "fifo":
		// Ends are the read end, then the write end.
		c.Text = e.Kind
		if len(e.Ends) > 0 && len(e.Ends[0]) > 0 {
			if name := n.FD(e.Ends[0][0]); name.Kind == Pipe || name.Kind == FIFO {
				c.Text = name.Text
			}
		}
		if len(e.Ends) == 2 {
			c.From, c.To = 1, 0
			c.Ends[0], c.Ends[1] = "read end", "write end"
		}
	case e.Kind == "pty":
		c.Text = "pty " + e.Name
		for i := range c.Ends {
			c.Ends[i] = "slave"
		}
		if len(c.Ends) > 0 {
			c.Ends[0] = "master"
		}
	case strings.HasPrefix(e.Kind, "unix-"):
		c.Text = n.unixChannel(e, &c)
	case len(e.Addresses) == 2:
		copy(c.Ends, e.Addresses)
		c.Text = e.Kind + " " + e.Addresses[0] + " ↔ " + e.Addresses[1]
		if e.Kind == "tcp" {
			for client, server := range [2]int{1, 0} {
				if n.listens(e.Addresses[server]) && !n.listens(e.Addresses[client]) {
					c.From, c.To = client, server
					c.Text = "tcp " + e.Addresses[client] + " → " + e.Addresses[server]
				}
			}
		}
	default:
		c.Text = e.Label()
	}
	return c
}

// unixChannel names a unix socket channel and finds its client and
// server: the end whose socket has the bound name is the server (it was
// accepted from the listener of that name), the other the client.
func (n *Names) unixChannel(e *snapshot.Endpoint, c *Channel) string {
	w := unixWord(e.Kind)
	if e.Name == "" {
		return w + " socketpair"
	}
	if len(e.Ends) == 2 {
		local := [2]string{}
		for i, end := range e.Ends {
			if len(end) == 0 {
				continue
			}
			if p := n.s.Process(end[0].PID); p != nil {
				if fd := p.FDOf(end[0]); fd != nil {
					if k := n.Socket(fd); k != nil {
						local[i] = k.Local
					}
				}
			}
		}
		for client, server := range [2]int{1, 0} {
			if local[server] == e.Name && local[client] != e.Name {
				c.From, c.To = client, server
				c.Ends[client], c.Ends[server] = "client", "server"
				if e.Kind == "unix-dgram" {
					return w + " → " + e.Name
				}
			}
		}
	}
	return w + " " + e.Name
}

// listens reports whether a tcp address is one a scanned socket listens
// on, itself or on the wildcard address of its family and port.
func (n *Names) listens(addr string) bool {
	if n.listening[addr] {
		return true
	}
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return false
	}
	port := addr[i+1:]
	if _, err := strconv.Atoi(port); err != nil {
		return false
	}
	return n.listening["0.0.0.0:"+port] || n.listening["[::]:"+port]
}
