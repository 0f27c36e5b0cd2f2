//go:build linux

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/golden"
)

// uidNames makes golden output independent of the machine's users.
func uidNames(uid int) string { return "uid" + strconv.Itoa(uid) }

func TestTableGolden(t *testing.T) {
	s, err := snapshot.LoadFile("../../graphout/testdata/small.json", snapshot.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	if err := writeTable(&plain, s, tableOptions{users: uidNames}); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "small.table", plain.Bytes())

	// Hostile strings: terminal escapes, newlines, markup, invalid UTF-8,
	// a 4 KB path; and a snapshot taken without kcmp.
	s.Exact = false
	s.Processes[0].Comm = "evil\n\x1b[2J<script>"
	s.Processes[1].Comm = "\xff\xfeok"
	s.Processes[0].FDs[1].Target = "/var/log/" + strings.Repeat("a\tb\\", 1024)
	s.Warnings = []string{"warn\x1b[31m red"}
	var hostile bytes.Buffer
	if err := writeTable(&hostile, s, tableOptions{users: uidNames, width: 100}); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "hostile.table", hostile.Bytes())
	out := hostile.Bytes()
	if bytes.ContainsAny(out, "\x1b\xff\t") || bytes.Count(out, []byte("\n")) != bytes.Count(plain.Bytes(), []byte("\n"))+4 {
		t.Errorf("hostile strings reached the table raw or broke its lines:\n%s", out)
	}
	if !bytes.Contains(out, []byte("NOT EXACT")) {
		t.Error("a snapshot without kcmp is shown without the NOT EXACT banner")
	}
	for _, line := range strings.Split(string(out), "\n") {
		if len([]rune(line)) > 130 {
			t.Errorf("line of %d runes despite width 100: %q", len([]rune(line)), line)
		}
	}
}

func TestShowCLI(t *testing.T) {
	out, _, code := runCLI(t, "show", "../../graphout/testdata/small.json", "--types", "vm")
	if code != 0 || !strings.Contains(out, "address space") || strings.Contains(out, "socket:[500]") {
		t.Errorf("show --types vm: exit %d\n%s", code, out)
	}
	out, _, code = runCLI(t, "show", "../../graphout/testdata/small.json", "--pid", "100", "--format", "json")
	if code != 0 {
		t.Fatalf("show --format json: exit %d", code)
	}
	if s, err := snapshot.Parse([]byte(out), "out"); err != nil || len(s.Processes) != 1 {
		t.Errorf("show --format json does not re-emit a valid selected snapshot: %v", err)
	}
	dir := t.TempDir()
	for name, content := range map[string]string{
		"trunc.json": `{"schema": "kcmpgraph.snapshot/v1", "processes": [`,
		"v2.json":    `{"schema": "kcmpgraph.snapshot/v2"}`,
		"dup.json":   `{"schema": "kcmpgraph.snapshot/v1", "processes": [{"pid": 1}, {"pid": 1}]}`,
	} {
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	}
	wantUsageError(t, "trunc.json", "show", filepath.Join(dir, "trunc.json"))
	wantUsageError(t, `"kcmpgraph.snapshot/v2" is not supported`, "show", filepath.Join(dir, "v2.json"))
	wantUsageError(t, "processes[1].pid: pid 1 is listed twice", "show", filepath.Join(dir, "dup.json"))
	wantUsageError(t, "is a directory", "show", dir)
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, _, code := runCLI(t, "completion", shell)
		if code != 0 || !strings.Contains(out, "kcmpgraph") || len(out) < 500 {
			t.Errorf("completion %s: exit %d, %d bytes", shell, code, len(out))
		}
	}
}

func TestHelpHasExamples(t *testing.T) {
	for _, c := range newRootCmd(&bytes.Buffer{}, &bytes.Buffer{}).Commands() {
		if c.Name() == "completion" || c.Name() == "help" {
			continue
		}
		if c.Example == "" {
			t.Errorf("%s has no examples in --help", c.Name())
		}
	}
}
