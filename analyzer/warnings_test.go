//go:build linux

package analyzer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// TestPartialWarningNames: the partial-result warning names the first
// few processes it could not read, with what was refused, and counts the
// rest, including those not readable enough to be listed.
func TestPartialWarningNames(t *testing.T) {
	snap := &snapshot.Snapshot{Stats: snapshot.Stats{Skipped: map[string]int{
		procscan.SkipFDTablesDenied: 4, SkipKcmpDenied: 1, procscan.SkipDenied: 2}}}
	for i, d := range []string{"fds: EACCES", "", "kcmp: EPERM", "fds: EACCES", "cmdline: EACCES", "fds: EACCES", "fds: EACCES"} {
		p := snapshot.Process{PID: 100 + i, Comm: fmt.Sprintf("c%d", i)}
		if d != "" {
			p.Denied = []string{d}
		}
		snap.Processes = append(snap.Processes, p)
	}
	w := partialWarnings(snap)
	want := "partial result: 7 processes could not be read or compared: pid 100 c0 (fds: EACCES), pid 102 c2 (kcmp: EPERM), pid 103 c3 (fds: EACCES) and 4 more; their sharing is not shown ("
	if len(w) != 1 || !strings.HasPrefix(w[0], want) {
		t.Errorf("warning %q, want it to start %q", w, want)
	}
	one := &snapshot.Snapshot{Stats: snapshot.Stats{Skipped: map[string]int{procscan.SkipDenied: 1}}}
	if w := partialWarnings(one); len(w) != 1 || !strings.HasPrefix(w[0], "partial result: 1 process could not be read or compared: none of them readable enough to name;") {
		t.Errorf("warning for one unlisted process: %q", w)
	}
}
