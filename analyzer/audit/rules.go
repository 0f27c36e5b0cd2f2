package audit

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/analyzer/objname"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/plural"
)

// Rules lists every rule.
func Rules() []Rule {
	return []Rule{
		{ID: "KG001", Severity: High, Title: "open file shared with a user who could not open it",
			Why:   "An open file description carries the access of whoever opened it. A less privileged process holding it can read or write a file its own credentials would not open: a classic leak across a privilege drop.",
			Fix:   "Open the file with O_CLOEXEC, close it before dropping privileges or before exec, or pass only what the other user may access.",
			check: crossUserFile, message: msgCrossUserFile},
		{ID: "KG002", Severity: Medium, Title: "socket or pipe of a root process held by another user",
			Why:   "A root daemon's socket or pipe in the hands of another user lets that user speak for, or listen as, the daemon.",
			Fix:   "Mark the descriptor O_CLOEXEC, close it in children, or allow-list sharing that is by design.",
			check: privilegedIPC, message: msgPrivilegedIPC},
		{ID: "KG003", Severity: Medium, Title: "open file description crosses a namespace or cgroup boundary",
			Why:   "A description held on both sides of a mount, PID or user namespace is a way through it. Sockets, pipes and devices crossing (a container's stdio, a runtime's control pipe) are often by design; a host file or directory a container could not open itself is KG008.",
			Fix:   "Close host descriptors (O_CLOEXEC, close_range) before entering the container, or allow-list what is by design.",
			check: crossNamespace, message: msgCrossNamespace},
		{ID: "KG004", Severity: Critical, Title: "writable sensitive object held by a non-root process",
			Why:   "Write access to shadow or sudoers files, block devices or another process's memory is root access in disguise.",
			Fix:   "Find who passed the descriptor (kcmpgraph who PID:FD) and close it there.",
			check: writableSensitive, message: msgWritableSensitive},
		{ID: "KG005", Severity: Critical, Title: "per-task kernel object shared across users",
			Why:   "Tasks of different users sharing an address space or fd table (critical) or fs info or signal handlers (high) can act on each other directly.",
			Fix:   "Do not create children with CLONE_VM, CLONE_FILES, CLONE_FS or CLONE_SIGHAND across a privilege change.",
			check: crossUserTask, message: msgCrossUserTask},
		{ID: "KG006", Severity: Low, Title: "file or directory inherited across exec into another program",
			Why:   "Heuristic: a regular file or directory (not a socket or pipe, which are often passed on purpose) that a child still shares with its parent under the same fd number, after the child exec'd a different program, was most likely inherited by accident: the parent opened it without O_CLOEXEC.",
			Fix:   "Open it with O_CLOEXEC in the parent.",
			check: inheritedAcrossExec, message: msgInheritedAcrossExec},
		{ID: "KG007", Severity: Low, Title: "channel between users or across a namespace boundary",
			Why:   "A pipe, unix socket, local TCP or UDP connection or pseudo-terminal whose ends are held by different users (low: daemons and their clients talk this way by design) or across a user, network or mount namespace (medium: a way into or out of a container that its configuration may not show).",
			Fix:   "Check that the channel is meant to be there; allow-list the ones that are.",
			check: crossChannel, message: msgCrossChannel},
		{ID: "KG008", Severity: Critical, Title: "host file or directory inside a container",
			Why:   "A process in a container (or another mount namespace) holds a directory or regular file it could not have opened: its path does not lead to it inside the process's root, and it lies on a mount of the host (or of another container). Through a directory fd the whole host file system is reachable (openat, fchdir): runc CVE-2024-21626 is this leak, whether or not anyone else holds the fd.",
			Fix:   "Close host descriptors before entering the container (O_CLOEXEC, close_range); update the runtime; find who passed it (kcmpgraph who PID:FD).",
			check: foreignFiles, message: msgForeignFiles},
		{ID: "KG009", Severity: Critical, Title: "container runtime socket inside a container",
			Why:   "The API socket of a container runtime (docker.sock, containerd.sock, crio.sock, podman.sock...) in a container gives it the runtime's power: start a privileged container with the host's root mounted, and it is root on the host.",
			Fix:   "Do not mount or pass the runtime socket into containers; if a tool needs it, give it a filtering proxy with only the calls it needs.",
			check: runtimeSockets, message: msgInContainer},
		{ID: "KG010", Severity: Critical, Title: "namespace of the host held inside a container",
			Why:   "A namespace file (/proc/PID/ns/*) of the host, or of another container, held by a process in a container lets it setns(2) out of its own namespaces wherever its capabilities allow.",
			Fix:   "Do not pass namespace fds into containers; close them before exec.",
			check: foreignNamespaces, message: msgInContainer},
	}
}

