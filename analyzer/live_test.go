//go:build linux

package analyzer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

func fdm(n *fixture.Node, fd int) snapshot.Member { return snapshot.Member{PID: n.PID(), FD: fd} }

func TestLiveFileDescriptions(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	dir := t.TempDir()
	path := filepath.Join(dir, "data")
	testkit.Check(t, os.WriteFile(path, []byte("x"), 0o600))
	m := testkit.Must[int](t)
	mn := testkit.Must[*fixture.Node](t)

	a := m(root.Open(path, unix.O_RDONLY))
	b := m(root.Open(path, unix.O_RDONLY)) // same inode, new description
	aDup := m(root.Dup(a))
	testkit.Check(t, root.Dup2(a, 40))
	aFcntl := m(root.DupFD(a, 50))
	opath := m(root.Open(path, unix.O_PATH))
	dirfd := m(root.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY))
	pr, pw := testkit.Must2[int, int](t)(root.Pipe())
	sa, sb := testkit.Must2[int, int](t)(root.Socketpair(unix.SOCK_STREAM))
	ev1 := m(root.Eventfd())
	ev2 := m(root.Eventfd())
	tfd := m(root.Timerfd())
	sfd := m(root.Signalfd())
	mfd := m(root.Memfd("fixture"))
	ep := m(root.EpollCreate())

	reopen := m(root.Open(path, unix.O_RDONLY))
	child := mn(root.Fork())
	// The child closes its inherited copy and opens the file again under
	// the same number: same inode, same number, another description — the
	// fork hint's trap.
	fresh := m(child.Open(path, unix.O_RDONLY))
	testkit.Check(t, child.Dup2(fresh, reopen))
	testkit.Check(t, child.Close(fresh))
	// Two pidfds for one process: one pidfs inode, two descriptions.
	pidfd1 := m(root.Pidfd(child.PID()))
	pidfd2 := m(root.Pidfd(child.PID()))
	// Pipe and socketpair ends end up in different processes: the
	// child keeps the read end and socket b, the root the write end and
	// socket a.
	testkit.Check(t, root.Close(pr))
	testkit.Check(t, child.Close(pw))
	testkit.Check(t, root.Close(sb))
	testkit.Check(t, child.Close(sa))
	childOwn := m(child.Open(path, unix.O_RDONLY))

	// A sibling forked now inherits the root's ends; then SCM_RIGHTS
	// passes it a description from the child, which is not its ancestor.
	other := mn(root.Fork())
	recv := m(child.SendFD(b, other))

	snap := scanTree(t, root.PID(), true)
	checkAgainstOracle(t, snap, true)

	same(t, snap, "file", fdm(root, a), fdm(root, aDup), fdm(root, 40), fdm(root, aFcntl), fdm(child, a))
	same(t, snap, "file", fdm(root, b), fdm(child, b), fdm(other, recv))
	distinct(t, snap, "file", fdm(root, a), fdm(root, b), fdm(child, childOwn), fdm(root, opath))
	distinct(t, snap, "file", fdm(root, reopen), fdm(child, reopen))
	same(t, snap, "file", fdm(root, pw), fdm(other, pw))
	same(t, snap, "file", fdm(root, sa), fdm(other, sa))
	for _, alone := range []snapshot.Member{fdm(child, pr), fdm(child, sb), fdm(child, childOwn)} {
		if g := groupOf(snap, "file", alone); g >= 0 {
			t.Errorf("%v is held only by the child but grouped: %v", alone, snap.Groups[g])
		}
	}
	same(t, snap, "file", fdm(root, dirfd), fdm(child, dirfd))
	// Anonymous inodes: one inode, many descriptions.
	for _, fd := range []int{ev1, ev2, tfd, sfd, ep, mfd, opath} {
		same(t, snap, "file", fdm(root, fd), fdm(child, fd))
	}
	distinct(t, snap, "file", fdm(root, ev1), fdm(root, ev2), fdm(root, tfd), fdm(root, sfd), fdm(root, ep))
	same(t, snap, "file", fdm(root, pidfd1), fdm(other, pidfd1))
	distinct(t, snap, "file", fdm(root, pidfd1), fdm(root, pidfd2))
	if n := snap.Stats.KcmpCalls["file"]; n == 0 {
		t.Error("no kcmp file calls counted")
	}
}

