package diff

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// fdf is an fd with flags and a position.
func fdf(n int, target string, ino uint64, flags int, pos int64) snapshot.FD {
	f := file(n, target, ino)
	f.Flags, f.Pos = flags, pos
	return f
}

// replacedText lists the replaced fds of a diff: "pid:fd certain|uncertain".
func replacedText(d *Diff) []string {
	var out []string
	for _, f := range d.FDs {
		for _, r := range f.Replaced {
			sure := "uncertain"
			if r.Certain {
				sure = "certain"
			}
			out = append(out, strings.Join([]string{Holder{PID: f.Process.PID, FD: &r.FD.FD}.String(), sure}, " "))
		}
	}
	return out
}

// TestReplacedDescriptions: the rules that tell, across two snapshots,
// that an fd kept its number and inode but holds another description.
func TestReplacedDescriptions(t *testing.T) {
	const wr, app, nb, cloexec = snapshot.OWrOnly, snapshot.OAppend, snapshot.ONonblock, snapshot.OCloexec
	for _, c := range []struct {
		name          string
		before, after *snapshot.Snapshot
		replaced      []string
		sharing       []string
	}{
		{"dup2 over one fd of a pair: the one whose flags and position changed",
			with(snap("b", proc(1, 1, fdf(4, "/log", 9, wr, 5), fdf(5, "/log", 9, wr, 5))), "file", fdm(1, 4), fdm(1, 5)),
			snap("b", proc(1, 1, fdf(4, "/log", 9, wr|app, 0), fdf(5, "/log", 9, wr, 5))),
			[]string{"1:4 certain"},
			[]string{"file /log ended before=[1:4 1:5] after=[1:5] joined=[] left=[1:4]"}},
		{"the same, the position alone telling",
			with(snap("b", proc(1, 1, fdf(4, "/log", 9, wr, 5), fdf(5, "/log", 9, wr, 5))), "file", fdm(1, 4), fdm(1, 5)),
			snap("b", proc(1, 1, fdf(4, "/log", 9, wr, 5), fdf(5, "/log", 9, wr, 0))),
			[]string{"1:5 certain"},
			[]string{"file /log ended before=[1:4 1:5] after=[1:4] joined=[] left=[1:5]"}},
		{"a pair that parted with nothing to tell which changed",
			with(snap("b", proc(1, 1, fdf(4, "/log", 9, wr, 0), fdf(5, "/log", 9, wr, 0))), "file", fdm(1, 4), fdm(1, 5)),
			snap("b", proc(1, 1, fdf(4, "/log", 9, wr, 0), fdf(5, "/log", 9, wr, 0))),
			[]string{"1:5 uncertain"},
			[]string{"file /log ended before=[1:4 1:5] after=[1:4] joined=[] left=[1:5]"}},
		{"one of three parts: the two that stay together keep it",
			with(snap("b", proc(1, 1, fdf(4, "/log", 9, wr, 0), fdf(5, "/log", 9, wr, 0)), proc(2, 2, fdf(4, "/log", 9, wr, 0))),
				"file", fdm(1, 4), fdm(1, 5), fdm(2, 4)),
			with(snap("b", proc(1, 1, fdf(4, "/log", 9, wr, 0), fdf(5, "/log", 9, wr, 0)), proc(2, 2, fdf(4, "/log", 9, wr, 0))),
				"file", fdm(1, 5), fdm(2, 4)),
			[]string{"1:4 certain"},
			[]string{"file /log changed before=[1:4 1:5 2:4] after=[1:5 2:4] joined=[] left=[1:4]"}},
		{"dup2 of one description onto another fd of the same file",
			snap("b", proc(1, 1, fdf(4, "/log", 9, wr, 3), fdf(5, "/log", 9, wr, 0))),
			with(snap("b", proc(1, 1, fdf(4, "/log", 9, wr, 3), fdf(5, "/log", 9, wr, 3))), "file", fdm(1, 4), fdm(1, 5)),
			[]string{"1:5 certain"},
			[]string{"file /log began before=[1:4] after=[1:4 1:5] joined=[1:5] left=[]"}},
		{"a read-only fd that is read-write now: another open(2)",
			snap("b", proc(1, 1, fdf(4, "/x", 9, 0, 0))),
			snap("b", proc(1, 1, fdf(4, "/x", 9, snapshot.ORdWr, 0))),
			[]string{"1:4 certain"}, nil},
		{"fcntl flags and close-on-exec are no new description",
			with(snap("b", proc(1, 1, fdf(4, "/x", 9, 0, 0), fdf(5, "/x", 9, 0, 0))), "file", fdm(1, 4), fdm(1, 5)),
			with(snap("b", proc(1, 1, fdf(4, "/x", 9, nb|cloexec, 0), fdf(5, "/x", 9, nb, 0))), "file", fdm(1, 4), fdm(1, 5)),
			nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := Compare(c.before, c.after, "a", "b", Options{})
			if got := replacedText(d); strings.Join(got, ",") != strings.Join(c.replaced, ",") {
				t.Errorf("replaced %q, want %q", got, c.replaced)
			}
			if got := sharingText(d); strings.Join(got, "\n") != strings.Join(c.sharing, "\n") {
				t.Errorf("sharing\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.sharing, "\n"))
			}
		})
	}
}