// Inode types (st_mode & S_IFMT).
const (
	sIFMT   = 0o170000
	sIFDIR  = 0o040000
	sIFREG  = 0o100000
	sIFBLK  = 0o060000
	sIFSOCK = 0o140000
	oAppend = 0o2000
)

func (c *checker) fileGroups() []snapshot.Group {
	var out []snapshot.Group
	for _, g := range c.s.Groups {
		if g.Type == snapshot.TypeFile {
			out = append(out, g)
		}
	}
	return out
}

// Reasons for known designs (Finding.Expected).
const (
	expectListener = "listening sockets inherited from a root master by its workers, which dropped privileges: the prefork design (nginx, apache, postfix)"
	expectLog      = "log files the root master opened for appending, inherited by its workers: the prefork design"
	expectChannel  = "control channels (pipes, socketpairs) between a root master and its own workers"
	expectRuntime  = "the container's runtime (its helper on the host: conmon, a shim) holds the container's stdio and control descriptors by design"
	expectActivate = "socket activation: the service manager (pid 1) keeps the listening sockets it passed to the service"
)

// family returns the master's pid when every member's process is a root
// master or one of its direct children running as another user (at least
// one such worker), else 0.
func (c *checker) family(ms []snapshot.Member) int {
	master, workers := 0, 0
	for _, m := range ms {
		p := c.procs[m.PID]
		if p == nil {
			return 0
		}
		if par := c.procs[p.PPID]; par != nil && par.EUID == 0 && p.EUID != 0 && par.PID != p.PID {
			if master != 0 && master != par.PID {
				return 0
			}
			master = par.PID
			workers++
		}
	}
	if master == 0 || workers == 0 {
		return 0
	}
	for _, m := range ms {
		if p := c.procs[m.PID]; p.PID != master && p.PPID != master {
			return 0
		}
	}
	return master
}

// runtimeOnly reports whether the members are processes of one container
// and helpers of that container's runtime, both present.
func (c *checker) runtimeOnly(ms []snapshot.Member) bool {
	id, inside, helper := "", false, false
	for _, m := range ms {
		p := c.procs[m.PID]
		if p == nil || p.Container == nil {
			return false
		}
		if id != "" && p.Container.ID != id {
			return false
		}
		id = p.Container.ID
		if p.Container.Helper {
			helper = true
		} else {
			inside = true
		}
	}
	return inside && helper
}

// listener reports whether fd m is a listening socket or a bound,
// unconnected udp socket (a server's).
func (c *checker) listener(m snapshot.Member) bool {
	fd := c.fdOf(m)
	if fd == nil {
		return false
	}
	if c.names.FD(m).Kind == objname.Listener {
		return true
	}
	k := c.names.Socket(fd)
	return k != nil && k.Protocol == "udp" && k.Local != "" && k.Remote == ""
}

// controlChannel reports whether fd m is a pipe or an unnamed unix
// socketpair.
func (c *checker) controlChannel(m snapshot.Member) bool {
	fd := c.fdOf(m)
	if fd == nil {
		return false
	}
	if strings.HasPrefix(fd.Target, "pipe:[") {
		return true
	}
	k := c.names.Socket(fd)
	return k != nil && strings.HasPrefix(k.Protocol, "unix-") && k.Local == "" && k.Peer != 0
}

// isLog reports whether fd is a regular file open for appending only.
func isLog(fd *snapshot.FD) bool {
	return fd.Mode&sIFMT == sIFREG && fd.Flags&3 == 1 && fd.Flags&oAppend != 0
}

