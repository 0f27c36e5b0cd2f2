//go:build linux

package analyzer

import (
	"errors"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/internal/errno"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
)

// Comparer is the kcmp system call as the analyzer uses it. The default is
// package kcmp; tests substitute one that injects failures.
type Comparer interface {
	FileDescs(pid1, fd1, pid2, fd2 int) (kcmp.Order, error)
	Tasks(t kcmp.Type, pid1, pid2 int) (kcmp.Order, error)
	EpollTarget(pid1, fd, pid2 int, slot kcmp.EpollSlot) (kcmp.Order, error)
}

// SystemComparer calls kcmp(2).
type SystemComparer struct{}

// FileDescs calls kcmp.FileDescs.
func (SystemComparer) FileDescs(pid1, fd1, pid2, fd2 int) (kcmp.Order, error) {
	return kcmp.FileDescs(pid1, fd1, pid2, fd2)
}

// Tasks calls kcmp.Tasks.
func (SystemComparer) Tasks(t kcmp.Type, pid1, pid2 int) (kcmp.Order, error) {
	return kcmp.Tasks(t, pid1, pid2)
}

// EpollTarget calls kcmp.EpollTarget.
func (SystemComparer) EpollTarget(pid1, fd, pid2 int, slot kcmp.EpollSlot) (kcmp.Order, error) {
	return kcmp.EpollTarget(pid1, fd, pid2, slot)
}

// counter counts calls and errors for one goroutine; counters are merged
// at the end, so the hot path takes no lock.
type counter struct {
	cmp    Comparer
	calls  [len(typeSlots)]int64
	errors map[string]int
}

var typeSlots = [...]kcmp.Type{kcmp.File, kcmp.VM, kcmp.Files, kcmp.FS, kcmp.Sighand, kcmp.IO, kcmp.Sysvsem, kcmp.EpollTFD}

func newCounter(cmp Comparer) *counter {
	return &counter{cmp: cmp, errors: map[string]int{}}
}

func (c *counter) noteErr(err error) {
	c.errors[errno.Name(err)]++
}

func (c *counter) file(pid1, fd1, pid2, fd2 int) (kcmp.Order, error) {
	c.calls[kcmp.File]++
	o, err := c.cmp.FileDescs(pid1, fd1, pid2, fd2)
	if err != nil {
		c.noteErr(err)
	}
	return o, err
}

func (c *counter) task(t kcmp.Type, pid1, pid2 int) (kcmp.Order, error) {
	c.calls[t]++
	o, err := c.cmp.Tasks(t, pid1, pid2)
	if err != nil {
		c.noteErr(err)
	}
	return o, err
}

func (c *counter) epoll(pid1, fd, pid2 int, slot kcmp.EpollSlot) (kcmp.Order, error) {
	c.calls[kcmp.EpollTFD]++
	o, err := c.cmp.EpollTarget(pid1, fd, pid2, slot)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		c.noteErr(err)
	}
	return o, err
}

// tally merges counters.
type tally struct {
	mu     sync.Mutex
	calls  map[string]int64
	errors map[string]int
}

func newTally() *tally {
	return &tally{calls: map[string]int64{}, errors: map[string]int{}}
}

func (t *tally) add(c *counter) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, n := range c.calls {
		if n > 0 {
			t.calls[typeSlots[i].String()] += n
		}
	}
	for k, v := range c.errors {
		t.errors[k] += v
	}
}
