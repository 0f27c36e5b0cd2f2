package escape

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// ErrStringTooLong is returned by a JSONReader when a string literal is
// longer than its MaxString.
var ErrStringTooLong = errors.New("JSON string too long")

// JSONReader passes a JSON text through to a json.Decoder and keeps the
// bytes that the JSON form of this package escapes (\udc80 to \udcff),
// which encoding/json alone would turn into U+FFFD: each string literal
// that holds such an escape reaches the decoder as a placeholder, and
// Restore puts the original strings back into the decoded value. Text
// without such escapes passes through unchanged.
type JSONReader struct {
	// MaxString, if positive, bounds the length of a string literal in
	// the input; a longer one fails the read with ErrStringTooLong. It
	// bounds what the reader holds, whatever the input.
	MaxString int

	r         io.Reader
	chunk     []byte
	pending   []byte
	err       error
	inString  bool
	escaped   bool
	lit       []byte
	originals []string
	in, out   int64   // bytes read from r; bytes handed out
	shifts    []shift // where a placeholder changed the length
}

// shift records that output offset out corresponds to input offset in.
type shift struct{ out, in int64 }

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
		j.transform(j.chunk[:n])
		if err != nil && j.err == nil {
			j.err = err
			if j.inString { // an unterminated literal: the decoder says so
				j.pending = append(j.pending, j.lit...)
				j.inString = false
			}
		}
	}
	n := copy(p, j.pending)
	j.pending = j.pending[n:]
	j.out += int64(n)
	return n, nil
}

// transform appends the output for the input bytes c to j.pending.
func (j *JSONReader) transform(c []byte) {
	base := j.in
	j.in += int64(len(c))
	for i := 0; i < len(c); {
		if !j.inString {
			k := bytes.IndexByte(c[i:], '"')
			if k < 0 {
				j.pending = append(j.pending, c[i:]...)
				return
			}
			j.pending = append(j.pending, c[i:i+k]...)
			i += k + 1
			j.inString, j.escaped = true, false
			j.lit = append(j.lit[:0], '"')
			continue
		}
		if j.escaped {
			j.escaped = false
			j.lit = append(j.lit, c[i])
			i++
			continue
		}
		k := bytes.IndexAny(c[i:], `"\`)
		closed := false
		if k < 0 {
			j.lit = append(j.lit, c[i:]...)
			i = len(c)
		} else {
			j.lit = append(j.lit, c[i:i+k+1]...)
			i += k + 1
			j.escaped = c[i-1] == '\\'
			closed = !j.escaped
		}
		if j.MaxString > 0 && len(j.lit) > j.MaxString {
			j.err = fmt.Errorf("%w: more than %d bytes", ErrStringTooLong, j.MaxString)
			j.pending = append(j.pending, j.lit...)
			j.inString, j.lit = false, j.lit[:0]
			return
		}
		if closed {
			j.inString = false
			j.emit(base + int64(i))
		}
	}
}

// emit hands out the literal in j.lit, which ended at input offset end,
// or a placeholder for it.
func (j *JSONReader) emit(end int64) {
	lit := j.lit
	if bytes.Contains(lit, []byte(`\u`)) {
		if s, err := UnquoteJSON(lit); err == nil && needsPlaceholder(s) {
			j.originals = append(j.originals, s)
			ph := appendMarshaled(nil, placeholderMark+strconv.Itoa(len(j.originals)-1))
			j.pending = append(j.pending, ph...)
			outEnd := j.out + int64(len(j.pending))
			j.shifts = append(j.shifts, shift{out: outEnd, in: end})
			return
		}
	}
	j.pending = append(j.pending, lit...)
}

// InputOffset maps an offset in what the reader handed out (a
// json.SyntaxError's, or a Decoder's InputOffset) to the offset in its
// input. An offset inside a placeholder maps to the end of its literal.
func (j *JSONReader) InputOffset(out int64) int64 {
	for k := len(j.shifts) - 1; k >= 0; k-- {
		if s := j.shifts[k]; s.out <= out {
			return out - s.out + s.in
		}
	}
	return out
}

// Restore replaces the placeholders in the value v points to with the
// strings they stand for: struct fields, slice, array and map elements,
// map keys and what pointers and interfaces hold.
func (j *JSONReader) Restore(v any) {
	if len(j.originals) == 0 {
		return
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		j.restore(rv.Elem())
	}
}

// original returns the string a placeholder stands for.
func (j *JSONReader) original(s string) (string, bool) {
	rest, ok := strings.CutPrefix(s, placeholderMark)
	if !ok {
		return "", false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || n >= len(j.originals) {
		return "", false
	}
	return j.originals[n], true
}

// restore replaces the placeholders in v, which is settable where a
// placeholder can be.
func (j *JSONReader) restore(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if s, ok := j.original(v.String()); ok && v.CanSet() {
			v.SetString(s)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			j.restore(v.Elem())
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		// What an interface holds cannot be set in place: copy, fix, put back.
		e := reflect.New(v.Elem().Type()).Elem()
		e.Set(v.Elem())
		j.restore(e)
		if v.CanSet() {
			v.Set(e)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if t.Field(i).IsExported() {
				j.restore(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			j.restore(v.Index(i))
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
			j.restore(k)
			j.restore(e)
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
