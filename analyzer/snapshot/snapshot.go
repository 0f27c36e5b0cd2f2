package snapshot

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kcmpgraph/kcmpgraph/kcmp"
)

// Schema is the value of the "schema" field this package writes and reads.
const Schema = "kcmpgraph.snapshot/v1"

// Group type names, as written in snapshots: kcmp.Type.String() of the
// type, which kcmp's table owns.
const (
	TypeFile    = "file"
	TypeVM      = "vm"
	TypeFiles   = "files"
	TypeFS      = "fs"
	TypeSighand = "sighand"
	TypeIO      = "io"
	TypeSysvsem = "sysvsem"
	// TypeEpoll names the epoll list in Scope.Types and Selection.Types;
	// no group has it.
	TypeEpoll = "epoll"
)

// GroupTypes lists the group types in the order outputs use: every kcmp
// type but epoll, which has a list of its own.
var GroupTypes = groupTypes()

func groupTypes() []string {
	var out []string
	for _, t := range kcmp.AllTypes {
		if t != kcmp.EpollTFD {
			out = append(out, t.String())
		}
	}
	return out
}

// IsTaskType reports whether members of groups of this type are tasks
// ({pid, tid}) rather than fds ({pid, fd}).
func IsTaskType(t string) bool {
	k, ok := kcmp.Named(t)
	return ok && k.IsTask()
}

// Snapshot is one scan of a host.
type Snapshot struct {
	Schema string `json:"schema"`
	// Exact is false when kcmp could not be used and file groups were
	// approximated by inode.
	Exact     bool                `json:"exact"`
	Host      Host                `json:"host"`
	Processes []Process           `json:"processes"`
	Groups    []Group             `json:"groups"`
	Null      map[string][]Member `json:"null"`
	Epoll     []Epoll             `json:"epoll"`
	// Endpoints are the ends of channels between scanned fds: pipes,
	// connected AF_UNIX sockets, TCP and UDP connections between two
	// local sockets (each network namespace apart) and pseudo-terminals.
	Endpoints []Endpoint `json:"endpoints,omitempty"`
	// Sockets describe the sockets scanned fds hold, by inode: protocol,
	// state and addresses (listening and unconnected ones too), as the
	// sock_diag dumps of their network namespaces gave them.
	Sockets []Socket `json:"sockets,omitempty"`
	Stats   Stats    `json:"stats"`
	// Warnings are one-line messages about the run a reader should see
	// (inaccessible processes, degraded modes).
	Warnings []string `json:"warnings,omitempty"`
	// index finds processes by pid (Load, Select and Normalize make it).
	index *pidIndex
}

// pidIndex maps pids to their place in Processes, as they were when it
// was made: first and n tell whether Processes is still that slice. A
// slice reordered in place keeps its pids, so the index still knows which
// pids are there; where a place is wrong, Process searches.
type pidIndex struct {
	at    map[int]int32
	first *Process
	n     int
}

// reindex makes the pid index of the processes as they are.
func (s *Snapshot) reindex() {
	ix := &pidIndex{at: make(map[int]int32, len(s.Processes)), n: len(s.Processes)}
	if ix.n > 0 {
		ix.first = &s.Processes[0]
	}
	for i := range s.Processes {
		ix.at[s.Processes[i].PID] = int32(i)
	}
	s.index = ix
}

// Host describes where and when the snapshot was taken.
type Host struct {
	Hostname string    `json:"hostname"`
	BootID   string    `json:"boot_id"`
	Kernel   string    `json:"kernel"`
	TakenAt  time.Time `json:"taken_at"`
	// ClockTicks is USER_HZ, the unit of Process.StartTime.
	ClockTicks int `json:"clock_ticks"`
	// ProcRoot is the proc mount that was scanned.
	ProcRoot string `json:"proc_root"`
	// Scope says what the scan was asked to cover.
	Scope Scope `json:"scope"`
	// NetNS is the host's network namespace (inode; that of pid 1, or
	// the scanner's own when pid 1's cannot be read), 0 if unknown: a
	// socket of another namespace is named with its namespace.
	NetNS uint64 `json:"netns,omitempty"`
	// Namespaces are the host's namespaces as the scan saw them: those of
	// pid 1 of the proc root, or, where pid 1's cannot be read, the
	// scanning process's own; NamespacesOf says which ("pid 1" or
	// "self"). A process in another mount namespace is confined (see
	// FD.ForeignMountNS). Absent in snapshots of older versions.
	Namespaces   map[string]uint64 `json:"namespaces,omitempty"`
	NamespacesOf string            `json:"namespaces_of,omitempty"`
}