func crossUserFile(c *checker, r Rule) []raw {
	var out []raw
	for _, g := range c.fileGroups() {
		users := map[int]bool{}
		notes := map[snapshot.Member]string{}
		var first *snapshot.FD
		for _, m := range g.Members {
			p, f := c.procs[m.PID], c.fdOf(m)
			if p == nil || f == nil {
				continue
			}
			first = f
			users[p.EUID] = true
			kind := f.Mode & sIFMT
			if (kind == sIFREG || kind == sIFDIR) && !snapshot.MayOpen(p, f) {
				notes[m] = "cannot open"
			}
		}
		if len(users) < 2 || len(notes) == 0 {
			continue
		}
		x := raw{rule: r, severity: r.Severity, members: g.Members, notes: notes}
		if c.family(g.Members) != 0 && isLog(first) {
			x.severity, x.expected = Info, expectLog
		}
		out = append(out, x)
	}
	return out
}

func msgCrossUserFile(c *checker, f *Finding, _ []string) string {
	procs, uids := 0, map[int]bool{}
	for _, h := range f.Holders {
		for _, fd := range h.FDs {
			if fd.Note == "cannot open" {
				procs++
				uids[h.EUID] = true
				break
			}
		}
	}
	return fmt.Sprintf("%s open in %s of uid %s that could not open %s with %s own credentials",
		objects(f), plural.Count(procs, "process", "processes"), uidList(uids), itThem(len(f.Objects)), map[bool]string{true: "its", false: "their"}[procs == 1])
}

func privilegedIPC(c *checker, r Rule) []raw {
	var out []raw
	for _, g := range c.fileGroups() {
		fd := c.fdOf(g.Members[0])
		if fd == nil || !(strings.HasPrefix(fd.Target, "socket:") || strings.HasPrefix(fd.Target, "pipe:")) {
			continue
		}
		root, other := false, false
		for _, m := range g.Members {
			if p := c.procs[m.PID]; p != nil {
				if p.EUID == 0 {
					root = true
				} else {
					other = true
				}
			}
		}
		if !root || !other {
			continue
		}
		x := raw{rule: r, severity: r.Severity, members: g.Members}
		if c.family(g.Members) != 0 {
			switch m := g.Members[0]; {
			case c.listener(m):
				x.severity, x.expected = Info, expectListener
			case c.controlChannel(m):
				x.severity, x.expected = Info, expectChannel
			}
		}
		out = append(out, x)
	}
	return out
}

func msgPrivilegedIPC(c *checker, f *Finding, _ []string) string {
	others := map[int]bool{}
	for _, h := range f.Holders {
		if h.EUID != 0 {
			others[h.EUID] = true
		}
	}
	return fmt.Sprintf("%s of a root process held by uid %s", objects(f), uidList(others))
}

func crossNamespace(c *checker, r Rule) []raw {
	var out []raw
	for _, g := range c.fileGroups() {
		var crossed []string
		for _, ns := range []string{"mnt", "pid", "user"} {
			vals := map[uint64]bool{}
			for _, m := range g.Members {
				if p := c.procs[m.PID]; p != nil && p.Namespaces[ns] != 0 {
					vals[p.Namespaces[ns]] = true
				}
			}
			if len(vals) > 1 {
				crossed = append(crossed, ns)
			}
		}
		if len(crossed) == 0 {
			continue
		}
		x := raw{rule: r, severity: r.Severity, members: g.Members, detail: strings.Join(crossed, ", ")}
		fd := c.fdOf(g.Members[0])
		switch {
		case c.runtimeOnly(g.Members):
			x.severity, x.expected = Info, expectRuntime
		case c.activated(g.Members):
			x.severity, x.expected = Info, expectActivate
		case fd != nil && c.s.Host.Namespaces == nil && crossed[0] == "mnt" && (fd.Mode&sIFMT == sIFDIR || fd.Mode&sIFMT == sIFREG):
			// A snapshot older than the reachability check (KG008): a
			// host file or directory in another mount namespace may be
			// the runc CVE-2024-21626 leak.
			x.severity = Critical
			x.detail += " (a host file or directory in another mount namespace; this snapshot predates the reachability check)"
		}
		out = append(out, x)
	}
	return out
}