func TestLiveEpollWatches(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m := testkit.Must[int](t)
	mn := testkit.Must[*fixture.Node](t)
	ep := m(root.EpollCreate())
	inner := m(root.EpollCreate())
	pr, pw := testkit.Must2[int, int](t)(root.Pipe())
	ev := m(root.Eventfd())
	registered := map[int]int{} // fd number -> registrations in ep
	add := func(epfd, fd int) {
		t.Helper()
		testkit.Check(t, root.EpollAdd(epfd, fd))
		if epfd == ep {
			registered[fd]++
		}
	}
	add(ep, pr)
	add(ep, ev)
	add(ep, inner) // nested epoll
	add(inner, pw)
	// Stale registration: the watch stays while a dup holds the
	// description, under a number that is now closed (and reused below).
	evKeep := m(root.Dup(ev))
	testkit.Check(t, root.Close(ev))
	// Registered twice under one number: register pw's dup as number N,
	// move it away, and register a new file under the same number N.
	n := m(root.Dup(pw))
	add(ep, n)
	moved := m(root.Dup(n))
	testkit.Check(t, root.Close(n))
	n2 := m(root.Eventfd())
	if n2 != n {
		t.Fatalf("fd number %d not reused (got %d)", n, n2)
	}
	add(ep, n2)
	// A child shares the epoll description; it must get the same answer.
	child := mn(root.Fork())

	snap := scanTree(t, root.PID(), false)
	checkAgainstOracle(t, snap, false)
	var entry *snapshot.Epoll
	for i := range snap.Epoll {
		if snap.Epoll[i].PID == root.PID() && snap.Epoll[i].FD == ep {
			entry = &snap.Epoll[i]
		}
	}
	if entry == nil {
		t.Fatalf("no epoll entry for %d:%d in %+v", root.PID(), ep, snap.Epoll)
	}
	holder := func(w snapshot.Watch) snapshot.Member {
		if w.Holder == nil {
			return snapshot.Member{PID: -1}
		}
		return *w.Holder
	}
	lowest := func(ms ...snapshot.Member) snapshot.Member {
		best := ms[0]
		for _, x := range ms[1:] {
			if x.Less(best) {
				best = x
			}
		}
		return best
	}
	want := map[snapshot.Member]bool{
		lowest(fdm(root, pr), fdm(child, pr)):                                      true,
		lowest(fdm(root, evKeep), fdm(child, evKeep)):                              true,
		lowest(fdm(root, inner), fdm(child, inner)):                                true,
		lowest(fdm(root, pw), fdm(root, moved), fdm(child, pw), fdm(child, moved)): true,
		lowest(fdm(root, n2), fdm(child, n2)):                                      true,
	}
	if len(entry.Watches) != 5 {
		t.Fatalf("watches = %+v, want 5", entry.Watches)
	}
	regs := map[int]int{}
	for _, w := range entry.Watches {
		h := holder(w)
		if !want[h] {
			t.Errorf("watch tfd %d: holder %v is not one of the expected %v", w.TFD, h, want)
		}
		delete(want, h)
		regs[w.TFD]++
	}
	for fd, want := range registered {
		if regs[fd] != want {
			t.Errorf("fd number %d: %d watches, want %d registrations", fd, regs[fd], want)
		}
	}
	// The child's epoll fd is the same description: the same watches.
	for _, e := range snap.Epoll {
		if e.PID == child.PID() && e.FD == ep && len(e.Watches) != len(entry.Watches) {
			t.Errorf("child's epoll entry differs: %+v", e)
		}
	}
}

