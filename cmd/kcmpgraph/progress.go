//go:build linux

package main

import (
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressDelay is how long a scan runs before a progress bar appears: a
// quick scan shows none.
const progressDelay = 500 * time.Millisecond

// scanProgress draws a progress bar on stderr for scans that take more
// than a moment, and only when stderr is a terminal. Its report method is
// procscan's Progress callback, called from several goroutines. The bar
// has no colour, so NO_COLOR has nothing to turn off.
type scanProgress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	bar   *progressbar.ProgressBar
	done  int
	off   bool
}

func newScanProgress(stderr io.Writer, quiet bool) *scanProgress {
	return &scanProgress{w: stderr, start: time.Now(), off: quiet || !isTerminal(stderr)}
}

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
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription("scanning processes"),
			progressbar.OptionShowCount(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetPredictTime(false),
		)
	}
	if done >= total {
		// Reading is over; comparing with kcmp follows and reports no
		// progress of its own.
		p.bar.Describe("comparing with kcmp")
	}
	p.bar.Set(done)
}

// finish removes the bar; later reports draw nothing.
func (p *scanProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
	p.off = true
}
