//go:build linux

package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rivo/uniseg"
	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

func TestShowFilters(t *testing.T) {
	out, _, code := runCLI(t, "show", "testdata/host.json", "--types", "vm")
	if code != 0 || !strings.Contains(out, "address space") || strings.Contains(out, "socket:[5521]") || strings.Contains(out, "EPOLL") {
		t.Errorf("show --types vm: exit %d\n%s", code, out)
	}
	out, _, code = runCLI(t, "show", "testdata/host.json", "--pid", "300,301")
	if code != 0 || !strings.Contains(out, "showing: --pid 300,301 (2 of 8 processes)") || strings.Contains(out, "nginx") {
		t.Errorf("show --pid: exit %d\n%s", code, out)
	}
	wantUsageError(t, "--pid: pid 999 is not in testdata/host.json", "show", "testdata/host.json", "--pid", "100,999")
	wantUsageError(t, "--tree: pid 999 is not in testdata/host.json", "show", "testdata/host.json", "--tree", "999")
	wantUsageError(t, `--types: unknown kcmp type "mm" (valid: file, vm, files, fs, sighand, io, sysvsem, epoll)`, "show", "testdata/host.json", "--types", "vm,mm")
	wantUsageError(t, `--format: "xml" is not supported (valid: table, json)`, "show", "testdata/host.json", "--format", "xml")
	wantUsageError(t, "accepts 1 arg(s), received 0", "show")
	wantUsageError(t, "if any flags in the group [pid tree] are set none of the others can be", "show", "testdata/host.json", "--pid", "1", "--tree", "1")
}

