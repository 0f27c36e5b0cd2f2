//go:build linux

package analyzer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// conn is an expected tcp or udp endpoint: each end's holders and the
// local address of its socket.
type conn struct {
	kind  string
	ends  [][]snapshot.Member
	addrs []string
}

// text formats an endpoint with its ends in first-holder order (the
// order the analyzer writes tcp and udp ends in), addresses alongside.
func text(kind, name string, ends [][]snapshot.Member, addrs []string) string {
	idx := make([]int, len(ends))
	for i := range idx {
		idx[i] = i
	}
	if kind == "tcp" || kind == "udp" {
		sort.Slice(idx, func(a, b int) bool { return ends[idx[a]][0].Less(ends[idx[b]][0]) })
	}
	var parts []string
	for _, i := range idx {
		p := fmt.Sprint(sorted(ends[i]))
		if i < len(addrs) {
			p = addrs[i] + " " + p
		}
		parts = append(parts, p)
	}
	return kind + " " + name + ": " + strings.Join(parts, " | ")
}

func endpointTexts(snap *snapshot.Snapshot, kinds ...string) []string {
	var out []string
	for _, e := range snap.Endpoints {
		for _, k := range kinds {
			if e.Kind == k {
				out = append(out, text(e.Kind, e.Name, e.Ends, e.Addresses))
			}
		}
	}
	sort.Strings(out)
	return out
}

func (c conn) String() string { return text(c.kind, "", c.ends, c.addrs) }

