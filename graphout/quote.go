package graphout

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLabelRunes bounds every free-text value in a label.
const maxLabelRunes = 48

// quote makes a DOT double-quoted string of hostile text that displays the
// text literally: invalid UTF-8 bytes, control characters and U+FFFD
// become visible escapes (\xff, \x1b, \n), quotes and backslashes are
// escaped, and long text is cut with an ellipsis. The result is a valid Go quoted string too,
// so gonum's encoder passes it through unchanged instead of quoting it
// again, and it never starts with '<', so it is never an HTML label.
func quote(s string) string { return quoteN(s, maxLabelRunes) }

// quoteN is quote with a length limit of n runes.
func quoteN(s string, n int) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, runes := 0, 0; i < len(s); runes++ {
		if runes == n-1 && utf8.RuneCountInString(s[i:]) > 1 {
			b.WriteString("…")
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\\x%02x`, s[i-1])
		case r == utf8.RuneError:
			b.WriteString(`\\xfffd`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\\n`)
		case r == '\t':
			b.WriteString(`\\t`)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// lines joins already-quoted label parts with DOT's centred line break.
func lines(parts ...string) string {
	var inner []string
	for _, p := range parts {
		inner = append(inner, strings.TrimSuffix(strings.TrimPrefix(p, `"`), `"`))
	}
	return `"` + strings.Join(inner, `\n`) + `"`
}
