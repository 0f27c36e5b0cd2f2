//go:build linux

package analyzer

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// TestLiveWhoOtherEnd: who names the other end of a TCP connection (both
// ways round, with this end's address first), of a connected UDP socket,
// of a pty (master to slave fds and back), of a unix socketpair inside a
// second network namespace, and says nothing of a listener.
func TestLiveWhoOtherEnd(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m, mn := testkit.Must[int](t), testkit.Must[*fixture.Node](t)
	server := mn(root.Fork())
	client := mn(root.Fork())
	l, port := testkit.Must2[int, int](t)(server.TCPListen("127.0.0.1", 0))
	c, cport := testkit.Must2[int, int](t)(client.TCPConnect("127.0.0.1", port))
	a := m(server.Accept(l))
	cdup := m(client.Dup(c))
	u1, p1 := testkit.Must2[int, int](t)(server.UDPBind("127.0.0.1", 0))
	u2, p2 := testkit.Must2[int, int](t)(client.UDPBind("127.0.0.1", 0))
	testkit.Check(t, server.UDPConnect(u1, "127.0.0.1", p2))
	testkit.Check(t, client.UDPConnect(u2, "127.0.0.1", p1))
	pm, ps, n, err := server.OpenPTY("/dev/ptmx")
	if err != nil {
		t.Fatal(err)
	}
	shell := mn(server.Fork())
	testkit.Check(t, server.Close(ps))
	sdup := m(shell.Dup(ps))
	pts := "/dev/pts/" + strconv.Itoa(n)
	lo := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }
	type want struct {
		kind, name string
		ends       []snapshot.Member
	}
	cases := map[string]struct {
		node *fixture.Node
		fd   int
		want want
	}{
		"tcp client":   {client, cdup, want{"tcp", lo(cport) + " <-> " + lo(port), []snapshot.Member{fdm(server, a), fdm(shell, a)}}},
		"tcp server":   {shell, a, want{"tcp", lo(port) + " <-> " + lo(cport), []snapshot.Member{fdm(client, c), fdm(client, cdup)}}},
		"udp":          {server, u1, want{"udp", lo(p1) + " <-> " + lo(p2), []snapshot.Member{fdm(client, u2)}}},
		"pty master":   {server, pm, want{"pty", pts, []snapshot.Member{fdm(shell, ps), fdm(shell, sdup)}}},
		"pty slave":    {shell, sdup, want{"pty", pts, []snapshot.Member{fdm(server, pm), fdm(shell, pm)}}},
		"tcp listener": {server, l, want{}},
	}
	if netns, err := root.Clone(unix.CLONE_NEWNET); err != nil {
		t.Logf("no second network namespace: %v", err)
	} else {
		x, y := testkit.Must2[int, int](t)(netns.Socketpair(unix.SOCK_STREAM))
		cases["unix in netns"] = struct {
			node *fixture.Node
			fd   int
			want want
		}{netns, x, want{"unix-stream", "", []snapshot.Member{fdm(netns, y)}}}
	}
	for name, c := range cases {
		res, err := Who(context.Background(), procscan.Options{Tree: root.PID()}, c.node.PID(), c.fd)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var got []snapshot.Member
		for _, h := range res.OtherEnd {
			got = append(got, snapshot.Member{PID: h.Process.PID, FD: h.FD.Num})
		}
		sort.Slice(got, func(i, j int) bool { return got[i].Less(got[j]) })
		if res.OtherKind != c.want.kind || res.OtherName != c.want.name || fmt.Sprint(got) != fmt.Sprint(sorted(c.want.ends)) {
			t.Errorf("%s: other end %q %q %v, want %q %q %v", name, res.OtherKind, res.OtherName, got,
				c.want.kind, c.want.name, sorted(c.want.ends))
		}
	}
}
