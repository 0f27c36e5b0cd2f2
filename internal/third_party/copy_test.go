package thirdparty

import (
	"bytes"
	"encoding/json"
	"go/format"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// goGraphviz is the upstream module that go-graphviz/ copies.
const goGraphviz = "github.com/goccy/go-graphviz@v0.2.10"

// dropped are the upstream files the copy leaves out (see the package doc).
var dropped = map[string]bool{".github": true, ".gitignore": true, "testdata/.gitignore": true}

// TestGoGraphvizIsUpstreamPlusPatch rebuilds the copy from the published
// module and the patch, and compares it with go-graphviz/ file by file: the
// patch shipped for upstream is exactly what kcmpgraph builds with.
func TestGoGraphvizIsUpstreamPlusPatch(t *testing.T) {
	want := t.TempDir()
	upstream := moduleDir(t, goGraphviz)
	err := filepath.WalkDir(upstream, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(upstream, path)
		if dropped[filepath.ToSlash(rel)] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(want, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(want, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	patch, err := filepath.Abs("go-graphviz-lazy-init.patch")
	if err != nil {
		t.Fatal(err)
	}
	apply := exec.Command("git", "apply", patch)
	apply.Dir = want
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("git apply go-graphviz-lazy-init.patch on %s: %v\n%s", goGraphviz, err, out)
	}
	attr := filepath.Join(want, "cgraph", "attribute.go")
	src, err := os.ReadFile(attr)
	if err != nil {
		t.Fatal(err)
	}
	if src, err = format.Source(src); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(attr, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if diff := compareTrees(t, want, "go-graphviz"); len(diff) > 0 {
		t.Errorf("go-graphviz/ is not %s plus go-graphviz-lazy-init.patch:\n%s", goGraphviz, bytes.Join(diff, []byte("\n")))
	}
}

// moduleDir downloads (or finds in the module cache) module@version.
func moduleDir(t *testing.T, modVersion string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", modVersion)
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	var m struct{ Dir, Error string }
	json.Unmarshal(out, &m)
	if err != nil || m.Dir == "" {
		t.Fatalf("go mod download %s: %v %s", modVersion, err, m.Error)
	}
	return m.Dir
}

// compareTrees lists the files that differ between two trees.
func compareTrees(t *testing.T, a, b string) [][]byte {
	t.Helper()
	files := func(root string) map[string][]byte {
		m := map[string][]byte{}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			m[rel], err = os.ReadFile(path)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	fa, fb := files(a), files(b)
	var diff [][]byte
	for name, da := range fa {
		if db, ok := fb[name]; !ok {
			diff = append(diff, []byte("missing from the copy: "+name))
		} else if !bytes.Equal(da, db) {
			diff = append(diff, []byte("differs: "+name))
		}
	}
	for name := range fb {
		if _, ok := fa[name]; !ok {
			diff = append(diff, []byte("only in the copy: "+name))
		}
	}
	return diff
}
