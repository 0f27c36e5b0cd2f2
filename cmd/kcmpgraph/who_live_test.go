//go:build linux

package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// TestWhoLiveConnection: who on a loopback TCP client names the
// connection by its addresses, this end's first, and lists the accepted
// socket's holder as the other end; on a pty slave it lists the master.
func TestWhoLiveConnection(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m, mn := testkit.Must[int](t), testkit.Must[*fixture.Node](t)
	server := mn(root.Fork())
	client := mn(root.Fork())
	l, port, err := server.TCPListen("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	c, cport, err := client.TCPConnect("127.0.0.1", port)
	if err != nil {
		t.Fatal(err)
	}
	a := m(server.Accept(l))
	tree := strconv.Itoa(root.PID())
	out, stderr, code := runCLI(t, "who", strconv.Itoa(client.PID())+":"+strconv.Itoa(c), "--tree", tree)
	if code != 0 {
		t.Fatalf("who: exit %d %s", code, stderr)
	}
	if want := strconv.Itoa(client.PID()) + ":" + strconv.Itoa(c) + " tcp 127.0.0.1:" + strconv.Itoa(cport) + " → 127.0.0.1:" +
		strconv.Itoa(port) + " (socket:["; !strings.HasPrefix(out, want) {
		t.Errorf("who does not name the client's connection %q:\n%s", want, out)
	}
	head := "other end of tcp 127.0.0.1:" + strconv.Itoa(cport) + " → 127.0.0.1:" + strconv.Itoa(port) + ", held by 1 fd:"
	_, rest, ok := strings.Cut(out, head)
	if !ok || !strings.Contains(rest, "  "+strconv.Itoa(server.PID())+"  "+strconv.Itoa(a)+" ") {
		t.Errorf("who on the client does not show the accepted socket as the other end:\n%s", out)
	}
	pm, ps, n, err := server.OpenPTY("/dev/ptmx")
	if err != nil {
		t.Skipf("no pty here: %v", err)
	}
	out, stderr, code = runCLI(t, "who", strconv.Itoa(server.PID())+":"+strconv.Itoa(ps), "--tree", tree)
	if code != 0 {
		t.Fatalf("who: exit %d %s", code, stderr)
	}
	_, rest, ok = strings.Cut(out, "other end of pty /dev/pts/"+strconv.Itoa(n)+", the master, held by 1 fd:")
	if !ok || !strings.Contains(rest, "  "+strconv.Itoa(server.PID())+"  "+strconv.Itoa(pm)+" ") || !strings.Contains(rest, "/dev/ptmx") {
		t.Errorf("who on the slave does not show the master as the other end:\n%s", out)
	}
}
