//go:build linux

package main

import (
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
