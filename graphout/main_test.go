//go:build linux

package graphout

import (
	"fmt"
	"os"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
)

// TestMain lets Render re-execute this test binary as its renderer, with
// a compilation cache of this run's own instead of the user's.
func TestMain(m *testing.M) {
	ServeRenderer()
	cache, err := os.MkdirTemp("", "kcmpgraph-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_CACHE_HOME", cache)
	code := testkit.RunGuarded(m)
	os.RemoveAll(cache)
	os.Exit(code)
}
