package graphout

import (
	"unicode/utf8"

	"github.com/kcmpgraph/kcmpgraph/internal/escape"
)

// maxLabelRunes bounds every free-text value in a label.
const maxLabelRunes = 56

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

// leftBreak stands for DOT's left-justified line break, \l, until the DOT
// text is written: gonum passes a value through only if it is a valid Go
// quoted string, which \l is not. escape.DOT escapes every control
// character, so the only raw \x01 in the text are these.
const leftBreak = "\x01"

// cutMiddle shortens s to n runes by leaving out its middle, marked "…":
// a third of what is kept from the start, the rest from the end.
func cutMiddle(s string, n int) string {
	r := []rune(s)
	if len(r) <= n || n < 3 {
		return s
	}
	head := (n - 1) / 3
	return string(r[:head]) + "…" + string(r[len(r)-(n-1-head):])
}
