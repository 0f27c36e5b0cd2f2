//go:build linux

package graphout

import (
	"os"
	"testing"
)

// TestMain lets Render re-execute this test binary as its renderer.
func TestMain(m *testing.M) {
	ServeRenderer()
	os.Exit(m.Run())
}
