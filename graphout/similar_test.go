//go:build linux

package graphout

import (
	"strings"
	"testing"
)

// Past similarAbove boxes, siblings merge by parent and command, and the
// children of merged parents with them; the legend says so. Below it, or
// with NoCollapse, nothing changes.
func TestSimilarMergedPastTheLimit(t *testing.T) {
	s := thousand() // 100 masters × 3 kinds of worker: 400 boxes exactly collapsed
	d, err := Build(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Processes != 4 {
		t.Errorf("%d boxes, want 4 (all masters, and their workers by command)", d.Processes)
	}
	text, _ := d.DOT()
	if !strings.Contains(string(text), "400 boxes were too many") || !strings.Contains(string(text), "+99 similar") {
		t.Errorf("merged diagram does not say so:\n%s", text)
	}
	if d.Objects != 1 || !strings.Contains(string(text), "file, 200 objects, 2000 holders") {
		t.Errorf("%d objects; the 200 per-tree files between the same 4 boxes should be one counted ellipse:\n%s", d.Objects, text)
	}
	if d.Layout() != "dot" {
		t.Errorf("layout %s for 4 boxes", d.Layout())
	}

	d, err = Build(s, Options{NoCollapse: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Processes != 1000 {
		t.Errorf("NoCollapse: %d boxes, want 1000", d.Processes)
	}

	// 30 masters: 120 boxes exactly collapsed, under the limit.
	small := thousand()
	small.Processes = small.Processes[:300]
	small.Groups = small.Groups[:60]
	d, err = Build(small, Options{})
	if err != nil {
		t.Fatal(err)
	}
	text, _ = d.DOT()
	if d.Processes != 120 || strings.Contains(string(text), "too many") {
		t.Errorf("30 masters: %d boxes (want 120), merged: %v", d.Processes, strings.Contains(string(text), "too many"))
	}
}
