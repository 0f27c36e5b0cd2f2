package escape

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// Text makes s safe to print on a terminal or in a text report: the
// characters listed in the package doc become Go escapes, so a crafted
// name cannot move the cursor, fake or hide a line, reorder the rest of
// it, or change colours. A string that needs no escaping comes back
// unchanged, without allocating.
func Text(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s)+16)
	b = append(b, s[:i]...)
	return string(appendText(b, s[i:]))
}

// Inert reports whether s can be printed on a terminal as it is: it holds
// nothing Text escapes except backslashes (which Text doubles so that its
// escapes can be told from text, but which a terminal does not act on).
// Text's own output is inert, so a message assembled from escaped parts
// needs no second pass.
func Inert(s string) bool {
	for i := firstUnsafe(s); i >= 0; i = firstUnsafe(s) {
		if s[i] != '\\' {
			return false
		}
		s = s[i+1:]
	}
	return true
}

// AppendText appends Text(s) to b.
func AppendText(b []byte, s string) []byte {
	i := firstUnsafe(s)
	if i < 0 {
		return append(b, s...)
	}
	b = append(b, s[:i]...)
	return appendText(b, s[i:])
}

// firstUnsafe returns the index of the first byte of s that Text escapes,
// or -1.
func firstUnsafe(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f || c == '\\' {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unsafeRune(r) {
			return i
		}
		i += size
	}
	return -1
}

// unsafeRune reports whether Text escapes the valid, non-ASCII rune r.
func unsafeRune(r rune) bool {
	switch {
	case r < 0xa0: // C1 controls
		return true
	case r == 0x2028, r == 0x2029, r == utf8.RuneError:
		return true
	case r == 0xfe0e, r == 0xfe0f: // text and emoji presentation
		return false
	}
	return unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

func appendText(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == '\\':
				b = append(b, `\\`...)
			case c >= 0x20 && c != 0x7f:
				b = append(b, c)
			default:
				b = appendControl(b, c)
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		case unsafeRune(r):
			b = appendRuneEscape(b, r)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// appendControl escapes an ASCII control character as Go does.
func appendControl(b []byte, c byte) []byte {
	if i := strings.IndexByte("\a\b\f\n\r\t\v", c); i >= 0 {
		return append(b, '\\', "abfnrtv"[i])
	}
	return append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
}

// appendRuneEscape writes r as \uXXXX or \UXXXXXXXX.
func appendRuneEscape(b []byte, r rune) []byte {
	if r > 0xffff {
		b = append(b, '\\', 'U')
		for shift := 28; shift >= 0; shift -= 4 {
			b = append(b, hexDigits[r>>uint(shift)&0xf])
		}
		return b
	}
	b = append(b, '\\', 'u')
	for shift := 12; shift >= 0; shift -= 4 {
		b = append(b, hexDigits[r>>uint(shift)&0xf])
	}
	return b
}
