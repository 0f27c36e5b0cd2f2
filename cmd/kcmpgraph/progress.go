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
// procscan's Progress callback, called from several goroutines.
type scanProgress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	bar   *progressbar.ProgressBar
	off   bool
}

func newScanProgress(stderr io.Writer, quiet bool) *scanProgress {
	return &scanProgress{w: stderr, start: time.Now(), off: quiet || !isTerminal(stderr)}
}

func (p *scanProgress) report(done, total int) {
	if p.off {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
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
	p.bar.Set(done)
}

// finish removes the bar.
func (p *scanProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
	p.off = true
}
