//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// graph --around draws a neighbourhood; its mistakes are usage errors.
func TestGraphAround(t *testing.T) {
	const snap = "../../graphout/testdata/nginx.json"
	out, stderr, code := runCLI(t, "graph", snap, "--around", "102:9")
	if code != 0 || !strings.Contains(out, `label="unix socketpair"`) || strings.Contains(out, "LISTEN") || strings.Contains(out, "pid103") {
		t.Errorf("--around 102:9: exit %d %s\n%s", code, stderr, out)
	}
	out, _, code = runCLI(t, "graph", snap, "--around", "102:9", "--depth", "1")
	if code != 0 || !strings.Contains(out, "tcp 0.0.0.0:80 LISTEN") {
		t.Errorf("--around 102:9 --depth 1: exit %d\n%s", code, out)
	}
	wantUsageError(t, "--around: pid 999: not in the snapshot", "graph", snap, "--around", "999")
	wantUsageError(t, "--around: pid 101 has no fd 77", "graph", snap, "--around", "101:77")
	wantUsageError(t, `--around: "x:1" is not PID or PID:FD`, "graph", snap, "--around", "x:1")
	wantUsageError(t, "--depth needs --around", "graph", snap, "--depth", "2")
	wantUsageError(t, "--depth: -1 is negative", "graph", snap, "--around", "102", "--depth", "-1")
}

// TestRefusedRenderCacheWarns: an SVG drawn without the cache of compiled
// graphviz, because another user could change the cache directory, says
// why once, as a warning; -q says nothing.
func TestRefusedRenderCacheWarns(t *testing.T) {
	base := t.TempDir()
	if err := os.Chmod(base, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", base)
	out := filepath.Join(t.TempDir(), "g.svg")
	_, stderr, code := runCLI(t, "graph", "testdata/host.json", "--tree", "100", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d %s", code, stderr)
	}
	const want = "kcmpgraph: warning: svg: not caching compiled graphviz"
	if strings.Count(stderr, want) != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "could be changed by another user") {
		t.Errorf("stderr %q, want one warning %q that says why", stderr, want)
	}
	if _, stderr, _ := runCLI(t, "-q", "graph", "testdata/host.json", "--tree", "100", "-o", out); stderr != "" {
		t.Errorf("-q: stderr %q", stderr)
	}
}