// activated reports whether a listening socket is held by pid 1 and its
// service: socket activation.
func (c *checker) activated(ms []snapshot.Member) bool {
	if !c.listener(ms[0]) {
		return false
	}
	for _, m := range ms {
		if m.PID == 1 {
			return true
		}
	}
	return false
}

func msgCrossNamespace(c *checker, f *Finding, details []string) string {
	return fmt.Sprintf("%s held across %s namespaces", objects(f), strings.Join(details, "; "))
}

var sensitivePaths = []string{"/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/sudoers.d/*", "/etc/shadow-", "/etc/gshadow-",
	"/proc/*/mem", "/dev/mem", "/dev/kmem", "/dev/port", "/root/.ssh/*", "/etc/ssh/ssh_host_*_key"}

func writableSensitive(c *checker, r Rule) []raw {
	var out []raw
	for _, p := range c.s.Processes {
		if p.EUID == 0 {
			continue
		}
		for _, f := range p.FDs {
			if f.Flags&3 == 0 {
				continue
			}
			sensitive := f.Mode&sIFMT == sIFBLK
			for _, pat := range sensitivePaths {
				if ok, _ := path.Match(pat, f.Target); ok {
					sensitive = true
				}
			}
			if sensitive {
				out = append(out, raw{rule: r, severity: r.Severity, members: []snapshot.Member{p.MemberOf(&f)}})
			}
		}
	}
	return out
}

func msgWritableSensitive(c *checker, f *Finding, _ []string) string {
	return fmt.Sprintf("uid %d holds %s open for writing", f.Holders[0].EUID, objects(f))
}

func crossUserTask(c *checker, r Rule) []raw {
	var out []raw
	for _, g := range c.s.Groups {
		if !snapshot.IsTaskType(g.Type) || g.Type == snapshot.TypeIO || g.Type == snapshot.TypeSysvsem {
			continue
		}
		users := map[int]bool{}
		for _, m := range g.Members {
			if p := c.procs[m.PID]; p != nil {
				users[p.EUID] = true
			}
		}
		if len(users) < 2 {
			continue
		}
		x := raw{rule: r, severity: r.Severity, members: g.Members, object: g.Type}
		if g.Type == snapshot.TypeFS || g.Type == snapshot.TypeSighand {
			x.severity = High
		}
		out = append(out, x)
	}
	return out
}

func msgCrossUserTask(c *checker, f *Finding, _ []string) string {
	users := map[int]bool{}
	for _, h := range f.Holders {
		users[h.EUID] = true
	}
	return fmt.Sprintf("%s shared by uids %s", strings.Join(f.Objects, ", "), uidList(users))
}

func inheritedAcrossExec(c *checker, r Rule) []raw {
	var out []raw
	for _, g := range c.fileGroups() {
		byProc := map[int]snapshot.Member{}
		for _, m := range g.Members {
			byProc[m.PID] = m
		}
		for _, m := range g.Members {
			child := c.procs[m.PID]
			if child == nil || m.FD <= 2 {
				continue
			}
			pm, ok := byProc[child.PPID]
			parent := c.procs[child.PPID]
			if !ok || parent == nil || pm.FD != m.FD || parent.Exe == "" || child.Exe == "" || parent.Exe == child.Exe {
				continue
			}
			fd := c.fdOf(m)
			if fd == nil {
				continue
			}
			if kind := fd.Mode & sIFMT; kind != sIFREG && kind != sIFDIR {
				continue
			}
			x := raw{rule: r, severity: r.Severity, members: []snapshot.Member{pm, m}, detail: child.Exe,
				key: strconv.Itoa(parent.PID) + " " + child.Exe}
			if c.runtimeOnly(x.members) {
				x.severity, x.expected = Info, expectRuntime // conmon hands the container what it was asked to
			}
			out = append(out, x)
		}
	}
	return out
}

func msgInheritedAcrossExec(c *checker, f *Finding, details []string) string {
	return fmt.Sprintf("%s still open after exec into %s", objects(f), strings.Join(details, ", "))
}

