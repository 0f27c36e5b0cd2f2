//go:build linux

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the command line in-process and returns stdout, stderr and
// the exit code main would use.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), &stdout, &stderr, args)
	code := exitCode(err, &stderr)
	return stdout.String(), stderr.String(), code
}

// wantUsageError checks exit code 2 and a one-line message naming what.
func wantUsageError(t *testing.T, what string, args ...string) {
	t.Helper()
	_, stderr, code := runCLI(t, args...)
	if code != exitUsage {
		t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "kcmpgraph: ") || !strings.Contains(stderr, what) {
		t.Errorf("%v: stderr %q, want one line naming %q", args, stderr, what)
	}
}

func TestUsageErrors(t *testing.T) {
	wantUsageError(t, "unknown flag", "scan", "--bogus")
	wantUsageError(t, "unknown command", "frobnicate")
	wantUsageError(t, `unknown kcmp type "mm" (valid: file, vm, files, fs, sighand, io, sysvsem, epoll)`, "scan", "--types", "mm")
	wantUsageError(t, `--pid: "x" is not a pid`, "scan", "--pid", "1,x")
	wantUsageError(t, "pid 4194305: no such process", "scan", "--pid", "4194305")
	wantUsageError(t, "--tree: pid 4194305: no such process", "scan", "--tree", "4194305")
	wantUsageError(t, "if any flags in the group [pid tree] are set none of the others can be", "scan", "--pid", "1", "--tree", "1")
	wantUsageError(t, "--format", "scan", "--format", "xml")
	wantUsageError(t, `unknown command "extra" for "kcmpgraph scan"`, "scan", "extra")
	wantUsageError(t, "--freeze needs --pid, --tree or --user", "scan", "--freeze")
	wantUsageError(t, "--profile: /nonexistent is not a directory", "scan", "--pid", "1", "--profile", "/nonexistent")
	wantUsageError(t, "does not exist", "scan", "--pid", "1", "-o", "/nonexistent/dir/out.json")
}

func TestVersion(t *testing.T) {
	out, _, code := runCLI(t, "--version")
	if code != 0 || !strings.Contains(out, "kcmpgraph version") {
		t.Errorf("--version: %q exit %d", out, code)
	}
}

func TestDiffCLI(t *testing.T) {
	const before, after = "../../analyzer/diff/testdata/before.json", "../../analyzer/diff/testdata/after.json"
	out, _, code := runCLI(t, "diff", after, after)
	if code != 0 || !strings.Contains(out, "no differences") {
		t.Errorf("diff of a snapshot with itself: exit %d\n%s", code, out)
	}
	out, _, code = runCLI(t, "diff", before, after)
	if code != exitFound || !strings.Contains(out, "LEAK") {
		t.Errorf("diff: exit %d\n%s", code, out)
	}
	out, _, code = runCLI(t, "diff", before, after, "--format", "json", "--ignore-stdio")
	if code != exitFound || !strings.Contains(out, `"differences": `) {
		t.Errorf("diff --format json: exit %d\n%s", code, out)
	}
	out, _, code = runCLI(t, "diff", before, after, "--format", "dot")
	if code != exitFound || !strings.HasPrefix(out, "digraph kcmpgraph {") || !strings.Contains(out, "#2ca02c") {
		t.Errorf("diff --format dot: exit %d\n%s", code, out)
	}
	wantUsageError(t, "missing.json: cannot open", "diff", before, "missing.json")
	wantUsageError(t, "--format", "diff", before, after, "--format", "xml")
	wantUsageError(t, "accepts 2 arg(s)", "diff", before)
}