func sameList(t *testing.T, what string, got []string, want []fmt.Stringer) {
	t.Helper()
	var w []string
	for _, x := range want {
		w = append(w, x.String())
	}
	sort.Strings(w)
	if strings.Join(got, "\n") != strings.Join(w, "\n") {
		t.Errorf("%s endpoints:\n got:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(w, "\n  "))
	}
}

// checkEndpoints scans the tree of root and checks that its endpoints of
// the kinds are exactly want, that they are all the endpoints there are,
// and that pairing warned of nothing.
func checkEndpoints(t *testing.T, root int, what string, want []fmt.Stringer, kinds ...string) {
	t.Helper()
	snap := scanTree(t, root, false)
	sameList(t, what, endpointTexts(snap, kinds...), want)
	noEndpointWarnings(t, snap)
	if n := len(snap.Endpoints); n != len(want) {
		t.Errorf("%d endpoints in all, want %d: %+v", n, len(want), snap.Endpoints)
	}
}

func noEndpointWarnings(t *testing.T, snap *snapshot.Snapshot) {
	t.Helper()
	for _, warn := range snap.Warnings {
		if strings.Contains(warn, "endpoints") || strings.Contains(warn, "pty") || strings.Contains(warn, "tcp/udp") {
			t.Errorf("warning: %s", warn)
		}
	}
}

func addr(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// TestLiveEndpointsTCPUDP: a loopback TCP connection whose accepted fd
// lives in a forked worker and whose client fd is dup'd; a listening
// socket (no channel); a connected UDP pair; a UDP socket connected to
// an unconnected one (no channel: only mutually connected sockets pair);
// and the same 127.0.0.1 4-tuple again inside a second network namespace,
// which must pair there and never with the host's.
func TestLiveEndpointsTCPUDP(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m, mn := testkit.Must[int](t), testkit.Must[*fixture.Node](t)
	server := mn(root.Fork())
	client := mn(root.Fork())
	l, port := testkit.Must2[int, int](t)(server.TCPListen("127.0.0.1", 0))
	c, cport := testkit.Must2[int, int](t)(client.TCPConnect("127.0.0.1", port))
	a := m(server.Accept(l))
	worker := mn(server.Fork())
	testkit.Check(t, server.Close(a))
	testkit.Check(t, worker.Close(l))
	cdup := m(client.Dup(c))
	want := []fmt.Stringer{conn{"tcp", [][]snapshot.Member{{fdm(worker, a)}, {fdm(client, c), fdm(client, cdup)}},
		[]string{addr("127.0.0.1", port), addr("127.0.0.1", cport)}}}

	u1, p1 := testkit.Must2[int, int](t)(server.UDPBind("127.0.0.1", 0))
	u2, p2 := testkit.Must2[int, int](t)(client.UDPBind("127.0.0.1", 0))
	testkit.Check(t, server.UDPConnect(u1, "127.0.0.1", p2))
	testkit.Check(t, client.UDPConnect(u2, "127.0.0.1", p1))
	want = append(want, conn{"udp", [][]snapshot.Member{{fdm(server, u1)}, {fdm(client, u2)}},
		[]string{addr("127.0.0.1", p1), addr("127.0.0.1", p2)}})
	_, p3 := testkit.Must2[int, int](t)(server.UDPBind("127.0.0.1", 0))
	u4, _ := testkit.Must2[int, int](t)(client.UDPBind("127.0.0.1", 0))
	testkit.Check(t, client.UDPConnect(u4, "127.0.0.1", p3))

	netns, err := root.Clone(unix.CLONE_NEWNET)
	if err != nil {
		t.Skipf("no new network namespace here: %v", err)
	}
	testkit.Check(t, netns.LoopbackUp())
	peer := mn(netns.Fork())
	nl, _ := testkit.Must2[int, int](t)(netns.TCPListen("127.0.0.1", port))
	nc, ncport := testkit.Must2[int, int](t)(peer.TCPConnectFrom("127.0.0.1", port, cport))
	if ncport != cport {
		t.Fatalf("netns client port %d, want %d", ncport, cport)
	}
	na := m(netns.Accept(nl))
	want = append(want, conn{"tcp", [][]snapshot.Member{{fdm(netns, na)}, {fdm(peer, nc)}},
		[]string{addr("127.0.0.1", port), addr("127.0.0.1", cport)}})

	checkEndpoints(t, root.PID(), "tcp/udp", want, "tcp", "udp")
}

// TestLiveEndpointsTCP6: a TCP connection over ::1, and an IPv4 client of
// a dual-stack IPv6 listener, whose accepted socket reports IPv4-mapped
// addresses and must still meet its IPv4 peer.
func TestLiveEndpointsTCP6(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m, mn := testkit.Must[int](t), testkit.Must[*fixture.Node](t)
	server := mn(root.Fork())
	client := mn(root.Fork())
	l, port, err := server.TCPListen("::1", 0)
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	c, cport := testkit.Must2[int, int](t)(client.TCPConnect("::1", port))
	a := m(server.Accept(l))
	want := []fmt.Stringer{conn{"tcp", [][]snapshot.Member{{fdm(server, a)}, {fdm(client, c)}},
		[]string{addr("::1", port), addr("::1", cport)}}}
	dl, dport, err := server.TCPListen("::", 0)
	if err != nil {
		t.Fatalf("dual-stack listener: %v", err)
	}
	c4, c4port, err := client.TCPConnect("127.0.0.1", dport)
	if err != nil {
		t.Skipf("no dual-stack sockets here (net.ipv6.bindv6only?): %v", err)
	}
	a4 := m(server.Accept(dl))
	want = append(want, conn{"tcp", [][]snapshot.Member{{fdm(server, a4)}, {fdm(client, c4)}},
		[]string{addr("::ffff:127.0.0.1", dport), addr("127.0.0.1", c4port)}})

	checkEndpoints(t, root.PID(), "tcp6", want, "tcp", "udp")
}

type ptyWant struct {
	name string
	ends [][]snapshot.Member
}

func (p ptyWant) String() string {
	// The master end first, then the slave's descriptions in
	// first-holder order.
	rest := append([][]snapshot.Member(nil), p.ends[1:]...)
	sort.Slice(rest, func(i, j int) bool { return sorted(rest[i])[0].Less(sorted(rest[j])[0]) })
	return text("pty", p.name, append([][]snapshot.Member{p.ends[0]}, rest...), nil)
}

// TestLiveEndpointsPTY: a pty whose master (opened through /dev/ptmx)
// stays in one process while its slave goes to a child that dups it and
// opens it a second time (a second description: a third end); a pty
// opened through devpts's own ptmx with both ends in one process; and a
// master whose slave no scanned process holds (no endpoint).
func TestLiveEndpointsPTY(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m, mn := testkit.Must[int](t), testkit.Must[*fixture.Node](t)
	term := mn(root.Fork())
	pm, ps, n, err := term.OpenPTY("/dev/ptmx")
	if err != nil {
		t.Skipf("no pty here: %v", err)
	}
	shell := mn(term.Fork())
	testkit.Check(t, term.Close(ps))
	testkit.Check(t, shell.Close(pm))
	sdup := m(shell.Dup(ps))
	again := m(shell.Open("/dev/pts/"+strconv.Itoa(n), unix.O_RDWR|unix.O_NOCTTY))
	name := "/dev/pts/" + strconv.Itoa(n)
	want := []fmt.Stringer{ptyWant{name, [][]snapshot.Member{{fdm(term, pm)}, {fdm(shell, ps), fdm(shell, sdup)}, {fdm(shell, again)}}}}

	other := mn(root.Fork())
	om, os2, on, err := other.OpenPTY("/dev/pts/ptmx")
	if err != nil {
		t.Logf("no pty through /dev/pts/ptmx: %v", err)
	} else {
		want = append(want, ptyWant{"/dev/pts/" + strconv.Itoa(on), [][]snapshot.Member{{fdm(other, om)}, {fdm(other, os2)}}})
	}
	lone := mn(root.Fork())
	_, ls, _, err := lone.OpenPTY("/dev/ptmx")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Check(t, lone.Close(ls))

	checkEndpoints(t, root.PID(), "pty", want, "pty")
}

// TestLiveEndpointsPTYInstances: two private devpts instances in a mount
// namespace of their own, each with a pty of index 0 (and one of index
// 1): masters opened through a ptmx node next to the instance's "pts"
// (the kernel's lookup, repeated by the analyzer inside the holder's
// root) and through the instance's own pts/ptmx pair with their own
// slaves only, never with a slave of the same index elsewhere.
func TestLiveEndpointsPTYInstances(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	mn := testkit.Must[*fixture.Node](t)
	ns, err := root.Clone(unix.CLONE_NEWNS)
	if err != nil {
		t.Skipf("no new mount namespace here: %v", err)
	}
	testkit.Check(t, ns.MakeMountsPrivate())
	dir := t.TempDir()
	type pty struct{ m, s, n int }
	var ptys []pty
	var names []string
	for _, inst := range []string{"a", "b"} {
		top := dir + "/" + inst
		testkit.Check(t, ns.Mkdir(top))
		if err := ns.Mount("tmpfs", top, "mode=0755"); err != nil {
			t.Skipf("cannot mount here: %v", err)
		}
		testkit.Check(t, ns.Mkdir(top+"/pts"))
		if err := ns.Mount("devpts", top+"/pts", "newinstance,ptmxmode=0666,mode=0620"); err != nil {
			t.Skipf("no private devpts here: %v", err)
		}
		testkit.Check(t, ns.MknodChar(top+"/ptmx", 5, 2))
		paths := []string{top + "/ptmx"}
		if inst == "b" {
			paths = append(paths, top+"/pts/ptmx")
		}
		for _, p := range paths {
			m, s, n, err := ns.OpenPTY(p)
			if err != nil {
				t.Fatalf("pty through %s: %v", p, err)
			}
			ptys = append(ptys, pty{m, s, n})
			names = append(names, "/dev/pts/"+strconv.Itoa(n))
		}
	}
	if ptys[0].n != ptys[1].n {
		t.Fatalf("fresh instances gave indices %d and %d, want the same", ptys[0].n, ptys[1].n)
	}
	shell := mn(ns.Fork())
	var want []fmt.Stringer
	for i, p := range ptys {
		testkit.Check(t, ns.Close(p.s))
		testkit.Check(t, shell.Close(p.m))
		want = append(want, ptyWant{names[i], [][]snapshot.Member{{fdm(ns, p.m)}, {fdm(shell, p.s)}}})
	}
	checkEndpoints(t, root.PID(), "pty", want, "pty")
}
