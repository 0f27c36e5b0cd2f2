//go:build linux

// Package testkit is what kcmpgraph's tests share: skips for a missing
// capability (kcmp, root) that say why, Must helpers for the fixture
// calls a sound test cannot see fail, and Endless, hostile input that
// never ends.
//
// It is for tests only; nothing outside a _test.go file imports it.
package testkit

import (
	"os"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/kcmp"
)

// RequireKcmp skips the test, with the reason, when kcmp cannot be used
// (a kernel without CONFIG_KCMP, or a seccomp filter).
func RequireKcmp(t testing.TB) {
	t.Helper()
	if err := kcmp.Probe(); err != nil {
		t.Skipf("kcmp not available: %v", err)
	}
}

// RequireRoot skips the test unless it runs as root; why says what root
// is needed for ("to start processes of two users").
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root " + why)
	}
}

// Must returns a function that passes a value through and ends the test
// on a non-nil error: n := testkit.Must[int](t)(node.Dup(fd)).
func Must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// Must2 is Must for calls that return two values: r, w :=
// testkit.Must2[int, int](t)(node.Pipe()).
func Must2[A, B any](t testing.TB) func(A, B, error) (A, B) {
	return func(a A, b B, err error) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

// Check ends the test on a non-nil error.
func Check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
