//go:build linux

package graphout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
)

// TestOpenRenderCache: the cache directory is used only when no one but
// root and this user can change it, anything above it (a sticky directory
// aside) or anything in it.
func TestOpenRenderCache(t *testing.T) {
	testkit.RequireRoot(t, "to make directories of uid 65534")
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, base string) // base is XDG_CACHE_HOME
		refuse  string                          // what the error names; "" to accept
	}{
		{"made private", func(*testing.T, string) {}, ""},
		{"kept private", func(t *testing.T, base string) {
			mkdirs(t, filepath.Join(base, "kcmpgraph", "graphviz", "wazero-v1-amd64-linux"), 0, 0o700)
			testkit.Check(t, os.WriteFile(filepath.Join(base, "kcmpgraph", "graphviz", "wazero-v1-amd64-linux", "code"), nil, 0o600))
		}, ""},
		{"parent of another user", func(t *testing.T, base string) {
			mkdirs(t, filepath.Join(base, "kcmpgraph"), 65534, 0o755)
		}, "kcmpgraph (owner 65534"},
		{"parent writable by others", func(t *testing.T, base string) {
			mkdirs(t, filepath.Join(base, "kcmpgraph"), 0, 0o777)
		}, "kcmpgraph (owner 0, mode 777)"},
		{"sticky parent", func(t *testing.T, base string) {
			mkdirs(t, filepath.Join(base, "kcmpgraph"), 0, os.ModeSticky|0o777)
		}, ""},
		{"sticky cache directory", func(t *testing.T, base string) {
			mkdirs(t, filepath.Join(base, "kcmpgraph", "graphviz"), 0, os.ModeSticky|0o777)
		}, "graphviz (owner 0, mode 1777)"},
		{"subdirectory writable by others", func(t *testing.T, base string) {
			mkdirs(t, filepath.Join(base, "kcmpgraph", "graphviz", "wazero-v1-amd64-linux"), 0, 0o777)
		}, "wazero-v1-amd64-linux (owner 0, mode 777)"},
		{"entry of another user", func(t *testing.T, base string) {
			dir := filepath.Join(base, "kcmpgraph", "graphviz")
			mkdirs(t, dir, 0, 0o700)
			testkit.Check(t, os.WriteFile(filepath.Join(dir, "code"), nil, 0o600))
			testkit.Check(t, os.Chown(filepath.Join(dir, "code"), 65534, 65534))
		}, "code (owner 65534"},
		{"link in the directory", func(t *testing.T, base string) {
			dir := filepath.Join(base, "kcmpgraph", "graphviz")
			mkdirs(t, dir, 0, 0o700)
			testkit.Check(t, os.Symlink("/tmp", filepath.Join(dir, "wazero-v1-amd64-linux")))
		}, "or is no file"},
		{"link on the way", func(t *testing.T, base string) {
			mkdirs(t, filepath.Join(base, "elsewhere"), 0, 0o700)
			testkit.Check(t, os.Symlink(filepath.Join(base, "elsewhere"), filepath.Join(base, "kcmpgraph")))
		}, "kcmpgraph: not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := filepath.Join(t.TempDir(), "cache")
			mkdirs(t, base, 0, 0o700)
			tc.prepare(t, base)
			t.Setenv("XDG_CACHE_HOME", base)
			dir, err := openRenderCache()
			if tc.refuse == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				defer dir.Close()
				st, err := dir.Stat()
				if err != nil || !st.IsDir() || st.Mode().Perm()&0o022 != 0 {
					t.Errorf("cache directory %s: %v %v", dir.Name(), st.Mode(), err)
				}
				return
			}
			if err == nil {
				dir.Close()
				t.Fatalf("accepted, want a refusal naming %q", tc.refuse)
			}
			if !strings.Contains(err.Error(), tc.refuse) {
				t.Errorf("refusal %q does not name %q", err, tc.refuse)
			}
		})
	}

	t.Run("HOME when XDG_CACHE_HOME is not absolute", func(t *testing.T) {
		home := t.TempDir()
		t.Setenv("XDG_CACHE_HOME", "relative")
		t.Setenv("HOME", home)
		dir, err := openRenderCache()
		if err != nil {
			t.Fatal(err)
		}
		dir.Close()
		if st, err := os.Stat(filepath.Join(home, ".cache", "kcmpgraph", "graphviz")); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("~/.cache/kcmpgraph/graphviz: %v %v", st, err)
		}
	})
	t.Run("no HOME", func(t *testing.T) {
		t.Setenv("XDG_CACHE_HOME", "")
		t.Setenv("HOME", "/nonexistent")
		if dir, err := openRenderCache(); err == nil {
			dir.Close()
			t.Fatal("a cache under a HOME that does not exist")
		}
	})
}

// mkdirs makes path and gives it owner uid and mode.
func mkdirs(t *testing.T, path string, uid int, mode os.FileMode) {
	t.Helper()
	testkit.Check(t, os.MkdirAll(path, 0o700))
	testkit.Check(t, os.Chown(path, uid, uid))
	testkit.Check(t, os.Chmod(path, mode))
}
