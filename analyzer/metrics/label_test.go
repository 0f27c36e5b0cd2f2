package metrics

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kcmpgraph/kcmpgraph/internal/escape"
)

// checkLabelText checks what labelText promises for one name: the start
// of escape.Text's form, cut between escapes, at most 128 bytes.
func checkLabelText(t *testing.T, s string) {
	got := labelText(s)
	full := escape.Text(s)
	if len(got) > 128 || !utf8.ValidString(got) || !escape.Inert(got) || !strings.HasPrefix(full, got) {
		t.Fatalf("labelText(%q) = %q; escape.Text gives %q", s, got, full)
	}
	if len(full) <= 128 && got != full {
		t.Fatalf("labelText(%q) = %q, want all of %q", s, got, full)
	}
	// The cut falls between whole escapes: got is the escape of a prefix.
	if escape.Text(unescapedPrefix(s, got)) != got {
		t.Fatalf("labelText(%q) = %q cuts an escape", s, got)
	}
}

// unescapedPrefix returns the prefix of s whose escape.Text is got.
func unescapedPrefix(s, got string) string {
	for i := 0; i <= len(s); {
		if escape.Text(s[:i]) == got {
			return s[:i]
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += max(n, 1)
	}
	return s
}

func TestLabelText(t *testing.T) {
	for _, s := range []string{"", "web", "web\n\"}\xff", "rlo\u202egpj", "zero\u200bwidth\ufeff",
		strings.Repeat("x", 127) + "\x1b", strings.Repeat("é", 70), strings.Repeat("\xff", 40)} {
		checkLabelText(t, s)
	}
	if got := labelText(strings.Repeat("x", 126) + "\x1b"); got != strings.Repeat("x", 126) {
		t.Errorf("an escape cut at 128 bytes: %q", got)
	}
}

func FuzzLabelText(f *testing.F) {
	for _, s := range []string{"web\n\"}\xff", "rlo\u202egpj", strings.Repeat("\u200b", 30)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkLabelText(t, s) })
}
