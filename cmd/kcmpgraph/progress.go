//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/cupwriter"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/sys/unix"
)

// progressDelay is how long a scan runs before a progress bar appears: a
// quick scan shows none.
const progressDelay = 500 * time.Millisecond

// scanProgress draws a progress bar on stderr for scans that take more
// than a moment, and only when stderr is a terminal of which kcmpgraph is
// in the foreground process group: each write is checked (see
// foregroundWriter), so a run started with & or sent to the background
// with Ctrl-Z and bg draws nothing. A background process that writes to
// its terminal under "stty tostop" is stopped by SIGTTOU, and a stopped
// kcmpgraph would hold a --freeze of other processes until resumed. Its report method is
// procscan's Progress callback, called from several goroutines. The bar
// has no colour, so NO_COLOR has nothing to turn off.
//
// The bar is vbauerster/mpb: maintained, redraws in its own goroutine at
// a fixed rate (a scan's thousands of reports cost nothing), fits the
// terminal's width, and pulls in no network code (schollz/progressbar,
// used before, linked net/http and TLS: 2.3 MB of binary and 1.3 MB of
// resident memory in every run).
type scanProgress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	box   *mpb.Progress
	bar   *mpb.Bar
	desc  atomic.Pointer[string]
	done  int
	off   bool
}

func newScanProgress(stderr io.Writer, quiet bool) *scanProgress {
	p := &scanProgress{w: stderr, start: time.Now(), off: quiet || !isTerminal(stderr)}
	if f, ok := stderr.(*os.File); ok && !p.off {
		p.w = foregroundWriter{f}
	}
	p.setDesc("scanning processes")
	return p
}

func (p *scanProgress) setDesc(d string) { p.desc.Store(&d) }

func (p *scanProgress) report(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Callers race to report: never move the bar backwards.
	if p.off || done <= p.done {
		return
	}
	p.done = done
	if p.bar == nil {
		if time.Since(p.start) < progressDelay {
			return
		}
		if fw, ok := p.w.(foregroundWriter); ok && !fw.foreground() {
			return // no bar yet: a later report tries again
		}
		out := mpb.WithOutput(p.w)
		if fw, ok := p.w.(foregroundWriter); ok {
			// mpb's own writer, writing through fw, and told the
			// terminal's fd for its width: it cannot see it through fw.
			cw := cupwriter.New(fw, false)
			cw.SetTermFd(int(fw.f.Fd()))
			out = mpb.WithConsoleWriter(cw)
		}
		p.box = mpb.New(out, mpb.WithRefreshRate(100*time.Millisecond), mpb.WithWidth(30))
		// One step more than there are processes: comparing with kcmp
		// after the last process is read is the rest of the work, and
		// the bar must not complete (and vanish) before finish.
		p.bar = p.box.AddBar(int64(total)+1,
			mpb.PrependDecorators(
				decor.Any(func(decor.Statistics) string { return *p.desc.Load() }, decor.WCSyncSpaceR),
				decor.Any(func(st decor.Statistics) string {
					return fmt.Sprintf(" %d/%d", min(st.Current, int64(total)), total)
				})),
			mpb.AppendDecorators(decor.Percentage(decor.WC{W: 5})),
		)
	}
	if done >= total {
		// Reading is over; comparing with kcmp follows and reports no
		// progress of its own.
		p.setDesc("comparing with kcmp")
	}
	p.bar.SetCurrent(int64(done))
}

// finish removes the bar; later reports draw nothing.
func (p *scanProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Abort(true)
		p.box.Wait()
		p.bar, p.box = nil, nil
	}
	p.off = true
}

// foregroundWriter writes to a terminal only while this process is in the
// terminal's foreground process group (tcgetpgrp(fd) == getpgrp()), and
// drops the write otherwise: a background process that writes to its
// terminal is stopped by SIGTTOU under "stty tostop", and draws over
// another job's output without it. A terminal that is not this process's
// controlling terminal has no foreground group for it: nothing is drawn
// there either. Between the check and the write a job control change can
// still slip in; the bar is redrawn ten times a second, so the window is
// one write.
type foregroundWriter struct{ f *os.File }

func (w foregroundWriter) foreground() bool {
	pg, err := unix.IoctlGetInt(int(w.f.Fd()), unix.TIOCGPGRP)
	return err == nil && pg == unix.Getpgrp()
}

func (w foregroundWriter) Write(b []byte) (int, error) {
	if !w.foreground() {
		return len(b), nil
	}
	return w.f.Write(b)
}
