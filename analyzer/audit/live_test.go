//go:build linux

package audit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/owenrumney/go-sarif/v2/sarif"
	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// liveAudit audits a scan of the live processes opts selects.
func liveAudit(t *testing.T, opts procscan.Options) *Report {
	t.Helper()
	snap, err := analyzer.Run(context.Background(), analyzer.Options{Scan: opts})
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
	rep := liveAudit(t, procscan.Options{Tree: root.PID()})
	if !has(rep, "KG001", High) {
		t.Errorf("a 0600 root file kept by a uid-65534 child is not reported: %+v", rep.Findings)
	}
}

// TestLiveSecretInThreadTable: the 0600 root file is open only in a
// thread's own fd table (unshare(CLONE_FILES)), which /proc/PID/fd does
// not show, and a child forked by that thread keeps it after dropping to
// uid 65534. With --threads the audit names the thread's fd, by its tid.
func TestLiveSecretInThreadTable(t *testing.T) {
	testkit.RequireKcmp(t)
	testkit.RequireRoot(t, "to give fixture processes other users")
	f := fixture.New(t)
	root := f.Root()
	path := filepath.Join(t.TempDir(), "secret.key")
	testkit.Check(t, os.WriteFile(path, []byte("k"), 0o600))
	own := testkit.Must[*fixture.Node](t)(root.ThreadNode(unix.CLONE_FILES))
	fd := testkit.Must[int](t)(own.Open(path, unix.O_RDONLY))
	child := testkit.Must[*fixture.Node](t)(own.Fork())
	testkit.Check(t, child.Setuid(65534, 65534))
	rep := liveAudit(t, procscan.Options{Tree: root.PID(), Threads: true})
	var text bytes.Buffer
	testkit.Check(t, rep.WriteText(&text))
	for _, f := range rep.Findings {
		for _, h := range f.Holders {
			if f.Rule == "KG001" && h.PID == root.PID() && slices.ContainsFunc(h.FDs, func(x HeldFD) bool { return x.FD == fd && x.TID == own.TID() }) {
				if want := fmt.Sprintf("fd %d of task %d", fd, own.TID()); !strings.Contains(text.String(), want) {
					t.Errorf("the text does not say %q:\n%s", want, text.String())
				}
				return
			}
		}
	}
	t.Errorf("no KG001 naming fd %d of thread %d/%d:\n%s", fd, root.PID(), own.TID(), text.String())
}

// TestLiveHostDirInNewNamespaces: a child in new mount and PID namespaces
// that keeps its parent's directory fd crosses the boundary (KG003), but
// the directory is reachable from its root (it did not pivot_root): no
// KG008. The container escape itself is TestRealContainers.
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
	rep := liveAudit(t, procscan.Options{Tree: root.PID()})
	var found *Finding
	for i, fd := range rep.Findings {
		if fd.Rule == "KG008" {
			t.Errorf("KG008 for a directory the child can reach from its root: %+v", fd)
		}
		if fd.Rule != "KG003" {
			continue
		}
		for _, h := range fd.Holders {
			for _, held := range h.FDs {
				if h.PID == c.PID() && held.FD == dirFD {
					found = &rep.Findings[i]
				}
			}
		}
	}
	if found == nil || found.Severity != Medium {
		t.Fatalf("no medium KG003 naming the namespaced child %d's fd %d: %+v", c.PID(), dirFD, rep.Findings)
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
	rep := liveAudit(t, procscan.Options{Tree: root.PID()})
	for _, fd := range rep.Findings {
		if fd.Severity >= Medium {
			t.Errorf("finding at medium or above in an ordinary one-user tree: %+v", fd)
		}
	}
	_ = snapshot.Schema
}

