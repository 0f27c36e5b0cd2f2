package identity

import (
	"strings"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

const (
	id1 = "3f2a9c1b7e0d4a5b8c6d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b"
	id2 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	uid = "5f1c7e2a-93b4-4c1d-8e6f-0a2b3c4d5e6f"
)

// v1 writes a cgroup v1 (or hybrid) process's cgroup text: the same path
// in every controller, as runtimes set it, and unified if given.
func v1(path, unified string) string {
	lines := []string{"12:pids:" + path, "11:memory:" + path, "4:cpu,cpuacct:" + path, "1:name=systemd:" + path}
	if unified != "" {
		lines = append(lines, "0::"+unified)
	}
	return strings.Join(lines, ";")
}

func TestFromCgroup(t *testing.T) {
	us := strings.ReplaceAll(uid, "-", "_")
	for _, tc := range []struct {
		name, cgroup string
		want         *snapshot.Container // Source "cgroup" implied
		unit, slice  string
	}{
		{name: "docker cgroupfs v1", cgroup: v1("/docker/"+id1, "/"),
			want: &snapshot.Container{Runtime: "docker", ID: id1}},
		{name: "docker systemd v2", cgroup: "/system.slice/docker-" + id1 + ".scope",
			want: &snapshot.Container{Runtime: "docker", ID: id1}, unit: "docker-" + id1 + ".scope", slice: "system.slice"},
		{name: "docker systemd hybrid", cgroup: v1("/system.slice/docker-"+id1+".scope", "/system.slice/docker-"+id1+".scope"),
			want: &snapshot.Container{Runtime: "docker", ID: id1}, unit: "docker-" + id1 + ".scope", slice: "system.slice"},
		{name: "docker in docker: the outer container", cgroup: "/docker/" + id1 + "/docker/" + id2,
			want: &snapshot.Container{Runtime: "docker", ID: id1}},
		{name: "containerd k8s systemd v2 burstable",
			cgroup: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + us + ".slice/cri-containerd-" + id1 + ".scope",
			want:   &snapshot.Container{Runtime: "containerd", ID: id1, Pod: &snapshot.Pod{UID: uid, QoS: "burstable"}},
			unit:   "cri-containerd-" + id1 + ".scope", slice: "kubepods-burstable-pod" + us + ".slice"},
		{name: "k8s cgroupfs v1 besteffort", cgroup: v1("/kubepods/besteffort/pod"+uid+"/"+id1, ""),
			want: &snapshot.Container{Runtime: "cri", ID: id1, Pod: &snapshot.Pod{UID: uid, QoS: "besteffort"}}},
		{name: "k8s cgroupfs v2 burstable", cgroup: "/kubepods/burstable/pod" + uid + "/" + id1,
			want: &snapshot.Container{Runtime: "cri", ID: id1, Pod: &snapshot.Pod{UID: uid, QoS: "burstable"}}},
		{name: "k8s cgroupfs guaranteed", cgroup: v1("/kubepods/pod"+uid+"/"+id1, "/"),
			want: &snapshot.Container{Runtime: "cri", ID: id1, Pod: &snapshot.Pod{UID: uid, QoS: "guaranteed"}}},
		{name: "cri-o systemd guaranteed", cgroup: "/kubepods.slice/kubepods-pod" + us + ".slice/crio-" + id1 + ".scope",
			want: &snapshot.Container{Runtime: "cri-o", ID: id1, Pod: &snapshot.Pod{UID: uid, QoS: "guaranteed"}},
			unit: "crio-" + id1 + ".scope", slice: "kubepods-pod" + us + ".slice"},
		{name: "cri-o systemd besteffort v1", cgroup: v1("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"+us+".slice/crio-"+id1+".scope", ""),
			want: &snapshot.Container{Runtime: "cri-o", ID: id1, Pod: &snapshot.Pod{UID: uid, QoS: "besteffort"}},
			unit: "crio-" + id1 + ".scope", slice: "kubepods-besteffort-pod" + us + ".slice"},
		{name: "cri-o cgroupfs", cgroup: "/kubepods/burstable/pod" + uid + "/crio-" + id1,
			want: &snapshot.Container{Runtime: "cri-o", ID: id1, Pod: &snapshot.Pod{UID: uid, QoS: "burstable"}}},
		{name: "cri-o conmon in the pod", cgroup: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + us + ".slice/crio-conmon-" + id1 + ".scope",
			want: &snapshot.Container{Runtime: "cri-o", ID: id1, Helper: true, Pod: &snapshot.Pod{UID: uid, QoS: "burstable"}},
			unit: "crio-conmon-" + id1 + ".scope", slice: "kubepods-burstable-pod" + us + ".slice"},
		{name: "cri-o conmon in system.slice", cgroup: "/system.slice/crio-conmon-" + id1 + ".scope",
			want: &snapshot.Container{Runtime: "cri-o", ID: id1, Helper: true}, unit: "crio-conmon-" + id1 + ".scope", slice: "system.slice"},
		{name: "podman systemd", cgroup: "/machine.slice/libpod-" + id1 + ".scope",
			want: &snapshot.Container{Runtime: "podman", ID: id1}, unit: "libpod-" + id1 + ".scope", slice: "machine.slice"},
		{name: "podman systemd, container sub-cgroup", cgroup: "/machine.slice/libpod-" + id1 + ".scope/container",
			want: &snapshot.Container{Runtime: "podman", ID: id1}, unit: "libpod-" + id1 + ".scope", slice: "machine.slice"},
		{name: "podman pod", cgroup: "/machine.slice/machine-libpod_pod_" + id2 + ".slice/libpod-" + id1 + ".scope",
			want: &snapshot.Container{Runtime: "podman", ID: id1}, unit: "libpod-" + id1 + ".scope", slice: "machine-libpod_pod_" + id2 + ".slice"},
		{name: "podman conmon", cgroup: "/machine.slice/libpod-conmon-" + id1 + ".scope",
			want: &snapshot.Container{Runtime: "podman", ID: id1, Helper: true}, unit: "libpod-conmon-" + id1 + ".scope", slice: "machine.slice"},
		{name: "podman cgroupfs hybrid (this kind of host)",
			cgroup: "9:name=systemd:/libpod_parent/libpod-" + id1 + ";4:memory:/libpod_parent/libpod-" + id1 + ";0::/libpod_parent/libpod-" + id1,
			want:   &snapshot.Container{Runtime: "podman", ID: id1}},
		{name: "podman rootless", cgroup: "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id1 + ".scope",
			want: &snapshot.Container{Runtime: "podman", ID: id1}, unit: "libpod-" + id1 + ".scope", slice: "user.slice"},
		{name: "lxc v2", cgroup: "/lxc.payload.web", want: &snapshot.Container{Runtime: "lxc", ID: "web"}},
		{name: "lxc monitor", cgroup: "/lxc.monitor.web", want: &snapshot.Container{Runtime: "lxc", ID: "web", Helper: true}},
		{name: "lxc v1", cgroup: v1("/lxc/web", ""), want: &snapshot.Container{Runtime: "lxc", ID: "web"}},
		{name: "systemd-nspawn payload", cgroup: "/machine.slice/systemd-nspawn@deb.service/payload",
			want: &snapshot.Container{Runtime: "systemd-nspawn", ID: "deb"}, unit: "systemd-nspawn@deb.service", slice: "machine.slice"},
		{name: "systemd-nspawn supervisor", cgroup: "/machine.slice/systemd-nspawn@deb.service/supervisor",
			want: &snapshot.Container{Runtime: "systemd-nspawn", ID: "deb", Helper: true}, unit: "systemd-nspawn@deb.service", slice: "machine.slice"},
		{name: "bare id elsewhere", cgroup: "/ecs/" + id2 + "/" + id1, want: &snapshot.Container{Runtime: "unknown", ID: id2}},
		// No container.
		{name: "service", cgroup: "/system.slice/nginx.service", unit: "nginx.service", slice: "system.slice"},
		{name: "service hybrid", cgroup: v1("/system.slice/nginx.service", "/system.slice/nginx.service"), unit: "nginx.service", slice: "system.slice"},
		{name: "containerd itself", cgroup: "/system.slice/containerd.service", unit: "containerd.service", slice: "system.slice"},
		{name: "templated service", cgroup: "/system.slice/system-getty.slice/getty@tty1.service", unit: "getty@tty1.service", slice: "system-getty.slice"},
		{name: "session", cgroup: "/user.slice/user-1000.slice/session-3.scope", unit: "session-3.scope", slice: "user-1000.slice"},
		{name: "user manager app", cgroup: "/user.slice/user-1000.slice/user@1000.service/app.slice/app-org.gnome.Terminal.slice/vte-spawn-1.scope",
			unit: "vte-spawn-1.scope", slice: "app-org.gnome.Terminal.slice"},
		{name: "init", cgroup: "/init.scope", unit: "init.scope"},
		{name: "root", cgroup: v1("/", "/")},
		{name: "a service's own sub-cgroup", cgroup: "/system.slice/foo.service/worker", unit: "foo.service", slice: "system.slice"},
		{name: "not an id: 32 hex digits", cgroup: "4:memory:/process_api/23538fba46c7c898a39630f614744254;0::/"},
		{name: "not an id: capitals", cgroup: "/docker/" + strings.ToUpper(id1)},
		{name: "not an id: 63 digits", cgroup: "/docker/" + id1[1:]},
		{name: "empty", cgroup: ""},
		{name: "kubepods without a pod", cgroup: "/kubepods.slice/kubepods-burstable.slice", slice: "kubepods-burstable.slice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, unit, slice := FromCgroup(tc.cgroup)
			if tc.want != nil {
				tc.want.Source = "cgroup"
			}
			if !sameContainer(c, tc.want) {
				t.Errorf("container = %s, want %s", show(c), show(tc.want))
			}
			if unit != tc.unit || slice != tc.slice {
				t.Errorf("unit, slice = %q, %q; want %q, %q", unit, slice, tc.unit, tc.slice)
			}
		})
	}
}