func crossChannel(c *checker, r Rule) []raw {
	var out []raw
	for i := range c.s.Endpoints {
		e := &c.s.Endpoints[i]
		users := map[int]bool{}
		ns := map[string]map[uint64]bool{"user": {}, "net": {}, "mnt": {}}
		var all []snapshot.Member
		for _, end := range e.Ends {
			for _, m := range end {
				all = append(all, m)
				if p := c.procs[m.PID]; p != nil {
					users[p.EUID] = true
					for k := range ns {
						if v := p.Namespaces[k]; v != 0 {
							ns[k][v] = true
						}
					}
				}
			}
		}
		var crossed []string
		for _, k := range []string{"user", "net", "mnt"} {
			if len(ns[k]) > 1 {
				crossed = append(crossed, k)
			}
		}
		if len(users) < 2 && len(crossed) == 0 {
			continue
		}
		x := raw{rule: r, severity: r.Severity, members: all, object: c.names.Channel(e).Text}
		if len(crossed) > 0 {
			x.severity = Medium
			x.detail = "across " + strings.Join(crossed, ", ") + " namespaces"
		} else {
			x.detail = "between uids " + uidList(users)
		}
		switch {
		case c.runtimeOnly(all):
			x.severity, x.expected = Info, expectRuntime
		case c.family(all) != 0:
			x.severity, x.expected = Info, expectChannel
		}
		out = append(out, x)
	}
	return out
}

func msgCrossChannel(c *checker, f *Finding, details []string) string {
	return objects(f) + " " + strings.Join(details, "; ")
}

// foreignFiles finds the fds confined processes hold on another mount
// namespace's mount that they could not have opened (FD.ForeignMountNS).
func foreignFiles(c *checker, r Rule) []raw {
	var out []raw
	host := c.s.Host.Namespaces["mnt"]
	for i := range c.s.Processes {
		p := &c.s.Processes[i]
		if !c.s.Confined(p) {
			continue
		}
		for j := range p.FDs {
			fd := &p.FDs[j]
			if fd.ForeignMountNS == 0 {
				continue
			}
			note := "mount of another mount namespace"
			switch {
			case fd.ForeignMountNS == host:
				note = "host mount"
			case c.containerOfNS(fd.ForeignMountNS) != "":
				note = "mount of " + c.containerOfNS(fd.ForeignMountNS)
			}
			m := p.MemberOf(fd)
			out = append(out, raw{rule: r, severity: r.Severity, members: []snapshot.Member{m},
				notes: map[snapshot.Member]string{m: note}, detail: note, key: placeKey(p)})
		}
	}
	return out
}

// containerOfNS names the container whose processes are in mount
// namespace ns, or "".
func (c *checker) containerOfNS(ns uint64) string {
	for i := range c.s.Processes {
		p := &c.s.Processes[i]
		if p.Namespaces["mnt"] == ns && p.Container != nil && !p.Container.Helper {
			return p.Container.Label()
		}
	}
	return ""
}

func msgForeignFiles(c *checker, f *Finding, details []string) string {
	whose := "the host's"
	if len(details) != 1 || details[0] != "host mount" {
		whose = "another mount namespace's"
	}
	return fmt.Sprintf("%s of %s inside %s, not reachable from its root", objects(f), whose, where(f))
}

// where names the place of a finding's holders: their container, unit or
// "a process of another mount namespace".
func where(f *Finding) string {
	places := map[string]bool{}
	var list []string
	for _, h := range f.Holders {
		p := h.Place
		if p == "" {
			p = "another mount namespace"
		}
		if !places[p] {
			places[p] = true
			list = append(list, p)
		}
	}
	return strings.Join(list, ", ")
}

// runtimeSocketNames are the base names of container runtimes' API
// sockets.
var runtimeSocketNames = map[string]bool{"docker.sock": true, "containerd.sock": true, "containerd.sock.ttrpc": true,
	"crio.sock": true, "podman.sock": true, "dockershim.sock": true, "cri-dockerd.sock": true, "buildkitd.sock": true}

// runtimeSocket reports whether a unix socket name is a runtime's API:
// a known base name, or a containerd shim's socket.
func runtimeSocket(name string) bool {
	return runtimeSocketNames[path.Base(name)] || strings.HasPrefix(name, "/run/containerd/s/") || strings.HasPrefix(name, "@/containerd-shim/")
}

