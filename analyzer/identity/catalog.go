package identity

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// Options say where a Catalog reads from.
type Options struct {
	// ProcRoot is the proc mount the scan reads ("" is /proc): the init
	// processes of state files are checked there.
	ProcRoot string
	// HostRoot is where the host's /run and /var/lib are found ("" is /):
	// a test or a scan of a mounted host image points it elsewhere.
	HostRoot string
	// HostMountNS is the host's mount namespace (0: unknown). A process in
	// a container's cgroup but in this namespace is the runtime's helper,
	// not a process of the container.
	HostMountNS uint64
}

// Catalog is what the host's runtime directories say about its running
// containers, read once per scan.
type Catalog struct {
	opts       Options
	containers []running
	// storageNames are containers/storage's names (podman, cri-o) by id.
	storageNames map[string]string
	dockerNames  map[string]string
	// Errors lists state files that could not be read or parsed; a scan
	// reports them as a warning.
	Errors []string
}

// running is a container whose state file's init is running.
type running struct {
	c       snapshot.Container
	cgroups []string // the init's cgroup paths, best first (containerPaths)
	initPID int
	created bool // runc's exec.fifo still exists: the init waits to start
}

// stateRoots are the state directories of runc-format runtimes, with the
// runtime that writes each format; globs expand at load time.
var stateRoots = []struct{ glob, lowLevel string }{
	{"/run/runc", "runc"},
	{"/run/docker/runtime-runc/*", "runc"},
	{"/run/containerd/runc/*", "runc"},
	{"/run/user/*/runc", "runc"},
	{"/run/crun", "crun"},
	{"/run/user/*/crun", "crun"},
}

// maxStateBytes bounds one state or metadata file (a runc state.json
// with its seccomp profile is about 100 KB).
const maxStateBytes = 8 << 20

// maxContainers bounds how many state directories are read.
const maxContainers = 65536

// Load reads the runtime state directories and metadata under
// opts.HostRoot. A missing or unreadable directory or file (an
// unprivileged scan) is no error: containers are then named by cgroup
// alone. A malformed or oversized file is skipped and named in
// Catalog.Errors.
func Load(opts Options) *Catalog {
	if opts.ProcRoot == "" {
		opts.ProcRoot = "/proc"
	}
	if opts.HostRoot == "" {
		opts.HostRoot = "/"
	}
	c := &Catalog{opts: opts, dockerNames: map[string]string{}}
	if data, err := c.read("/var/lib/containers/storage/overlay-containers/containers.json"); err == nil {
		if c.storageNames, err = ParseStorageNames(data); err != nil {
			c.fail("/var/lib/containers/storage/overlay-containers/containers.json", err)
		}
	} else if !unreadable(err) {
		c.fail("/var/lib/containers/storage/overlay-containers/containers.json", err)
	}
	n := 0
	for _, sr := range stateRoots {
		roots, _ := filepath.Glob(c.host(sr.glob))
		for _, root := range roots {
			entries, err := os.ReadDir(root)
			if err != nil {
				continue
			}
			rel := "/" + strings.TrimPrefix(strings.TrimPrefix(root, c.opts.HostRoot), "/")
			for _, e := range entries {
				if !e.IsDir() || n >= maxContainers {
					continue
				}
				n++
				c.addState(rel, e.Name(), sr.lowLevel)
			}
		}
	}
	// Outermost first: a container's cgroup contains its nested ones.
	sort.SliceStable(c.containers, func(i, j int) bool {
		return len(c.containers[i].cgroups[0]) < len(c.containers[j].cgroups[0])
	})
	return c
}

// unreadable reports whether err is a file's absence or a permission
// denial: what an unprivileged scan meets, no error worth a warning.
func unreadable(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission)
}

func (c *Catalog) host(p string) string { return filepath.Join(c.opts.HostRoot, p) }

func (c *Catalog) fail(file string, err error) {
	c.Errors = append(c.Errors, fmt.Sprintf("%s: %v", file, err))
}

