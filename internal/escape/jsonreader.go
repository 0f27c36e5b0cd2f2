package escape

import (
	"bytes"
	"io"
	"reflect"
	"strings"
)

// JSONReader passes a JSON text through to a json.Decoder and keeps the
// bytes that the JSON form of this package escapes (\udc80 to \udcff),
// which encoding/json alone turns into U+FFFD: inside strings, each such
// escape, and each \u0000, reaches the decoder as a token (see
// byteToken), and Restore turns the tokens in the decoded value back into
// bytes. A text without either escape passes through unchanged.
type JSONReader struct {
	r       io.Reader
	chunk   []byte
	pending []byte
	hold    []byte // an escape cut by the end of a read
	err     error
	// afterHigh is set when the last thing handed on was the escape of a
	// high surrogate: a low one right after it is half of a pair.
	afterHigh bool
	tokens    bool // a token was handed on
}

// NewJSONReader returns a JSONReader reading the JSON text in r.
func NewJSONReader(r io.Reader) *JSONReader {
	return &JSONReader{r: r, chunk: make([]byte, 64<<10)}
}

// Read implements io.Reader.
func (j *JSONReader) Read(p []byte) (int, error) {
	for len(j.pending) == 0 {
		if j.err != nil {
			return 0, j.err
		}
		n, err := j.r.Read(j.chunk)
		c := j.chunk[:n]
		if len(j.hold) > 0 {
			c = append(j.hold, c...)
			j.hold = nil
		}
		j.transform(c)
		if err != nil {
			j.err = err
			j.pending = append(j.pending, j.hold...) // a cut escape at the end: the decoder says so
			j.hold = nil
		}
	}
	n := copy(p, j.pending)
	j.pending = j.pending[n:]
	return n, nil
}

// transform appends the output for the input bytes c to j.pending. In
// JSON a backslash starts an escape, and only inside a string: the
// reader looks at backslashes alone, and hands everything else on as
// it is.
func (j *JSONReader) transform(c []byte) {
	for i := 0; i < len(c); {
		k := bytes.IndexByte(c[i:], '\\')
		if k < 0 {
			if i < len(c) {
				j.pending = append(j.pending, c[i:]...)
				j.afterHigh = false
			}
			return
		}
		if k > 0 {
			j.pending = append(j.pending, c[i:i+k]...)
			j.afterHigh = false
			i += k
		}
		if i+1 < len(c) && c[i+1] != 'u' {
			j.pending = append(j.pending, c[i:i+2]...)
			j.afterHigh = false
			i += 2
			continue
		}
		if i+6 > len(c) {
			j.hold = append([]byte(nil), c[i:]...)
			return
		}
		r, ok := hex4(c[i+2 : i+6])
		switch {
		case ok && (r == 0 || r >= 0xdc80 && r <= 0xdcff && !j.afterHigh):
			j.pending = appendByteToken(j.pending, byte(r))
			j.tokens = true
			j.afterHigh = false
		default:
			j.pending = append(j.pending, c[i:i+6]...)
			j.afterHigh = ok && r >= 0xd800 && r < 0xdc00
		}
		i += 6
	}
}

// byteToken stands for one byte inside a decoded string: NUL, the prefix,
// two hex digits and ';'. JSON can give a string a NUL only by \u0000,
// and every \u0000 becomes a token, so every NUL in a decoded string
// starts one.
const byteToken = "\x00byte:"

// appendByteToken appends the JSON escape of the token for c.
func appendByteToken(b []byte, c byte) []byte {
	b = append(b, `\u0000byte:`...)
	return append(b, hexDigits[c>>4], hexDigits[c&0xf], ';')
}

// restoreString turns the tokens in s back into bytes.
func restoreString(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, byteToken)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		end := len(byteToken) + 3
		v, ok := rune(0), false
		if len(s) >= end && s[end-1] == ';' {
			v, ok = hex4([]byte("00" + s[len(byteToken):end-1]))
		}
		if !ok { // not a token: keep the NUL
			b.WriteByte(0)
			s = s[1:]
			continue
		}
		b.WriteByte(byte(v))
		s = s[end:]
	}
}

// Restore turns the tokens in the value v points to back into the bytes
// they stand for: struct fields, slice, array and map elements, map keys
// and what pointers and interfaces hold.
func (j *JSONReader) Restore(v any) {
	if !j.tokens {
		return
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		restore(rv.Elem())
	}
}

// restore turns the tokens in v back into bytes; v is settable where a
// token can be.
func restore(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); strings.IndexByte(s, 0) >= 0 && v.CanSet() {
			v.SetString(restoreString(s))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			restore(v.Elem())
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		// What an interface holds cannot be set in place: copy, fix, put back.
		e := reflect.New(v.Elem().Type()).Elem()
		e.Set(v.Elem())
		restore(e)
		if v.CanSet() {
			v.Set(e)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if t.Field(i).IsExported() {
				restore(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := 0; i < v.Len(); i++ {
			restore(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		// Map entries cannot be set in place: copy each, fix, put back.
		type entry struct{ old, k, v reflect.Value }
		var fixed []entry
		it := v.MapRange()
		for it.Next() {
			k := reflect.New(it.Key().Type()).Elem()
			k.Set(it.Key())
			e := reflect.New(it.Value().Type()).Elem()
			e.Set(it.Value())
			restore(k)
			restore(e)
			fixed = append(fixed, entry{it.Key(), k, e})
		}
		for _, f := range fixed {
			v.SetMapIndex(f.old, reflect.Value{})
		}
		for _, f := range fixed {
			v.SetMapIndex(f.k, f.v)
		}
	}
}