// placeKey keys a container's findings: one per container (or, outside
// containers, per process).
func placeKey(p *snapshot.Process) string {
	if k := p.PlaceKey(); strings.HasPrefix(k, "container:") {
		return k
	}
	return "pid " + strconv.Itoa(p.PID)
}

// inContainer reports whether p is a process of a container (not its
// runtime's helper).
func inContainer(p *snapshot.Process) bool { return p.Container != nil && !p.Container.Helper }

func runtimeSockets(c *checker, r Rule) []raw {
	var out []raw
	endName := map[snapshot.Member]string{}
	for _, e := range c.s.Endpoints {
		if strings.HasPrefix(e.Kind, "unix-") && e.Name != "" {
			for _, end := range e.Ends {
				for _, m := range end {
					endName[m] = e.Name
				}
			}
		}
	}
	for i := range c.s.Processes {
		p := &c.s.Processes[i]
		if !inContainer(p) {
			continue
		}
		for j := range p.FDs {
			fd := &p.FDs[j]
			m := p.MemberOf(fd)
			var hit bool
			switch {
			case fd.Mode&sIFMT == sIFSOCK && strings.HasPrefix(fd.Target, "/"):
				hit = runtimeSocket(fd.Target) // the socket file itself (O_PATH)
			case strings.HasPrefix(fd.Target, "socket:["):
				if k := c.names.Socket(fd); k != nil {
					hit = runtimeSocket(k.Local) || runtimeSocket(k.Remote)
				} else {
					hit = runtimeSocket(endName[m])
				}
			}
			if hit {
				out = append(out, raw{rule: r, severity: r.Severity, members: []snapshot.Member{m},
					notes: map[snapshot.Member]string{m: "runtime API"}, key: placeKey(p)})
			}
		}
	}
	return out
}

func foreignNamespaces(c *checker, r Rule) []raw {
	var out []raw
	hostNS := map[uint64]bool{}
	for _, v := range c.s.Host.Namespaces {
		hostNS[v] = true
	}
	for i := range c.s.Processes {
		p := &c.s.Processes[i]
		if !inContainer(p) {
			continue
		}
		own := map[uint64]bool{}
		for _, v := range p.Namespaces {
			own[v] = true
		}
		for j := range p.FDs {
			fd := &p.FDs[j]
			ino, ok := nsInode(fd.Target)
			if !ok || own[ino] {
				continue
			}
			m := p.MemberOf(fd)
			x := raw{rule: r, severity: r.Severity, members: []snapshot.Member{m}, notes: map[snapshot.Member]string{m: "host namespace"},
				key: placeKey(p)}
			if !hostNS[ino] {
				x.severity, x.notes[m] = High, "another namespace"
			}
			out = append(out, x)
		}
	}
	return out
}

// nsInode reads a namespace file's link text ("mnt:[4026531841]").
func nsInode(target string) (uint64, bool) {
	kind, rest, ok := strings.Cut(target, ":[")
	if !ok || strings.Contains(kind, "/") || !strings.HasSuffix(rest, "]") {
		return 0, false
	}
	switch kind {
	case "mnt", "pid", "net", "user", "ipc", "uts", "cgroup", "time":
	default:
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64)
	return v, err == nil
}

func msgInContainer(c *checker, f *Finding, _ []string) string {
	return fmt.Sprintf("%s inside %s", objects(f), where(f))
}

// objects names a finding's objects, at most three of them.
func objects(f *Finding) string { return list(f.Objects) }

func list(xs []string) string {
	switch {
	case len(xs) == 0:
		return "?"
	case len(xs) <= 3:
		return strings.Join(xs, ", ")
	}
	return strings.Join(xs[:2], ", ") + fmt.Sprintf(" and %d more", len(xs)-2)
}

func itThem(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func uidList(m map[int]bool) string {
	var ids []int
	for u := range m {
		ids = append(ids, u)
	}
	sort.Ints(ids)
	parts := make([]string, len(ids))
	for i, u := range ids {
		parts[i] = strconv.Itoa(u)
	}
	return strings.Join(parts, ", ")
}