func TestAuditCLI(t *testing.T) {
	const host = "../../analyzer/audit/testdata/host.json"
	out, _, code := runCLI(t, "audit", host)
	if code != exitFound || !strings.Contains(out, "== CRITICAL ==") {
		t.Errorf("audit: exit %d\n%s", code, out)
	}
	if _, _, code := runCLI(t, "audit", host, "--rules", "KG006", "--fail-on", "medium"); code != 0 {
		t.Errorf("only low findings with --fail-on medium: exit %d, want 0", code)
	}
	if _, _, code := runCLI(t, "audit", host, "--rules", "KG006", "--fail-on", "low"); code != exitFound {
		t.Errorf("low findings with --fail-on low: exit %d, want 1", code)
	}
	dir := t.TempDir()
	if _, stderr, code := runCLI(t, "audit", host, "-o", filepath.Join(dir, "r.sarif")); code != exitFound {
		t.Errorf("audit -o r.sarif: exit %d %s", code, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "r.sarif")); err != nil || !strings.Contains(string(b), `"version": "2.1.0"`) {
		t.Errorf("SARIF file: %v\n%.200s", err, b)
	}
	bad := filepath.Join(dir, "allow.txt")
	os.WriteFile(bad, []byte("KG002 comm=nginx\nKG099 comm=x\n"), 0o644)
	wantUsageError(t, "allow.txt:2: unknown rule", "audit", host, "--allow", bad)
	wantUsageError(t, `--fail-on: unknown severity "severe"`, "audit", host, "--fail-on", "severe")
	wantUsageError(t, `unknown rule "KG999"`, "audit", host, "--rules", "KG999")
	wantUsageError(t, "--format", "audit", host, "--format", "xml")
}

// TestMessages checks the messages a user meets for a mistyped command
// or flag value: one line, in our words, naming the flag.
func TestMessages(t *testing.T) {
	const snap = "testdata/host.json"
	for _, tc := range []struct {
		want string
		args []string
	}{
		{`--tree: "abc" is not a pid (a positive number)`, []string{"scan", "--tree", "abc"}},
		{`--tree: "-3" is not a pid (a positive number)`, []string{"show", snap, "--tree=-3"}},
		{`--pid: "x" is not a pid (a positive number)`, []string{"graph", snap, "--pid", "1,x"}},
		{`--pid: empty list (give pids separated by commas)`, []string{"audit", snap, "--pid", ","}},
		{`--user: empty list (give user names or uids separated by commas)`, []string{"show", snap, "--user", ""}},
		{`--types: unknown kcmp type "mm" (valid: file, vm, files, fs, sighand, io, sysvsem, epoll)`, []string{"diff", snap, snap, "--types", "mm"}},
		{`--max-nodes: "many" is not a whole number`, []string{"graph", snap, "--max-nodes", "many"}},
		{`--timeout: "soon" is not a duration (for example 90s, 2m or 1m30s)`, []string{"diff", snap, snap, "--timeout", "soon"}},
		{`--threads: "maybe" is not true or false`, []string{"show", snap, "--threads=maybe"}},
		{`unknown command "sacn" for "kcmpgraph"; did you mean "scan"?`, []string{"sacn"}},
		{`unknown command "shw" for "kcmpgraph"; did you mean "show" or "who"?`, []string{"-q", "shw"}},
		{`unknown command "zzzz" for "kcmpgraph"`, []string{"zzzz"}},
	} {
		wantUsageError(t, tc.want, tc.args...)
		if _, stderr, _ := runCLI(t, tc.args...); strings.Contains(stderr, "strconv") || strings.Contains(stderr, "invalid argument") {
			t.Errorf("%v: %q speaks the parser's words", tc.args, stderr)
		}
	}
	out, _, code := runCLI(t, "cmp", "--help")
	if code != 0 || !strings.Contains(out, "--type string   compare only this type (file, vm, files, fs, sighand, io, sysvsem; file needs --fd)\n") {
		t.Errorf("cmp --help does not offer exactly the types cmp compares:\n%s", out)
	}
	if out, _, _ := runCLI(t, "__complete", "cmp", "--type", ""); strings.Contains(out, "epoll") {
		t.Errorf("cmp --type completes a type cmp refuses:\n%s", out)
	}
}
