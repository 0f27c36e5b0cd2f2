//go:build linux

// Package testkit is what kcmpgraph's tests share: skips for a missing
// capability (kcmp, root) that say why, Must helpers for the fixture
// calls a sound test cannot see fail, and Endless, hostile input that
// never ends.
//
// It is for tests only; nothing outside a _test.go file imports it.
package testkit

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"

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

// RunGuarded runs a test binary's tests (m.Run) and fails the run when
// the host's /dev/null is not the null device afterwards (kcmpgraph runs
// as root: an output renamed over it breaks every program on the host).
// It names what it found, so that the package that did it is known.
func RunGuarded(m *testing.M) int {
	code := m.Run()
	if err := DevNullIntact(); err != nil {
		fmt.Fprintf(os.Stderr, "testkit: after this package's tests: %v\n", err)
		return 1
	}
	return code
}

// DevNullIntact reports whether /dev/null is still character device 1:3.
func DevNullIntact() error {
	var st unix.Stat_t
	if err := unix.Lstat(os.DevNull, &st); err != nil {
		return fmt.Errorf("%s: %w", os.DevNull, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		return fmt.Errorf("%s is no longer the null device (mode %o, %d bytes, device %d:%d)",
			os.DevNull, st.Mode, st.Size, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	return nil
}
