//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
)

const hostJSON = "testdata/host.json"

// TestOutputModes: every file a command writes is 0600, whatever the
// umask and whatever file it replaces: snapshots, tables, diagrams,
// diffs, audits, reports and profiles name other users' files. Only the
// metrics file, which names none, is 0644.
func TestOutputModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	out := func(name string) string { return filepath.Join(dir, name) }
	runs := [][]string{
		{"scan", "--pid", strconv.Itoa(os.Getpid()), "-o", out("scan.json")},
		{"show", hostJSON, "-o", out("show.txt")},
		{"show", hostJSON, "--format", "json", "-o", out("show.json")},
		{"graph", hostJSON, "-o", out("graph.dot")},
		{"diff", diffBefore, diffAfter, "-o", out("diff.txt")},
		{"diff", diffBefore, diffAfter, "-o", out("diff.json")},
		{"diff", diffBefore, diffAfter, "-o", out("diff.dot")},
		{"audit", "../../analyzer/audit/testdata/host.json", "-o", out("audit.txt")},
		{"audit", "../../analyzer/audit/testdata/host.json", "-o", out("audit.sarif")},
		{"scan", "--pid", strconv.Itoa(os.Getpid()), "-o", out("profiled.json"), "--profile", dir},
		{"scan", "--pid", strconv.Itoa(os.Getpid()), "--format", "table", "-o", out("scan.txt")},
		{"graph", hostJSON, "--tree", "100", "-o", out("graph.svg")},
		{"diff", diffBefore, diffAfter, "-o", out("diff.svg")},
		{"diff", diffBefore, diffAfter, "--summary", "-o", out("diff-summary.txt")},
		{"audit", "../../analyzer/audit/testdata/host.json", "-o", out("audit.json")},
		{"report", hostJSON, "-o", out("report.html")},
		{"report", diffBefore, diffAfter, "-o", out("diff.html")},
	}
	// Files there before, readable by all, are replaced by 0600 ones.
	for _, name := range []string{"show.txt", "graph.svg", "cpu.prof", "report.html"} {
		testkit.Check(t, os.WriteFile(out(name), []byte("old\n"), 0o644))
	}
	for _, args := range runs {
		if _, stderr, code := runCLI(t, args...); code > exitFound {
			t.Fatalf("%v: exit %d %s", args, code, stderr)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Mode() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", f, st.Mode(), err)
		}
	}
	if all, _ := os.ReadDir(dir); len(files) != len(runs)+2 || len(all) != len(files) {
		t.Errorf("%d files, want %d (one per run, and heap.prof): %v", len(all), len(runs)+2, all)
	}

	// The metrics file is node_exporter's, often another user's, and
	// names nothing (TestEveryOutputIsInert): 0644, and so is a replaced
	// one, whatever it was before.
	prom := filepath.Join(t.TempDir(), "kcmpgraph.prom")
	for _, before := range []os.FileMode{0, 0o600} {
		if before != 0 {
			testkit.Check(t, os.Chmod(prom, before))
		}
		if _, stderr, code := runCLI(t, "metrics", hostJSON, "-o", prom); code != 0 {
			t.Fatalf("metrics -o: exit %d %s", code, stderr)
		}
		if st, err := os.Stat(prom); err != nil || st.Mode() != 0o644 {
			t.Errorf("metrics -o over mode %v: mode %v (%v), want 0644", before, st.Mode(), err)
		}
	}
}

// TestOutputIntoDevice: -o naming a character device, or a link to one,
// writes into it and leaves it a device (kcmpgraph -o /dev/null once
// replaced /dev/null with a root-only regular file).
func TestOutputIntoDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a device node")
	}
	dir := t.TempDir()
	null := filepath.Join(dir, "null")
	if err := unix.Mknod(null, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("mknod: %v (no CAP_MKNOD here)", err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(null, link); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"show", hostJSON, "-o", null}, {"graph", hostJSON, "-o", link}} {
		if _, stderr, code := runCLI(t, args...); code != 0 {
			t.Errorf("%v: exit %d %s", args, code, stderr)
		}
	}
	var st unix.Stat_t
	if err := unix.Lstat(null, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("the device is now mode %o (%v)", st.Mode, err)
	}
	if all, _ := os.ReadDir(dir); len(all) != 2 {
		t.Errorf("directory holds %v, want only the device and the link", all)
	}
}

// TestOutputIntoFIFO: -o naming a FIFO writes to its reader; -o naming one
// of the process's descriptors (/dev/fd/N) writes to that descriptor.
func TestOutputIntoFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- string(b)
	}()
	if _, stderr, code := runCLI(t, "show", hostJSON, "-o", fifo); code != 0 {
		t.Fatalf("show -o FIFO: exit %d %s", code, stderr)
	}
	select {
	case s := <-got:
		if !strings.HasPrefix(s, "kcmpgraph snapshot of ") {
			t.Errorf("the reader got %.80q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the FIFO's reader got no end of file")
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v %v", fi.Mode(), err)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	done := make(chan string, 1)
	go func() {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			b.Write(buf[:n])
			if err != nil || strings.HasSuffix(b.String(), "}\n") {
				break
			}
		}
		done <- b.String()
	}()
	_, stderr, code := runCLI(t, "show", hostJSON, "--format", "json", "-o", fmt.Sprintf("/dev/fd/%d", w.Fd()))
	w.Close()
	if code != 0 {
		t.Fatalf("show -o /dev/fd/N: exit %d %s", code, stderr)
	}
	if s := <-done; !strings.HasPrefix(s, "{\n \"schema\"") {
		t.Errorf("the pipe got %.80q", s)
	}
}

// TestProfileRefusesPlantedLinks: --profile writes no profile through a
// link another user planted in a sticky directory (a root scan once
// overwrote a file through DIR/cpu.prof).
func TestProfileRefusesPlantedLinks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to plant a link of another user")
	}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "cpu.prof")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, "scan", "--pid", strconv.Itoa(os.Getpid()), "-o", filepath.Join(t.TempDir(), "s.json"), "--profile", dir)
	if code != exitUsage || !strings.Contains(stderr, "refusing to follow a symbolic link") {
		t.Errorf("exit %d, stderr %q; want 2 and a refusal", code, stderr)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
		t.Errorf("the victim was written through the planted link: %.40q", b)
	}
}
