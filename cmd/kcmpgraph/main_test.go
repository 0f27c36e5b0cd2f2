//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/graphout"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
)

// TestMain lets graph and diff, run in-process, render SVG by re-executing
// this test binary as the renderer, as main does for kcmpgraph, with a
// compilation cache of this run's own instead of the user's; and removes
// the kcmpgraph that kcmpgraphBinary built.
func TestMain(m *testing.M) {
	graphout.ServeRenderer()
	cache, err := os.MkdirTemp("", "kcmpgraph-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_CACHE_HOME", cache)
	code := testkit.RunGuarded(m)
	os.RemoveAll(cache)
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// built is the kcmpgraph binary that kcmpgraphBinary builds once per test
// process (without -race: each SVG it renders compiles graphviz, which the
// race detector makes several times slower).
var built struct {
	once     sync.Once
	dir, bin string
	err      error
	out      []byte
}

// kcmpgraphBinary builds kcmpgraph once into a directory every user may
// read and run from.
func kcmpgraphBinary(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "kcmpgraph-bin-"); built.err != nil {
			return
		}
		if built.err = os.Chmod(built.dir, 0o755); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "kcmpgraph")
		built.out, built.err = exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("build kcmpgraph: %v\n%s", built.err, built.out)
	}
	return built.bin
}
