package identity

import (
	"slices"
	"strconv"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// hierarchy is one line of /proc/PID/cgroup.
type hierarchy struct {
	id          int
	controllers string
	path        string
}

// parseCgroup splits the snapshot's cgroup text (procscan.ParseCgroup): a
// bare path for a process only in the unified hierarchy, else
// "id:controllers:path" entries joined by ";". A cgroup name may itself
// contain ";": a piece that is not a new entry, or repeats a hierarchy id
// already seen, continues the path before it, so a name crafted to look
// like another entry cannot add one.
func parseCgroup(cg string) []hierarchy {
	if cg == "" {
		return nil
	}
	if strings.HasPrefix(cg, "/") {
		return []hierarchy{{id: 0, path: cg}}
	}
	out := make([]hierarchy, 0, strings.Count(cg, ";")+1)
	seen := func(id int) bool {
		for _, h := range out {
			if h.id == id {
				return true
			}
		}
		return false
	}
	for rest, more := cg, true; more; {
		var piece string
		piece, rest, more = strings.Cut(rest, ";")
		idText, tail, ok := strings.Cut(piece, ":")
		var ctl, path string
		if ok {
			ctl, path, ok = strings.Cut(tail, ":")
		}
		id, err := strconv.Atoi(idText)
		if !ok || err != nil || id < 0 || seen(id) || !strings.HasPrefix(path, "/") {
			if len(out) > 0 {
				out[len(out)-1].path += ";" + piece
			}
			continue
		}
		out = append(out, hierarchy{id: id, controllers: ctl, path: path})
	}
	return out
}

// containerPaths are the paths to look for a container in, the most
// telling first: the unified hierarchy, the name=systemd one, then the
// controllers in their order. Root paths ("/") say nothing and are left
// out.
func containerPaths(hs []hierarchy) []string {
	var out []string
	add := func(keep func(hierarchy) bool) {
		for _, h := range hs {
			if keep(h) && h.path != "/" && !slices.Contains(out, h.path) {
				out = append(out, h.path)
			}
		}
	}
	add(func(h hierarchy) bool { return h.id == 0 && h.controllers == "" })
	add(func(h hierarchy) bool { return h.controllers == "name=systemd" })
	add(func(h hierarchy) bool { return h.controllers != "" && h.controllers != "name=systemd" })
	return out
}

// systemdPath is the path systemd manages: the name=systemd hierarchy on
// v1 and hybrid hosts, else the unified one.
func systemdPath(hs []hierarchy) string {
	unified := ""
	for _, h := range hs {
		switch {
		case h.controllers == "name=systemd":
			return h.path
		case h.id == 0 && h.controllers == "":
			unified = h.path
		}
	}
	return unified
}

func elements(path string) []string {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil
	}
	return strings.Split(path, "/")
}

// isHexID reports whether s is a 64-hex-digit container id.
func isHexID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// wrapped returns the id in "prefix<id>suffix" if the middle is a hex id.
func wrapped(el, prefix, suffix string) (string, bool) {
	if !strings.HasPrefix(el, prefix) || !strings.HasSuffix(el, suffix) || len(el) < len(prefix)+len(suffix) {
		return "", false
	}
	id := el[len(prefix) : len(el)-len(suffix)]
	return id, isHexID(id)
}

// kubePod reads a Kubernetes pod path element: "pod<uid>" (cgroupfs
// driver), "kubepods-pod<uid>.slice" or "kubepods-QOS-pod<uid>.slice"
// (systemd driver, the uid's dashes as underscores).
func kubePod(el string) (uid, qos string, ok bool) {
	if strings.HasPrefix(el, "kubepods-") && strings.HasSuffix(el, ".slice") {
		mid := strings.TrimSuffix(strings.TrimPrefix(el, "kubepods-"), ".slice")
		for _, q := range []string{"burstable-", "besteffort-"} {
			if strings.HasPrefix(mid, q) {
				qos, mid = strings.TrimSuffix(q, "-"), mid[len(q):]
			}
		}
		if u, found := strings.CutPrefix(mid, "pod"); found && isUID(strings.ReplaceAll(u, "_", "-")) {
			return strings.ReplaceAll(u, "_", "-"), qos, true
		}
		return "", "", false
	}
	if u, found := strings.CutPrefix(el, "pod"); found && isUID(u) {
		return u, "", true
	}
	return "", "", false
}

// isUID reports whether s looks like a Kubernetes uid: a UUID, or a
// static pod's config hash (32 hex digits).
func isUID(s string) bool {
	if len(s) != 36 && len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' && len(s) == 36 && (i == 8 || i == 13 || i == 18 || i == 23) {
			continue
		}
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// FromCgroup reads a process's container and systemd unit from its cgroup
// (the snapshot's text) by the runtimes' naming conventions alone.
func FromCgroup(cgroup string) (c *snapshot.Container, unit, slice string) {
	hs := parseCgroup(cgroup)
	for _, p := range containerPaths(hs) {
		if c = fromPath(p); c != nil {
			break
		}
	}
	unit, slice = unitOf(systemdPath(hs), c)
	return c, unit, slice
}