// TestShowJSON re-emits a selected snapshot that loads again and holds
// exactly the selection.
func TestShowJSON(t *testing.T) {
	out, _, code := runCLI(t, "show", "testdata/host.json", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	orig, err := snapshot.LoadFile("testdata/host.json", snapshot.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	orig.Encode(&want)
	if out != want.String() {
		t.Errorf("show --format json changed an unfiltered snapshot:\n%s", out)
	}
	out, _, code = runCLI(t, "show", "testdata/host.json", "--tree", "300", "--format", "json")
	s, err := snapshot.Parse([]byte(out), "out")
	if code != 0 || err != nil {
		t.Fatalf("show --tree --format json: exit %d, %v", code, err)
	}
	if len(s.Processes) != 2 || len(s.Groups) != 7 || len(s.Epoll) != 0 || len(s.Endpoints) != 1 || s.Endpoints[0].Kind != "pty" {
		t.Errorf("tree of 300: %d processes, %d groups, %d epoll, endpoints %+v; want 2, 7, 0, the pty",
			len(s.Processes), len(s.Groups), len(s.Epoll), s.Endpoints)
	}
}

func TestShowOutputFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "host.txt")
	out, stderr, code := runCLI(t, "show", "testdata/host.json", "-o", path)
	if code != 0 || out != "" || stderr != "" {
		t.Fatalf("show -o: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	got, err := os.ReadFile(path)
	want, _, _ := runCLI(t, "show", "testdata/host.json", "-o", "-")
	if err != nil || string(got) != want {
		t.Errorf("show -o wrote %q (%v), want what -o - prints", got, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("output mode %v, want 0600", st.Mode())
	}
	// A refused snapshot leaves the old output in place and no temporary.
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"schema": "kcmpgraph.snapshot/v1", "processes": [{"pid": 0}]}`), 0o644)
	if _, _, code := runCLI(t, "show", bad, "-o", path); code != exitUsage {
		t.Errorf("bad snapshot: exit %d", code)
	}
	if again, _ := os.ReadFile(path); string(again) != want {
		t.Error("a failed show replaced the old output")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("files left behind: %v", ents)
	}
}

func TestShowStdin(t *testing.T) {
	f, err := os.Open("testdata/host.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	out, stderr, code := runCLI(t, "show", "-")
	if code != 0 || !strings.Contains(out, "kcmpgraph snapshot of web1") {
		t.Errorf("show -: exit %d %s\n%s", code, stderr, out)
	}
}

// TestShowRejects runs show on one snapshot of every class the loader
// refuses: each exits 2 with one line that names the file and where in it
// the problem is (a JSON path, or line:column for bad syntax).
func TestShowRejects(t *testing.T) {
	const head = `{"schema": "kcmpgraph.snapshot/v1", `
	proc := func(pid int, extra string) string {
		return `{"pid": ` + strconv.Itoa(pid) + `, "ppid": 1, "comm": "x", "tasks": [` + strconv.Itoa(pid) + `], "fds": [{"fd": 3, "target": "/f"}]` + extra + `}`
	}
	two := `"processes": [` + proc(10, "") + `, ` + proc(11, "") + `]`
	doc := func(body string) string { return head + body + "}" }
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, where string
	}{
		{"empty", "  \n", "empty file, not a snapshot"},
		{"array", "\n[1, 2]", "not a JSON object"},
		{"syntax", "{\n \"schema\": \"kcmpgraph.snapshot/v1\",\n \"processes\": [}\n", ":3:"},
		{"truncated", head + `"processes": [`, "truncated"},
		{"type", doc(`"processes": [{"pid": "ten"}]`), ": processes[0].pid: expected int"},
		{"noschema", `{"processes": []}`, ": schema: missing"},
		{"v2", `{"schema": "kcmpgraph.snapshot/v2"}`, `: schema: "kcmpgraph.snapshot/v2" is not supported`},
		{"pid", doc(`"processes": [{"pid": -4}]`), ": processes[0].pid: pid -4 is not positive"},
		{"ppid", doc(`"processes": [{"pid": 4, "ppid": -1}]`), ": processes[0].ppid: ppid -1 is negative"},
		{"duppid", doc(`"processes": [` + proc(10, "") + `, ` + proc(10, "") + `]`), ": processes[1].pid: pid 10 is listed twice"},
		{"tid", doc(`"processes": [{"pid": 4, "tasks": [4, 0]}]`), ": processes[0].tasks[1]: tid 0 is not positive"},
		{"duptid", doc(`"processes": [{"pid": 4, "tasks": [4, 4]}]`), ": processes[0].tasks[1]: tid 4 is listed twice"},
		{"fd", doc(`"processes": [{"pid": 4, "fds": [{"fd": -1}]}]`), ": processes[0].fds[0].fd: fd -1 is negative"},
		{"dupfd", doc(`"processes": [{"pid": 4, "fds": [{"fd": 1}, {"fd": 1}]}]`), ": processes[0].fds[1].fd: fd 1 of pid 4 is listed twice"},
		{"negpos", doc(`"processes": [{"pid": 4, "fds": [{"fd": 1, "pos": -5}]}]`), ": processes[0].fds[0]: negative mnt_id, pos, flags or owner"},
		{"grouptype", doc(two + `, "groups": [{"type": "mm", "members": []}]`), `: groups[0].type: unknown group type "mm"`},
		{"groupsize", doc(two + `, "groups": [{"type": "file", "members": [{"pid": 10, "fd": 3}]}]`), ": groups[0].members: a group needs two or more members, has 1"},
		{"member", doc(two + `, "groups": [{"type": "file", "members": [{"pid": 10, "fd": 3}, {"pid": 12, "fd": 3}]}]`), ": groups[0].members[1]: pid 12 is not in processes"},
		{"memberfd", doc(two + `, "groups": [{"type": "file", "members": [{"pid": 10, "fd": 3}, {"pid": 11, "fd": 4}]}]`), ": groups[0].members[1]: fd 4 is not an fd of pid 11"},
		{"membertid", doc(two + `, "groups": [{"type": "vm", "members": [{"pid": 10, "tid": 10}, {"pid": 11, "tid": 12}]}]`), ": groups[0].members[1]: tid 12 is not a task of pid 11"},
		{"memberkind", doc(two + `, "groups": [{"type": "vm", "members": [{"pid": 10, "tid": 10}, {"pid": 11, "fd": 3}]}]`), ": groups[0].members[1]: a vm member needs a tid, not an fd"},
		{"membertaskfd", doc(two + `, "groups": [{"type": "file", "members": [{"pid": 10, "fd": 3, "tid": 10}, {"pid": 11, "fd": 3}]}]`), ": groups[0].members[0]: fd 3 is not an fd of task 10 of pid 10"},
		{"dupmember", doc(two + `, "groups": [{"type": "file", "members": [{"pid": 10, "fd": 3}, {"pid": 11, "fd": 3}]}, {"type": "file", "members": [{"pid": 10, "fd": 3}, {"pid": 11, "fd": 3}]}]`), ": groups[1].members[0]: 10:3 is already a member of groups[0]"},
		{"nulltype", doc(two + `, "null": {"file": []}`), ": null.file: not a per-task type"},
		{"nullgrouped", doc(two + `, "groups": [{"type": "io", "members": [{"pid": 10, "tid": 10}, {"pid": 11, "tid": 11}]}], "null": {"io": [{"pid": 10, "tid": 10}]}`), ": null.io[0]: 10/10 is NULL but also a member of groups[0]"},
		{"epollfd", doc(two + `, "epoll": [{"pid": 10, "fd": 9, "watches": []}]`), ": epoll[0]: epoll fd 9 of pid 10 is not in processes"},
		{"dupepoll", doc(two + `, "epoll": [{"pid": 10, "fd": 3, "watches": []}, {"pid": 10, "fd": 3, "watches": []}]`), ": epoll[1]: epoll fd 3 of pid 10 is listed twice"},
		{"tfd", doc(two + `, "epoll": [{"pid": 10, "fd": 3, "watches": [{"tfd": -2}]}]`), ": epoll[0].watches[0].tfd: tfd -2 is negative"},
		{"holder", doc(two + `, "epoll": [{"pid": 10, "fd": 3, "watches": [{"tfd": 2, "holder": {"pid": 99, "fd": 1}}]}]`), ": epoll[0].watches[0].holder: pid 99 is not in processes"},
		{"ends", doc(two + `, "endpoints": [{"kind": "pipe", "ends": [[{"pid": 10, "fd": 3}]]}]`), ": endpoints[0].ends: an endpoint needs two or more ends, has 1"},
		{"emptyend", doc(two + `, "endpoints": [{"kind": "pipe", "ends": [[{"pid": 10, "fd": 3}], []]}]`), ": endpoints[0].ends[1]: an end without holders"},
		{"endmember", doc(two + `, "endpoints": [{"kind": "pipe", "ends": [[{"pid": 10, "fd": 3}], [{"pid": 11, "fd": 7}]]}]`), ": endpoints[0].ends[1][0]: fd 7 is not an fd of pid 11"},
		{"stats", doc(two + `, "stats": {"processes": -1}`), ": stats: negative count or time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".json")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			wantUsageError(t, path, "show", path)
			wantUsageError(t, tc.where, "show", path)
		})
	}
	t.Run("missing", func(t *testing.T) {
		wantUsageError(t, filepath.Join(dir, "missing.json")+": cannot open: no such file or directory", "show", filepath.Join(dir, "missing.json"))
	})
	t.Run("directory", func(t *testing.T) {
		wantUsageError(t, dir+": is a directory, not a snapshot file", "show", dir)
	})
	t.Run("unreadable", func(t *testing.T) {
		wantUsageError(t, "/proc/self/mem: read failed: input/output error", "show", "/proc/self/mem")
	})
}

// TestShowOnTerminal runs show with its output on a real pseudo-terminal
// 80 columns wide: every line fits, long objects end in "…", and --wide
// keeps them whole.
func TestShowOnTerminal(t *testing.T) {
	narrow := onTerminal(t, 80, "show", "testdata/hostile.json")
	lines := strings.Split(strings.TrimSuffix(narrow, "\n"), "\n")
	for _, l := range lines {
		if w := uniseg.StringWidth(l); w > 80 {
			t.Errorf("line of %d columns on an 80-column terminal: %q", w, l)
		}
	}
	if !strings.Contains(narrow, "…") {
		t.Error("nothing was cut on an 80-column terminal")
	}
	checkTerminalSafe(t, narrow)
	checkAligned(t, narrow, "TYPE  ")
	wide := onTerminal(t, 80, "show", "testdata/hostile.json", "--wide")
	if !strings.Contains(wide, strings.Repeat(`deep\n\x1b[31m<script>alert(1)</script>/`, 100)) {
		t.Error("--wide cut the 4 KB path")
	}
	plain, _, _ := runCLI(t, "show", "testdata/hostile.json")
	if wide != plain {
		t.Error("--wide on a terminal differs from the output into a pipe")
	}
}

// onTerminal runs the command line with stdout on a pseudo-terminal of
// the given width and returns what the terminal received.
func onTerminal(t *testing.T, cols uint16, args ...string) string {
	t.Helper()
	master, slave := openPTY(t)
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: cols}); err != nil {
		t.Skipf("set terminal size: %v", err)
	}
	// Read while the command writes: a full pty buffer would block it.
	got := make(chan string)
	go func() {
		var b bytes.Buffer
		io.Copy(&b, master)
		got <- b.String()
	}()
	var stderr bytes.Buffer
	err := run(context.Background(), slave, &stderr, args)
	if code := exitCode(err, &stderr); code != 0 {
		t.Errorf("%v on a terminal: exit %d %s", args, code, stderr.String())
	}
	slave.Close()
	var out string
	select {
	case out = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("terminal output never ended")
	}
	// The terminal's line discipline turns \n into \r\n.
	return strings.ReplaceAll(out, "\r\n", "\n")
}
