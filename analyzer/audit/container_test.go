//go:build linux

package audit

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/internal/containertest"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// checkOnlyLeak asserts that the one critical finding is KG008 on fd 3 of
// the leaky container's init, named by its id, and that nothing at medium
// or above names the clean container.
func checkOnlyLeak(t *testing.T, rep *Report, leaky, clean *containertest.Container) {
	t.Helper()
	var critical []Finding
	for _, f := range rep.Findings {
		if f.Severity == Critical {
			critical = append(critical, f)
		}
		for _, h := range f.Holders {
			if h.PID == clean.PID && f.Severity >= Medium {
				t.Errorf("a %s %s finding names the clean container %s: %s", f.Severity, f.Rule, clean.ID, f.Message)
			}
		}
	}
	if len(critical) != 1 {
		t.Fatalf("%d critical findings, want 1 (the leak): %+v", len(critical), rep.Findings)
	}
	f := critical[0]
	h := f.Holders[0]
	if f.Rule != "KG008" || len(f.Holders) != 1 || h.PID != leaky.PID || h.Container == nil || h.Container.ID != leaky.ID {
		t.Fatalf("critical finding %s %s (holders %+v), want KG008 held by %s's init %d", f.Rule, f.Message, f.Holders, leaky.ID, leaky.PID)
	}
	if len(h.FDs) != 1 || h.FDs[0].FD != 3 || h.FDs[0].Note != "host mount" {
		t.Errorf("evidence %+v, want fd 3 on a host mount", h.FDs)
	}
}

// TestRealRuncLeak: runc run --preserve-fds 1 hands a host directory to a
// container's init (the runc CVE-2024-21626 shape, on purpose). The audit
// reports it as critical, naming that container, whether or not anyone
// else holds the fd, and nothing against the clean container beside it.
func TestRealRuncLeak(t *testing.T) {
	testkit.RequireKcmp(t)
	testkit.RequireRoot(t, "to run containers and give fixture processes other users")
	rt := containertest.NewRunc(t)
	leaky := rt.Run("leaky", containertest.HostDir(t))
	clean := rt.Run("clean")
	checkOnlyLeak(t, liveAudit(t, procscan.Options{PIDs: []int{leaky.PID, clean.PID}}), leaky, clean)
}

// TestRealPodmanLeak: the same with podman, whose conmon (a host process)
// holds the preserved fd too: that crossing is the runtime's by design,
// and the leak is still the container's.
func TestRealPodmanLeak(t *testing.T) {
	testkit.RequireKcmp(t)
	testkit.RequireRoot(t, "to run containers and give fixture processes other users")
	rt := containertest.NewPodman(t)
	leaky := rt.Run("leaky", containertest.HostDir(t))
	clean := rt.Run("clean")
	pids := []int{leaky.PID, clean.PID}
	for _, c := range []*containertest.Container{leaky, clean} {
		if pid := c.ParentPID(); pid > 0 {
			pids = append(pids, pid) // conmon
		}
	}
	rep := liveAudit(t, procscan.Options{PIDs: pids})
	checkOnlyLeak(t, rep, leaky, clean)
	for _, f := range rep.Findings {
		if f.Severity > Info && f.Rule != "KG008" {
			t.Errorf("%s %s: %s; conmon's sharing with its container is by design", f.Severity, f.Rule, f.Message)
		}
	}
	if h := rep.Findings[0].Holders[0]; h.Container.Runtime != "podman" || h.Container.Name != leaky.Name {
		t.Errorf("container %+v, want podman's %s", h.Container, leaky.Name)
	}
}

// TestRealRuncInitBeforeStart: a created container's init is runc init,
// the runtime setting the container up; it holds the preserved host
// directory by design, inside the container's namespaces, and is not
// accused. Once started, the same process is the container's program and
// the leak is critical.
func TestRealRuncInitBeforeStart(t *testing.T) {
	testkit.RequireKcmp(t)
	testkit.RequireRoot(t, "to run containers")
	rt := containertest.NewRunc(t)
	c := rt.Create("created", containertest.HostDir(t))
	rep := liveAudit(t, procscan.Options{PIDs: []int{c.PID}})
	for _, f := range rep.Findings {
		if f.Severity > Info {
			t.Errorf("runc init before start accused: %s %s %s", f.Severity, f.Rule, f.Message)
		}
	}
	rt.Start(c)
	rep = liveAudit(t, procscan.Options{PIDs: []int{c.PID}})
	if !has(rep, "KG008", Critical) {
		t.Errorf("no KG008 once the container started: %+v", rep.Findings)
	}
}

