package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/kcmp"
)

func readValid(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/valid.json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLoadValid(t *testing.T) {
	s, err := LoadFile("testdata/valid.json", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Processes) != 2 || len(s.Groups) != 2 || len(s.Null["io"]) != 2 || len(s.Epoll) != 1 {
		t.Fatalf("unexpected content: %+v", s)
	}
	if h := s.Epoll[0].Watches[0].Holder; h == nil || *h != (Member{PID: 1234, FD: 3}) {
		t.Errorf("holder = %v", h)
	}
	if s.Epoll[0].Watches[1].Holder != nil {
		t.Errorf("null holder decoded as %v", s.Epoll[0].Watches[1].Holder)
	}
	// Encode, reload: the same snapshot.
	var buf bytes.Buffer
	if err := s.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	s2, err := Parse(buf.Bytes(), "roundtrip")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(s)
	b, _ := json.Marshal(s2)
	if !bytes.Equal(a, b) {
		t.Errorf("round trip changed the snapshot:\n%s\n%s", a, b)
	}
}

// TestLoadTaskTableFDs loads fds of a thread's own fd table: process fd
// entries and members with both "fd" and "tid", told apart from the
// process's own fd of the same number, and written back the same way.
func TestLoadTaskTableFDs(t *testing.T) {
	data := mutate(t, func(m map[string]any) {
		p := proc(m, 0)
		fds := p["fds"].([]any)
		own := map[string]any{}
		for k, v := range fds[0].(map[string]any) {
			own[k] = v
		}
		own["tid"] = 1240.0
		own["pos"] = 5.0
		p["fds"] = append([]any{own}, fds...) // unsorted: the loader must not care
		members(m, 0)[1] = map[string]any{"pid": 1234.0, "fd": 3.0, "tid": 1240.0}
	})
	s, err := Parse(data, "t.json")
	if err != nil {
		t.Fatal(err)
	}
	p := s.Process(1234)
	if f := p.FDIn(1240, 3); f == nil || f.Pos != 5 || f.Thread != 1240 {
		t.Fatalf("FDIn(1240, 3) = %+v", f)
	}
	if f := p.FDByNumber(3); f == nil || f.Thread != 0 || f.Pos == 5 {
		t.Fatalf("FDByNumber(3) = %+v, want the process's own fd 3", f)
	}
	m := s.Groups[0].Members[1]
	if m != (Member{PID: 1234, FD: 3, Thread: 1240}) || m.IsTask() || m.TaskID() != 1240 || m.String() != "1234/1240:3" {
		t.Fatalf("member = %+v (%s, task %d)", m, m, m.TaskID())
	}
	if p.FDOf(m) != p.FDIn(1240, 3) {
		t.Error("FDOf does not find the member's fd")
	}
	s.Normalize()
	if last := p.FDs[len(p.FDs)-1]; last.Thread != 1240 {
		t.Errorf("normalized fds end with %+v, want the task table's fd after the process's own", last)
	}
	if p.FDByNumber(3).Thread != 0 {
		t.Error("FDByNumber finds the task table's fd in normalized order")
	}
	var buf bytes.Buffer
	if err := s.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`{"pid":1234,"fd":3,"tid":1240}`)) || !bytes.Contains(buf.Bytes(), []byte(`{"fd":3,"tid":1240,"target":`)) {
		t.Errorf("encoded without the tids:\n%s", buf.Bytes())
	}
	if _, err := Parse(buf.Bytes(), "again"); err != nil {
		t.Fatal(err)
	}
}

