package identity

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// fakeHost lays out a host's runtime directories and a proc mount with
// the init processes their state files name, as the runtimes this
// machine cannot run write them (the shapes are runc's libcontainer
// State, crun's status, containers/storage's containers.json and docker's
// config.v2.json; labels are what runc makes of each engine's OCI
// annotations). The live test with real runc and podman containers is in
// package analyzer/audit.
type fakeHost struct {
	t          *testing.T
	host, proc string
}

func newFakeHost(t *testing.T) *fakeHost {
	return &fakeHost{t: t, host: t.TempDir(), proc: t.TempDir()}
}

func (h *fakeHost) write(dir, name string, data []byte) {
	h.t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// process makes /proc/PID/stat (comm with a space and a parenthesis, as a
// hostile program may name itself) and /proc/PID/cgroup.
func (h *fakeHost) process(pid int, start uint64, cgroup string) {
	stat := fmt.Sprintf("%d (a) b) S 1 %d %d 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 1 0 %d 1000 100", pid, pid, pid, start)
	h.write(filepath.Join(h.proc, fmt.Sprint(pid)), "stat", []byte(stat))
	h.write(filepath.Join(h.proc, fmt.Sprint(pid)), "cgroup", []byte(cgroup))
}

func (h *fakeHost) runcState(root, id string, pid int, start uint64, labels ...string) {
	state := map[string]any{"id": id, "init_process_pid": pid, "init_process_start": start,
		"config": map[string]any{"labels": append(labels, "bundle=/b/"+id)}}
	data, _ := json.Marshal(state)
	h.write(filepath.Join(h.host, root, id), "state.json", data)
}

func (h *fakeHost) catalog() *Catalog {
	return Load(Options{ProcRoot: h.proc, HostRoot: h.host, HostMountNS: 1})
}

func TestCatalogRuntimes(t *testing.T) {
	h := newFakeHost(t)
	// Plain runc, cgroupfs hybrid: the cgroup is named after the id.
	h.process(100, 5000, "12:pids:/kg-leaky\n1:name=systemd:/kg-leaky\n0::/kg-leaky\n")
	h.runcState("run/runc", "kg-leaky", 100, 5000)
	// A stale state: its pid now runs something else (another start time).
	h.process(101, 7777, "0::/stale\n")
	h.runcState("run/runc", "stale", 101, 6000)
	// podman with runc: labels from its annotations; name in storage.
	h.process(200, 5100, "0::/machine.slice/libpod-"+id1+".scope/container\n")
	h.runcState("run/runc", id1, 200, 5100, "io.container.manager=libpod", "io.kubernetes.cri-o.TTY=false")
	h.write(filepath.Join(h.host, "var/lib/containers/storage/overlay-containers"), "containers.json",
		[]byte(`[{"id":"`+id1+`","names":["web-db"],"image":"x"}]`))
	// cri-o: pod and container names in the annotations.
	podID := strings.Repeat("ab", 32)
	h.process(300, 5200, "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"+strings.ReplaceAll(uid, "-", "_")+".slice/crio-"+podID+".scope\n")
	h.runcState("run/runc", podID, 300, 5200, "io.kubernetes.cri-o.ContainerType=container",
		"io.kubernetes.pod.name=web-7d9f6-xk2p9", "io.kubernetes.pod.namespace=shop",
		"io.kubernetes.pod.uid="+uid, "io.kubernetes.container.name=nginx")
	// containerd's CRI plugin, runc root per containerd namespace.
	ctrID := strings.Repeat("cd", 32)
	h.process(400, 5300, "0::/kubepods/besteffort/pod"+uid+"/"+ctrID+"\n")
	h.runcState("run/containerd/runc/k8s.io", ctrID, 400, 5300, "io.kubernetes.cri.container-type=container",
		"io.kubernetes.cri.sandbox-name=api-0", "io.kubernetes.cri.sandbox-namespace=prod",
		"io.kubernetes.cri.sandbox-uid="+uid, "io.kubernetes.cri.container-name=api")
	// docker: runc root of the moby namespace; the name in docker's own metadata.
	dockerID := strings.Repeat("ef", 32)
	h.process(500, 5400, "1:name=systemd:/docker/"+dockerID+"\n0::/\n")
	h.runcState("run/docker/runtime-runc/moby", dockerID, 500, 5400)
	h.write(filepath.Join(h.host, "var/lib/docker/containers", dockerID), "config.v2.json", []byte(`{"ID":"x","Name":"/cache"}`))
	// crun: status beside a config.json with the annotations.
	h.process(600, 5500, "0::/crun-box\n")
	h.write(filepath.Join(h.host, "run/crun/box"), "status",
		[]byte(`{"pid":600,"process-start-time":5500,"cgroup-path":"/crun-box","rootfs":"rootfs","bundle":"/b/box","created":"2026-12-01T00:00:00Z","owner":"root","detached":true}`))
	h.write(filepath.Join(h.host, "run/crun/box"), "config.json", []byte(`{"annotations":{"org.example":"1"}}`))
	// runc init waiting to start: exec.fifo is still there.
	h.process(700, 5600, "0::/kg-created\n")
	h.runcState("run/runc", "kg-created", 700, 5600)
	h.write(filepath.Join(h.host, "run/runc/kg-created"), "exec.fifo", nil)
	// Damaged files are named, not fatal.
	h.write(filepath.Join(h.host, "run/runc/broken"), "state.json", []byte(`{"id":`))

	c := h.catalog()
	if len(c.Errors) != 1 || !strings.Contains(c.Errors[0], "run/runc/broken/state.json") {
		t.Errorf("Errors = %q, want the broken state named", c.Errors)
	}
	in := func(pid int, cgroup string) Process { return Process{PID: pid, Cgroup: cgroup, MountNS: 2} }
	for _, tc := range []struct {
		name string
		p    Process
		want *snapshot.Container
	}{
		{"runc init", in(100, "12:pids:/kg-leaky;1:name=systemd:/kg-leaky;0::/kg-leaky"),
			&snapshot.Container{Runtime: "runc", ID: "kg-leaky", Source: "state"}},
		{"runc exec'd process in a sub-cgroup", in(150, "0::/kg-leaky/sub"),
			&snapshot.Container{Runtime: "runc", ID: "kg-leaky", Source: "state"}},
		{"a host process in the container's cgroup is the runtime", Process{PID: 151, Cgroup: "0::/kg-leaky", MountNS: 1},
			&snapshot.Container{Runtime: "runc", ID: "kg-leaky", Source: "state", Helper: true}},
		{"a stale state names nothing", in(101, "0::/stale"), nil},
		{"podman", in(201, "/machine.slice/libpod-"+id1+".scope/container"),
			&snapshot.Container{Runtime: "podman", ID: id1, Name: "web-db", Source: "state"}},
		{"cri-o", in(300, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"+strings.ReplaceAll(uid, "-", "_")+".slice/crio-"+podID+".scope"),
			&snapshot.Container{Runtime: "cri-o", ID: podID, Name: "nginx", Source: "state",
				Pod: &snapshot.Pod{UID: uid, Namespace: "shop", Name: "web-7d9f6-xk2p9", QoS: "burstable"}}},
		{"containerd CRI", in(400, "/kubepods/besteffort/pod"+uid+"/"+ctrID),
			&snapshot.Container{Runtime: "containerd", ID: ctrID, Name: "api", Source: "state",
				Pod: &snapshot.Pod{UID: uid, Namespace: "prod", Name: "api-0", QoS: "besteffort"}}},
		{"docker", in(500, "1:name=systemd:/docker/"+dockerID+";0::/"),
			&snapshot.Container{Runtime: "docker", ID: dockerID, Name: "cache", Source: "state"}},
		{"crun", in(600, "/crun-box"), &snapshot.Container{Runtime: "crun", ID: "box", Source: "state"}},
		{"runc init before start is the runtime's", in(700, "/kg-created"),
			&snapshot.Container{Runtime: "runc", ID: "kg-created", Source: "state", Helper: true}},
		{"a process of a created container", in(701, "/kg-created"),
			&snapshot.Container{Runtime: "runc", ID: "kg-created", Source: "state"}},
		{"convention only: docker name from its metadata", in(800, "/system.slice/docker-"+dockerID+".scope"),
			&snapshot.Container{Runtime: "docker", ID: dockerID, Name: "cache", Source: "cgroup"}},
		{"convention only, unknown container", in(801, "/docker/"+id2),
			&snapshot.Container{Runtime: "docker", ID: id2, Source: "cgroup"}},
		{"podman's conmon names its container", Process{PID: 900, MountNS: 1, Cgroup: "12:pids:/libpod_parent/conmon;0::/",
			Exe: "/usr/bin/conmon", Cmdline: []string{"/usr/bin/conmon", "--api-version", "1", "-c", id1, "-u", id1, "--exit-command", "/usr/bin/podman"}},
			&snapshot.Container{Runtime: "podman", ID: id1, Name: "web-db", Source: "cmdline", Helper: true}},
		{"docker's shim", Process{PID: 901, MountNS: 1, Cgroup: "/system.slice/containerd.service",
			Exe: "/usr/bin/containerd-shim-runc-v2", Cmdline: []string{"/usr/bin/containerd-shim-runc-v2", "-namespace", "moby", "-id", dockerID, "-address", "/run/containerd/containerd.sock"}},
			&snapshot.Container{Runtime: "docker", ID: dockerID, Name: "cache", Source: "cmdline", Helper: true}},
		{"a conmon inside a container is no helper", Process{PID: 902, MountNS: 2, Cgroup: "/",
			Exe: "/usr/bin/conmon", Cmdline: []string{"conmon", "-c", id1}}, nil},
		{"a host process", Process{PID: 903, MountNS: 1, Cgroup: "/system.slice/cron.service", Exe: "/usr/sbin/cron"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := c.Identify(tc.p).Container
			// Names come from the catalog; sameContainer compares all.
			if !sameContainer(got, tc.want) {
				t.Errorf("Identify = %s, want %s", show(got), show(tc.want))
			}
		})
	}
}

func TestCatalogWithoutRuntimes(t *testing.T) {
	h := newFakeHost(t)
	c := h.catalog()
	if len(c.Errors) != 0 || len(c.containers) != 0 {
		t.Fatalf("an empty host: errors %q, %d containers", c.Errors, len(c.containers))
	}
	id := c.Identify(Process{PID: 1, Cgroup: "/system.slice/nginx.service", MountNS: 1})
	if id.Container != nil || id.Unit != "nginx.service" || id.Slice != "system.slice" {
		t.Errorf("Identify = %+v", id)
	}
}

func TestStartTimeHostileComm(t *testing.T) {
	for _, tc := range []struct {
		stat string
		want uint64
		ok   bool
	}{
		{"42 (sleep) S 1 42 42 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 1 0 77157 1000 100", 77157, true},
		{"42 (a) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22) S 1 42 42 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 1 0 99 1000", 99, true},
		{"42 (x) S 1 2", 0, false},
		{"no paren", 0, false},
		{"42 (x) S 1 42 42 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 1 0 -5 1", 0, false},
	} {
		got, ok := startTime([]byte(tc.stat))
		if got != tc.want || ok != tc.ok {
			t.Errorf("startTime(%q) = %d, %v; want %d, %v", tc.stat, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseRuncState(f *testing.F) {
	f.Add([]byte(`{"id":"x","init_process_pid":1,"init_process_start":2,"config":{"labels":["a=b","bundle=/c"]}}`))
	f.Add([]byte(`{"id":"","init_process_pid":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseRuncState(data)
		if err == nil && (st.ID == "" || st.InitPID <= 0) {
			t.Fatalf("accepted a state without id or pid: %+v", st)
		}
		_, _ = ParseCrunStatus("x", data)
		_, _ = ParseStorageNames(data)
		_, _ = ParseDockerName(data)
		_, _ = ParseAnnotations(data)
	})
}

func FuzzFromCgroup(f *testing.F) {
	f.Add("12:pids:/docker/" + id1 + ";0::/")
	f.Add("/kubepods.slice/kubepods-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice/crio-" + id1 + ".scope")
	f.Add("1:name=systemd:/a;0::/x;;:::")
	f.Fuzz(func(t *testing.T, cg string) {
		c, _, _ := FromCgroup(cg)
		if c != nil && (c.Runtime == "" || c.ID == "" || c.Source != "cgroup") {
			t.Fatalf("FromCgroup(%q) = %+v: a container needs a runtime, an id and its source", cg, c)
		}
	})
}

// BenchmarkIdentify: the per-process cost of naming where it runs, for a
// host process on a hybrid host (all hierarchies checked, no container)
// and for a container's (a state-file match).
func BenchmarkIdentify(b *testing.B) {
	h := &fakeHost{host: b.TempDir(), proc: b.TempDir()}
	h.t = &testing.T{}
	h.process(100, 5000, "0::/kg-leaky\n")
	h.runcState("run/runc", "kg-leaky", 100, 5000)
	c := h.catalog()
	for _, tc := range []struct{ name, cgroup string }{
		{"host", "12:pids:/system.slice/nginx.service;11:memory:/system.slice/nginx.service;4:cpu,cpuacct:/system.slice/nginx.service;1:name=systemd:/system.slice/nginx.service;0::/system.slice/nginx.service"},
		{"container", "0::/kg-leaky"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				c.Identify(Process{PID: 7, Cgroup: tc.cgroup, MountNS: 2})
			}
		})
	}
}
