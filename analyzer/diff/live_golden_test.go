//go:build linux

package diff

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/golden"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// The golden files of live cases are made from live snapshots with what
// changes from run to run replaced by stable values (normalize): pids,
// start times, inode and device numbers, mount ids, ports, the temporary
// directory, the host. The normalized snapshots are committed too
// (live-NAME-before.json, live-NAME-after.json), so TestGolden diffs them
// offline and a reader can see what the diff was given; the live test
// checks that a live run still produces exactly those snapshots and that
// diff output. go test -update rewrites all of them.

// normalizer maps the numbers of two snapshots of one run, consistently
// across both.
type normalizer struct {
	tmp  string
	pids map[int]int
	ino  map[uint64]uint64
	dev  map[uint64]uint64
	mnt  map[int]int
	port map[uint16]uint16
}

func (n *normalizer) pid(p int) int {
	if v, ok := n.pids[p]; ok {
		return v
	}
	return p
}

func (n *normalizer) member(m snapshot.Member) snapshot.Member {
	m.PID = n.pid(m.PID)
	if m.TID != 0 {
		m.TID = n.pid(m.TID)
	}
	if m.Thread != 0 {
		m.Thread = n.pid(m.Thread)
	}
	return m
}

func (n *normalizer) members(ms []snapshot.Member) {
	for i := range ms {
		ms[i] = n.member(ms[i])
	}
}

var inodeText = regexp.MustCompile(`^(socket|pipe):\[(\d+)\]$`)

// namespaces are the namespaces of every normalized process and host.
var namespaces = map[string]uint64{"mnt": 4026531841, "net": 4026531840, "pid": 4026531836, "user": 4026531837}

func (n *normalizer) target(s string) string {
	if m := inodeText.FindStringSubmatch(s); m != nil {
		v, _ := strconv.ParseUint(m[2], 10, 64)
		return m[1] + ":[" + strconv.FormatUint(n.ino[v], 10) + "]"
	}
	return strings.ReplaceAll(s, n.tmp, "/tmp/T")
}

func (n *normalizer) addr(s string) string {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return strings.ReplaceAll(s, n.tmp, "/tmp/T")
	}
	if _, ok := n.port[ap.Port()]; !ok {
		n.port[ap.Port()] = uint16(40000 + len(n.port))
	}
	return netip.AddrPortFrom(ap.Addr(), n.port[ap.Port()]).String()
}

// harnessFD is an fd the fixture's root holds before a case sets up:
// stdio and whatever the test binary inherited without close-on-exec
// from where it runs, which differs between a terminal, make and CI.
type harnessFD struct {
	fd       int
	dev, ino uint64
}

