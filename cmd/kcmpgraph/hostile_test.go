//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// checkInert fails when text holds anything a terminal acts on: control
// characters other than newline, format characters (bidi overrides, zero
// width), the line and paragraph separators, or invalid UTF-8.
func checkInert(t *testing.T, what, text string) {
	t.Helper()
	if !utf8.ValidString(text) {
		t.Errorf("%s: invalid UTF-8 in %q", what, text)
	}
	for _, r := range text {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029') {
			t.Errorf("%s holds %U: %q", what, r, text)
			return
		}
	}
}

// TestErrorsAreEscaped: the text of an error names hostile input (a JSON
// key, a value, a file name) escaped for the terminal, once.
func TestErrorsAreEscaped(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ json, want string }{
		"key": {`{"schema": "kcmpgraph.snapshot/v1", "processes": [], "null": {"\u001b[31mevil\r\u0007": []}}`,
			`null.\x1b[31mevil\r\a: not a per-task type`},
		"schema": {`{"schema": "v\u001b]0;pwned\u0007\u202e"}`, `v\x1b]0;pwned\a\u202e`},
		"type": {`{"schema": "kcmpgraph.snapshot/v1", "processes": [], "groups": [{"type": "\u001b[2J\\", "members": []}]}`,
			`unknown group type "\x1b[2J\\"`},
	} {
		path := filepath.Join(dir, name+".json")
		if err := os.WriteFile(path, []byte(c.json), 0o600); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := runCLI(t, "show", path)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", name, code, stderr, c.want)
		}
		checkInert(t, name, stderr)
	}
	evil := filepath.Join(dir, "snap\x1b[31m\u202e.json")
	_, stderr, _ := runCLI(t, "show", evil)
	if !strings.Contains(stderr, `snap\x1b[31m\u202e.json: cannot open`) {
		t.Errorf("a hostile file name: stderr %q", stderr)
	}
	checkInert(t, "file name", stderr)
}
