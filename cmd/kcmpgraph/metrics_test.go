//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/internal/containertest"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

const auditHost = "../../analyzer/audit/testdata/host.json"

// requirePromtool skips when Debian's prometheus package is missing
// (.ci/run installs it).
func requirePromtool(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Skip("promtool not installed (Debian package prometheus; .ci/run installs it)")
	}
}

// promtoolCheckMetrics runs promtool check metrics on an exposition.
func promtoolCheckMetrics(t *testing.T, exposition string) {
	t.Helper()
	requirePromtool(t)
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestMetricsCLI(t *testing.T) {
	out, stderr, code := runCLI(t, "metrics", auditHost)
	if code != 0 {
		t.Fatalf("metrics: exit %d %s", code, stderr)
	}
	for _, want := range []string{
		`kcmpgraph_audit_findings{rule="KG001",severity="high"} 1`,
		`kcmpgraph_audit_findings{rule="KG004",severity="critical"} 1`,
		`kcmpgraph_scan_success 1`, `kcmpgraph_processes 13`,
		`kcmpgraph_last_scan_timestamp_seconds 1.7955648e+09`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("metrics lacks %q:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"go_", "process_", "kcmpgraph_scan_interval_seconds"} {
		if strings.Contains(out, "\n"+unwanted) {
			t.Errorf("a one-shot exposition has %s metrics (node_exporter's textfile collector would clash with its own):\n%s", unwanted, out)
		}
	}
	promtoolCheckMetrics(t, out)

	dir := t.TempDir()
	path := filepath.Join(dir, "kcmpgraph.prom")
	if _, stderr, code := runCLI(t, "metrics", auditHost, "--disable", "KG006", "-o", path); code != 0 {
		t.Fatalf("metrics -o: exit %d %s", code, stderr)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("%s has mode %v; node_exporter (another user) must read it", path, st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), `rule="KG006"`) || !strings.Contains(string(b), `rule="KG001"`) {
		t.Errorf("--disable KG006 not applied:\n%s", b)
	}

	wantUsageError(t, `unknown rule "KG999"`, "metrics", auditHost, "--rules", "KG999")
	wantUsageError(t, "missing.json: cannot open", "metrics", "missing.json")
	wantUsageError(t, "does not exist", "metrics", auditHost, "-o", "/nonexistent/dir/k.prom")
	wantUsageError(t, "accepts at most 1 arg", "metrics", auditHost, auditHost)
}

func TestServeUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(bad, []byte("tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantUsageError(t, "--interval 0s: must be at least 1s", "serve", "--interval", "0s")
	wantUsageError(t, "--interval 1ms: must be at least 1s", "serve", "--interval", "1ms")
	wantUsageError(t, "--interval -1m0s: must be at least 1s", "serve", "--interval", "-1m")
	wantUsageError(t, `--cpu-budget: "200%" is not a share of one CPU between 0 and 100%`, "serve", "--cpu-budget", "200%")
	wantUsageError(t, `--cpu-budget: "-1%" is not a share of one CPU`, "serve", "--cpu-budget", "-1%")
	wantUsageError(t, `--cpu-budget: "2 percent" is not a share of one CPU`, "serve", "--cpu-budget", "2 percent")
	wantUsageError(t, `--cpu-budget: "NaN" is not a share of one CPU`, "serve", "--cpu-budget", "NaN")
	wantUsageError(t, "--web.config.file "+bad, "serve", "--web.config.file", bad)
	wantUsageError(t, "--web.config.file", "serve", "--web.config.file", filepath.Join(dir, "missing.yml"))
	wantUsageError(t, `--log.level: "loud" is not a level`, "serve", "--log.level", "loud")
	wantUsageError(t, `unknown rule "KG999"`, "serve", "--disable", "KG999")
	wantUsageError(t, "allow.txt", "serve", "--allow", filepath.Join(dir, "allow.txt"))
	wantUsageError(t, `--pid: "x" is not a pid`, "serve", "--pid", "x")
	wantUsageError(t, `unknown command "extra" for "kcmpgraph serve"`, "serve", "extra")
}

// TestDeployFiles checks the shipped alerting rules with promtool (syntax,
// then their unit tests) and that the README shows the deploy files as
// they are.
func TestDeployFiles(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"kcmpgraph.service", "kubernetes-daemonset.yml"} {
		b, err := os.ReadFile(filepath.Join("../../deploy", f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), "\n"+string(b)+"```\n") {
			t.Errorf("README does not show deploy/%s as it is", f)
		}
	}
	requirePromtool(t)
	for _, args := range [][]string{{"check", "rules", "prometheus-rules.yml"}, {"test", "rules", "prometheus-rules_test.yml"}} {
		cmd := exec.Command("promtool", args...)
		cmd.Dir = "../../deploy"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestMetricsByContainer: a real runc container is handed a host
// directory that a host process holds too (the runc CVE-2024-21626
// shape). With --findings-by-container, the critical KG008 finding (a host
// file in a container) counts for that container, named by its runc id;
// without it, no such series.
func TestMetricsByContainer(t *testing.T) {
	testkit.RequireKcmp(t)
	rt := containertest.NewRunc(t)
	node := fixture.New(t).Root()
	dirFD := testkit.Must[int](t)(node.Open(t.TempDir(), unix.O_RDONLY|unix.O_DIRECTORY))
	// The same open file description in this process, to hand to runc.
	pidfd, err := unix.PidfdOpen(node.PID(), 0)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.PidfdGetfd(pidfd, dirFD, 0)
	unix.Close(pidfd)
	if err != nil {
		t.Fatal(err)
	}
	hostDir := os.NewFile(uintptr(fd), "host-dir")
	defer hostDir.Close()
	c := rt.Run("kg-metrics", hostDir)
	pids := fmt.Sprintf("%d,%d", node.PID(), c.PID)

	out, stderr, code := runCLI(t, "metrics", "--pid", pids, "--findings-by-container")
	if code != 0 {
		t.Fatalf("metrics: exit %d %s", code, stderr)
	}
	want := fmt.Sprintf(`kcmpgraph_container_audit_findings{container=%q,namespace="",pod="",rule="KG008",runtime="runc",severity="critical"} 1`, c.ID)
	if !strings.Contains(out, want+"\n") {
		t.Errorf("want the series %s:\n%s", want, out)
	}
	promtoolCheckMetrics(t, out)
	out, _, _ = runCLI(t, "metrics", "--pid", pids)
	if strings.Contains(out, "container_audit_findings") {
		t.Errorf("per-container findings without --findings-by-container:\n%s", out)
	}
}
