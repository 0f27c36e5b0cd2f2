//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
)

// buildKcmpgraph builds the real binary: signals, exit codes and peak RSS
// are properties of a process.
func buildKcmpgraph(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kcmpgraph")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// writeUnsorted writes a snapshot of n processes in shuffled pid order,
// trees of ten with five fds each, a pipe shared in each tree and a log
// that every tenth process holds: the shape that made look-ups scans.
// Seeds other than 1 also rename every thousandth process.
func writeUnsorted(t *testing.T, path string, n int, seed uint64) {
	t.Helper()
	s := &snapshot.Snapshot{Schema: snapshot.Schema, Exact: true, Null: map[string][]snapshot.Member{}}
	r := rand.New(rand.NewPCG(seed, 1))
	for _, i := range r.Perm(n) {
		pid, ppid := i+2, 1
		if i%10 != 0 {
			ppid = i/10*10 + 2
		}
		p := snapshot.Process{PID: pid, PPID: ppid, Comm: fmt.Sprintf("worker-%d", i%7), State: "S", UID: i % 3, Tasks: []int{pid}}
		if seed != 1 && i%1000 == 0 {
			p.Comm = "renamed"
		}
		for fd := 0; fd < 5; fd++ {
			p.FDs = append(p.FDs, snapshot.FD{FD: fd, Target: fmt.Sprintf("/var/lib/app/%d/%d", i/10, fd), Ino: uint64(i/10*10 + fd), MntID: 2, Mode: 0o100644})
		}
		s.Processes = append(s.Processes, p)
	}
	var log []snapshot.Member
	for g := 0; g < n/10; g++ {
		var pipe []snapshot.Member
		for k := 0; k < 10; k++ {
			pipe = append(pipe, snapshot.Member{PID: g*10 + k + 2, FD: 1})
		}
		s.Groups = append(s.Groups, snapshot.Group{Type: snapshot.TypeFile, Members: pipe})
		log = append(log, snapshot.Member{PID: g*10 + 2, FD: 0})
	}
	s.Groups = append(s.Groups, snapshot.Group{Type: snapshot.TypeFile, Members: log})
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := s.Encode(f); err != nil {
		t.Fatal(err)
	}
}

// spawnEnv makes the test binary a spawner (see init): it runs the
// command after "--" and reports its resource use on fd 3. A child
// started straight from the test process would report the test's own
// peak RSS: the kernel counts the memory a vfork'd child shared before
// its exec.
const spawnEnv = "KCMPGRAPH_TEST_SPAWN_FOR_RUSAGE"

func init() {
	if os.Getenv(spawnEnv) == "" {
		return
	}
	for i, a := range os.Args {
		if a != "--" || i+1 == len(os.Args) {
			continue
		}
		cmd := exec.Command(os.Args[i+1], os.Args[i+2:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		cmd.Run()
		if cmd.ProcessState == nil {
			os.Exit(127)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		fmt.Fprintf(os.NewFile(3, "report"), "%d %d\n", ru.Maxrss, ru.Utime.Nano()+ru.Stime.Nano())
		os.Exit(cmd.ProcessState.ExitCode())
	}
	os.Exit(127)
}

// runBinary runs the binary to its end through a spawner and returns its
// exit code, stderr, wall time, CPU time (user and system) and peak RSS
// in bytes.
func runBinary(t *testing.T, bin string, stdin io.Reader, args ...string) (code int, stderr string, wall, cpu time.Duration, rss int64) {
	t.Helper()
	report, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer report.Close()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--", bin}, args...)...)
	cmd.Env = append(os.Environ(), spawnEnv+"=1")
	cmd.Stdin = stdin
	cmd.ExtraFiles = []*os.File{w}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	cmd.Run()
	wall = time.Since(start)
	w.Close()
	var maxrss, ns int64
	if _, err := fmt.Fscan(report, &maxrss, &ns); err != nil {
		t.Fatalf("%v: no resource report (%v): %s", args, err, errb.String())
	}
	return cmd.ProcessState.ExitCode(), errb.String(), wall, time.Duration(ns), maxrss * 1024
}

// TestOfflineCommandsAtScale runs every offline command on a 40,000
// process snapshot in shuffled order: each ends within 6 s, --timeout
// ends any of them, and SIGTERM or SIGINT ends any of them within a
// second, leaving the output file as it was. Other tests share this
// machine's two CPUs, so a command may instead show that its work fits:
// CPU time over the CPUs it uses (diff loads its two snapshots at once)
// within 6 s.
func TestOfflineCommandsAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it on 40,000 processes")
	}
	bin := buildKcmpgraph(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	writeUnsorted(t, a, 40000, 1)
	writeUnsorted(t, b, 40000, 2)
	out := filepath.Join(dir, "out")
	commands := []struct {
		name string
		args []string
		code int
		cpus int
	}{
		{"show", []string{"show", a, "-o", out}, 0, 1},
		{"show json", []string{"show", a, "--format", "json", "-o", out}, 0, 1},
		{"graph", []string{"graph", a, "--format", "dot", "-o", out}, 0, 1},
		{"graph refused", []string{"graph", a, "--format", "dot", "--no-collapse", "-o", out}, exitUsage, 1},
		{"audit", []string{"audit", a, "-o", out}, 0, 1},
		{"diff", []string{"diff", a, b, "-o", out}, exitFound, 2},
	}
	for _, c := range commands {
		code, stderr, wall, cpu, rss := runBinary(t, bin, nil, c.args...)
		t.Logf("%-13s exit %d: %6.2f s wall, %5.2f s CPU, %4d MiB peak", c.name, code, wall.Seconds(), cpu.Seconds(), rss>>20)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d: %s", c.name, code, c.code, stderr)
		}
		if wall > 6*time.Second && cpu/time.Duration(c.cpus) > 6*time.Second {
			t.Errorf("%s: %v, %v of CPU on %d CPUs; want at most 6 s", c.name, wall, cpu, c.cpus)
		}
	}
	if err := os.WriteFile(out, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, c := range commands {
		sigs := []syscall.Signal{syscall.SIGTERM}
		if i == 0 {
			sigs = append(sigs, syscall.SIGINT) // Ctrl-C: the same path
		}
		for _, sig := range sigs {
			cmd := exec.Command(bin, c.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			sent := time.Now()
			cmd.Process.Signal(sig)
			cmd.Wait()
			took := time.Since(sent)
			if took > time.Second {
				t.Errorf("%s: ended %v after %v, want within 1 s", c.name, took, signalName(sig))
			}
			if code := cmd.ProcessState.ExitCode(); code != 128+int(sig) && !strings.Contains(cmd.ProcessState.String(), "signal") {
				t.Errorf("%s after %v: exit %d, want %d: %s", c.name, signalName(sig), code, 128+int(sig), stderr.String())
			}
			if !strings.Contains(stderr.String(), "interrupted by "+signalName(sig)) {
				t.Errorf("%s after %v: stderr %q", c.name, signalName(sig), stderr.String())
			}
			if got, _ := os.ReadFile(out); string(got) != "old\n" {
				t.Fatalf("%s after %v: the output file now holds %.40q", c.name, signalName(sig), got)
			}
		}
	}
	// --timeout covers reading too, not only rendering.
	code, stderr, wall, _, _ := runBinary(t, bin, nil, "graph", a, "--format", "dot", "--timeout", "200ms", "-o", out)
	if code != exitRuntime || !strings.Contains(stderr, "gave up after 200ms (--timeout)") || wall > 2*time.Second {
		t.Errorf("graph --timeout 200ms: exit %d after %v, %q", code, wall, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("the runs left %v", entries)
	}
}

// TestKilledWriteLeavesNothing: a command killed outright (SIGKILL) while
// it writes leaves the old output and no temporary file.
func TestKilledWriteLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildKcmpgraph(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.json")
	writeUnsorted(t, in, 20000, 3)
	out := filepath.Join(dir, "out.json")
	if err := os.WriteFile(out, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, after := range []time.Duration{200 * time.Millisecond, 600 * time.Millisecond, 1200 * time.Millisecond, 2 * time.Second} {
		cmd := exec.Command(bin, "show", in, "--format", "json", "-o", out)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after)
		cmd.Process.Kill()
		cmd.Wait()
		got, _ := os.ReadFile(out)
		if entries, _ := os.ReadDir(dir); len(entries) != 2 || string(got) != "old\n" && !bytes.HasSuffix(got, []byte("}\n")) {
			t.Fatalf("killed after %v: directory %v, output %.40q", after, entries, got)
		}
	}
}

// TestRefusedInputsStayBounded: input that is refused costs little memory
// and time, whatever it is and however long it goes on (peak RSS of the
// real binary, from wait4).
func TestRefusedInputsStayBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildKcmpgraph(t)
	sparse := filepath.Join(t.TempDir(), "huge.json")
	if err := os.WriteFile(sparse, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, 8<<30); err != nil {
		t.Fatal(err)
	}
	head := `{"schema": "kcmpgraph.snapshot/v1", `
	proc := `{"pid": 1, "comm": "w", "tasks": [1], "fds": [{"fd": 0, "target": "/var/lib/app/data", "dev": 2049, "ino": 5, "mnt_id": 28}]},`
	for _, c := range []struct {
		name  string
		stdin io.Reader
		args  []string
		want  string
	}{
		{"/dev/zero", nil, []string{"show", "/dev/zero"}, "not a JSON object"},
		{"/dev/urandom", nil, []string{"show", "/dev/urandom"}, "bad JSON"},
		{"an 8 GiB file", nil, []string{"show", sparse}, "larger than the 167772160-byte limit (as a file or decoded); --max-input raises the limit"},
		{"a string without end", &testkit.Endless{Prefix: []byte(head + `"x": "`), Pattern: []byte("a")}, []string{"show", "-"}, "a string longer than"},
		{"nesting without end", &testkit.Endless{Prefix: []byte(head + `"x": `), Pattern: []byte("[")}, []string{"show", "-"}, "nested more than"},
		{"processes without end", &testkit.Endless{Prefix: []byte(head + `"processes": [`), Pattern: []byte(proc)}, []string{"show", "-", "--max-input", "48M"}, "larger than the 50331648-byte limit"},
		{"empty fds without end", &testkit.Endless{Prefix: []byte(head + `"processes": [{"pid": 1, "fds": [`), Pattern: []byte("{},")}, []string{"show", "-"}, "larger than"},
		{"tiny processes without end", &testkit.Endless{Prefix: []byte(head + `"processes": [`), Pattern: []byte("{},")}, []string{"show", "-"}, "larger than"},
		{"diff of zeros", nil, []string{"diff", "/dev/zero", "/dev/zero"}, "not a JSON object"},
		{"graph of an 8 GiB file", nil, []string{"graph", sparse}, "larger than"},
	} {
		code, stderr, wall, _, rss := runBinary(t, bin, c.stdin, c.args...)
		t.Logf("%-22s exit %d after %5.2f s, %4d MiB peak", c.name, code, wall.Seconds(), rss>>20)
		if code != exitUsage || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and one line with %q", c.name, code, stderr, c.want)
		}
		if rss > 256<<20 {
			t.Errorf("%s: peak RSS %d MiB, want at most 256 MiB", c.name, rss>>20)
		}
	}
}
