//go:build linux

package analyzer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
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
		res, err := Who(context.Background(), Options{Scan: procscan.Options{Tree: root.PID()}}, c.node.PID(), c.fd)
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

// faultyComparer is kcmp with failures injected: every call is counted,
// and file comparisons involving task deny fail with EPERM.
type faultyComparer struct {
	SystemComparer
	deny  int
	calls atomic.Int64
}

func (c *faultyComparer) FileDescs(pid1, fd1, pid2, fd2 int) (kcmp.Order, error) {
	c.calls.Add(1)
	if pid1 == c.deny || pid2 == c.deny {
		return kcmp.Unordered, &kcmp.Error{Type: kcmp.File, Pid1: pid1, Pid2: pid2, Idx1: uint64(fd1), Idx2: uint64(fd2), Err: unix.EPERM}
	}
	return c.SystemComparer.FileDescs(pid1, fd1, pid2, fd2)
}

func (c *faultyComparer) Tasks(t kcmp.Type, pid1, pid2 int) (kcmp.Order, error) {
	c.calls.Add(1)
	return c.SystemComparer.Tasks(t, pid1, pid2)
}

func (c *faultyComparer) EpollTarget(pid1, fd, pid2 int, slot kcmp.EpollSlot) (kcmp.Order, error) {
	c.calls.Add(1)
	return c.SystemComparer.EpollTarget(pid1, fd, pid2, slot)
}

// TestLiveWhoThreads asks who about fds by tid: a thread with a table of
// its own (a dup pair in it, a process cloned with CLONE_FILES sharing it,
// an epoll fd there watching it), and a thread that shares its process's
// table. Holders, watchers and the channel's other end must be what a
// snapshot of the same tree groups, and every kcmp call must go through
// the Comparer and be counted.
func TestLiveWhoThreads(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m, mn := testkit.Must[int](t), testkit.Must[*fixture.Node](t)
	own := mn(root.ThreadNode(unix.CLONE_FILES))
	r, w := testkit.Must2[int, int](t)(own.Pipe())
	rdup := m(own.Dup(r))
	ep := m(own.EpollCreate())
	testkit.Check(t, own.EpollAdd(ep, r))
	clone := mn(own.Clone(unix.CLONE_FILES))
	plain := mn(root.ThreadNode(0))
	shared := m(root.Dup(0))

	snap := scanTree(t, root.PID(), true)
	holdersIn := func(res *WhoResult) []string {
		var ms []snapshot.Member
		for _, h := range res.Holders {
			ms = append(ms, h.Member())
		}
		return memberStrings(ms)
	}
	groupMembers := func(m snapshot.Member) []string {
		g := groupOf(snap, "file", m)
		if g < 0 {
			t.Fatalf("%v in no group", m)
		}
		return memberStrings(snap.Groups[g].Members)
	}
	opts := Options{Scan: procscan.Options{Tree: root.PID()}}

	res, err := Who(context.Background(), opts, own.TID(), rdup)
	if err != nil {
		t.Fatal(err)
	}
	if res.Task.PID != root.PID() || res.Task.TID != own.TID() || res.Target.Thread != own.TID() {
		t.Errorf("task %+v, target table %d: want thread %d of pid %d, its own table", res.Task, res.Target.Thread, own.TID(), root.PID())
	}
	if got, want := holdersIn(res), groupMembers(tfd(own, r)); !equalStrings(got, want) {
		t.Errorf("holders of %v: %v, the snapshot's group %v", tfd(own, rdup), got, want)
	}
	if !equalStrings(holdersIn(res), memberStrings([]snapshot.Member{tfd(own, r), tfd(own, rdup), fdm(clone, r), fdm(clone, rdup)})) {
		t.Errorf("holders %v", holdersIn(res))
	}
	if len(res.Watchers) != 2 || res.Watchers[0].Thread != own.TID() || res.Watchers[0].EpollFD != ep || res.Watchers[1].Process.PID != clone.PID() {
		t.Errorf("watchers %+v: want epoll fd %d of %v and of %d", res.Watchers, ep, tfd(own, ep), clone.PID())
	}
	var other []snapshot.Member
	for _, h := range res.OtherEnd {
		other = append(other, h.Member())
	}
	if res.OtherKind != "pipe" || !equalStrings(memberStrings(other), memberStrings([]snapshot.Member{tfd(own, w), fdm(clone, w)})) {
		t.Errorf("other end %s %v", res.OtherKind, other)
	}

	// A thread that kept its process's table names the process's fds.
	res, err = Who(context.Background(), opts, plain.TID(), shared)
	if err != nil {
		t.Fatal(err)
	}
	if res.Target.Thread != 0 || res.Target.Process.PID != root.PID() || !res.Task.IsThread() {
		t.Errorf("who %d:%d: target %v, task %+v", plain.TID(), shared, res.Target.Member(), res.Task)
	}
	if got, want := holdersIn(res), groupMembers(fdm(root, shared)); !equalStrings(got, want) {
		t.Errorf("holders of %d:%d: %v, the snapshot's group %v", plain.TID(), shared, got, want)
	}
	if _, err := Who(context.Background(), opts, own.TID(), 999); !errors.Is(err, ErrNoSuchFD) {
		t.Errorf("no fd 999 in the thread's table: %v", err)
	}

	// One pipeline: a Comparer that denies the clone sees every call.
	fc := &faultyComparer{deny: clone.PID()}
	res, err = Who(context.Background(), Options{Scan: opts.Scan, Comparer: fc}, own.TID(), r)
	if err != nil {
		t.Fatal(err)
	}
	if res.KcmpCalls != fc.calls.Load() || res.KcmpCalls == 0 {
		t.Errorf("who counted %d kcmp calls, the Comparer saw %d", res.KcmpCalls, fc.calls.Load())
	}
	if res.Skipped["fds_kcmp_EPERM"] == 0 || slices.ContainsFunc(res.Holders, func(h WhoHolder) bool { return h.Process.PID == clone.PID() }) {
		t.Errorf("denied comparisons: skipped %v, holders %v", res.Skipped, holdersIn(res))
	}
	before := fc.calls.Load()
	cr, err := Cmp(Options{Comparer: fc}, own.TID(), clone.PID(), r, r, []kcmp.Type{kcmp.Files, kcmp.File})
	if err != nil {
		t.Fatal(err)
	}
	// files: the pair, then the NULL sentinel; file: the pair, denied.
	if len(cr.Pairs) != 2 || cr.Pairs[0].Order != kcmp.Equal || cr.Pairs[0].BothNull || !errors.Is(cr.Pairs[1].Err, unix.EPERM) ||
		cr.KcmpCalls != 3 || fc.calls.Load()-before != 3 {
		t.Errorf("cmp through the faulty Comparer: %+v", cr)
	}
	if !cr.Tasks[0].IsThread() || cr.Tasks[0].PID != root.PID() || cr.Tasks[1].IsThread() {
		t.Errorf("cmp tasks %+v", cr.Tasks)
	}
}
