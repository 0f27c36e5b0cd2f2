//go:build linux

package webview

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kcmpgraph/kcmpgraph/analyzer"
	"github.com/kcmpgraph/kcmpgraph/analyzer/audit"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// forest scans a live forest of about procs processes holding about fds
// fds each (fixture.Grow: a master, workers, their children).
func forest(b testing.TB, procs, fds int) *snapshot.Snapshot {
	testkit.RequireKcmp(b)
	f := fixture.New(b)
	master, _, err := f.Root().Grow(fixture.GrowSpec{Procs: procs, FDsPerProc: fds, Seed: 1})
	testkit.Check(b, err)
	snap, err := analyzer.Run(context.Background(), analyzer.Options{Scan: procscan.Options{Tree: master}})
	testkit.Check(b, err)
	return snap
}

// benchReport measures the report of a live forest: building the model
// and writing the page (ns/op), the page's size, and the time Chromium
// takes from navigating to the file to the drawn, ready page (load-ms,
// the median of the runs).
func benchReport(b *testing.B, procs, fds int) {
	snap := forest(b, procs, fds)
	rep, err := audit.Run(snap, audit.Options{})
	testkit.Check(b, err)
	var page bytes.Buffer
	for b.Loop() {
		page.Reset()
		testkit.Check(b, WriteReport(&page, Build(snap, Options{Audit: rep})))
	}
	m := Build(snap, Options{Audit: rep})
	path := filepath.Join(b.TempDir(), "report.html")
	testkit.Check(b, os.WriteFile(path, page.Bytes(), 0o600))
	br := newBrowser(b)
	var loads []time.Duration
	for i := 0; i < 5; i++ {
		start := time.Now()
		br.do(b, chromedp.Navigate("file://"+path), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
		loads = append(loads, time.Since(start))
	}
	// Search still finds every process, collapsed or not.
	br.do(b, chromedp.SendKeys(chromedp.CSS(`#search`), "forest"), poll(`document.querySelector('#hits').textContent !== ''`))
	if hits := textOf(b, br, `#hits`); hits != fmt.Sprintf("%d processes", len(snap.Processes)) {
		b.Errorf("search forest: %s, want all %d processes", hits, len(snap.Processes))
	}
	br.shot(b, fmt.Sprintf("forest-%dx%d.png", procs, fds))
	br.checkClean(b, m.Title)
	for i := range loads {
		for j := i + 1; j < len(loads); j++ {
			if loads[j] < loads[i] {
				loads[i], loads[j] = loads[j], loads[i]
			}
		}
	}
	b.ReportMetric(float64(page.Len()), "page-bytes")
	b.ReportMetric(float64(loads[len(loads)/2].Milliseconds()), "load-ms")
	b.ReportMetric(float64(snap.Stats.FDs), "fds")
	b.ReportMetric(float64(len(m.Boxes)), "boxes")
	b.ReportMetric(float64(len(m.Edges)), "edges")
}

func BenchmarkReport300(b *testing.B) { benchReport(b, 300, 50) }

func BenchmarkReport1000x100(b *testing.B) { benchReport(b, 1000, 100) }