func TestParseCgroupContinuesCraftedNames(t *testing.T) {
	// A cgroup named "x;0::/docker/ID" must not read as a second unified
	// line, and a v1 name with ";12:pids:/y" must stay in its path.
	hs := parseCgroup("1:name=systemd:/a;0::/docker/" + id1 + ";0::/b;12:pids:/y")
	if len(hs) != 3 || hs[0].path != "/a" || hs[1].path != "/docker/"+id1+";0::/b" || hs[2].path != "/y" {
		t.Fatalf("parseCgroup = %+v", hs)
	}
	if hs := parseCgroup("/x;0::/docker/" + id1); len(hs) != 1 || hs[0].path != "/x;0::/docker/"+id1 {
		t.Fatalf("a bare path is one path: %+v", hs)
	}
}

func sameContainer(a, b *snapshot.Container) bool {
	if a == nil || b == nil {
		return a == b
	}
	if (a.Pod == nil) != (b.Pod == nil) || (a.Pod != nil && *a.Pod != *b.Pod) {
		return false
	}
	x, y := *a, *b
	x.Pod, y.Pod = nil, nil
	return x == y
}

func show(c *snapshot.Container) string {
	if c == nil {
		return "none"
	}
	s := c.Runtime + " " + c.ID + " source=" + c.Source
	if c.Helper {
		s += " helper"
	}
	if c.Pod != nil {
		s += " pod=" + c.Pod.UID + "/" + c.Pod.QoS + "/" + c.Pod.Namespace + "/" + c.Pod.Name
	}
	if c.Name != "" {
		s += " name=" + c.Name
	}
	return s
}