// nginxShaped builds a master/worker tree shaped like nginx: a root
// master with a tcp and a unix listener and two logs it opened for
// appending (root's, 0640), and four workers forked from it that drop to
// uid 65534, each with a socketpair channel to the master (a worker also
// inherits the channels made before it, as nginx's do).
func nginxShaped(t *testing.T) (master *fixture.Node, workers []*fixture.Node) {
	t.Helper()
	f := fixture.New(t)
	master = f.Root()
	dir := t.TempDir()
	must := func(_ int, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := master.TCPListen("127.0.0.1", 0); err != nil {
		t.Fatal(err)
	}
	must(master.Listen(filepath.Join(dir, "nginx.sock")))
	for _, name := range []string{"access.log", "error.log"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o640); err != nil {
			t.Fatal(err)
		}
		must(master.Open(p, unix.O_WRONLY|unix.O_APPEND))
	}
	for range 4 {
		a, b, err := master.Socketpair(unix.SOCK_STREAM)
		if err != nil {
			t.Fatal(err)
		}
		w, err := master.Fork()
		if err != nil {
			t.Fatal(err)
		}
		if err := master.Close(b); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(a); err != nil {
			t.Fatal(err)
		}
		if err := w.Setuid(65534, 65534); err != nil {
			t.Fatal(err)
		}
		workers = append(workers, w)
	}
	return master, workers
}

// TestLiveMasterWorkersFit: the nginx-shaped tree audits to a handful of
// findings in a page of text, every one of them a known design, and a
// second scan of the same tree gives the same fingerprints.
func TestLiveMasterWorkersFit(t *testing.T) {
	testkit.RequireKcmp(t)
	testkit.RequireRoot(t, "to run containers and give fixture processes other users")
	master, workers := nginxShaped(t)
	rep := liveAudit(t, procscan.Options{Tree: master.PID()})
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(text.String(), "\n")
	t.Logf("%d findings, %d lines:\n%s", len(rep.Findings), lines, text.String())
	if len(rep.Findings) > 5 || lines > 60 {
		t.Errorf("%d findings in %d lines, want at most 5 and 60:\n%s", len(rep.Findings), lines, text.String())
	}
	want := map[string]bool{"KG001": false, "KG002": false, "KG007": false}
	for _, f := range rep.Findings {
		if f.Severity != Info || f.Expected == "" {
			t.Errorf("%s %s: %s, want an expected design", f.Rule, f.Severity, f.Message)
		}
		want[f.Rule] = true
		if f.Rule == "KG001" {
			// The count in the message is the holders marked.
			marked := 0
			for _, h := range f.Holders {
				for _, fd := range h.FDs {
					if fd.Note == "cannot open" {
						marked++
						break
					}
				}
			}
			if marked != len(workers) || !strings.Contains(f.Message, fmt.Sprintf("in %d processes", marked)) {
				t.Errorf("KG001: %d holders marked, message %q; want the %d workers, counted", marked, f.Message, len(workers))
			}
		}
		if len(f.Holders) != 1+len(workers) || f.Holders[0].PID != master.PID() || f.Holders[0].Role != "master" {
			t.Errorf("%s: holders %+v, want the master first and its %d workers", f.Rule, f.Holders, len(workers))
		}
	}
	for rule, seen := range want {
		if !seen {
			t.Errorf("no %s finding for the master/worker design:\n%s", rule, text.String())
		}
	}
	if rep.Worst() >= Low {
		t.Errorf("worst %v: a known design must not fail --fail-on low", rep.Worst())
	}
	again := liveAudit(t, procscan.Options{Tree: master.PID()})
	if a, b := sarifFingerprints(t, rep), sarifFingerprints(t, again); len(a) != len(rep.Findings) || !slices.Equal(a, b) {
		t.Errorf("SARIF fingerprints of two scans differ (or are missing):\n%q\n%q", a, b)
	}
}

// sarifFingerprints reads back the partialFingerprints of the report's
// SARIF results, sorted.
func sarifFingerprints(t *testing.T, r *Report) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteSARIF(&buf, "test"); err != nil {
		t.Fatal(err)
	}
	log, err := sarif.FromBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, res := range log.Runs[0].Results {
		if fp, ok := res.PartialFingerprints[fingerprintKey].(string); ok && fp != "" {
			out = append(out, *res.RuleID+" "+fp)
		}
	}
	slices.Sort(out)
	return out
}

func fingerprints(r *Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Rule+" "+f.Fingerprint)
	}
	slices.Sort(out)
	return out
}