// mutate applies a JSON edit to the valid snapshot.
func mutate(t *testing.T, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readValid(t), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func procs(m map[string]any) []any                { return m["processes"].([]any) }
func proc(m map[string]any, i int) map[string]any { return procs(m)[i].(map[string]any) }
func groups(m map[string]any) []any               { return m["groups"].([]any) }
func group(m map[string]any, i int) map[string]any {
	return groups(m)[i].(map[string]any)
}
func members(m map[string]any, i int) []any { return group(m, i)["members"].([]any) }

func TestLoadRejects(t *testing.T) {
	cases := []struct {
		name   string
		data   []byte
		target error
		want   string // substring of the message
	}{
		{"empty", []byte("  \n"), ErrInvalid, "empty file"},
		{"not object", []byte("[1,2]"), ErrInvalid, "not a JSON object"},
		{"truncated", readValid(t)[:200], ErrInvalid, "bad JSON"},
		{"garbage", []byte("{\"schema\": \"kcmpgraph.snapshot/v1\", \"processes\": [}"), ErrInvalid, "t.json:1:"},
		{"no schema", []byte(`{"processes": []}`), ErrSchema, "schema: missing"},
		{"other schema", []byte(`{"schema": "kcmpgraph.snapshot/v2"}`), ErrSchema, `"kcmpgraph.snapshot/v2" is not supported`},
		{"wrong type", mutate(t, func(m map[string]any) { proc(m, 0)["pid"] = "1234" }), ErrInvalid, "processes[0].pid: expected int"},
		{"dup pid", mutate(t, func(m map[string]any) { proc(m, 1)["pid"] = 1234.0 }), ErrInvalid, "processes[1].pid: pid 1234 is listed twice"},
		{"zero pid", mutate(t, func(m map[string]any) { proc(m, 0)["pid"] = 0.0 }), ErrInvalid, "processes[0].pid: pid 0 is not positive"},
		{"container without id", mutate(t, func(m map[string]any) {
			proc(m, 0)["container"] = map[string]any{"runtime": "runc", "source": "state"}
		}), ErrInvalid, "processes[0].container: a container needs a runtime and an id"},
		{"container of the wrong type", mutate(t, func(m map[string]any) { proc(m, 0)["container"] = "runc" }), ErrInvalid, "expected snapshot.Container"},
		{"negative fd", mutate(t, func(m map[string]any) {
			proc(m, 0)["fds"].([]any)[0].(map[string]any)["fd"] = -1.0
		}), ErrInvalid, "processes[0].fds[0].fd: fd -1 is negative"},
		{"dup fd", mutate(t, func(m map[string]any) {
			proc(m, 0)["fds"].([]any)[1].(map[string]any)["fd"] = 3.0
		}), ErrInvalid, "fd 3 of pid 1234 is listed twice"},
		{"unknown pid", mutate(t, func(m map[string]any) {
			members(m, 0)[1].(map[string]any)["pid"] = 999.0
		}), ErrInvalid, "groups[0].members[1]: pid 999 is not in processes"},
		{"unknown fd", mutate(t, func(m map[string]any) {
			members(m, 0)[1].(map[string]any)["fd"] = 42.0
		}), ErrInvalid, "groups[0].members[1]: fd 42 is not an fd of pid 1250"},
		{"one member", mutate(t, func(m map[string]any) {
			group(m, 0)["members"] = members(m, 0)[:1]
		}), ErrInvalid, "groups[0].members: a group needs two or more members, has 1"},
		{"bad type", mutate(t, func(m map[string]any) { group(m, 0)["type"] = "<script>" }), ErrInvalid, `unknown group type "<script>"`},
		{"tid in file group", mutate(t, func(m map[string]any) {
			members(m, 0)[0] = map[string]any{"pid": 1234.0, "tid": 1234.0}
		}), ErrInvalid, "a file member needs an fd, not a tid"},
		{"fd of an unread task table", mutate(t, func(m map[string]any) {
			members(m, 0)[0] = map[string]any{"pid": 1234.0, "tid": 1240.0, "fd": 3.0}
		}), ErrInvalid, "groups[0].members[0]: fd 3 is not an fd of task 1240 of pid 1234"},
		{"fd table of the leader as a task's", mutate(t, func(m map[string]any) {
			proc(m, 0)["fds"].([]any)[1].(map[string]any)["tid"] = 1234.0
		}), ErrInvalid, "processes[0].fds[1].tid: tid 1234 is not a thread of pid 1234 other than its leader"},
		{"fd of a task that is not listed", mutate(t, func(m map[string]any) {
			proc(m, 0)["fds"].([]any)[1].(map[string]any)["tid"] = 77.0
		}), ErrInvalid, "processes[0].fds[1].tid: tid 77 is not a thread of pid 1234"},
		{"member twice", mutate(t, func(m map[string]any) {
			members(m, 1)[0] = map[string]any{"pid": 1234.0, "fd": 3.0}
		}), ErrInvalid, "groups[1].members[0]: 1234:3 is already a member of groups[0]"},
		{"unknown task", mutate(t, func(m map[string]any) {
			m["null"] = map[string]any{"io": []any{map[string]any{"pid": 1234.0, "tid": 77.0}}}
		}), ErrInvalid, "null.io[0]: tid 77 is not a task of pid 1234"},
		{"null of file", mutate(t, func(m map[string]any) {
			m["null"] = map[string]any{"file": []any{}}
		}), ErrInvalid, "null.file: not a per-task type"},
		{"epoll unknown fd", mutate(t, func(m map[string]any) {
			m["epoll"].([]any)[0].(map[string]any)["fd"] = 99.0
		}), ErrInvalid, "epoll[0]: epoll fd 99 of pid 1234 is not in processes"},
		{"holder unknown", mutate(t, func(m map[string]any) {
			m["epoll"].([]any)[0].(map[string]any)["watches"].([]any)[0].(map[string]any)["holder"] = map[string]any{"pid": 1.0, "fd": 0.0}
		}), ErrInvalid, "epoll[0].watches[0].holder: pid 1 is not in processes"},
		{"socket twice", mutate(t, func(m map[string]any) {
			k := map[string]any{"ino": 5521.0, "protocol": "tcp"}
			m["sockets"] = []any{k, k}
		}), ErrInvalid, "sockets[1].ino: socket 5521 is listed twice (also sockets[0])"},
		{"socket without protocol", mutate(t, func(m map[string]any) {
			m["sockets"] = []any{map[string]any{"ino": 5521.0}}
		}), ErrInvalid, "sockets[0].protocol: missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.data, "t.json")
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, c.target) {
				t.Errorf("error %v does not wrap %v", err, c.target)
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %T is not a *LoadError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) || !strings.HasPrefix(msg, "t.json") || strings.Contains(msg, "\n") {
				t.Errorf("message %q: want one line starting with the file name, containing %q", msg, c.want)
			}
		})
	}
}

