package objname

import (
	"testing"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

const host = 4026531840

func TestOf(t *testing.T) {
	for _, c := range []struct {
		fd   snapshot.FD
		sock *snapshot.Socket
		want string
		kind Kind
	}{
		{snapshot.FD{Target: "/var/log/app.log", Mode: 0o100644}, nil, "/var/log/app.log", File},
		{snapshot.FD{Target: "/tmp/x (deleted)", Mode: 0o100600}, nil, "/tmp/x (deleted)", Deleted},
		{snapshot.FD{Target: "/etc", Mode: 0o040755}, nil, "dir /etc", Dir},
		{snapshot.FD{Target: "/dev/null", Mode: 0o020666}, nil, "/dev/null", Device},
		{snapshot.FD{Target: "/dev/pts/3", Mode: 0o020620}, nil, "pty /dev/pts/3", PTY},
		{snapshot.FD{Target: "/dev/ptmx", Mode: 0o020666, Flags: 2}, nil, "pty master", PTY},
		{snapshot.FD{Target: "/run/ctl", Mode: 0o010600, Flags: 1}, nil, "fifo /run/ctl write end", FIFO},
		{snapshot.FD{Target: "/run/ctl", Mode: 0o010600, Flags: 0o2000000}, nil, "fifo /run/ctl read end", FIFO},
		{snapshot.FD{Target: "pipe:[4711]", Mode: 0o010600, Flags: 0o4001}, nil, "pipe:[4711] write end", Pipe},
		{snapshot.FD{Target: "pipe:[4711]", Mode: 0o010600}, nil, "pipe:[4711] read end", Pipe},
		{snapshot.FD{Target: "pipe:[4711]", Mode: 0o010600, Flags: 2}, nil, "pipe:[4711] read+write", Pipe},
		{snapshot.FD{Target: "anon_inode:[eventfd]"}, nil, "eventfd", Anon},
		{snapshot.FD{Target: "anon_inode:[eventpoll]"}, nil, "epoll", Anon},
		{snapshot.FD{Target: "anon_inode:[pidfd]"}, nil, "pidfd", Anon},
		{snapshot.FD{Target: "anon_inode:inotify"}, nil, "inotify", Anon},
		{snapshot.FD{Target: "/memfd:heap (deleted)", Mode: 0o100777}, nil, "memfd heap", Memfd},
		{snapshot.FD{Target: "net:[4026532301]", Mode: 0o100444}, nil, "net namespace 4026532301", Namespace},
		{snapshot.FD{Target: "net:[x]"}, nil, "net:[x]", Other},
		{snapshot.FD{Target: "socket:[9]"}, nil, "socket:[9]", Socket},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "tcp", State: "LISTEN", Local: "127.0.0.1:8080", NetNS: host},
			"tcp 127.0.0.1:8080 LISTEN", Listener},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "tcp", State: "LISTEN", Local: "[::]:443", NetNS: 4026532301},
			"tcp [::]:443 LISTEN (netns 4026532301)", Listener},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "tcp", State: "ESTAB", Local: "127.0.0.1:41822", Remote: "127.0.0.1:8080"},
			"tcp 127.0.0.1:41822 → 127.0.0.1:8080", Socket},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "tcp", State: "CLOSE-WAIT", Local: "127.0.0.1:41822", Remote: "127.0.0.1:8080"},
			"tcp 127.0.0.1:41822 → 127.0.0.1:8080 CLOSE-WAIT", Socket},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "tcp", State: "UNCONN", Local: "0.0.0.0:0"}, "tcp 0.0.0.0:0 UNCONN", Socket},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "udp", State: "UNCONN", Local: "0.0.0.0:5353"}, "udp 0.0.0.0:5353", Socket},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "udp", State: "ESTAB", Local: "10.0.0.1:5000", Remote: "10.0.0.2:53"},
			"udp 10.0.0.1:5000 → 10.0.0.2:53", Socket},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "unix-stream", State: "LISTEN", Local: "/run/x.sock"},
			"unix /run/x.sock LISTEN", Listener},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "unix-stream", State: "LISTEN", Local: "@ctl"}, "unix @ctl LISTEN", Listener},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "unix-stream", State: "ESTAB", Local: "/run/x.sock", Peer: 10},
			"unix /run/x.sock (accepted)", Socket},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "unix-stream", State: "ESTAB", Remote: "/run/x.sock", Peer: 11},
			"unix → /run/x.sock", Socket},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "unix-stream", State: "ESTAB", Peer: 12}, "unix socketpair", Socket},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "unix-seqpacket", State: "ESTAB", Peer: 12}, "unix-seqpacket socketpair", Socket},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "unix-dgram", State: "UNCONN", Local: "/dev/log"}, "unix-dgram /dev/log", Socket},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "unix-dgram", State: "ESTAB", Remote: "/dev/log", Peer: 3},
			"unix-dgram → /dev/log", Socket},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "unix-dgram", State: "UNCONN"}, "unix-dgram (unconnected)", Socket},
		{snapshot.FD{Target: "socket:[9]"}, &snapshot.Socket{Protocol: "netlink"}, "netlink socket", Socket},
	} {
		got := Of(&c.fd, c.sock, host)
		if got.String() != c.want || got.Kind != c.kind {
			t.Errorf("Of(%+v, %+v) = %q (%s), want %q (%s)", c.fd, c.sock, got.String(), got.Kind, c.want, c.kind)
		}
	}
}

