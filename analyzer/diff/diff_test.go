package diff

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/golden"
)

func load(t *testing.T, name string) *snapshot.Snapshot {
	t.Helper()
	s, err := snapshot.LoadFile(filepath.Join("testdata", name), snapshot.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
	}{
		{"diff", Options{}},
		{"diff-ignore-stdio", Options{IgnoreStdio: true}},
		{"diff-tree", Options{Selection: snapshot.Selection{Tree: 100}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := Compare(load(t, "before.json"), load(t, "after.json"), "before.json", "after.json", c.opts)
			var text bytes.Buffer
			if err := d.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, c.name+".txt", text.Bytes())
			js, err := json.MarshalIndent(d, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, c.name+".json", append(js, '\n'))
		})
	}
}

func TestSelfDiffIsEmpty(t *testing.T) {
	s := load(t, "after.json")
	d := Compare(s, s, "a", "a", Options{})
	if d.Differences != 0 {
		t.Errorf("a snapshot differs from itself: %+v", d)
	}
	var text bytes.Buffer
	d.WriteText(&text)
	if !strings.Contains(text.String(), "no differences") {
		t.Errorf("text: %s", text.String())
	}
}

func TestPidReuseIsExitAndStart(t *testing.T) {
	d := Compare(load(t, "before.json"), load(t, "after.json"), "b", "a", Options{})
	exited, started := false, false
	for _, p := range d.Exited {
		if p.PID == 103 && p.StartTime == 520 {
			exited = true
		}
	}
	for _, p := range d.Started {
		if p.PID == 103 && p.StartTime == 540 {
			started = true
		}
	}
	if !exited || !started {
		t.Errorf("pid 103 reused: exited=%v started=%v", exited, started)
	}
	for _, f := range d.FDs {
		if f.Process.PID == 103 {
			t.Errorf("reused pid reported as an fd change: %+v", f)
		}
	}
}

func TestLeakAndChanges(t *testing.T) {
	d := Compare(load(t, "before.json"), load(t, "after.json"), "b", "a", Options{IgnoreStdio: true})
	var leak, ended, began bool
	for _, s := range d.Sharing {
		switch {
		case s.Object == "socket:[700]" && s.Change == Changed && s.Leak:
			leak = true
		case s.Object == "pipe:[800]" && s.Change == Ended:
			ended = true
		case s.Object == "socket:[900]" && s.Change == Began:
			began = true
		}
	}
	if !leak || !ended || !began {
		t.Errorf("sharing changes: leak=%v ended=%v began=%v\n%+v", leak, ended, began, d.Sharing)
	}
	// fd 5 of the master points at another file: closed and opened.
	var master *FDChange
	for i := range d.FDs {
		if d.FDs[i].Process.PID == 100 {
			master = &d.FDs[i]
		}
	}
	if master == nil || len(master.Closed) != 3 || len(master.Opened) != 3 {
		t.Fatalf("master fd changes: %+v", master)
	}
	if len(d.Epoll) != 1 || len(d.Epoll[0].Added) != 1 || d.Epoll[0].Added[0].Object != "socket:[900]" {
		t.Errorf("epoll changes: %+v", d.Epoll)
	}
}

func TestDifferentBootsWarn(t *testing.T) {
	a, b := load(t, "before.json"), load(t, "after.json")
	b.Host.BootID = "boot-2"
	b.Exact = false
	d := Compare(a, b, "a", "b", Options{})
	text := strings.Join(d.Warnings, "\n")
	if !strings.Contains(text, "different boots") || !strings.Contains(text, "NOT EXACT") {
		t.Errorf("warnings: %q", d.Warnings)
	}
}
