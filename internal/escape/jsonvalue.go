package escape

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// MarshalJSON and JSONReader give encoding/json's Marshal and Decoder the
// JSON form of this package for every string of a value, whatever its
// type, without a MarshalJSON method on each: before encoding/json sees a
// string, each byte that is not valid UTF-8, and each NUL, becomes a
// token of valid text (byteToken), and after it, each token's escape
// (\u0000byte:ff;) becomes the byte's own (\udcff, \u0000).

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// needsTokens reports whether encoding/json would not keep s as is, or s
// holds a NUL that could be mistaken for a token.
func needsTokens(s string) bool {
	return validPrefix(s) < len(s) || strings.IndexByte(s, 0) >= 0
}

// tokenize replaces each invalid byte and each NUL of s with its token.
func tokenize(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		n := validPrefix(s)
		if k := strings.IndexByte(s[:n], 0); k >= 0 {
			n = k
		}
		b.WriteString(s[:n])
		if n == len(s) {
			break
		}
		b.WriteString(byteToken)
		b.WriteByte(hexDigits[s[n]>>4])
		b.WriteByte(hexDigits[s[n]&0xf])
		b.WriteByte(';')
		s = s[n+1:]
	}
	return b.String()
}

// MarshalJSON is json.Marshal, except that every string of v, struct
// fields, slice and map elements and map keys included, is written in
// this package's JSON form (AppendJSON): a value whose strings are all
// valid UTF-8 without NUL is encoded by json.Marshal alone. Values of
// types with their own MarshalJSON or MarshalText are left to those
// methods; a field tagged ",string" that needs the form is refused.
func MarshalJSON(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || !hasRawString(rv) {
		return json.Marshal(v)
	}
	if quotedRawString(rv) {
		return nil, fmt.Errorf("escape: %T has a \",string\" field holding invalid UTF-8 or NUL, which this form cannot write", v)
	}
	out, err := json.Marshal(withTokens(rv).Interface())
	if err != nil {
		return nil, err
	}
	const tok = `\u0000byte:`
	var b []byte
	for {
		i := bytes.Index(out, []byte(tok))
		if i < 0 {
			break
		}
		end := i + len(tok) + 3
		// Text with an escaped backslash before "u0000byte:" is no token.
		if !realEscape(out, i) || end > len(out) || out[end-1] != ';' {
			b = append(b, out[:i+1]...)
			out = out[i+1:]
			continue
		}
		v, _ := hex4([]byte("00" + string(out[i+len(tok):end-1])))
		b = append(b, out[:i]...)
		if v == 0 {
			b = append(b, `\u0000`...)
		} else {
			b = append(b, `\udc`...)
			b = append(b, out[i+len(tok):end-1]...)
		}
		out = out[end:]
	}
	return append(b, out...), nil
}

// WriteJSONIndent writes v to w as json.Encoder does with
// SetIndent(prefix, indent), followed by a newline, with every string in
// this package's JSON form (MarshalJSON): the indented JSON outputs of
// kcmpgraph are written with it.
func WriteJSONIndent(w io.Writer, v any, prefix, indent string) error {
	out, err := MarshalJSON(v)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	// Indent copies string literals byte for byte: the escapes stay.
	if err := json.Indent(&b, out, prefix, indent); err != nil {
		return err
	}
	b.WriteByte('\n')
	_, err = w.Write(b.Bytes())
	return err
}

// realEscape reports whether the backslash at out[i] starts an escape,
// rather than being the second half of an escaped backslash.
func realEscape(out []byte, i int) bool {
	n := 0
	for i-n-1 >= 0 && out[i-n-1] == '\\' {
		n++
	}
	return n%2 == 0
}

// marshalsItself reports whether encoding/json hands values of type t to
// a method rather than looking inside them.
func marshalsItself(t reflect.Type) bool {
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)
}

// stringOption reports whether a field's JSON tag has the ,string option.
func stringOption(f reflect.StructField) bool {
	_, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
	for _, o := range strings.Split(opts, ",") {
		if o == "string" {
			return true
		}
	}
	return false
}

// visible reports whether encoding/json may write field f.
func visible(f reflect.StructField) bool { return f.IsExported() && f.Tag.Get("json") != "-" }

// quotedRawString reports whether v has a ",string" field, which
// encoding/json quotes twice, that holds a string needing tokens.
func quotedRawString(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && quotedRawString(v.Elem())
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			f := t.Field(i)
			if visible(f) && (stringOption(f) && hasRawString(v.Field(i)) || quotedRawString(v.Field(i))) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if quotedRawString(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if quotedRawString(it.Value()) {
				return true
			}
		}
	}
	return false
}

// hasRawString reports whether v holds a string that needs tokens.
func hasRawString(v reflect.Value) bool {
	if v.Kind() != reflect.String && marshalsItself(v.Type()) {
		return false
	}
	switch v.Kind() {
	case reflect.String:
		return needsTokens(v.String())
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && hasRawString(v.Elem())
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if visible(t.Field(i)) && hasRawString(v.Field(i)) {
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

// withTokens returns a copy of v in which every string that needs tokens
// has them.
func withTokens(v reflect.Value) reflect.Value {
	if !hasRawString(v) {
		return v
	}
	switch v.Kind() {
	case reflect.String:
		out := reflect.New(v.Type()).Elem()
		out.SetString(tokenize(v.String()))
		return out
	case reflect.Pointer:
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(withTokens(v.Elem()))
		return out
	case reflect.Interface:
		out := reflect.New(v.Type()).Elem()
		out.Set(withTokens(v.Elem()))
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if visible(t.Field(i)) {
				out.Field(i).Set(withTokens(v.Field(i)))
			}
		}
		return out
	case reflect.Slice:
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(withTokens(v.Index(i)))
		}
		return out
	case reflect.Array:
		out := reflect.New(v.Type()).Elem()
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(withTokens(v.Index(i)))
		}
		return out
	case reflect.Map:
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			out.SetMapIndex(withTokens(it.Key()), withTokens(it.Value()))
		}
		return out
	}
	return v
}