// harness lists the fds root holds now.
func harness(t *testing.T, root int) map[harnessFD]bool {
	t.Helper()
	res, err := procscan.Scan(context.Background(), procscan.Options{PIDs: []int{root}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[harnessFD]bool{}
	for _, f := range res.Processes[0].FDs {
		out[harnessFD{f.Num, f.Dev, f.Ino}] = true
	}
	return out
}

// dropHarness removes the harness's fds (inherited at the same numbers by
// every node) from a snapshot, with the members, watches and channel ends
// that name them, and what is left with fewer than two.
func dropHarness(s *snapshot.Snapshot, h map[harnessFD]bool) {
	gone := map[snapshot.Member]bool{}
	for i := range s.Processes {
		p := &s.Processes[i]
		p.FDs = slices.DeleteFunc(p.FDs, func(f snapshot.FD) bool {
			if f.Thread == 0 && h[harnessFD{f.FD, f.Dev, f.Ino}] {
				gone[p.MemberOf(&f)] = true
				return true
			}
			return false
		})
	}
	drop := func(ms []snapshot.Member) []snapshot.Member {
		return slices.DeleteFunc(ms, func(m snapshot.Member) bool { return !m.IsTask() && gone[m] })
	}
	s.Groups = slices.DeleteFunc(s.Groups, func(g snapshot.Group) bool { return len(drop(g.Members)) < 2 })
	for i := range s.Groups {
		s.Groups[i].Members = drop(s.Groups[i].Members)
	}
	s.Epoll = slices.DeleteFunc(s.Epoll, func(e snapshot.Epoll) bool { return gone[e.Member()] })
	for _, e := range s.Epoll {
		for k := range e.Watches {
			if w := &e.Watches[k]; w.Holder != nil && gone[*w.Holder] {
				w.Holder = nil
			}
		}
	}
	s.Endpoints = slices.DeleteFunc(s.Endpoints, func(e snapshot.Endpoint) bool {
		for _, end := range e.Ends {
			if len(drop(slices.Clone(end))) == 0 {
				return true
			}
		}
		return false
	})
	for i := range s.Endpoints {
		for k := range s.Endpoints[i].Ends {
			s.Endpoints[i].Ends[k] = drop(s.Endpoints[i].Ends[k])
		}
	}
}

// normalize rewrites before and after in place.
func normalize(tmp string, snaps ...*snapshot.Snapshot) {
	n := &normalizer{tmp: tmp, pids: map[int]int{}, ino: map[uint64]uint64{},
		dev: map[uint64]uint64{}, mnt: map[int]int{}, port: map[uint16]uint16{}}
	var pids []int
	for _, s := range snaps {
		s.Normalize()
		for _, p := range s.Processes {
			pids = append(pids, p.PID)
			pids = append(pids, p.Tasks...)
		}
	}
	slices.Sort(pids)
	for _, p := range slices.Compact(pids) {
		n.pids[p] = 1000 + len(n.pids)
	}
	for _, s := range snaps {
		for _, p := range s.Processes {
			for _, f := range p.FDs {
				if _, ok := n.ino[f.Ino]; !ok {
					n.ino[f.Ino] = 100 + uint64(len(n.ino))
				}
				if _, ok := n.dev[f.Dev]; !ok {
					n.dev[f.Dev] = 1 + uint64(len(n.dev))
				}
				if _, ok := n.mnt[f.MntID]; !ok {
					n.mnt[f.MntID] = 20 + len(n.mnt)
				}
			}
		}
	}
	taken := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for i, s := range snaps {
		s.Host = snapshot.Host{Hostname: "host", BootID: "5e1f0b0e-live", Kernel: "6.18", ClockTicks: 100, ProcRoot: "/proc",
			TakenAt: taken.Add(time.Duration(i) * time.Minute), Scope: s.Host.Scope, NetNS: namespaces["net"],
			Namespaces: namespaces, NamespacesOf: "pid 1"}
		sc := &s.Host.Scope
		sc.Tree = n.pid(sc.Tree)
		for j := range sc.PIDs {
			sc.PIDs[j] = n.pid(sc.PIDs[j])
		}
		for j := range s.Processes {
			p := &s.Processes[j]
			ppid, ok := n.pids[p.PPID]
			if !ok {
				ppid = 1 // the test binary, outside the snapshots
			}
			// Start times tick at 100 Hz: processes made in one tick
			// share one. No case reuses a pid, so the pid orders them.
			p.PID, p.PPID = n.pid(p.PID), ppid
			p.StartTime = 5000 + 10*uint64(p.PID-1000)
			if p.State != "Z" {
				p.State = "S" // a node may be caught running between commands
			}
			for k := range p.Tasks {
				p.Tasks[k] = n.pid(p.Tasks[k])
			}
			p.Exe, p.Cgroup, p.Unit, p.Slice, p.Container = "/usr/libexec/forest", "/test", "", "", nil
			if len(p.Cmdline) > 0 {
				p.Cmdline[0] = p.Exe // the fixture's build cache
			}
			p.Namespaces = namespaces
			for k := range p.FDs {
				f := &p.FDs[k]
				if f.Thread != 0 {
					f.Thread = n.pid(f.Thread)
				}
				f.Target, f.Ino, f.Dev, f.MntID = n.target(f.Target), n.ino[f.Ino], n.dev[f.Dev], n.mnt[f.MntID]
				f.ForeignMountNS = 0
			}
		}
		for j := range s.Groups {
			n.members(s.Groups[j].Members)
		}
		for _, l := range s.Null {
			n.members(l)
		}
		for j := range s.Epoll {
			e := &s.Epoll[j]
			m := n.member(e.Member())
			e.PID, e.Thread = m.PID, m.Thread
			for k := range e.Watches {
				if h := e.Watches[k].Holder; h != nil {
					x := n.member(*h)
					e.Watches[k].Holder = &x
				}
			}
		}
		for j := range s.Endpoints {
			e := &s.Endpoints[j]
			e.Name = n.target(e.Name)
			for k := range e.Addresses {
				e.Addresses[k] = n.addr(e.Addresses[k])
			}
			for _, end := range e.Ends {
				n.members(end)
			}
		}
		for j := range s.Sockets {
			k := &s.Sockets[j]
			k.Ino, k.NetNS, k.Local, k.Remote = n.ino[k.Ino], namespaces["net"], n.addr(k.Local), n.addr(k.Remote)
			if k.Peer != 0 {
				k.Peer = n.ino[k.Peer]
			}
		}
		sort.Slice(s.Sockets, func(a, b int) bool { return s.Sockets[a].Ino < s.Sockets[b].Ino })
		// The fd count is the kept fds': the harness's own (dropped
		// above) differ with what the test runner inherits.
		fds := 0
		for _, p := range s.Processes {
			fds += len(p.FDs)
		}
		s.Stats = snapshot.Stats{Processes: s.Stats.Processes, Tasks: s.Stats.Tasks, FDs: fds,
			KcmpCalls: map[string]int64{}, Errors: map[string]int{}}
		s.Normalize()
	}
}

// encoded is a snapshot's JSON.
func encoded(t *testing.T, s *snapshot.Snapshot) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := s.Encode(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// liveCase runs a fixture scenario: setup, a snapshot, change, another;
// the normalized snapshots and the diff's text, JSON and summary must be
// the committed ones.
func liveCase(t *testing.T, name string, setup func(root *fixture.Node, tmp string) (change func())) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	tmp := t.TempDir()
	h := harness(t, root.PID())
	change := setup(root, tmp)
	before := scanTree(t, root.PID())
	change()
	after := scanTree(t, root.PID())
	dropHarness(before, h)
	dropHarness(after, h)
	normalize(tmp, before, after)
	for _, s := range []*snapshot.Snapshot{before, after} {
		if err := snapshot.Validate(s); err != nil {
			t.Fatalf("normalized snapshot is invalid: %v", err)
		}
	}
	golden.Check(t, "live-"+name+"-before.json", encoded(t, before))
	golden.Check(t, "live-"+name+"-after.json", encoded(t, after))
	d := Compare(before, after, "live-"+name+"-before.json", "live-"+name+"-after.json", Options{})
	text, js := render(t, d)
	golden.Check(t, "live-"+name+".txt", text)
	golden.Check(t, "live-"+name+".json", js)
	var sum bytes.Buffer
	if err := d.WriteSummary(&sum); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "live-"+name+"-summary.txt", sum.Bytes())
}

// TestLiveGoldenDup2: fd A and its dup A+1 are one description (written
// to position 5); A is then replaced by dup2 with a new open of the same
// file with O_APPEND, as a log reopen does it. The diff must show the
// pair's sharing ended and A holding another description, with the
// flags and position that tell; an fcntl flag change of another fd is a
// flags change, not a new description.
func TestLiveGoldenDup2(t *testing.T) {
	liveCase(t, "dup2", func(root *fixture.Node, tmp string) func() {
		m := testkit.Must[int](t)
		log := filepath.Join(tmp, "app.log")
		testkit.Check(t, os.WriteFile(log, []byte("0123456789"), 0o644))
		a := m(root.Open(log, unix.O_WRONLY))
		testkit.Check(t, root.Seek(a, 5))
		dup := m(root.Dup(a))
		if dup != a+1 {
			t.Fatalf("dup of %d is %d, not the next number", a, dup)
		}
		conf := m(root.Open(filepath.Join(tmp, "app.log"), unix.O_RDONLY))
		return func() {
			fresh := m(root.Open(log, unix.O_WRONLY|unix.O_APPEND))
			testkit.Check(t, root.Dup2(fresh, a))
			testkit.Check(t, root.Close(fresh))
			testkit.Check(t, root.SetFL(conf, unix.O_NONBLOCK))
			testkit.Check(t, root.SetFD(conf, unix.FD_CLOEXEC))
		}
	})
}

// TestLiveGoldenLeak: a root process started after the first snapshot
// opens a 0600 root file and passes it over a unix socket (SCM_RIGHTS,
// through the controller) to a process of uid 65534 that ran before. The
// diff must mark the receiver's line LEAK with the reason, and say the fd
// appeared, not that it was opened.
func TestLiveGoldenLeak(t *testing.T) {
	testkit.RequireRoot(t, "the secret file is root's and the receiver drops to uid 65534")
	liveCase(t, "leak", func(root *fixture.Node, tmp string) func() {
		m, mn := testkit.Must[int](t), testkit.Must[*fixture.Node](t)
		secret := filepath.Join(tmp, "secret")
		testkit.Check(t, os.WriteFile(secret, []byte("s3cr3t"), 0o600))
		nobody := mn(root.Fork())
		testkit.Check(t, nobody.SetComm("python3"))
		testkit.Check(t, nobody.Setuid(65534, 65534))
		return func() {
			sender := mn(root.Fork())
			testkit.Check(t, sender.SetComm("sender"))
			fd := m(sender.Open(secret, unix.O_RDONLY))
			m(sender.SendFD(fd, nobody))
		}
	})
}

// TestLiveGoldenReload: a master with a TCP and a unix listener and four
// workers that inherit them; the workers exit and four new ones are
// forked, as a reload does. The summary must say the workers were
// replaced and the listeners kept, and the parts must say which.
func TestLiveGoldenReload(t *testing.T) {
	liveCase(t, "reload", func(root *fixture.Node, tmp string) func() {
		mn := testkit.Must[*fixture.Node](t)
		testkit.Check(t, root.SetComm("master"))
		if _, _, err := root.TCPListen("127.0.0.1", 0); err != nil {
			t.Fatal(err)
		}
		testkit.Must[int](t)(root.Listen(filepath.Join(tmp, "app.sock")))
		fork := func() *fixture.Node {
			w := mn(root.Fork())
			testkit.Check(t, w.SetComm("worker"))
			return w
		}
		var workers []*fixture.Node
		for range 4 {
			workers = append(workers, fork())
		}
		return func() {
			for _, w := range workers {
				testkit.Check(t, w.Exit())
				testkit.Check(t, root.Reap(w))
			}
			for range 4 {
				fork()
			}
		}
	})
	d := Compare(load(t, "live-reload-before.json"), load(t, "live-reload-after.json"), "a", "b", Options{})
	s := d.Summary
	if s.Headline != "4 worker processes replaced, listeners kept, no leaks" || len(s.Replaced) != 1 ||
		len(s.Replaced[0].Exited) != 4 || len(s.Replaced[0].Started) != 4 || s.Replaced[0].Parent.Comm != "master" ||
		len(s.ListenersKept) != 2 || len(s.ListenersGone)+len(s.ListenersNew) != 0 || s.Started+s.Exited != 0 {
		t.Errorf("summary %s", fmt.Sprintf("%+v", s))
	}
}