// Scope records the selection a scan was asked for.
type Scope struct {
	PIDs    []int    `json:"pids,omitempty"`
	Tree    int      `json:"tree,omitempty"`
	Users   []int    `json:"users,omitempty"`
	Threads bool     `json:"threads"`
	Types   []string `json:"types"`
	// Frozen: the selected processes were stopped during the scan
	// (warnings name any that were not, and why).
	Frozen bool `json:"frozen"`
	// FreezeMethod says how, when Frozen: "ptrace" (every thread seized
	// and interrupted). Snapshots of older versions say "sigstop" or
	// "cgroup" (the cgroup v2 freezer).
	FreezeMethod string `json:"freeze_method,omitempty"`
}

// Process is one process (thread group) as read from /proc.
type Process struct {
	PID     int      `json:"pid"`
	PPID    int      `json:"ppid"`
	Comm    string   `json:"comm"`
	Cmdline []string `json:"cmdline,omitempty"`
	Exe     string   `json:"exe,omitempty"`
	// State is the one-letter state from /proc/PID/stat; in a frozen scan,
	// the state just before the freeze.
	State string `json:"state"`
	UID   int    `json:"uid"`
	EUID  int    `json:"euid"`
	GID   int    `json:"gid"`
	EGID  int    `json:"egid"`
	// StartTime is in clock ticks since boot (Host.ClockTicks per second).
	// With the pid and the boot id it identifies a process across pid reuse.
	StartTime uint64 `json:"start_time"`
	// KernelThread and Zombie mark tasks that hold no user objects; they
	// are never grouped.
	KernelThread bool `json:"kernel_thread,omitempty"`
	Zombie       bool `json:"zombie,omitempty"`
	// Namespaces maps a namespace type (mnt, pid, net, user, ipc, uts,
	// cgroup, time) to its inode number.
	Namespaces map[string]uint64 `json:"namespaces,omitempty"`
	Cgroup     string            `json:"cgroup,omitempty"`
	// Container is the container the process belongs to, when its cgroup
	// path's naming convention or its runtime's state file says so; nil
	// for a process of the host.
	Container *Container `json:"container,omitempty"`
	// Unit and Slice are the systemd unit (a service or scope) and slice
	// whose cgroup holds the process ("nginx.service", "system.slice").
	Unit  string `json:"unit,omitempty"`
	Slice string `json:"slice,omitempty"`
	// Root is the target of /proc/PID/root as seen by the scanner.
	Root  string `json:"root,omitempty"`
	Tasks []int  `json:"tasks"`
	FDs   []FD   `json:"fds"`
	// Denied names what could not be read, with the errno ("fds: EACCES").
	Denied []string `json:"denied,omitempty"`
	// StreamFDs, when set and FDs is nil, appends the process's fds (in fd
	// order) to buf and returns it. Encode calls it, one process at a
	// time, so that a live scan written as JSON never holds its 100k fds
	// twice (analyzer.Options.StreamFDs). A snapshot with streamed fds is
	// for encoding only: nothing else reads them.
	StreamFDs func(buf []FD) []FD `json:"-"`
}

// FD is one file descriptor of a process.
type FD struct {
	FD int `json:"fd"`
	// Thread is set when the fd is not in the process's own fd table
	// (the one /proc/PID/fd shows) but in the table of a task that left
	// it: a thread that called unshare(CLONE_FILES), and any thread it
	// started since. It names that table by the lowest tid holding it
	// (never the pid). Only scans with threads read such tables; absent
	// (0) for the process's own table.
	Thread int `json:"tid,omitempty"`
	// Target is the /proc/PID/fd/N link text ("/etc/passwd",
	// "socket:[5521]", "anon_inode:[eventfd]").
	Target string `json:"target"`
	// Dev and Ino identify the inode (st_dev, st_ino of the opened object).
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	MntID int    `json:"mnt_id"`
	// Flags are the open flags from fdinfo (O_CLOEXEC belongs to the fd,
	// the rest to the description). Pos is the offset when read.
	Flags int   `json:"flags"`
	Pos   int64 `json:"pos"`
	// Mode, OwnerUID and OwnerGID describe the inode (st_mode, st_uid,
	// st_gid).
	Mode     uint32 `json:"mode"`
	OwnerUID int    `json:"owner_uid"`
	OwnerGID int    `json:"owner_gid"`
	// ForeignMountNS is set on a directory or regular file held by a
	// process in another mount namespace than the host's (Host.Namespaces)
	// that the process could not have opened itself: its path does not
	// lead to its inode inside the process's root (/proc/PID/root), and
	// its mount is not one of the process's mount namespace but one of
	// this other one (the host's, or another container's). The runc
	// CVE-2024-21626 shape. Absent otherwise, including for files on
	// kernel-internal mounts (memfd) and when the check could not run.
	ForeignMountNS uint64 `json:"foreign_mount_ns,omitempty"`
}