// read reads a small host file, bounded.
func (c *Catalog) read(p string) ([]byte, error) {
	f, err := os.Open(c.host(p))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxStateBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxStateBytes)
	}
	return data, nil
}

// addState reads one state directory (root is host-relative).
func (c *Catalog) addState(root, id, lowLevel string) {
	dir := path.Join(root, id)
	var st State
	var err error
	file := path.Join(dir, "state.json")
	if lowLevel == "crun" {
		file = path.Join(dir, "status")
	}
	data, err := c.read(file)
	if err != nil {
		if !unreadable(err) {
			c.fail(file, err)
		}
		return
	}
	if lowLevel == "crun" {
		st, err = ParseCrunStatus(id, data)
		if err == nil {
			if cfg, cerr := c.read(path.Join(dir, "config.json")); cerr == nil {
				if a, aerr := ParseAnnotations(cfg); aerr == nil {
					st.Annotations = a
				}
			}
		}
	} else {
		st, err = ParseRuncState(data)
	}
	if err != nil {
		c.fail(file, err)
		return
	}
	cg, ok := c.initCgroup(st)
	if !ok {
		return // stale: the init is gone or its pid was reused
	}
	ct := snapshot.Container{Runtime: engine(st, root, lowLevel), ID: st.ID, Source: "state"}
	if pod, name := kubeNames(st); pod != nil {
		ct.Pod = &snapshot.Pod{UID: pod.uid, Namespace: pod.namespace, Name: pod.name}
		ct.Name = name
	}
	paths := containerPaths(parseCgroup(cg))
	if len(paths) == 0 {
		return // the init sits in the root cgroup: nothing to tell members by
	}
	// Kubernetes' QoS class is only in the cgroup path.
	if conv := fromPath(paths[0]); conv != nil && conv.Pod != nil && ct.Pod != nil {
		ct.Pod.QoS = conv.Pod.QoS
	}
	_, ferr := os.Lstat(c.host(path.Join(dir, "exec.fifo")))
	c.containers = append(c.containers, running{c: ct, cgroups: paths, initPID: st.InitPID, created: ferr == nil})
}

// initCgroup checks that a state's init is running (same pid, same start
// time) and returns its cgroup text.
func (c *Catalog) initCgroup(st State) (string, bool) {
	dir := filepath.Join(c.opts.ProcRoot, strconv.Itoa(st.InitPID))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return "", false
	}
	start, ok := startTime(stat)
	if !ok || start != st.InitStart {
		return "", false
	}
	cg, err := os.ReadFile(filepath.Join(dir, "cgroup"))
	if err != nil {
		return "", false
	}
	return cgroupText(cg), true
}

// startTime reads field 22 of /proc/PID/stat (after the comm, which may
// hold spaces and parentheses: the last ")" ends it).
func startTime(stat []byte) (uint64, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(fields[19], 10, 64)
	return v, err == nil
}

// cgroupText renders /proc/PID/cgroup as the snapshot does
// (procscan.ParseCgroup): a bare path when only the unified hierarchy is
// listed, else the lines joined by ";".
func cgroupText(data []byte) string {
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) == 1 && strings.HasPrefix(lines[0], "0::") {
		return lines[0][3:]
	}
	return strings.Join(lines, ";")
}

// Process is what Identify needs to know of a process.
type Process struct {
	PID       int
	StartTime uint64
	Comm      string
	Exe       string
	Cmdline   []string
	Cgroup    string
	MountNS   uint64
}

// Identity is where a process runs.
type Identity struct {
	Container   *snapshot.Container
	Unit, Slice string
}

