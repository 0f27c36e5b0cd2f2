package escape

import (
	"encoding/json"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrJSONString is wrapped by UnquoteJSON's errors.
var ErrJSONString = errors.New("not a JSON string")

// AppendJSON appends s to b as a JSON string. Valid UTF-8 is written byte
// for byte as encoding/json writes it (HTML-safe: <, > and & escaped, so
// the text can sit in a <script> element); each byte that is not part of
// valid UTF-8 is written as \udc80 to \udcff (see the package doc), where
// encoding/json would lose it to U+FFFD.
func AppendJSON(b []byte, s string) []byte {
	if plainJSON(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	if utf8.ValidString(s) {
		return appendMarshaled(b, s)
	}
	b = append(b, '"')
	for len(s) > 0 {
		n := validPrefix(s)
		if n > 0 {
			q := appendMarshaled(nil, s[:n])
			b = append(b, q[1:len(q)-1]...)
			s = s[n:]
			continue
		}
		b = append(b, `\udc`...)
		b = append(b, hexDigits[s[0]>>4], hexDigits[s[0]&0xf])
		s = s[1:]
	}
	return append(b, '"')
}

// plainJSON reports whether s is printable ASCII that JSON copies as is.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

func appendMarshaled(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil { // json.Marshal cannot fail on a string
		panic(err)
	}
	return append(b, q...)
}

// validPrefix returns the length of the longest prefix of s that is valid
// UTF-8.
func validPrefix(s string) int {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(s)
}

// UnquoteJSON decodes the JSON string literal lit (quotes included) as
// encoding/json does, except that the escapes \udc80 to \udcff of a lone
// low surrogate give back the bytes 0x80 to 0xff that AppendJSON wrote
// them for. Other lone surrogates and invalid UTF-8 become U+FFFD, as in
// encoding/json. UnquoteJSON(AppendJSON(nil, s)) is s for every s.
func UnquoteJSON(lit []byte) (string, error) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return "", ErrJSONString
	}
	lit = lit[1 : len(lit)-1]
	b := make([]byte, 0, len(lit))
	for i := 0; i < len(lit); {
		c := lit[i]
		switch {
		case c == '"' || c < 0x20:
			return "", ErrJSONString
		case c != '\\':
			if c < utf8.RuneSelf {
				b = append(b, c)
				i++
				continue
			}
			r, size := utf8.DecodeRune(lit[i:])
			b = utf8.AppendRune(b, r) // invalid bytes become U+FFFD
			i += size
			continue
		}
		if i+1 >= len(lit) {
			return "", ErrJSONString
		}
		e := lit[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(lit[i:])
			if !ok {
				return "", ErrJSONString
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r < 0xdc00 && i+6 <= len(lit) && lit[i] == '\\' && lit[i+1] == 'u' {
					if r2, ok := hex4(lit[i+2:]); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							b = utf8.AppendRune(b, dec)
							i += 6
							continue
						}
					}
				}
				if r >= 0xdc80 && r <= 0xdcff {
					b = append(b, byte(r-0xdc00))
					continue
				}
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", ErrJSONString
		}
	}
	return string(b), nil
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
