//go:build linux

package analyzer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

func endsOf(e snapshot.Endpoint) string { return fmt.Sprint(e.Ends) }

// TestLiveEndpoints: a pipe whose read end is also dup'd, with the ends in
// different processes, and socketpairs of each type across processes.
// Every endpoint pair must be exact and none invented.
func TestLiveEndpoints(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m, mn := testkit.Must[int](t), testkit.Must[*fixture.Node](t)
	r, w := testkit.Must2[int, int](t)(root.Pipe())
	type pair struct{ a, b int }
	pairs := map[string]pair{}
	for _, typ := range []int{unix.SOCK_STREAM, unix.SOCK_DGRAM, unix.SOCK_SEQPACKET} {
		a, b := testkit.Must2[int, int](t)(root.Socketpair(typ))
		pairs["unix-"+sockType(typ)] = pair{a, b}
	}
	reader := mn(root.Fork())
	writer := mn(root.Fork())
	rdup := m(reader.Dup(r))
	testkit.Check(t, reader.Close(w))
	testkit.Check(t, writer.Close(r))
	testkit.Check(t, root.Close(r))
	testkit.Check(t, root.Close(w))
	for _, p := range pairs {
		testkit.Check(t, reader.Close(p.b))
		testkit.Check(t, writer.Close(p.a))
		testkit.Check(t, root.Close(p.a))
		testkit.Check(t, root.Close(p.b))
	}
	snap := scanTree(t, root.PID(), false)
	want := map[string]string{
		"pipe": fmt.Sprint([][]snapshot.Member{sorted([]snapshot.Member{fdm(reader, r), fdm(reader, rdup)}), {fdm(writer, w)}}),
	}
	for kind, p := range pairs {
		want[kind] = fmt.Sprint([][]snapshot.Member{{fdm(reader, p.a)}, {fdm(writer, p.b)}})
	}
	got := map[string]string{}
	for _, e := range snap.Endpoints {
		if _, dup := got[e.Kind]; dup {
			t.Errorf("more than one %s endpoint: %+v", e.Kind, snap.Endpoints)
		}
		ends := endsOf(e)
		// Socket ends come out in inode order: either way round is right.
		if len(e.Ends) == 2 {
			if swapped := fmt.Sprint([][]snapshot.Member{e.Ends[1], e.Ends[0]}); swapped == want[e.Kind] {
				ends = swapped
			}
		}
		got[e.Kind] = ends
	}
	for kind, w := range want {
		if got[kind] != w {
			t.Errorf("%s endpoint = %s, want %s", kind, got[kind], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("endpoints %v, want exactly %v", got, want)
	}
}

// TestLiveEndpointConnections: accepted connections on a path socket and
// on an abstract socket, and a socketpair inside a second network
// namespace, whose sockets only a dump inside that namespace can see.
func TestLiveEndpointConnections(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m, mn := testkit.Must[int](t), testkit.Must[*fixture.Node](t)
	server := mn(root.Fork())
	client := mn(root.Fork())
	path := filepath.Join(t.TempDir(), "app.sock")
	abstract := fmt.Sprintf("@kcmpgraph-test-%d", os.Getpid())
	want := map[string]string{}
	for _, name := range []string{path, abstract} {
		l := m(server.Listen(name))
		c := m(client.Connect(name))
		a := m(server.Accept(l))
		want[name] = fmt.Sprint([][]snapshot.Member{{fdm(server, a)}, {fdm(client, c)}})
	}
	netns, err := root.Clone(unix.CLONE_NEWNET)
	if err != nil {
		t.Skipf("no new network namespace here: %v", err)
	}
	a, b := testkit.Must2[int, int](t)(netns.Socketpair(unix.SOCK_SEQPACKET))
	peer := mn(netns.Fork())
	testkit.Check(t, netns.Close(b))
	testkit.Check(t, peer.Close(a))
	want["netns"] = fmt.Sprint([][]snapshot.Member{{fdm(netns, a)}, {fdm(peer, b)}})

	snap := scanTree(t, root.PID(), false)
	got := map[string]string{}
	for _, e := range snap.Endpoints {
		key := e.Name
		if e.Kind == "unix-seqpacket" {
			key = "netns"
		}
		ends := fmt.Sprint(e.Ends)
		if len(e.Ends) == 2 {
			if swapped := fmt.Sprint([][]snapshot.Member{e.Ends[1], e.Ends[0]}); swapped == want[key] {
				ends = swapped
			}
		}
		got[key] = ends
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: endpoint %s, want %s (all: %+v)", k, got[k], w, snap.Endpoints)
		}
	}
	for _, warn := range snap.Warnings {
		if strings.Contains(warn, "endpoints") {
			t.Errorf("warning: %s", warn)
		}
	}
}
