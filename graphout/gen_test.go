package graphout

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// generated builds a host-like snapshot of n processes under pid 1:
// services (a master and its workers sharing listeners and logs, each
// worker with its own socketpair to the master), shell pipelines and lone
// daemons, every process holding /dev/null and its service's journal
// stream. Dense adds what the random forest had: descriptions
// passed with SCM_RIGHTS to random processes, unix connections and epoll
// watches between random services, pipes between random pairs. The same
// n and dense give the same snapshot.
func generated(n int, dense bool) *snapshot.Snapshot {
	r := rand.New(rand.NewPCG(uint64(n), map[bool]uint64{false: 1, true: 2}[dense]))
	g := &gen{s: &snapshot.Snapshot{Schema: snapshot.Schema, Exact: true, Null: map[string][]snapshot.Member{},
		Host: snapshot.Host{Hostname: "gen", NetNS: 4026531840}}, next: 1000, ino: 50000}
	g.proc(1, 0, "systemd", 0, "")
	null := g.open(1, "/dev/null", 0o20666)
	journal := g.sock(1, snapshot.Socket{Protocol: "unix-stream", State: "LISTEN", Local: "/run/systemd/journal/stdout"})
	for svc := 0; len(g.s.Processes) < n; svc++ {
		unit := fmt.Sprintf("svc%d.service", svc)
		switch svc % 3 {
		case 0: // master and workers
			m := g.proc(g.pid(), 1, "daemon"+strconv.Itoa(svc), 0, unit)
			shared := []snapshot.Member{g.inherit(null, m), g.connect(journal, m)}
			shared = append(shared, g.sock(m, snapshot.Socket{Protocol: "tcp", State: "LISTEN", Local: fmt.Sprintf("0.0.0.0:%d", 8000+svc)}),
				g.open(m, fmt.Sprintf("/var/log/svc%d/access.log", svc), 0o100640))
			for w := 0; w < 2+r.IntN(6) && len(g.s.Processes) < n; w++ {
				wp := g.proc(g.pid(), m, "worker"+strconv.Itoa(svc), 33, unit)
				for _, f := range shared {
					g.share(f, wp)
				}
				g.pair(m, wp)
			}
		case 1: // a shell pipeline
			sh := g.proc(g.pid(), 1, "bash", 1000, unit)
			tty := g.open(sh, "/dev/pts/"+strconv.Itoa(svc), 0o20620)
			var prev *snapshot.Member
			for st := 0; st < 3 && len(g.s.Processes) < n; st++ {
				p := g.proc(g.pid(), sh, []string{"grep", "sort", "uniq"}[st], 1000, unit)
				g.share(tty, p)
				if prev != nil {
					g.pipe(prev.PID, p)
				}
				prev = &snapshot.Member{PID: p}
			}
		default: // a lone daemon
			d := g.proc(g.pid(), 1, "lone"+strconv.Itoa(svc), 0, unit)
			g.inherit(null, d)
			g.connect(journal, d)
		}
	}
	if dense {
		pids := make([]int, 0, len(g.s.Processes))
		for _, p := range g.s.Processes[1:] {
			pids = append(pids, p.PID)
		}
		pick := func() int { return pids[r.IntN(len(pids))] }
		for i := 0; i < n/2; i++ {
			a, b := pick(), pick()
			if a == b {
				continue
			}
			switch i % 4 {
			case 0: // SCM_RIGHTS: a file passed
				g.share(g.open(a, fmt.Sprintf("/srv/data/%d", i), 0o100600), b)
			case 1:
				l := g.sock(a, snapshot.Socket{Protocol: "unix-stream", State: "LISTEN", Local: fmt.Sprintf("/run/app%d.sock", i)})
				g.connect(l, b)
			case 2:
				g.pipe(a, b)
			case 3:
				g.watch(a, g.open(b, fmt.Sprintf("/dev/input/event%d", i), 0o20660))
			}
		}
	}
	g.s.Normalize()
	return g.s
}

type gen struct {
	s         *snapshot.Snapshot
	next, ino int
}

func (g *gen) pid() int { g.next++; return g.next }