// TestFlagChanges: fcntl changes of a kept description, and the fd's own
// close-on-exec, are listed per fd.
func TestFlagChanges(t *testing.T) {
	d := Compare(snap("b", proc(1, 1, fdf(4, "/x", 9, 0, 0))),
		snap("b", proc(1, 1, fdf(4, "/x", 9, snapshot.ONonblock|snapshot.OCloexec, 0))), "a", "b", Options{})
	if len(d.FDs) != 1 || len(d.FDs[0].Flags) != 1 || d.FDs[0].Flags[0] != (FDFlags{FD: 4, Target: "/x", Name: "/x", Before: "O_RDONLY", After: "O_RDONLY|O_NONBLOCK|O_CLOEXEC"}) {
		t.Fatalf("fds %+v", d.FDs)
	}
	if d.Differences != 1 {
		t.Errorf("%d differences, want 1", d.Differences)
	}
	var b bytes.Buffer
	if err := d.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "-fd 4 flags  O_RDONLY\n+fd 4 flags  O_RDONLY|O_NONBLOCK|O_CLOEXEC\n") {
		t.Errorf("text:\n%s", b.String())
	}
}

// TestLeakWithoutHoldersBefore: a description that did not exist before,
// passed by a process that started since to one that ran before and
// could not open the file, is a leak; so is one that arrived alone.
// Opening it itself (root, or a file it may read) is not.
func TestLeakWithoutHoldersBefore(t *testing.T) {
	secret := snapshot.FD{FD: 5, Target: "/root/secret", Dev: 1, Ino: 77, Mode: 0o100600, OwnerUID: 0, OwnerGID: 0}
	got := secret
	got.FD = 7
	nobody := func(fds ...snapshot.FD) snapshot.Process {
		p := proc(20, 2, fds...)
		p.UID, p.EUID, p.GID, p.EGID, p.Comm = 65534, 65534, 65534, 65534, "python3"
		return p
	}
	root := proc(10, 1)
	sender := child(30, 10, 3, "sender", "")
	sender.FDs = []snapshot.FD{secret}
	before := snap("b", root, nobody())
	after := with(snap("b", root, nobody(got), sender), "file", fdm(20, 7), fdm(30, 5))
	d := Compare(before, after, "a", "b", Options{})
	if d.Leaks != 1 || len(d.Sharing) != 1 || !d.Sharing[0].Leak || len(d.Sharing[0].Leaked) != 1 || d.Sharing[0].Leaked[0].PID != 20 {
		t.Fatalf("leaks %d, sharing %+v", d.Leaks, d.Sharing)
	}
	why := d.Sharing[0].Leaked[0].Reason
	if !strings.Contains(why, "uid 65534 could not have opened it (for reading, mode 0600, owner 0:0)") {
		t.Errorf("reason %q", why)
	}
	if len(d.FDs) != 1 || len(d.FDs[0].Opened) != 1 || d.FDs[0].Opened[0].Leak != why {
		t.Errorf("the receiver's fd: %+v", d.FDs)
	}
	var b bytes.Buffer
	if err := d.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if strings.Contains(text, "  opened") || !strings.Contains(text, "+20:7  python3  appeared  LEAK") ||
		!strings.Contains(text, "! LEAK file /root/secret: now also held by 20:7 python3 (") {
		t.Errorf("text:\n%s", text)
	}

	// Alone: the sender closed its copy.
	d = Compare(before, snap("b", root, nobody(got)), "a", "b", Options{})
	if d.Leaks != 1 || len(d.Sharing) != 0 {
		t.Errorf("alone: leaks %d, sharing %+v", d.Leaks, d.Sharing)
	}
	b.Reset()
	if err := d.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "! LEAK file /root/secret: appeared in 20:7 python3 (it ran before, and uid 65534") {
		t.Errorf("alone: text:\n%s", b.String())
	}

	// A file it may read, or a root process, is no leak.
	readable := got
	readable.Mode = 0o100644
	if d := Compare(before, snap("b", root, nobody(readable)), "a", "b", Options{}); d.Leaks != 0 {
		t.Errorf("a world-readable file is a leak: %+v", d.FDs)
	}
	rootGot := got
	if d := Compare(snap("b", root), snap("b", proc(10, 1, rootGot)), "a", "b", Options{}); d.Leaks != 0 {
		t.Errorf("root's own fd is a leak")
	}
}

// TestThreadTableFDs: an fd of a thread's own fd table is its own holder
// ({pid, fd, tid}), apart from the process's fd of the same number.
func TestThreadTableFDs(t *testing.T) {
	own := file(3, "/x", 9)
	inThread := own
	inThread.Thread = 5
	p := func(fds ...snapshot.FD) snapshot.Process {
		x := proc(1, 1, fds...)
		x.Tasks = []int{1, 5}
		return x
	}
	tm := snapshot.Member{PID: 1, FD: 3, Thread: 5}
	d := Compare(with(snap("b", p(own, inThread)), "file", fdm(1, 3), tm), snap("b", p(own)), "a", "b", Options{})
	if got := sharingText(d); strings.Join(got, "\n") != "file /x ended before=[1:3 1/5:3] after=[1:3] joined=[] left=[1/5:3]" {
		t.Errorf("sharing %q", got)
	}
	if len(d.FDs) != 1 || len(d.FDs[0].Closed) != 1 || d.FDs[0].Closed[0].TID != 5 || len(d.FDs[0].Opened) != 0 {
		t.Errorf("fds %+v", d.FDs)
	}
	var b bytes.Buffer
	if err := d.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "-fd 3 (tid 5)  /x\n") || !strings.Contains(b.String(), "-1/5:3  p1  closed\n") {
		t.Errorf("text:\n%s", b.String())
	}
}
