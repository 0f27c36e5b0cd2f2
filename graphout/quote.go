package graphout

import (
	"strings"
	"unicode/utf8"

	"github.com/kcmpgraph/kcmpgraph/escape"
)

// maxLabelRunes bounds every free-text value in a label.
const maxLabelRunes = 48

// quote makes a DOT double-quoted string of hostile text that displays the
// text literally (escape.DOT), cut with an ellipsis past maxLabelRunes.
func quote(s string) string { return quoteN(s, maxLabelRunes) }

// quoteN is quote with a length limit of n runes of the text.
func quoteN(s string, n int) string {
	if utf8.RuneCountInString(s) > n {
		i, runes := 0, 0
		for runes < n-1 {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			runes++
		}
		s = s[:i] + "…"
	}
	return escape.DOT(s)
}

// lines joins already-quoted label parts with DOT's centred line break.
func lines(parts ...string) string {
	var inner []string
	for _, p := range parts {
		inner = append(inner, strings.TrimSuffix(strings.TrimPrefix(p, `"`), `"`))
	}
	return `"` + strings.Join(inner, `\n`) + `"`
}