func (g *gen) proc(pid, ppid int, comm string, uid int, unit string) int {
	cg := "0::/"
	if unit != "" {
		cg = "0::/system.slice/" + unit
	}
	g.s.Processes = append(g.s.Processes, snapshot.Process{PID: pid, PPID: ppid, Comm: comm, UID: uid, EUID: uid, Tasks: []int{pid},
		Cmdline: []string{"/usr/bin/" + comm}, Cgroup: cg, Namespaces: map[string]uint64{"pid": 4026531836, "net": 4026531840}})
	return pid
}

func (g *gen) process(pid int) *snapshot.Process { return g.s.Process(pid) }

// addFD gives pid a new fd on target and returns it as a member.
func (g *gen) addFD(pid int, target string, ino uint64, mode uint32, flags int) snapshot.Member {
	p := g.process(pid)
	fd := len(p.FDs) + 3
	p.FDs = append(p.FDs, snapshot.FD{FD: fd, Target: target, Ino: ino, Mode: mode, Flags: flags})
	return snapshot.Member{PID: pid, FD: fd}
}

func (g *gen) open(pid int, path string, mode uint32) snapshot.Member {
	g.ino++
	return g.addFD(pid, path, uint64(g.ino), mode, 2)
}

func (g *gen) sock(pid int, k snapshot.Socket) snapshot.Member {
	g.ino++
	k.Ino, k.NetNS = uint64(g.ino), 4026531840
	g.s.Sockets = append(g.s.Sockets, k)
	return g.addFD(pid, "socket:["+strconv.Itoa(g.ino)+"]", k.Ino, 0o140777, 2)
}

// share gives pid another fd of m's description (fork, dup, SCM_RIGHTS).
func (g *gen) share(m snapshot.Member, pid int) snapshot.Member {
	f := g.process(m.PID).FDByNumber(m.FD)
	nm := g.addFD(pid, f.Target, f.Ino, f.Mode, f.Flags)
	for i := range g.s.Groups {
		for _, x := range g.s.Groups[i].Members {
			if x == m {
				g.s.Groups[i].Members = append(g.s.Groups[i].Members, nm)
				return nm
			}
		}
	}
	g.s.Groups = append(g.s.Groups, snapshot.Group{Type: snapshot.TypeFile, Members: []snapshot.Member{m, nm}})
	return nm
}

func (g *gen) inherit(m snapshot.Member, pid int) snapshot.Member { return g.share(m, pid) }

// connect makes a connection from pid to listener l: the client end in
// pid, the accepted end in l's process.
func (g *gen) connect(l snapshot.Member, pid int) snapshot.Member {
	name := g.s.SocketIndex()[g.process(l.PID).FDByNumber(l.FD).Ino].Local
	c := g.sock(pid, snapshot.Socket{Protocol: "unix-stream", State: "ESTAB", Remote: name})
	a := g.sock(l.PID, snapshot.Socket{Protocol: "unix-stream", State: "ESTAB", Local: name})
	g.s.Endpoints = append(g.s.Endpoints, snapshot.Endpoint{Kind: "unix-stream", Name: name, Ends: [][]snapshot.Member{{c}, {a}}})
	return c
}

func (g *gen) pair(a, b int) {
	x := g.sock(a, snapshot.Socket{Protocol: "unix-stream", State: "ESTAB"})
	y := g.sock(b, snapshot.Socket{Protocol: "unix-stream", State: "ESTAB"})
	g.s.Endpoints = append(g.s.Endpoints, snapshot.Endpoint{Kind: "unix-stream", Ends: [][]snapshot.Member{{x}, {y}}})
}

func (g *gen) pipe(writer, reader int) {
	g.ino++
	target := "pipe:[" + strconv.Itoa(g.ino) + "]"
	w := g.addFD(writer, target, uint64(g.ino), 0o10600, 1)
	r := g.addFD(reader, target, uint64(g.ino), 0o10600, 0)
	g.s.Endpoints = append(g.s.Endpoints, snapshot.Endpoint{Kind: "pipe", Ends: [][]snapshot.Member{{r}, {w}}})
}

func (g *gen) watch(pid int, m snapshot.Member) {
	g.ino++
	ep := g.addFD(pid, "anon_inode:[eventpoll]", uint64(g.ino), 0o600, 2)
	g.s.Epoll = append(g.s.Epoll, snapshot.Epoll{PID: pid, FD: ep.FD, Watches: []snapshot.Watch{{TFD: m.FD, Holder: &m}}})
}
