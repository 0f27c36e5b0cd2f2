package escape

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// MarshalJSON and JSONReader give encoding/json's Marshal and Decoder the
// JSON form of this package for every string of a value, whatever its
// type, without a MarshalJSON method on each: a string that needs it (not
// valid UTF-8) is replaced by a placeholder before encoding/json sees it,
// and the placeholder by the string's own form after. A placeholder is
// placeholderMark and a number; placeholderMark starts with a NUL, which
// JSON writes as \u0000, and any string that holds the mark itself gets a
// placeholder too, so nothing else in a document ever looks like one.
const placeholderMark = "\x00kcmpgraph-bytes:"

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// needsPlaceholder reports whether encoding/json would not keep s as is,
// or s could be mistaken for a placeholder.
func needsPlaceholder(s string) bool {
	return validPrefix(s) < len(s) || strings.Contains(s, placeholderMark)
}

// MarshalJSON is json.Marshal, except that every string of v, struct
// fields, slice and map elements and map keys included, is written in
// this package's JSON form (AppendJSON): a value whose strings are all
// valid UTF-8 is encoded by json.Marshal alone and comes out identical.
// Values of types with their own MarshalJSON or MarshalText are left to
// those methods.
func MarshalJSON(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || !hasRawString(rv) {
		return json.Marshal(v)
	}
	var originals []string
	copied := withPlaceholders(rv, &originals)
	out, err := json.Marshal(copied.Interface())
	if err != nil {
		return nil, err
	}
	// Only placeholders hold the mark: every occurrence is one.
	mark := appendMarshaled(nil, placeholderMark)
	mark = mark[1 : len(mark)-1]
	var b []byte
	replaced := 0
	for from := 0; ; {
		i := bytes.Index(out[from:], mark)
		if i < 0 {
			break
		}
		i += from
		j := i + len(mark)
		k := j
		for k < len(out) && out[k] >= '0' && out[k] <= '9' {
			k++
		}
		// A placeholder is a whole string; anything else holding these
		// bytes is a string with an escaped backslash before "u0000".
		n, err := strconv.Atoi(string(out[j:k]))
		if err != nil || i == 0 || out[i-1] != '"' || k >= len(out) || out[k] != '"' || n >= len(originals) {
			from = j
			continue
		}
		b = append(b, out[:i-1]...) // without the opening quote
		b = AppendJSON(b, originals[n])
		out, from = out[k+1:], 0 // past the closing quote
		replaced++
	}
	if replaced != len(originals) {
		return nil, fmt.Errorf("escape: a string of %T is not written as a plain JSON string (a \",string\" field?)", v)
	}
	return append(b, out...), nil
}

// marshalsItself reports whether encoding/json hands values of type t to
// a method rather than looking inside them.
func marshalsItself(t reflect.Type) bool {
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)
}

// hasRawString reports whether v holds a string that needs a placeholder.
func hasRawString(v reflect.Value) bool {
	if v.Kind() != reflect.String && marshalsItself(v.Type()) {
		return false
	}
	switch v.Kind() {
	case reflect.String:
		return needsPlaceholder(v.String())
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && hasRawString(v.Elem())
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if t.Field(i).IsExported() && hasRawString(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return false // []byte is base64
		}
		for i := 0; i < v.Len(); i++ {
			if hasRawString(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if hasRawString(it.Key()) || hasRawString(it.Value()) {
				return true
			}
		}
	}
	return false
}

// withPlaceholders returns a copy of v in which every string that needs
// one is replaced by a placeholder whose number indexes originals.
func withPlaceholders(v reflect.Value, originals *[]string) reflect.Value {
	if !hasRawString(v) {
		return v
	}
	switch v.Kind() {
	case reflect.String:
		*originals = append(*originals, v.String())
		out := reflect.New(v.Type()).Elem()
		out.SetString(placeholderMark + strconv.Itoa(len(*originals)-1))
		return out
	case reflect.Pointer:
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(withPlaceholders(v.Elem(), originals))
		return out
	case reflect.Interface:
		out := reflect.New(v.Type()).Elem()
		out.Set(withPlaceholders(v.Elem(), originals))
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if t.Field(i).IsExported() {
				out.Field(i).Set(withPlaceholders(v.Field(i), originals))
			}
		}
		return out
	case reflect.Slice:
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(withPlaceholders(v.Index(i), originals))
		}
		return out
	case reflect.Array:
		out := reflect.New(v.Type()).Elem()
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(withPlaceholders(v.Index(i), originals))
		}
		return out
	case reflect.Map:
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			out.SetMapIndex(withPlaceholders(it.Key(), originals), withPlaceholders(it.Value(), originals))
		}
		return out
	}
	return v
}