// TestRealRuncRuntimeSocketAndHostNamespace: runc run --preserve-fds 2
// hands a container's init a unix socket connected to a listener named
// docker.sock (KG009 goes by the base name, so it lives in a temporary
// directory, never the host's runtime paths) and the host's network
// namespace file. Each is one critical finding naming the container;
// the clean container beside it has none. Only the two containers are
// scanned: the connected socket belongs to the host's network namespace,
// which none of them is in, and the scan must still name it.
func TestRealRuncRuntimeSocketAndHostNamespace(t *testing.T) {
	testkit.RequireKcmp(t)
	testkit.RequireRoot(t, "to run containers")
	rt := containertest.NewRunc(t)
	sockPath := filepath.Join(t.TempDir(), "docker.sock")
	server := fixture.New(t).Root()
	lfd, err := server.Listen(sockPath)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("unix", sockPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Accept(lfd); err != nil {
		t.Fatal(err)
	}
	client, err := conn.(*net.UnixConn).File()
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// The host's namespaces are pid 1's where readable, else the scanner's.
	hostNS, of := procscan.HostNamespaces("")
	nsPath := "/proc/self/ns/net"
	if of == "pid 1" {
		nsPath = "/proc/1/ns/net"
	}
	nsFile, err := os.Open(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer nsFile.Close()
	leaky := rt.Run("runtime-api", client, nsFile)
	clean := rt.Run("clean")
	rep := liveAudit(t, procscan.Options{PIDs: []int{leaky.PID, clean.PID}})
	want := map[string]struct {
		fd   int
		note string
	}{"KG009": {3, "runtime API"}, "KG010": {4, "host namespace"}}
	found := map[string]int{}
	for _, f := range rep.Findings {
		for _, h := range f.Holders {
			if h.PID == clean.PID && f.Severity >= Medium {
				t.Errorf("a %s %s finding names the clean container %s: %s", f.Severity, f.Rule, clean.ID, f.Message)
			}
		}
		w, ok := want[f.Rule]
		if f.Severity == Critical && !ok {
			t.Errorf("unexpected critical %s: %s", f.Rule, f.Message)
		}
		if !ok {
			continue
		}
		found[f.Rule]++
		if f.Severity != Critical || len(f.Holders) != 1 {
			t.Errorf("%s %s %s (holders %+v), want critical, one holder", f.Severity, f.Rule, f.Message, f.Holders)
			continue
		}
		h := f.Holders[0]
		if h.PID != leaky.PID || h.Container == nil || h.Container.ID != leaky.ID || !strings.Contains(f.Message, leaky.ID) {
			t.Errorf("%s %s held by %d %+v, want %s's init %d", f.Rule, f.Message, h.PID, h.Container, leaky.ID, leaky.PID)
		}
		if len(h.FDs) != 1 || h.FDs[0].FD != w.fd || h.FDs[0].Note != w.note {
			t.Errorf("%s evidence %+v, want fd %d (%s)", f.Rule, h.FDs, w.fd, w.note)
		}
	}
	for rule := range want {
		if found[rule] != 1 {
			t.Errorf("%d %s findings, want 1: %+v", found[rule], rule, rep.Findings)
		}
	}
	for _, f := range rep.Findings {
		switch f.Rule {
		case "KG009":
			if !strings.Contains(f.Object, sockPath) {
				t.Errorf("KG009 object %q does not name %s", f.Object, sockPath)
			}
		case "KG010":
			if wantObj := fmt.Sprintf("net namespace %d", hostNS["net"]); f.Object != wantObj {
				t.Errorf("KG010 object %q, want %q", f.Object, wantObj)
			}
		}
	}
}
