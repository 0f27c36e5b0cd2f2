//go:build linux

package main

import (
	"bytes"
	"context"
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
	wantUsageError(t, "--tree 4194305: no such process", "scan", "--tree", "4194305")
	wantUsageError(t, "if any flags in the group [pid tree] are set none of the others can be", "scan", "--pid", "1", "--tree", "1")
	wantUsageError(t, "--format", "scan", "--format", "xml")
	wantUsageError(t, `unknown command "extra" for "kcmpgraph scan"`, "scan", "extra")
	wantUsageError(t, "--freeze needs --pid, --tree or --user", "scan", "--freeze")
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
	if code != exitFound || !strings.HasPrefix(out, "graph kcmpgraph {") || !strings.Contains(out, "#2ca02c") {
		t.Errorf("diff --format dot: exit %d\n%s", code, out)
	}
	wantUsageError(t, "missing.json: cannot open", "diff", before, "missing.json")
	wantUsageError(t, "--format", "diff", before, after, "--format", "xml")
	wantUsageError(t, "accepts 2 arg(s)", "diff", before)
}
