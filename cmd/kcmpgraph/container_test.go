//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/internal/containertest"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
)

// TestContainersCLI runs a leaky and a clean runc container and checks
// what a user sees: show and the diagram name both containers, who says
// where the holder runs, and audit's one critical finding names the leaky
// one.
func TestContainersCLI(t *testing.T) {
	testkit.RequireKcmp(t)
	testkit.RequireRoot(t, "to run containers")
	rt := containertest.NewRunc(t)
	// Both write to one log pipe (something for the diagram to draw
	// between them); only the leaky one also gets a host directory.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	leaky := rt.Run("leaky", containertest.HostDir(t), w)
	clean := rt.Run("clean", w)
	pids := fmt.Sprintf("%d,%d", leaky.PID, clean.PID)
	snap := filepath.Join(t.TempDir(), "s.json")
	if _, stderr, code := runCLI(t, "scan", "--pid", pids, "-o", snap); code != 0 {
		t.Fatalf("scan: exit %d: %s", code, stderr)
	}

	show, stderr, code := runCLI(t, "show", snap)
	if code != 0 {
		t.Fatalf("show: exit %d: %s", code, stderr)
	}
	for _, c := range []*containertest.Container{leaky, clean} {
		row := fmt.Sprintf("runc %s", c.ID)
		if !strings.Contains(show, row) || !strings.Contains(show, fmt.Sprintf("%d sleep", c.PID)) {
			t.Errorf("show does not list container %s with its init %d:\n%s", c.ID, c.PID, show)
		}
	}

	// The diagram draws each container as a cluster named after it.
	dot, stderr, code := runCLI(t, "graph", snap, "--format", "dot")
	if code != 0 {
		t.Fatalf("graph: exit %d: %s", code, stderr)
	}
	for _, c := range []*containertest.Container{leaky, clean} {
		if !strings.Contains(dot, "subgraph cluster_") || !strings.Contains(dot, `label="runc `+c.ID+` ·`) {
			t.Errorf("the diagram has no cluster named after container %s:\n%s", c.ID, dot)
		}
	}

	who, stderr, code := runCLI(t, "who", fmt.Sprintf("%d:3", leaky.PID), "--pid", pids)
	if code != 0 {
		t.Fatalf("who: exit %d: %s", code, stderr)
	}
	if !strings.Contains(who, "WHERE") || !strings.Contains(who, "runc "+leaky.ID) {
		t.Errorf("who does not say where the holder runs:\n%s", who)
	}

	audit, _, code := runCLI(t, "audit", snap)
	if code != exitFound {
		t.Errorf("audit of a leak: exit %d, want %d", code, exitFound)
	}
	critical, _, _ := strings.Cut(audit, "\n== HIGH")
	critical, _, _ = strings.Cut(critical, "\n== MEDIUM")
	critical, _, _ = strings.Cut(critical, "\n== LOW")
	critical, _, _ = strings.Cut(critical, "\n== INFO")
	if !strings.Contains(critical, "== CRITICAL ==") || !strings.Contains(critical, "KG008") ||
		!strings.Contains(critical, "runc "+leaky.ID) || strings.Contains(critical, clean.ID) {
		t.Errorf("audit's critical section does not name %s alone:\n%s", leaky.ID, audit)
	}
}
