//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

func TestReportCLI(t *testing.T) {
	const snap = "../../analyzer/audit/testdata/host.json"
	dir := t.TempDir()
	out := filepath.Join(dir, "host.html")
	if _, stderr, code := runCLI(t, "report", snap, "-o", out); code != exitOK {
		t.Fatalf("report: exit %d, %s", code, stderr)
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("report file: %v, mode %v; want 0600", err, st.Mode())
	}
	page, _ := os.ReadFile(out)
	if !bytes.Contains(page, []byte(`http-equiv="Content-Security-Policy"`)) || !bytes.Contains(page, []byte(`id="kg-data"`)) {
		t.Error("the report lacks its CSP or its data")
	}
	const before, after = "../../analyzer/diff/testdata/before.json", "../../analyzer/diff/testdata/after.json"
	diffOut := filepath.Join(dir, "diff.html")
	if _, stderr, code := runCLI(t, "report", before, after, "-o", diffOut); code != exitOK {
		t.Fatalf("report BEFORE AFTER: exit %d, %s", code, stderr)
	}
	if page, _ := os.ReadFile(diffOut); !bytes.Contains(page, []byte(`"mode":"diff"`)) {
		t.Error("report BEFORE AFTER is not a diff page")
	}
	wantUsageError(t, "--ignore-stdio: only for two snapshots", "report", snap, "--ignore-stdio", "-o", out)
	wantUsageError(t, "--pid: pid 4194305 is not in", "report", snap, "--pid", "4194305", "-o", out)
	wantUsageError(t, "accepts at most 2 arg(s)", "report", snap, snap, snap, "-o", out)
}

func TestWebListenRefused(t *testing.T) {
	const snap = "../../analyzer/audit/testdata/host.json"
	wantUsageError(t, `names no address and would listen on every interface`, "web", snap, "--listen", ":8080")
	wantUsageError(t, `give an IP address or localhost`, "web", snap, "--listen", "example.com:8080")
	wantUsageError(t, `is not HOST:PORT`, "web", snap, "--listen", "8080")
	// The address is tried before the snapshot is read (or the host scanned).
	wantUsageError(t, `--listen: listen tcp: address 99999: invalid port`, "web", "missing.json", "--listen", "127.0.0.1:99999")
}

// pipeWriter hands what the command prints to the test as it prints it.
type pipeWriter struct{ w *io.PipeWriter }

func (p pipeWriter) Write(b []byte) (int, error) { return p.w.Write(b) }

// TestWebCLI starts "web SNAPSHOT", reads the URL it prints, checks the
// page and the API, and stops it as SIGINT would (its context ends): it
// returns cleanly and stops listening.
func TestWebCLI(t *testing.T) {
	const snap = "../../analyzer/audit/testdata/host.json"
	pr, pw := io.Pipe()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, pipeWriter{pw}, &stderr, []string{"web", snap}) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "kcmpgraph: serving ")
	url, _, _ = strings.Cut(url, " ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("printed %q, want the URL on 127.0.0.1", line)
	}
	for path, want := range map[string]string{"": "<!DOCTYPE html>", "api/model": `"procs":`} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) || resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: %d, CSP %q", path, resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
		}
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("web after the interrupt: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("web did not stop")
	}
	if _, err := http.Get(url); err == nil {
		t.Error("still listening after the interrupt")
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr: %s", stderr.String())
	}
}

// TestWebNetworkWarns: an address that is not loopback is served only
// when named, with a warning.
func TestWebNetworkWarns(t *testing.T) {
	pr, pw := io.Pipe()
	ctx, stop := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, pipeWriter{pw}, &stderr, []string{"web", "../../analyzer/audit/testdata/host.json", "--listen", "0.0.0.0:0"})
	}()
	if _, err := bufio.NewReader(pr).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "not a loopback address") {
		t.Errorf("stderr %q, want the warning", stderr.String())
	}
}

// TestWebLiveRescan serves the live view of a fixture tree (no SNAPSHOT)
// and rescans it as the page's button does: the new scan shows a process
// forked since the first, and the model says it is live.
func TestWebLiveRescan(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	pr, pw := io.Pipe()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, pipeWriter{pw}, &stderr, []string{"web", "--tree", strconv.Itoa(root.PID())}) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	testkit.Check(t, err)
	go io.Copy(io.Discard, pr)
	url, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "kcmpgraph: serving "), " ")
	child := testkit.Must[*fixture.Node](t)(root.Fork())
	req, err := http.NewRequest(http.MethodPost, url+"api/rescan", nil)
	testkit.Check(t, err)
	req.Header.Set("Origin", strings.TrimSuffix(url, "/"))
	resp, err := http.DefaultClient.Do(req)
	testkit.Check(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"live":true`)) ||
		!bytes.Contains(body, []byte(`"pid":`+strconv.Itoa(child.PID())+`,`)) {
		t.Errorf("rescan of the live view: %d, want the model with pid %d:\n%.300s", resp.StatusCode, child.PID(), body)
	}
	stop()
	if err := <-done; err != nil || stderr.Len() > 0 {
		t.Errorf("web: %v, stderr %q", err, stderr.String())
	}
}
