//go:build linux

package procscan

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

func TestParseStatusTgid(t *testing.T) {
	if n, err := ParseStatusTgid([]byte("Name:\tx\nUmask:\t0022\nState:\tS\nTgid:\t812\nNgid:\t0\nPid:\t815\n")); err != nil || n != 812 {
		t.Errorf("got %d, %v", n, err)
	}
	for _, bad := range []string{"", "Pid:\t3\n", "Tgid:\tx\n", "Tgid:\t0\n", "Tgid:\t-4\n"} {
		if _, err := ParseStatusTgid([]byte(bad)); !errors.Is(err, ErrStatusSyntax) {
			t.Errorf("%q: err = %v, want ErrStatusSyntax", bad, err)
		}
	}
}

// TestReadTaskTable reads the private fd table of a thread that unshared
// CLONE_FILES: its fds, which the process's own listing lacks, counted in
// the result; and finds the thread's process by its tid.
func TestReadTaskTable(t *testing.T) {
	f := fixture.New(t)
	root := f.Root()
	path := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	th, err := root.ThreadNode(unix.CLONE_FILES)
	if err != nil {
		t.Fatal(err)
	}
	a, err := th.Open(path, unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Scan(context.Background(), Options{PIDs: []int{root.PID()}})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Processes[0]
	for _, fd := range p.FDs {
		if fd.Num == a && fd.Target == path {
			t.Fatalf("the thread's fd %d is in the process's own table", a)
		}
	}
	fds := res.FDs
	if err := res.ReadTaskTable(p, []int{th.TID()}); err != nil {
		t.Fatal(err)
	}
	if len(p.TaskTables) != 1 || p.TaskTables[0].TID != th.TID() {
		t.Fatalf("task tables %+v", p.TaskTables)
	}
	tt := p.TaskTables[0]
	found := false
	for _, fd := range tt.FDs {
		found = found || fd.Num == a && fd.Target == path && fd.HasInfo
	}
	if !found {
		t.Errorf("the thread's table lacks fd %d on %s: %+v", a, path, tt.FDs)
	}
	if res.FDs != fds+len(tt.FDs) {
		t.Errorf("fds counted %d, want %d + %d", res.FDs, fds, len(tt.FDs))
	}
	if g, err := ThreadGroup("", th.TID()); err != nil || g.PID != root.PID() || g.TID != th.TID() || !g.IsThread() || g.Comm != p.Comm {
		t.Errorf("ThreadGroup(%d) = %+v, %v; want pid %d, comm %q", th.TID(), g, err, root.PID(), p.Comm)
	}
	if g, err := ThreadGroup("", root.PID()); err != nil || g.IsThread() {
		t.Errorf("ThreadGroup(%d) = %+v, %v; want the leader", root.PID(), g, err)
	}
	var np *NoProcessError
	if _, err := ThreadGroup("", 1<<30); !errors.Is(err, ErrNoSuchProcess) || !errors.As(err, &np) || np.PID != 1<<30 {
		t.Errorf("ThreadGroup of no task: %v", err)
	}
}
