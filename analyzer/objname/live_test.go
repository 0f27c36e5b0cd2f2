//go:build linux

package objname_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer"
	"github.com/kcmpgraph/kcmpgraph/analyzer/objname"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// TestLiveNames makes one object of every kind in live processes, scans
// them and checks the name each fd gets: the names come from the real
// kernel (sock_diag, link texts, fdinfo flags), not from a test's idea
// of them.
func TestLiveNames(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	must := func(fd int, err error) int {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return fd
	}
	must2 := func(a, b int, err error) (int, int) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
	dir, err := os.MkdirTemp("", "objname")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "app.sock")
	fifo := filepath.Join(dir, "ctl")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	abstract := fmt.Sprintf("@kcmpgraph-objname-%d", os.Getpid())

	want := map[int]string{}
	tcpL, tcpPort := must2(root.TCPListen("127.0.0.1", 0))
	want[tcpL] = fmt.Sprintf("tcp 127.0.0.1:%d LISTEN", tcpPort)
	tcp6L, tcp6Port := must2(root.TCPListen("::1", 0))
	want[tcp6L] = fmt.Sprintf("tcp [::1]:%d LISTEN", tcp6Port)
	unixL := must(root.Listen(sock))
	want[unixL] = "unix " + sock + " LISTEN"
	absL := must(root.Listen(abstract))
	want[absL] = "unix " + abstract + " LISTEN"
	udp, udpPort := must2(root.UDPBind("127.0.0.1", 0))
	want[udp] = fmt.Sprintf("udp 127.0.0.1:%d", udpPort)
	client := must(root.Connect(sock))
	want[client] = "unix → " + sock
	served := must(root.Accept(unixL))
	want[served] = "unix " + sock + " (accepted)"
	tcpC, tcpCPort := must2(root.TCPConnect("127.0.0.1", tcpPort))
	want[tcpC] = fmt.Sprintf("tcp 127.0.0.1:%d → 127.0.0.1:%d", tcpCPort, tcpPort)
	tcpS := must(root.Accept(tcpL))
	want[tcpS] = fmt.Sprintf("tcp 127.0.0.1:%d → 127.0.0.1:%d", tcpPort, tcpCPort)
	a, b := must2(root.Socketpair(unix.SOCK_STREAM))
	want[a], want[b] = "unix socketpair", "unix socketpair"
	r, w := must2(root.Pipe())
	want[r] = "read end"
	want[w] = "write end"
	fr := must(root.Open(fifo, unix.O_RDONLY|unix.O_NONBLOCK))
	want[fr] = "fifo " + fifo + " read end"
	fw := must(root.Open(fifo, unix.O_WRONLY))
	want[fw] = "fifo " + fifo + " write end"
	want[must(root.Eventfd())] = "eventfd"
	want[must(root.Timerfd())] = "timerfd"
	want[must(root.Signalfd())] = "signalfd"
	want[must(root.EpollCreate())] = "epoll"
	want[must(root.Pidfd(root.PID()))] = "pidfd"
	want[must(root.Memfd("heap"))] = "memfd heap"
	want[must(root.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY))] = "dir " + dir
	gone := filepath.Join(dir, "gone")
	if err := os.WriteFile(gone, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	want[must(root.Open(gone, unix.O_RDONLY))] = gone + " (deleted)"
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	want[must(root.Open("/proc/self/ns/net", unix.O_RDONLY))] = "net namespace "

	// A listener in a network namespace of its own says which.
	netns, err := root.Clone(unix.CLONE_NEWNET)
	if err != nil {
		t.Skipf("no network namespace: %v", err)
	}
	if err := netns.LoopbackUp(); err != nil {
		t.Fatal(err)
	}
	nsL, nsPort := must2(netns.TCPListen("127.0.0.1", 0))

	snap, err := analyzer.Run(context.Background(), analyzer.Options{Scan: procscan.Options{Tree: root.PID()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := snapshot.Validate(snap); err != nil {
		t.Fatal(err)
	}
	names := objname.New(snap)
	for fd, w := range want {
		got := names.FD(snapshot.Member{PID: root.PID(), FD: fd}).String()
		switch {
		case w == "read end" || w == "write end":
			if !strings.HasPrefix(got, "pipe:[") || !strings.HasSuffix(got, "] "+w) {
				t.Errorf("fd %d: %q, want pipe:[N] %s", fd, got, w)
			}
		case strings.HasSuffix(w, " "):
			if !strings.HasPrefix(got, w) {
				t.Errorf("fd %d: %q, want %q...", fd, got, w)
			}
		case got != w:
			t.Errorf("fd %d: %q, want %q", fd, got, w)
		}
	}
	nsName := names.FD(snapshot.Member{PID: netns.PID(), FD: nsL}).String()
	if p := snap.Process(netns.PID()); p == nil || !strings.HasSuffix(nsName, " (netns "+strconv.FormatUint(p.Namespaces["net"], 10)+")") ||
		!strings.HasPrefix(nsName, fmt.Sprintf("tcp 127.0.0.1:%d LISTEN", nsPort)) {
		t.Errorf("listener in another network namespace: %q", nsName)
	}

	// Channels: the pipe flows from its write end to its read end; the
	// unix connection from its client to the server of the bound name.
	found := 0
	for i := range snap.Endpoints {
		e := &snap.Endpoints[i]
		c := names.Channel(e)
		switch {
		case e.Kind == "pipe":
			found++
			if e.Ends[c.From][0].FD != w || e.Ends[c.To][0].FD != r {
				t.Errorf("pipe flows from %v to %v, want fd %d to fd %d", e.Ends[c.From], e.Ends[c.To], w, r)
			}
		case e.Kind == "fifo":
			found++
			if c.Text != "fifo "+fifo || e.Ends[c.From][0].FD != fw || e.Ends[c.To][0].FD != fr {
				t.Errorf("fifo channel %+v of %+v", c, e)
			}
		case e.Kind == "unix-stream" && e.Name == sock:
			found++
			if c.Text != "unix "+sock || e.Ends[c.From][0].FD != client || e.Ends[c.To][0].FD != served {
				t.Errorf("unix channel %+v of %+v, want client fd %d, server fd %d", c, e, client, served)
			}
		case e.Kind == "tcp":
			found++
			if want := fmt.Sprintf("tcp 127.0.0.1:%d → 127.0.0.1:%d", tcpCPort, tcpPort); c.Text != want {
				t.Errorf("tcp channel %q, want %q", c.Text, want)
			}
		}
	}
	if found != 4 {
		t.Errorf("%d of the pipe, fifo, unix and tcp channels found in %+v", found, snap.Endpoints)
	}
}