// fromPath finds the outermost container a cgroup path names.
func fromPath(path string) *snapshot.Container {
	els := elements(path)
	var pod *snapshot.Pod
	kube := false
	for i, el := range els {
		prev := ""
		if i > 0 {
			prev = els[i-1]
		}
		if el == "kubepods" || el == "kubepods.slice" {
			kube = true
			continue
		}
		if kube {
			switch el {
			case "burstable", "besteffort", "kubepods-burstable.slice", "kubepods-besteffort.slice":
				continue
			}
			if uid, qos, ok := kubePod(el); ok {
				if qos == "" {
					qos = "guaranteed"
					if prev == "burstable" || prev == "besteffort" {
						qos = prev
					}
					if q, found := strings.CutPrefix(prev, "kubepods-"); found && q != "" && strings.HasSuffix(q, ".slice") {
						qos = strings.TrimSuffix(q, ".slice")
					}
				}
				pod = &snapshot.Pod{UID: uid, QoS: qos}
				continue
			}
		}
		c := containerElement(el, prev, els[i+1:], kube)
		if c == nil {
			continue
		}
		c.Source = "cgroup"
		if kube {
			c.Pod = pod
		}
		return c
	}
	return nil
}

// conventions are the runtimes' "prefix<64 hex>suffix" cgroup names.
var conventions = []struct {
	prefix, suffix, runtime string
	helper                  bool
}{
	{"docker-", ".scope", "docker", false},
	{"cri-containerd-", ".scope", "containerd", false},
	{"crio-conmon-", ".scope", "cri-o", true},
	{"crio-", ".scope", "cri-o", false},
	{"crio-", "", "cri-o", false},
	{"libpod-conmon-", ".scope", "podman", true},
	{"libpod-", ".scope", "podman", false},
	{"libpod-", "", "podman", false},
}

// containerElement reads one path element (with the one before it and
// those after it) as a container, or returns nil.
func containerElement(el, prev string, after []string, kube bool) *snapshot.Container {
	next := ""
	if len(after) > 0 {
		next = after[0]
	}
	for _, conv := range conventions {
		if id, ok := wrapped(el, conv.prefix, conv.suffix); ok {
			return &snapshot.Container{Runtime: conv.runtime, ID: id, Helper: conv.helper}
		}
	}
	switch {
	case isHexID(el):
		runtime := "unknown"
		switch {
		case prev == "docker":
			runtime = "docker"
		case kube:
			runtime = "cri"
		}
		return &snapshot.Container{Runtime: runtime, ID: el}
	case strings.HasPrefix(el, "lxc.payload.") && len(el) > len("lxc.payload."):
		return &snapshot.Container{Runtime: "lxc", ID: el[len("lxc.payload."):]}
	case strings.HasPrefix(el, "lxc.monitor.") && len(el) > len("lxc.monitor."):
		return &snapshot.Container{Runtime: "lxc", ID: el[len("lxc.monitor."):], Helper: true}
	case prev == "lxc":
		return &snapshot.Container{Runtime: "lxc", ID: el}
	case strings.HasPrefix(el, "systemd-nspawn@") && strings.HasSuffix(el, ".service") && (next == "payload" || next == "supervisor"):
		name := strings.TrimSuffix(strings.TrimPrefix(el, "systemd-nspawn@"), ".service")
		if name == "" {
			return nil
		}
		return &snapshot.Container{Runtime: "systemd-nspawn", ID: name, Helper: next == "supervisor"}
	}
	return nil
}

// unitSuffixes are the unit types whose cgroups hold processes.
var unitSuffixes = []string{".service", ".scope", ".socket", ".mount", ".swap"}

// unitOf finds the deepest unit in a systemd cgroup path and the deepest
// slice above it. For a container's process only the part of the path
// down to the container's own element counts: a unit inside the container
// (its own systemd) is not the host's.
func unitOf(path string, c *snapshot.Container) (unit, slice string) {
	els := elements(path)
	if c != nil {
		for i, el := range els {
			if strings.Contains(el, c.ID) {
				els = els[:i+1]
				break
			}
		}
	}
	at := -1
	for i := len(els) - 1; i >= 0 && at < 0; i-- {
		for _, s := range unitSuffixes {
			if strings.HasSuffix(els[i], s) && len(els[i]) > len(s) {
				at = i
				break
			}
		}
	}
	end := len(els)
	if at >= 0 {
		unit, end = els[at], at
	}
	for i := end - 1; i >= 0; i-- {
		if strings.HasSuffix(els[i], ".slice") {
			slice = els[i]
			break
		}
	}
	return unit, slice
}