func TestLoadSizeLimit(t *testing.T) {
	data := readValid(t)
	_, err := Load(bytes.NewReader(data), "big.json", LoadOptions{MaxBytes: int64(len(data) - 1)})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if _, err := Load(bytes.NewReader(data), "ok.json", LoadOptions{MaxBytes: int64(len(data))}); err != nil {
		t.Fatalf("exactly at the limit: %v", err)
	}
}

func TestLoadFileErrors(t *testing.T) {
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.json"), LoadOptions{}); err == nil ||
		!errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "cannot open") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := LoadFile(t.TempDir(), LoadOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("directory: %v", err)
	}
}

func TestSelect(t *testing.T) {
	s, err := LoadFile("testdata/valid.json", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	one := s.Select(Selection{PIDs: []int{1250}})
	if len(one.Processes) != 1 || len(one.Groups) != 0 || len(one.Epoll) != 0 || len(one.Null["io"]) != 1 {
		t.Errorf("pid 1250 alone: %+v", one)
	}
	if err := Validate(one); err != nil {
		t.Errorf("selection is not a valid snapshot: %v", err)
	}
	tree := s.Select(Selection{Tree: 1234})
	if len(tree.Processes) != 2 || len(tree.Groups) != 2 {
		t.Errorf("tree 1234: %d processes, %d groups", len(tree.Processes), len(tree.Groups))
	}
	files := s.Select(Selection{Types: []string{"file"}})
	if len(files.Groups) != 2 || len(files.Null) != 0 || len(files.Epoll) != 0 {
		t.Errorf("types file: %+v", files)
	}
	// Dropping the holder's process moves the holder to the next holder
	// of the same description.
	s.Epoll[0].Watches[0].Holder = &Member{PID: 1250, FD: 3}
	moved := s.Select(Selection{PIDs: []int{1234}})
	if h := moved.Epoll[0].Watches[0].Holder; h == nil || *h != (Member{PID: 1234, FD: 3}) {
		t.Errorf("holder after selection = %v, want 1234:3", h)
	}
	if err := Validate(moved); err != nil {
		t.Errorf("selection is not a valid snapshot: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(readValid(f))
	f.Add([]byte(`{"schema":"kcmpgraph.snapshot/v1","processes":[{"pid":1,"tasks":[1],"fds":[{"fd":0}]}],"groups":[{"type":"file","members":[{"pid":1,"fd":0},{"pid":1,"fd":0}]}]}`))
	f.Add([]byte(`{"schema":"kcmpgraph.snapshot/v1","null":{"io":[{"pid":1,"tid":0}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "fuzz.json")
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("bad error %T %q", err, err)
			}
			return
		}
		// Anything accepted must survive a round trip and stay valid.
		var buf bytes.Buffer
		if err := s.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(buf.Bytes(), "again"); err != nil {
			t.Fatalf("accepted snapshot does not reload: %v", err)
		}
	})
}

func TestLoadDeepNesting(t *testing.T) {
	deep := `{"schema": "kcmpgraph.snapshot/v1", "x": ` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`
	if _, err := Parse([]byte(deep), "deep.json"); !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "\n") {
		t.Errorf("deeply nested snapshot: err = %v, want a one-line ErrInvalid", err)
	}
}

// TestSelectUsersAndLeaders selects by real uid and drops threads: the
// result is what a scan with --user and without --threads would hold.
func TestSelectUsersAndLeaders(t *testing.T) {
	s, err := Parse([]byte(`{"schema": "kcmpgraph.snapshot/v1", "host": {"scope": {"threads": true, "types": ["vm", "io"]}},
	  "processes": [
	    {"pid": 10, "ppid": 1, "uid": 0, "comm": "a", "tasks": [10, 11], "fds": []},
	    {"pid": 20, "ppid": 10, "uid": 33, "comm": "b", "tasks": [20, 21, 22], "fds": []},
	    {"pid": 30, "ppid": 10, "uid": 33, "comm": "c", "tasks": [30], "fds": []}],
	  "groups": [
	    {"type": "vm", "members": [{"pid": 10, "tid": 10}, {"pid": 10, "tid": 11}]},
	    {"type": "vm", "members": [{"pid": 20, "tid": 20}, {"pid": 20, "tid": 21}, {"pid": 20, "tid": 22}, {"pid": 30, "tid": 30}]}],
	  "null": {"io": [{"pid": 10, "tid": 11}, {"pid": 20, "tid": 20}]}}`), "threads.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		sel    Selection
		procs  []int
		groups [][]Member
		nullIO []Member
	}{
		{"users", Selection{Users: []int{33}}, []int{20, 30},
			[][]Member{{{PID: 20, TID: 20}, {PID: 20, TID: 21}, {PID: 20, TID: 22}, {PID: 30, TID: 30}}},
			[]Member{{PID: 20, TID: 20}}},
		{"users and pids", Selection{Users: []int{33}, PIDs: []int{10, 30}}, []int{30}, nil, nil},
		{"users and tree", Selection{Users: []int{0}, Tree: 10}, []int{10},
			[][]Member{{{PID: 10, TID: 10}, {PID: 10, TID: 11}}}, []Member{{PID: 10, TID: 11}}},
		{"leaders", Selection{LeadersOnly: true}, []int{10, 20, 30},
			[][]Member{{{PID: 20, TID: 20}, {PID: 30, TID: 30}}}, []Member{{PID: 20, TID: 20}}},
		{"no such user", Selection{Users: []int{99}}, nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.sel.Empty() {
				t.Fatal("selection reports Empty")
			}
			got := s.Select(tc.sel)
			var procs []int
			for _, p := range got.Processes {
				procs = append(procs, p.PID)
			}
			var groups [][]Member
			for _, g := range got.Groups {
				groups = append(groups, g.Members)
			}
			if fmt.Sprint(procs) != fmt.Sprint(tc.procs) || fmt.Sprint(groups) != fmt.Sprint(tc.groups) || fmt.Sprint(got.Null["io"]) != fmt.Sprint(tc.nullIO) {
				t.Errorf("processes %v, groups %v, null io %v; want %v, %v, %v", procs, groups, got.Null["io"], tc.procs, tc.groups, tc.nullIO)
			}
			if err := Validate(got); err != nil {
				t.Errorf("selection is not a valid snapshot: %v", err)
			}
		})
	}
}

// TestTypeNames: the snapshot's type names are kcmp's.
func TestTypeNames(t *testing.T) {
	want := []string{TypeFile, TypeVM, TypeFiles, TypeFS, TypeSighand, TypeIO, TypeSysvsem}
	if fmt.Sprint(GroupTypes) != fmt.Sprint(want) {
		t.Errorf("GroupTypes = %v, want %v", GroupTypes, want)
	}
	if kcmp.EpollTFD.String() != TypeEpoll || !IsTaskType(TypeVM) || IsTaskType(TypeFile) || IsTaskType(TypeEpoll) || IsTaskType("mm") {
		t.Error("type names disagree with kcmp")
	}
}

// TestSelectLeadersDropsThreadTables: without threads a scan reads no fd
// table of a thread that left its process's, so LeadersOnly drops those
// fds from the process, its groups, channels and epoll entries.
func TestSelectLeadersDropsThreadTables(t *testing.T) {
	s, err := Parse([]byte(`{"schema": "kcmpgraph.snapshot/v1", "host": {"scope": {"threads": true}},
	  "processes": [
	    {"pid": 10, "ppid": 1, "comm": "a", "tasks": [10, 11], "fds": [
	      {"fd": 3, "target": "pipe:[7]", "ino": 7}, {"fd": 3, "tid": 11, "target": "pipe:[7]", "ino": 7},
	      {"fd": 4, "tid": 11, "target": "anon_inode:[eventpoll]"}]},
	    {"pid": 20, "ppid": 10, "comm": "b", "tasks": [20], "fds": [{"fd": 3, "target": "pipe:[7]", "ino": 7}]}],
	  "groups": [{"type": "file", "members": [{"pid": 10, "fd": 3}, {"pid": 10, "fd": 3, "tid": 11}, {"pid": 20, "fd": 3}]}],
	  "epoll": [{"pid": 10, "fd": 4, "tid": 11, "watches": [{"tfd": 3, "events": 1, "holder": {"pid": 10, "fd": 3, "tid": 11}}]}],
	  "endpoints": [{"kind": "pipe", "ends": [[{"pid": 10, "fd": 3, "tid": 11}], [{"pid": 20, "fd": 3}]]}]}`), "tables.json")
	if err != nil {
		t.Fatal(err)
	}
	got := s.Select(Selection{LeadersOnly: true})
	if fds := got.Processes[0].FDs; len(fds) != 1 || fds[0].Thread != 0 || len(s.Processes[0].FDs) != 3 {
		t.Errorf("fds of 10: %+v (the original's must stay: %d)", fds, len(s.Processes[0].FDs))
	}
	if len(got.Groups) != 1 || fmt.Sprint(got.Groups[0].Members) != "[10:3 20:3]" {
		t.Errorf("groups %v", got.Groups)
	}
	if len(got.Epoll) != 0 || len(got.Endpoints) != 0 {
		t.Errorf("epoll %v, endpoints %v: a thread table's epoll fd and channel end are not a leaders' scan's", got.Epoll, got.Endpoints)
	}
	if err := Validate(got); err != nil {
		t.Errorf("selection is not a valid snapshot: %v", err)
	}
}