// channels is a snapshot with one channel of each kind between pid 10
// and pid 20.
func channels() *snapshot.Snapshot {
	fd := func(n int, target string, ino uint64, mode uint32, flags int) snapshot.FD {
		return snapshot.FD{FD: n, Target: target, Ino: ino, Mode: mode, Flags: flags}
	}
	return &snapshot.Snapshot{
		Host: snapshot.Host{NetNS: host},
		Processes: []snapshot.Process{
			{PID: 10, FDs: []snapshot.FD{fd(3, "pipe:[100]", 100, 0o10600, 1), fd(4, "socket:[201]", 201, 0o140777, 2),
				fd(5, "socket:[301]", 301, 0o140777, 2), fd(6, "/dev/ptmx", 5, 0o20666, 2), fd(7, "socket:[401]", 401, 0o140777, 2),
				fd(8, "socket:[501]", 501, 0o140777, 2)}},
			{PID: 20, FDs: []snapshot.FD{fd(0, "pipe:[100]", 100, 0o10600, 0), fd(4, "socket:[202]", 202, 0o140777, 2),
				fd(5, "socket:[302]", 302, 0o140777, 2), fd(1, "/dev/pts/7", 10, 0o20620, 2), fd(7, "socket:[402]", 402, 0o140777, 2),
				fd(8, "socket:[502]", 502, 0o140777, 2)}},
		},
		Sockets: []snapshot.Socket{
			{Ino: 201, Protocol: "unix-stream", State: "ESTAB", Peer: 202},
			{Ino: 202, Protocol: "unix-stream", State: "ESTAB", Peer: 201},
			{Ino: 301, Protocol: "unix-stream", State: "ESTAB", Remote: "/run/app.sock", Peer: 302},
			{Ino: 302, Protocol: "unix-stream", State: "ESTAB", Local: "/run/app.sock", Peer: 301},
			{Ino: 303, Protocol: "unix-stream", State: "LISTEN", Local: "/run/app.sock"},
			{Ino: 401, Protocol: "tcp", State: "ESTAB", Local: "127.0.0.1:41822", Remote: "127.0.0.1:8080"},
			{Ino: 402, Protocol: "tcp", State: "ESTAB", Local: "127.0.0.1:8080", Remote: "127.0.0.1:41822"},
			{Ino: 403, Protocol: "tcp", State: "LISTEN", Local: "0.0.0.0:8080"},
			{Ino: 501, Protocol: "udp", State: "ESTAB", Local: "127.0.0.1:5000", Remote: "127.0.0.1:5001"},
			{Ino: 502, Protocol: "udp", State: "ESTAB", Local: "127.0.0.1:5001", Remote: "127.0.0.1:5000"},
		},
		Endpoints: []snapshot.Endpoint{
			{Kind: "pipe", Ends: [][]snapshot.Member{{{PID: 20, FD: 0}}, {{PID: 10, FD: 3}}}},
			{Kind: "unix-stream", Ends: [][]snapshot.Member{{{PID: 10, FD: 4}}, {{PID: 20, FD: 4}}}},
			{Kind: "unix-stream", Name: "/run/app.sock", Ends: [][]snapshot.Member{{{PID: 10, FD: 5}}, {{PID: 20, FD: 5}}}},
			{Kind: "pty", Name: "/dev/pts/7", Ends: [][]snapshot.Member{{{PID: 10, FD: 6}}, {{PID: 20, FD: 1}}}},
			{Kind: "tcp", Addresses: []string{"127.0.0.1:41822", "127.0.0.1:8080"}, Ends: [][]snapshot.Member{{{PID: 10, FD: 7}}, {{PID: 20, FD: 7}}}},
			{Kind: "udp", Addresses: []string{"127.0.0.1:5000", "127.0.0.1:5001"}, Ends: [][]snapshot.Member{{{PID: 10, FD: 8}}, {{PID: 20, FD: 8}}}},
		},
	}
}