func TestLiveTasks(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m := testkit.Must[int](t)
	mn := testkit.Must[*fixture.Node](t)

	tid := m(root.Thread())
	tidOwn := m(root.ThreadUnshare(unix.CLONE_FILES | unix.CLONE_FS))
	vmFiles := mn(root.Clone(unix.CLONE_VM | unix.CLONE_FILES))
	fsOnly := mn(root.Clone(unix.CLONE_FS))
	sighand := mn(root.Clone(unix.CLONE_VM | unix.CLONE_SIGHAND))
	unshared := mn(root.Clone(unix.CLONE_VM | unix.CLONE_FILES | unix.CLONE_FS))
	testkit.Check(t, unshared.Unshare(unix.CLONE_FILES|unix.CLONE_FS))
	plain := mn(root.Fork())
	// I/O contexts: a node with an I/O priority has one; its CLONE_IO
	// child shares it; a plain fork of it gets its own.
	ioNode := mn(root.Fork())
	testkit.Check(t, ioNode.SetIOPrio(2, 4)) // best-effort, level 4
	ioShared := mn(ioNode.Clone(unix.CLONE_IO))
	ioOwn := mn(ioNode.Fork())
	// SysV undo lists: allocated by semop with SEM_UNDO, shared by
	// CLONE_SYSVSEM; a fork child starts without one.
	semNode := mn(root.Fork())
	testkit.Check(t, semNode.SemUndo())
	semShared := mn(semNode.Clone(unix.CLONE_SYSVSEM))
	semFork := mn(semNode.Fork())

	snap := scanTree(t, root.PID(), true)
	checkAgainstOracle(t, snap, true)
	r := root.PID()
	for _, typ := range []string{"vm", "files", "fs", "sighand"} {
		same(t, snap, typ, task(r, r), task(r, tid))
	}
	same(t, snap, "vm", task(r, r), task(r, tidOwn), task(vmFiles.PID(), vmFiles.PID()), task(sighand.PID(), sighand.PID()))
	same(t, snap, "sighand", task(r, r), task(r, tidOwn), task(sighand.PID(), sighand.PID()))
	distinct(t, snap, "files", task(r, r), task(r, tidOwn))
	distinct(t, snap, "fs", task(r, r), task(r, tidOwn))
	same(t, snap, "files", task(r, r), task(vmFiles.PID(), vmFiles.PID()))
	same(t, snap, "fs", task(r, r), task(fsOnly.PID(), fsOnly.PID()))
	distinct(t, snap, "vm", task(r, r), task(fsOnly.PID(), fsOnly.PID()), task(plain.PID(), plain.PID()))
	same(t, snap, "vm", task(r, r), task(unshared.PID(), unshared.PID()))
	distinct(t, snap, "files", task(r, r), task(unshared.PID(), unshared.PID()))
	distinct(t, snap, "fs", task(r, r), task(unshared.PID(), unshared.PID()))

	same(t, snap, "io", task(ioNode.PID(), ioNode.PID()), task(ioShared.PID(), ioShared.PID()))
	distinct(t, snap, "io", task(ioNode.PID(), ioNode.PID()), task(ioOwn.PID(), ioOwn.PID()))
	nullIO := map[snapshot.Member]bool{}
	for _, x := range snap.Null["io"] {
		nullIO[x] = true
	}
	if !nullIO[task(plain.PID(), plain.PID())] || !nullIO[task(semNode.PID(), semNode.PID())] {
		t.Errorf("processes without an I/O priority missing from null.io: %v", snap.Null["io"])
	}
	if nullIO[task(ioNode.PID(), ioNode.PID())] || nullIO[task(ioOwn.PID(), ioOwn.PID())] {
		t.Errorf("processes with an I/O context reported NULL: %v", snap.Null["io"])
	}
	// The NULL class is never a group.
	if g := groupOf(snap, "io", task(plain.PID(), plain.PID())); g >= 0 {
		t.Errorf("NULL io reported as sharing: %v", snap.Groups[g])
	}
	same(t, snap, "sysvsem", task(semNode.PID(), semNode.PID()), task(semShared.PID(), semShared.PID()))
	nullSem := map[snapshot.Member]bool{}
	for _, x := range snap.Null["sysvsem"] {
		nullSem[x] = true
	}
	if !nullSem[task(semFork.PID(), semFork.PID())] || !nullSem[task(plain.PID(), plain.PID())] {
		t.Errorf("fork children without an undo list missing from null.sysvsem: %v", snap.Null["sysvsem"])
	}
	if g := groupOf(snap, "sysvsem", task(plain.PID(), plain.PID())); g >= 0 {
		t.Errorf("NULL sysvsem reported as sharing: %v", snap.Groups[g])
	}
}

// tfd is fd of the own fd table of thread node n.
func tfd(n *fixture.Node, fd int) snapshot.Member {
	return snapshot.Member{PID: n.PID(), FD: fd, Thread: n.TID()}
}

