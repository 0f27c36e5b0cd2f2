//go:build linux

package metrics

import (
	"testing"

	"github.com/kcmpgraph/kcmpgraph/analyzer"
	"github.com/kcmpgraph/kcmpgraph/kcmp"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// TestSnapshotKeys holds the stats keys and type names this package reads
// equal to the constants of the packages that write them.
func TestSnapshotKeys(t *testing.T) {
	want := map[string]string{
		"proc": procscan.SkipDenied, "fds": procscan.SkipFDTablesDenied,
		"kcmp": analyzer.SkipKcmpDenied, "vanished": procscan.SkipVanished,
	}
	if len(unreadableReasons) != len(want) {
		t.Errorf("%d reasons, want %d", len(unreadableReasons), len(want))
	}
	for _, r := range unreadableReasons {
		if want[r.reason] != r.skipped {
			t.Errorf("reason %s reads stats.skipped[%q], the scanner writes %q", r.reason, r.skipped, want[r.reason])
		}
	}
	names := append(kcmp.TypeNames(), "verify")
	if len(names) != len(kcmpCallTypes) {
		t.Fatalf("kcmp call types %v, want %v", kcmpCallTypes, names)
	}
	for i := range names {
		if names[i] != kcmpCallTypes[i] {
			t.Errorf("kcmp call types %v, want %v", kcmpCallTypes, names)
		}
	}
}