// Identify says which container, pod and unit p belongs to.
func (c *Catalog) Identify(p Process) Identity {
	hs := parseCgroup(p.Cgroup)
	paths := containerPaths(hs)
	hostSide := c.opts.HostMountNS != 0 && p.MountNS == c.opts.HostMountNS
	var ct *snapshot.Container
	for i := range c.containers {
		r := &c.containers[i]
		if !within(paths, r.cgroups[0]) {
			continue
		}
		cp := r.c
		if cp.Pod != nil {
			pod := *cp.Pod
			cp.Pod = &pod
		}
		cp.Helper = hostSide || (r.created && p.PID == r.initPID)
		ct = &cp
		break
	}
	if ct == nil {
		for _, pth := range paths {
			if ct = fromPath(pth); ct != nil {
				ct.Helper = ct.Helper || hostSide
				break
			}
		}
	}
	if ct == nil && (hostSide || c.opts.HostMountNS == 0) {
		ct = helperByProgram(p)
	}
	if ct != nil {
		c.name(ct)
	}
	unit, slice := unitOf(systemdPath(hs), ct)
	return Identity{Container: ct, Unit: unit, Slice: slice}
}

// within reports whether one of paths is key or below it.
func within(paths []string, key string) bool {
	for _, p := range paths {
		if p == key || strings.HasPrefix(p, key+"/") {
			return true
		}
	}
	return false
}

// helperByProgram recognises a runtime's host-side helper by its program
// and the container it names on its command line: conmon (-c/--cid ID,
// podman's or cri-o's) and containerd's shims (-id ID, -namespace NS; the
// v1 shim's -workdir ends in the id). Only asked of host-side processes:
// a container's own process could run a program of any name.
func helperByProgram(p Process) *snapshot.Container {
	prog := path.Base(p.Exe)
	arg := func(names ...string) string {
		for i, a := range p.Cmdline {
			for _, n := range names {
				if a == n && i+1 < len(p.Cmdline) {
					return p.Cmdline[i+1]
				}
				if v, ok := strings.CutPrefix(a, n+"="); ok {
					return v
				}
			}
		}
		return ""
	}
	switch {
	case prog == "conmon":
		id := arg("-c", "--cid")
		if id == "" {
			return nil
		}
		runtime := "cri-o"
		for _, a := range p.Cmdline {
			if strings.Contains(a, "podman") || strings.Contains(a, "libpod") {
				runtime = "podman"
				break
			}
		}
		return &snapshot.Container{Runtime: runtime, ID: id, Source: "cmdline", Helper: true}
	case strings.HasPrefix(prog, "containerd-shim"):
		id := arg("-id", "--id")
		if id == "" {
			if wd := arg("-workdir", "--workdir"); wd != "" {
				id = path.Base(wd)
			}
		}
		if id == "" {
			return nil
		}
		runtime := "containerd"
		if arg("-namespace", "--namespace") == "moby" {
			runtime = "docker"
		}
		return &snapshot.Container{Runtime: runtime, ID: id, Source: "cmdline", Helper: true}
	}
	return nil
}

// name fills a container's name from the runtimes' metadata: a running
// container of the catalog with the same id (a helper names its
// container by id only), containers/storage for podman and cri-o,
// docker's config.v2.json.
func (c *Catalog) name(ct *snapshot.Container) {
	if ct.Name != "" {
		return
	}
	for _, r := range c.containers {
		if r.c.ID == ct.ID && r.c.Name != "" {
			ct.Name = r.c.Name
			if ct.Pod == nil && r.c.Pod != nil {
				pod := *r.c.Pod
				ct.Pod = &pod
			}
			return
		}
	}
	switch ct.Runtime {
	case "podman", "cri-o":
		if ct.Pod == nil {
			ct.Name = c.storageNames[ct.ID]
		}
	case "docker":
		if !isHexID(ct.ID) {
			return
		}
		name, ok := c.dockerNames[ct.ID]
		if !ok {
			if data, err := c.read("/var/lib/docker/containers/" + ct.ID + "/config.v2.json"); err == nil {
				name, _ = ParseDockerName(data)
			}
			c.dockerNames[ct.ID] = name
		}
		ct.Name = name
	}
}