// Container says which container a process belongs to.
type Container struct {
	// Runtime is the engine that made the container, as its cgroup path's
	// naming convention or its state file tells: docker, containerd,
	// cri-o, podman, runc, crun, lxc, systemd-nspawn; "cri" for a
	// Kubernetes container whose engine the path does not name.
	Runtime string `json:"runtime"`
	// ID is the container's id as its runtime knows it: 64 hex digits for
	// docker, containerd, cri-o and podman, the name given to runc.
	ID string `json:"id"`
	// Name is the container's name where its runtime records one
	// (docker's and podman's names, the Kubernetes container name).
	Name string `json:"name,omitempty"`
	// Pod is set for a container of a Kubernetes pod.
	Pod *Pod `json:"pod,omitempty"`
	// Source says what identified the container: "state" (a runtime's
	// state file whose init process, pid and start time, was found
	// running), "cgroup" (the cgroup path's naming convention alone) or,
	// for a Helper, "cmdline" (the container its command line names).
	Source string `json:"source"`
	// Helper marks a process of the runtime that serves the container from
	// the host (conmon, a containerd shim) or sets it up (runc init before
	// the container starts), rather than a process of the container.
	Helper bool `json:"helper,omitempty"`
}

// Pod names a Kubernetes pod. Its uid and QoS class come from the cgroup
// path; its namespace and name from the runtime's metadata, when readable.
type Pod struct {
	UID       string `json:"uid,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	// QoS is guaranteed, burstable or besteffort.
	QoS string `json:"qos,omitempty"`
}

// Member is one holder of a kernel object: an fd of a process ({pid, fd})
// for file groups, a task ({pid, tid}) for per-task types. TID is zero for
// fd members; FD is meaningless for task members.
//
// An fd in the table of a task that left its process's table (FD.Thread)
// is {pid, fd, tid}: Thread is set, and the JSON form has both "fd" and
// "tid". It is an fd member all the same: TID stays zero.
type Member struct {
	PID int
	FD  int
	TID int
	// Thread is, for an fd member, FD.Thread of the fd: the task whose own
	// fd table holds it, 0 for the process's table.
	Thread int
}

// IsTask reports whether the member names a task rather than an fd.
func (m Member) IsTask() bool { return m.TID != 0 }

// TaskID is the task a kernel call about the member names (kcmp takes
// task ids): a task member's tid; for an fd member, the task whose fd
// table holds the fd (Thread, or the pid for the process's own table).
func (m Member) TaskID() int {
	switch {
	case m.IsTask():
		return m.TID
	case m.Thread != 0:
		return m.Thread
	}
	return m.PID
}

// String formats the member as pid:fd, pid/tid, or pid/tid:fd for an fd
// of a task's own table.
func (m Member) String() string {
	switch {
	case m.IsTask():
		return fmt.Sprintf("%d/%d", m.PID, m.TID)
	case m.Thread != 0:
		return fmt.Sprintf("%d/%d:%d", m.PID, m.Thread, m.FD)
	}
	return fmt.Sprintf("%d:%d", m.PID, m.FD)
}

// Less orders members by pid, then tid, then the fd's table (the
// process's own first), then fd.
func (m Member) Less(o Member) bool {
	if m.PID != o.PID {
		return m.PID < o.PID
	}
	if m.TID != o.TID {
		return m.TID < o.TID
	}
	if m.Thread != o.Thread {
		return m.Thread < o.Thread
	}
	return m.FD < o.FD
}

type memberJSON struct {
	PID *int `json:"pid"`
	FD  *int `json:"fd,omitempty"`
	TID *int `json:"tid,omitempty"`
}

// parseCompact reads the member form kcmpgraph writes, an object of
// "pid", "fd" and "tid" with small integer values and nothing else, about
// ten times faster than encoding/json: a snapshot has more members than
// anything but fds. It reports false for anything else (other keys,
// spaces, escapes, repeated keys, big numbers), which encoding/json then
// reads.
func (j *memberJSON) parseCompact(b []byte) bool {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	b = b[1 : len(b)-1]
	vals := [3]int{}
	for len(b) > 0 {
		k := bytes.IndexByte(b, ':')
		if k < 3 || b[0] != '"' || b[k-1] != '"' {
			return false
		}
		key := string(b[1 : k-1])
		b = b[k+1:]
		n, neg, i := 0, false, 0
		if i < len(b) && b[i] == '-' {
			neg, i = true, 1
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 9 {
			n = n*10 + int(b[i]-'0')
			i++
		}
		if i == start || i < len(b) && b[i] != ',' || b[start] == '0' && i-start > 1 {
			return false
		}
		if neg {
			n = -n
		}
		var slot **int
		switch key {
		case "pid":
			slot = &j.PID
		case "fd":
			slot = &j.FD
		case "tid":
			slot = &j.TID
		default:
			return false
		}
		if *slot != nil {
			return false
		}
		idx := len(vals) - 1
		if key == "pid" {
			idx = 0
		} else if key == "fd" {
			idx = 1
		}
		vals[idx] = n
		*slot = &vals[idx]
		if i < len(b) {
			i++ // the comma
			if i == len(b) {
				return false
			}
		}
		b = b[i:]
	}
	return true
}

// MarshalJSON writes {"pid","fd"}, {"pid","tid"} or {"pid","fd","tid"}.
func (m Member) MarshalJSON() ([]byte, error) {
	return appendMember(make([]byte, 0, 32), m), nil
}

// UnmarshalJSON reads a member: a pid with an fd, a tid, or both (an fd
// of a task's own table).
func (m *Member) UnmarshalJSON(b []byte) error {
	var j memberJSON
	if !j.parseCompact(b) {
		j = memberJSON{}
		if err := json.Unmarshal(b, &j); err != nil {
			return err
		}
	}
	if j.PID == nil {
		return fmt.Errorf("member has no pid")
	}
	switch {
	case j.FD == nil && j.TID == nil:
		return fmt.Errorf("member has neither fd nor tid")
	case j.TID != nil && *j.TID == 0:
		return fmt.Errorf("member has tid 0")
	}
	*m = Member{PID: *j.PID}
	switch {
	case j.FD != nil && j.TID != nil:
		m.FD, m.Thread = *j.FD, *j.TID
	case j.FD != nil:
		m.FD = *j.FD
	default:
		m.TID = *j.TID
	}
	return nil
}

// Group lists the members that hold one kernel object, two or more.
type Group struct {
	Type    string   `json:"type"`
	Members []Member `json:"members"`
}

// Epoll is one epoll file descriptor and what it watches.
type Epoll struct {
	PID int `json:"pid"`
	FD  int `json:"fd"`
	// Thread is the epoll fd's FD.Thread: set when it is in a task's own
	// fd table.
	Thread  int     `json:"tid,omitempty"`
	Watches []Watch `json:"watches"`
}

// Member is the epoll fd as a member.
func (e *Epoll) Member() Member { return Member{PID: e.PID, FD: e.FD, Thread: e.Thread} }

// Watch is one registration in an epoll instance.
type Watch struct {
	// TFD is the fd number the target was registered under; it may be
	// closed or reused since.
	TFD int `json:"tfd"`
	// Events is the registered event mask.
	Events uint32 `json:"events"`
	// Holder is the lowest {pid, fd} (or {pid, fd, tid}) in the scan that
	// holds the watched description now, or nil if no scanned fd holds it.
	Holder *Member `json:"holder"`
}

// Endpoint is one channel: its kind and its ends, each end given as the
// {pid, fd} holders of that end's open file description.
//
// The order of Ends says which end is which: a pipe's or a fifo's read
// end, then its write end; a pty's master, then each open file description of its
// slave; a unix socket pair in inode order; a tcp or udp connection by
// first holder.
type Endpoint struct {
	// Kind is pipe, fifo, unix-stream, unix-dgram, unix-seqpacket, tcp,
	// udp or pty.
	Kind string `json:"kind"`
	// Name is a unix socket's bound path or "@abstract" name, if any; a
	// pty's slave name in its own devpts ("/dev/pts/3"); a fifo's path.
	Name string `json:"name,omitempty"`
	// Addresses, for tcp and udp, are the local address and port of each
	// end's socket, aligned with Ends: "127.0.0.1:5000", "[::1]:5000"
	// (an IPv6 socket that talks to an IPv4 one shows its IPv4-mapped
	// form, "[::ffff:127.0.0.1]:5000"). The remote address of an end is
	// the local address of the other. Absent for other kinds.
	Addresses []string   `json:"addresses,omitempty"`
	Ends      [][]Member `json:"ends"`
}

// Label names the channel for people: its kind and name, or for a
// connection its kind and addresses ("tcp 127.0.0.1:41822 <-> 127.0.0.1:5000").
// It is raw snapshot text: escape it before printing.
func (e *Endpoint) Label() string {
	switch {
	case len(e.Addresses) > 0:
		return e.Kind + " " + strings.Join(e.Addresses, " <-> ")
	case e.Name != "":
		return e.Kind + " " + e.Name
	}
	return e.Kind
}

// Socket is one socket that a scanned fd holds, as the sock_diag dump of
// its network namespace described it when the snapshot was taken.
type Socket struct {
	Ino uint64 `json:"ino"`
	// Protocol is unix-stream, unix-dgram, unix-seqpacket, tcp or udp
	// (the Endpoint kinds); for a socket no dump listed (netlink, packet,
	// raw, or one of a namespace that could not be entered), the kernel's
	// protocol name in lower case ("netlink", "packet", "tcpv6").
	Protocol string `json:"protocol"`
	// NetNS is the network namespace (inode) whose dump listed the
	// socket, 0 when none did.
	NetNS uint64 `json:"netns,omitempty"`
	// State is the state as ss(8) names it: LISTEN, ESTAB, UNCONN (an
	// unconnected udp or unix socket), SYN-SENT, CLOSE-WAIT, ...
	State string `json:"state,omitempty"`
	// Local is the bound address: "127.0.0.1:8080" or "[::]:443" for tcp
	// and udp, a path or "@name" (abstract) for unix, "" when unbound. A
	// unix socket accepted from a listener has the listener's name.
	Local string `json:"local,omitempty"`
	// Remote is the peer's address: for tcp and udp the connected remote
	// address and port; for unix the bound name of the connected peer.
	Remote string `json:"remote,omitempty"`
	// Peer is the inode of a connected unix socket's peer, 0 if none.
	Peer uint64 `json:"peer,omitempty"`
}

// Stats is what the run cost and what it could not see.
type Stats struct {
	Processes int `json:"processes"`
	Tasks     int `json:"tasks"`
	FDs       int `json:"fds"`
	// KcmpCalls counts kcmp calls by type name; "verify" counts the calls
	// of the final re-check of every group on unfrozen processes.
	KcmpCalls map[string]int64 `json:"kcmp_calls"`
	// Errors counts failures by errno name (EPERM, ESRCH, ...).
	Errors map[string]int `json:"errors"`
	// Skipped counts what was left out and why: processes or fds that
	// vanished or were denied, kernel threads, zombies, members dropped by
	// re-validation.
	Skipped map[string]int `json:"skipped,omitempty"`
	// Seconds is the wall time of the whole run; ScanSeconds and
	// GroupSeconds split it into reading /proc and comparing.
	Seconds      float64 `json:"seconds"`
	ScanSeconds  float64 `json:"scan_seconds"`
	GroupSeconds float64 `json:"group_seconds"`
	// EndpointSeconds is the part of GroupSeconds spent pairing channel
	// ends (sock_diag dumps included).
	EndpointSeconds float64 `json:"endpoint_seconds,omitempty"`
}

// TotalKcmpCalls sums KcmpCalls.
func (s Stats) TotalKcmpCalls() int64 {
	var n int64
	for _, c := range s.KcmpCalls {
		n += c
	}
	return n
}

// Process returns the process with the given pid, or nil.
//
// On a snapshot from Load, Select or Normalize it takes constant time,
// and keeps working if the processes are reordered or their pids changed
// in pid order since; a pid it does not know is looked for by binary
// search. After other changes, call Normalize. Other snapshots take
// logarithmic time if in pid order, else linear.
func (s *Snapshot) Process(pid int) *Process {
	known := false
	if ix := s.index; ix != nil && ix.n == len(s.Processes) && (ix.n == 0 || ix.first == &s.Processes[0]) {
		i, ok := ix.at[pid]
		if ok {
			if p := &s.Processes[i]; p.PID == pid {
				return p
			}
			known = true // it is there, elsewhere: reordered
		}
		if !ok {
			if i, found := slices.BinarySearchFunc(s.Processes, pid, func(p Process, pid int) int { return cmp.Compare(p.PID, pid) }); found {
				return &s.Processes[i]
			}
			return nil
		}
	}
	if !known {
		i := sort.Search(len(s.Processes), func(i int) bool { return s.Processes[i].PID >= pid })
		if i < len(s.Processes) && s.Processes[i].PID == pid {
			return &s.Processes[i]
		}
	}
	for i := range s.Processes { // unsorted input
		if s.Processes[i].PID == pid {
			return &s.Processes[i]
		}
	}
	return nil
}

// FDByNumber returns the fd with the given number in the process's own
// fd table, or nil.
func (p *Process) FDByNumber(fd int) *FD { return p.FDIn(0, fd) }

// FDIn returns fd number fd of the fd table thread names (FD.Thread; 0 is
// the process's own), or nil.
func (p *Process) FDIn(thread, fd int) *FD {
	i := sort.Search(len(p.FDs), func(i int) bool {
		f := &p.FDs[i]
		return f.Thread > thread || f.Thread == thread && f.FD >= fd
	})
	if i < len(p.FDs) && p.FDs[i].FD == fd && p.FDs[i].Thread == thread {
		return &p.FDs[i]
	}
	for i := range p.FDs { // unsorted input
		if p.FDs[i].FD == fd && p.FDs[i].Thread == thread {
			return &p.FDs[i]
		}
	}
	return nil
}

// FDOf returns the fd an fd member names (its Thread and FD), or nil.
func (p *Process) FDOf(m Member) *FD { return p.FDIn(m.Thread, m.FD) }

// MemberOf is the member fd is, as an fd of process p.
func (p *Process) MemberOf(fd *FD) Member { return Member{PID: p.PID, FD: fd.FD, Thread: fd.Thread} }

// Normalize sorts everything into the canonical order: processes by pid,
// fds by table (the process's own first, then by Thread) and number, tasks ascending, members by (pid, fd/tid), groups by type
// then first member, null lists by member, epoll entries by (pid, fd).
// Two snapshots with the same content normalize to the same JSON.
func (s *Snapshot) Normalize() {
	sort.Slice(s.Processes, func(i, j int) bool { return s.Processes[i].PID < s.Processes[j].PID })
	s.reindex()
	for i := range s.Processes {
		p := &s.Processes[i]
		sort.Slice(p.FDs, func(a, b int) bool {
			x, y := &p.FDs[a], &p.FDs[b]
			if x.Thread != y.Thread {
				return x.Thread < y.Thread
			}
			return x.FD < y.FD
		})
		sort.Ints(p.Tasks)
	}
	for i := range s.Groups {
		g := &s.Groups[i]
		sort.Slice(g.Members, func(a, b int) bool { return g.Members[a].Less(g.Members[b]) })
	}
	sortGroups(s.Groups)
	for _, l := range s.Null {
		sort.Slice(l, func(a, b int) bool { return l[a].Less(l[b]) })
	}
	sort.Slice(s.Epoll, func(i, j int) bool {
		return s.Epoll[i].Member().Less(s.Epoll[j].Member())
	})
}

// sortGroups puts groups with sorted members in the canonical order: by
// type (GroupTypes order), then by first member.
func sortGroups(gs []Group) {
	typeRank := make(map[string]int, len(GroupTypes))
	for i, t := range GroupTypes {
		typeRank[t] = i
	}
	sort.SliceStable(gs, func(i, j int) bool {
		a, b := gs[i], gs[j]
		if typeRank[a.Type] != typeRank[b.Type] {
			return typeRank[a.Type] < typeRank[b.Type]
		}
		if len(a.Members) == 0 || len(b.Members) == 0 {
			return len(a.Members) < len(b.Members)
		}
		return a.Members[0].Less(b.Members[0])
	})
}

// SocketIndex maps socket inodes to their entries in s.Sockets.
func (s *Snapshot) SocketIndex() map[uint64]*Socket {
	idx := make(map[uint64]*Socket, len(s.Sockets))
	for i := range s.Sockets {
		idx[s.Sockets[i].Ino] = &s.Sockets[i]
	}
	return idx
}

// FileGroupIndex indexes file groups: it maps each fd member to the index
// of its group in s.Groups.
func (s *Snapshot) FileGroupIndex() map[Member]int {
	idx := make(map[Member]int)
	for i, g := range s.Groups {
		if g.Type != TypeFile {
			continue
		}
		for _, m := range g.Members {
			idx[m] = i
		}
	}
	return idx
}