// TestLiveTaskTables builds fd tables /proc/PID/fd does not show: a
// thread that unshared CLONE_FILES (a dup pair and an epoll instance in
// it, fds inherited from its process), a second thread it started that
// shares that table, a process cloned with CLONE_FILES from it (sharing
// the thread's table) and one from a thread that kept its process's table,
// a leader that unshared its table under a thread that kept the old one,
// and a thread that unshared only CLONE_FS. With threads every fd is
// grouped, matching the pairwise oracle and the named expectations;
// without, the tasks with a table of their own are counted.
func TestLiveTaskTables(t *testing.T) {
	testkit.RequireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m := testkit.Must[int](t)
	mn := testkit.Must[*fixture.Node](t)
	path := filepath.Join(t.TempDir(), "data")
	testkit.Check(t, os.WriteFile(path, []byte("x"), 0o600))

	before := m(root.Open(path, unix.O_RDONLY)) // inherited by the thread's copy
	own := mn(root.ThreadNode(unix.CLONE_FILES))
	a := m(own.Open(path, unix.O_RDONLY))
	aDup := m(own.Dup(a))
	other := m(own.Open(path, unix.O_RDONLY)) // same inode, another description
	pr, _ := testkit.Must2[int, int](t)(own.Pipe())
	ep := m(own.EpollCreate())
	testkit.Check(t, own.EpollAdd(ep, pr))
	testkit.Check(t, own.Close(before)) // the thread's copy goes; the process's stays
	beforeAgain := m(root.Dup(before))
	sibling := mn(own.ThreadNode(0)) // started by the thread: shares its table
	sharesThread := mn(own.Clone(unix.CLONE_FILES))
	plainThread := mn(root.ThreadNode(0))
	sharesProcess := mn(plainThread.Clone(unix.CLONE_FILES))
	fsThread := mn(root.ThreadNode(unix.CLONE_FS))

	// A process whose leader leaves its table: its thread keeps the old.
	leaver := mn(root.Fork())
	kept := mn(leaver.ThreadNode(0))
	testkit.Check(t, leaver.Unshare(unix.CLONE_FILES))
	leaverNew := m(leaver.Open(path, unix.O_RDONLY))

	snap := scanTree(t, root.PID(), true)
	checkAgainstOracle(t, snap, true)
	for _, n := range []*fixture.Node{own, kept} {
		if snap.Process(n.PID()).FDIn(n.TID(), 0) == nil {
			t.Errorf("task table of %d/%d not read", n.PID(), n.TID())
		}
	}
	if snap.Process(root.PID()).FDIn(sibling.TID(), a) != nil {
		t.Errorf("the sibling's table is listed apart from its starter's %d", own.TID())
	}
	same(t, snap, "file", tfd(own, a), tfd(own, aDup), fdm(sharesThread, a), fdm(sharesThread, aDup))
	distinct(t, snap, "file", tfd(own, a), tfd(own, other))
	same(t, snap, "file", fdm(root, before), fdm(root, beforeAgain))
	if g := groupOf(snap, "file", tfd(own, before)); g >= 0 {
		t.Errorf("closed fd %d of the thread's table is grouped: %v", before, snap.Groups[g])
	}
	same(t, snap, "file", fdm(root, 0), tfd(own, 0), fdm(sharesProcess, 0), fdm(sharesThread, 0))
	same(t, snap, "file", fdm(leaver, 0), tfd(kept, 0))
	if g := groupOf(snap, "file", fdm(leaver, leaverNew)); g >= 0 {
		t.Errorf("fd %d opened in the leader's new table is grouped: %v", leaverNew, snap.Groups[g])
	}
	r, l := root.PID(), leaver.PID()
	same(t, snap, "files", task(r, own.TID()), task(r, sibling.TID()), task(sharesThread.PID(), sharesThread.PID()))
	same(t, snap, "files", task(r, r), task(r, plainThread.TID()), task(r, fsThread.TID()), task(sharesProcess.PID(), sharesProcess.PID()))
	distinct(t, snap, "files", task(r, r), task(r, own.TID()))
	distinct(t, snap, "files", task(l, l), task(l, kept.TID()))
	distinct(t, snap, "fs", task(r, r), task(r, fsThread.TID()))
	same(t, snap, "fs", task(r, r), task(r, own.TID()), task(r, plainThread.TID()))
	var entry *snapshot.Epoll
	for i := range snap.Epoll {
		if snap.Epoll[i].Member() == tfd(own, ep) {
			entry = &snap.Epoll[i]
		}
	}
	if entry == nil || len(entry.Watches) != 1 || entry.Watches[0].Holder == nil {
		t.Fatalf("epoll fd %v of the thread's table: %+v", tfd(own, ep), entry)
	}
	// The pipe is in the thread's table and in its clone's, which lists
	// it as its own: the lowest holder is the thread's (lower pid).
	same(t, snap, "file", tfd(own, pr), fdm(sharesThread, pr))
	if h := *entry.Watches[0].Holder; h != tfd(own, pr) {
		t.Errorf("watch holder %v, want %v", h, tfd(own, pr))
	}

	// Without threads the tables are not read, only counted: the three
	// threads of the two tables that are not their process's own.
	flat := scanTree(t, root.PID(), false)
	checkAgainstOracle(t, flat, false)
	if n := flat.Stats.Skipped[SkipTaskTablesUnread]; n != 3 {
		t.Errorf("%d tasks with an unread table of their own, want 3 (%d/%d, %d/%d, %d/%d)", n, r, own.TID(), r, sibling.TID(), l, kept.TID())
	}
	found := false
	for _, w := range flat.Warnings {
		found = found || strings.Contains(w, "--threads")
	}
	if !found {
		t.Errorf("no warning about the unread tables: %q", flat.Warnings)
	}
}
