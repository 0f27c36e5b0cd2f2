//go:build linux

package main

import (
	"os"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/graphout"
)

// TestMain lets graph and diff, run in-process, render SVG by re-executing
// this test binary as the renderer, as main does for kcmpgraph.
func TestMain(m *testing.M) {
	graphout.ServeRenderer()
	os.Exit(m.Run())
}
