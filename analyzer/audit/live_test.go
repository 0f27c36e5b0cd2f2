//go:build linux

package audit

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

func liveAudit(t *testing.T, root int) *Report {
	t.Helper()
	snap, err := analyzer.Run(context.Background(), analyzer.Options{Scan: procscan.Options{Tree: root}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(snap, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func has(rep *Report, rule string, sev Severity) bool {
	for _, f := range rep.Findings {
		if f.Rule == rule && f.Severity >= sev {
			return true
		}
	}
	return false
}

func TestLiveSecretKeptAcrossUidDrop(t *testing.T) {
	testkit.RequireKcmp(t)
	testkit.RequireRoot(t, "to give fixture processes other users and namespaces")
	f := fixture.New(t)
	root := f.Root()
	path := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(path, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Open(path, unix.O_RDONLY); err != nil {
		t.Fatal(err)
	}
	child, err := root.Fork()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Setuid(65534, 65534); err != nil {
		t.Fatal(err)
	}
	rep := liveAudit(t, root.PID())
	if !has(rep, "KG001", High) {
		t.Errorf("a 0600 root file kept by a uid-65534 child is not reported: %+v", rep.Findings)
	}
}

func TestLiveHostDirInNewNamespaces(t *testing.T) {
	testkit.RequireKcmp(t)
	testkit.RequireRoot(t, "to give fixture processes other users and namespaces")
	f := fixture.New(t)
	root := f.Root()
	dirFD, err := root.Open(t.TempDir(), unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		t.Fatal(err)
	}
	c, err := root.Clone(unix.CLONE_NEWNS | unix.CLONE_NEWPID)
	if err != nil {
		t.Skipf("cannot make new namespaces here: %v", err)
	}
	rep := liveAudit(t, root.PID())
	dir := ""
	for _, p := range []int{root.PID()} {
		target, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(p), "fd", strconv.Itoa(dirFD)))
		dir = target
	}
	var found *Finding
	for i, fd := range rep.Findings {
		if fd.Rule == "KG003" && fd.Object == dir {
			found = &rep.Findings[i]
		}
	}
	if found == nil || found.Severity != Critical {
		t.Fatalf("host directory kept in new mount and PID namespaces: %+v", rep.Findings)
	}
	inChild := false
	for _, h := range found.Holders {
		if h.PID == c.PID() {
			inChild = true
		}
	}
	if !inChild {
		t.Errorf("finding does not name the namespaced child %d: %+v", c.PID(), found.Holders)
	}
}

func TestLiveOneUserTreeIsClean(t *testing.T) {
	testkit.RequireKcmp(t)
	testkit.RequireRoot(t, "to give fixture processes other users and namespaces")
	f := fixture.New(t)
	root := f.Root()
	if err := root.Setuid(65534, 65534); err != nil {
		t.Fatal(err)
	}
	m := func(n int, err error) int {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	m(root.Open("/etc/hostname", unix.O_RDONLY))
	m(root.EpollCreate())
	r, w, err := root.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		c, err := root.Fork()
		if err != nil {
			t.Fatal(err)
		}
		m(c.Dup(r))
		m(c.Dup(w))
	}
	rep := liveAudit(t, root.PID())
	for _, fd := range rep.Findings {
		if fd.Severity >= Medium {
			t.Errorf("finding at medium or above in an ordinary one-user tree: %+v", fd)
		}
	}
	_ = snapshot.Schema
}