func TestChannels(t *testing.T) {
	s := channels()
	n := New(s)
	for i, want := range []struct {
		text     string
		from, to int
		ends     [2]string
	}{
		{"pipe:[100]", 1, 0, [2]string{"read end", "write end"}},
		{"unix socketpair", -1, -1, [2]string{"", ""}},
		{"unix /run/app.sock", 0, 1, [2]string{"client", "server"}},
		{"pty /dev/pts/7", -1, -1, [2]string{"master", "slave"}},
		{"tcp 127.0.0.1:41822 → 127.0.0.1:8080", 0, 1, [2]string{"127.0.0.1:41822", "127.0.0.1:8080"}},
		{"udp 127.0.0.1:5000 ↔ 127.0.0.1:5001", -1, -1, [2]string{"127.0.0.1:5000", "127.0.0.1:5001"}},
	} {
		c := n.Channel(&s.Endpoints[i])
		if c.Text != want.text || c.From != want.from || c.To != want.to || [2]string(c.Ends) != want.ends {
			t.Errorf("channel %d: %+v, want %+v", i, c, want)
		}
	}
	for m, want := range map[snapshot.Member]string{
		{PID: 10, FD: 6}:  "pty /dev/pts/7 master",
		{PID: 20, FD: 1}:  "pty /dev/pts/7",
		{PID: 10, FD: 3}:  "pipe:[100] write end",
		{PID: 20, FD: 5}:  "unix /run/app.sock (accepted)",
		{PID: 10, FD: 5}:  "unix → /run/app.sock",
		{PID: 10, FD: 99}: "?",
		{PID: 99, FD: 1}:  "?",
	} {
		if got := n.FD(m).String(); got != want {
			t.Errorf("FD(%s) = %q, want %q", m, got, want)
		}
	}
	g := snapshot.Group{Type: "file", Members: []snapshot.Member{{PID: 10, FD: 7}, {PID: 20, FD: 9}}}
	if got := n.Group(g).Text; got != "tcp 127.0.0.1:41822 → 127.0.0.1:8080" {
		t.Errorf("Group = %q", got)
	}
	if got := n.Group(snapshot.Group{Type: "vm"}); got.Text != "address space" || got.Kind != Task {
		t.Errorf("Group(vm) = %+v", got)
	}
}

func TestBrief(t *testing.T) {
	for in, want := range map[string]string{
		"pipe:[4711] write end": "pipe write end", "pipe:[4711]": "pipe", "socket:[9]": "socket",
		"fifo /run/ctl read end": "fifo /run/ctl read end", "/tmp/pipe:[1]": "/tmp/pipe:[1]",
		"tcp 127.0.0.1:8080 LISTEN": "tcp 127.0.0.1:8080 LISTEN", "pipe:[": "pipe:[",
	} {
		if got := Brief(in); got != want {
			t.Errorf("Brief(%q) = %q, want %q", in, got, want)
		}
	}
}
