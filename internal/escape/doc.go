// Package escape makes hostile text inert for the medium it is written to.
// Every string kcmpgraph shows comes from /proc or from a snapshot file,
// and both are written by other users: a command name, a path or a cgroup
// may hold quotes, newlines, terminal escape sequences, bidi overrides,
// zero-width characters, markup or invalid UTF-8. Each medium has one
// function here, and every output of kcmpgraph escapes through it:
//
//   - Text: terminals, text reports, error messages and warnings.
//   - DOT: graphviz labels (and through them SVG).
//   - HTML: SVG and HTML text and attribute values.
//   - AppendJSON, UnquoteJSON, MarshalJSON and JSONReader: JSON, where
//     invalid UTF-8 is written in an escaped form that loads back byte
//     for byte.
//
// Text is the base: DOT and HTML escape its output further for their own
// syntax, so a string reads the same in a table, a diagram and a web page.
// Text escapes control characters (C0, DEL, C1), the line and paragraph
// separators, the Unicode format characters (bidi embeddings, overrides
// and isolates U+202A–U+202E and U+2066–U+2069, zero-width spaces and
// joiners U+200B–U+200F, the byte order mark U+FEFF, soft hyphens, tag
// characters), the other default-ignorable code points (Hangul fillers,
// U+034F), variation selectors other than the text and emoji presentation
// selectors U+FE0E and U+FE0F, U+FFFD (it stands for bytes an older tool
// lost), the backslash, and every byte that is not part of valid UTF-8.
// The escapes are Go's: \n, \t, \x1b, \u202e, \U000e0041, \xff, \\; so
// strconv.Unquote of the quoted result gives the original bytes back.
//
// The JSON form keeps every byte: a byte that is not part of valid UTF-8
// is written as the escape of a lone low surrogate, \udc80 to \udcff for
// the bytes 0x80 to 0xff (Python's "surrogateescape", PEP 383). Valid
// UTF-8 never encodes a surrogate, so the form is unambiguous; a JSON
// reader that does not know it (encoding/json, jq, older kcmpgraph) reads
// U+FFFD in those places, exactly what they read before the form existed.
// For valid UTF-8 the output is byte for byte what encoding/json writes.
//
// What the package is not for: deciding what to show (cutting long text
// to a width is the caller's), and trusted text such as kcmpgraph's own
// messages, which need no escaping.
package escape
