package escape

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// hostile are the strings every medium is tested with: what a process can
// put in its comm, its cmdline or a file name, and what a crafted
// snapshot can hold.
var hostile = []string{
	"", "plain", "nginx: worker process", "/var/log/app.log", "日本語のファイル", "emoji ❤️ ok",
	"evil\n\x1b[2J<script>alert(1)</script>", "\r\x07bell\x08\x7f", "\x9b31m", // C1 CSI
	"/tmp/invoice\u202egpj.exe", "\u2066isolate\u2069", "zero\u200bwidth\u200f", "\ufeffbom",
	"line\u2028para\u2029", "\u00adsoft", "tag\U000e0041", "fill\u3164er", "vs\U000e0100",
	"amp&lt;&#x3c;", `quote"and'apos`, `back\slash\n`, "\xff\xfe(", "\xed\xa0\x80 surrogate bytes",
	"\ufffd replacement", "nul\x00byte", "a\x00byte:ff;", "\x00byte:zz;\x00", "\x00byte:f",
	"\\u0000byte:ff;", `\udcff`, "<b>&amp;</b>", "\U0001f480\x80",
	strings.Repeat("long ", 100),
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                     "plain",
		"evil\n\x1b[2J":             `evil\n\x1b[2J`,
		"\r\a\b\f\v\t":              `\r\a\b\f\v\t`,
		"\x7f\u009b\x9b":            `\x7f\u009b\x9b`,
		"/tmp/invoice\u202egpj.exe": `/tmp/invoice\u202egpj.exe`,
		"\u2066\u2069\u200b\u200f":  `\u2066\u2069\u200b\u200f`,
		"\ufeff\u2028\u2029":        `\ufeff\u2028\u2029`,
		"tag\U000e0041":             `tag\U000e0041`,
		"\xff\xfe":                  `\xff\xfe`,
		`a\b`:                       `a\\b`,
		"\ufffd":                    `\ufffd`,
		"❤️ 日本":                     "❤️ 日本",
		`"quoted" <b>`:              `"quoted" <b>`,
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDOT(t *testing.T) {
	for in, want := range map[string]string{
		"plain":         `"plain"`,
		`a"b`:           `"a\"b"`,
		`a\b`:           `"a\\\\b"`,
		"a\nb":          `"a\\nb"`,
		"\x1b":          `"\\x1b"`,
		"\xff":          `"\\xff"`,
		"amp&lt;&#x3c;": `"amp&amp;lt;&amp;#x3c;"`,
		"<b>":           `"<b>"`,
		"\u202e":        `"\\u202e"`,
	} {
		if got := DOT(in); got != want {
			t.Errorf("DOT(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestHTML(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                    "plain",
		`<script>"x"&'y'</script>`: "&lt;script&gt;&#34;x&#34;&amp;&#39;y&#39;&lt;/script&gt;",
		"amp&lt;":                  "amp&amp;lt;",
		"rlo\u202e\x1b":            `rlo\u202e\x1b`,
	} {
		if got := HTML(in); got != want {
			t.Errorf("HTML(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAppendJSON(t *testing.T) {
	for in, want := range map[string]string{
		"plain":      `"plain"`,
		"\xff(":      `"\udcff("`,
		"a\xc3":      `"a\udcc3"`,
		"é\xe9é":     `"é\udce9é"`,
		"<\xff>":     `"\u003c\udcff\u003e"`,
		"\x00\n\xed": `"\u0000\n\udced"`,
	} {
		if got := string(AppendJSON(nil, in)); got != want {
			t.Errorf("AppendJSON(%q) = %s, want %s", in, got, want)
		}
	}
	// A genuine pair that encodes U+1F480 is a character, not a byte.
	if got, err := UnquoteJSON([]byte(`"\ud83d\udc80 \udc80"`)); err != nil || got != "\U0001f480 \x80" {
		t.Errorf("UnquoteJSON = %q, %v", got, err)
	}
	for _, bad := range []string{``, `"`, `"a`, `"\"`, `"\x"`, `"\u12"`, "\"\n\"", `"a"b"`} {
		if _, err := UnquoteJSON([]byte(bad)); err == nil {
			t.Errorf("UnquoteJSON(%q) accepted", bad)
		}
	}
}

// checkText checks what Text promises for one input.
func checkText(t *testing.T, s string) {
	out := Text(s)
	if !utf8.ValidString(out) {
		t.Fatalf("Text(%q) = %q: not valid UTF-8", s, out)
	}
	for _, r := range out {
		if r != '\\' && r < utf8.RuneSelf && (r < 0x20 || r == 0x7f) || r >= utf8.RuneSelf && unsafeRune(r) {
			t.Fatalf("Text(%q) = %q holds %U", s, out, r)
		}
	}
	back, err := strconv.Unquote(`"` + strings.ReplaceAll(out, `"`, `\"`) + `"`)
	if err != nil || back != s {
		t.Fatalf("Text(%q) = %q does not unquote back (%q, %v)", s, out, back, err)
	}
	if firstUnsafe(s) < 0 && out != s {
		t.Fatalf("Text changed the clean string %q to %q", s, out)
	}
	if !Inert(out) {
		t.Fatalf("Text(%q) = %q is not Inert", s, out)
	}
	if Inert(s) != (out == strings.ReplaceAll(s, `\`, `\\`)) {
		t.Fatalf("Inert(%q) = %v, but Text gives %q", s, Inert(s), out)
	}
	if got := string(AppendText([]byte("x"), s)); got != "x"+out {
		t.Fatalf("AppendText(%q) = %q, want %q", s, got, "x"+out)
	}
}

// dotLabel decodes a DOT quoted string the way graphviz does for a plain
// label, failing on any escape or entity it would interpret otherwise.
func dotLabel(t *testing.T, q string) string {
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		t.Fatalf("%s is not a quoted string", q)
	}
	if _, err := strconv.Unquote(q); err != nil {
		t.Fatalf("%s is not a Go string literal: gonum would quote it again", q)
	}
	in := q[1 : len(q)-1]
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		switch c := in[i]; c {
		case '"':
			t.Fatalf("%s ends early", q)
		case '\\':
			if i+1 == len(in) || (in[i+1] != '\\' && in[i+1] != '"') {
				t.Fatalf("%s holds an escape graphviz interprets", q)
			}
			b.WriteByte(in[i+1])
			i++
		case '&':
			if !strings.HasPrefix(in[i:], "&amp;") {
				t.Fatalf("%s holds an entity graphviz decodes", q)
			}
			b.WriteByte('&')
			i += len("&amp;") - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func checkDOT(t *testing.T, s string) {
	out := DOT(s)
	if got := dotLabel(t, out); got != Text(s) {
		t.Fatalf("DOT(%q) = %s shows %q, want %q", s, out, got, Text(s))
	}
}

func checkHTML(t *testing.T, s string) {
	out := HTML(s)
	if strings.ContainsAny(out, `<>"'`) {
		t.Fatalf("HTML(%q) = %q holds markup", s, out)
	}
	for i := strings.IndexByte(out, '&'); i >= 0; i = strings.IndexByte(out[i+1:], '&') + i + 1 {
		rest := out[i:]
		if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") &&
			!strings.HasPrefix(rest, "&#34;") && !strings.HasPrefix(rest, "&#39;") {
			t.Fatalf("HTML(%q) = %q holds a stray &", s, out)
		}
		if strings.IndexByte(out[i+1:], '&') < 0 {
			break
		}
	}
	if got := html.UnescapeString(out); got != Text(s) {
		t.Fatalf("HTML(%q) = %q reads as %q, want %q", s, out, got, Text(s))
	}
}

func checkJSON(t *testing.T, s string) {
	out := AppendJSON(nil, s)
	if !json.Valid(out) || !utf8.Valid(out) || bytes.ContainsAny(out, "<>&") {
		t.Fatalf("AppendJSON(%q) = %s: not valid, HTML-safe JSON", s, out)
	}
	old, _ := json.Marshal(s)
	if utf8.ValidString(s) && !bytes.Equal(out, old) {
		t.Fatalf("AppendJSON(%q) = %s, json.Marshal wrote %s", s, out, old)
	}
	back, err := UnquoteJSON(out)
	if err != nil || back != s {
		t.Fatalf("AppendJSON(%q) = %s unquotes to %q, %v", s, out, back, err)
	}
	// A reader that does not know the form reads what it read before.
	var a, b string
	if json.Unmarshal(out, &a) != nil || json.Unmarshal(old, &b) != nil || a != b {
		t.Fatalf("encoding/json reads AppendJSON(%q) as %q, json.Marshal's form as %q", s, a, b)
	}
	// UnquoteJSON agrees with encoding/json on its own output.
	if got, err := UnquoteJSON(old); err != nil || got != b {
		t.Fatalf("UnquoteJSON(%s) = %q, %v; encoding/json read %q", old, got, err, b)
	}
}

// record has every shape of string MarshalJSON and JSONReader handle.
type record struct {
	Name  string            `json:"name"`
	Args  []string          `json:"args,omitempty"`
	Map   map[string]string `json:"map,omitempty"`
	Ptr   *string           `json:"ptr,omitempty"`
	Any   any               `json:"any,omitempty"`
	Inner struct {
		Deep [2]string `json:"deep"`
	} `json:"inner"`
	Count int `json:"count"`
}

func newRecord(a, b string) record {
	r := record{Name: a, Args: []string{b, a}, Map: map[string]string{a: b, "k": a}, Ptr: &b, Any: a, Count: 7}
	r.Inner.Deep = [2]string{b, "x"}
	return r
}

func checkValue(t *testing.T, a, b string) {
	in := newRecord(a, b)
	out, err := MarshalJSON(in)
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	if !json.Valid(out) {
		t.Fatalf("MarshalJSON wrote invalid JSON: %s", out)
	}
	if old, _ := json.Marshal(in); !hasRawString(reflect.ValueOf(in)) && !bytes.Equal(out, old) {
		t.Fatalf("MarshalJSON = %s, json.Marshal wrote %s", out, old)
	}
	jr := NewJSONReader(iotest.OneByteReader(bytes.NewReader(out)))
	var got record
	if err := json.NewDecoder(jr).Decode(&got); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	jr.Restore(&got)
	if got.Any != nil {
		got.Any = got.Any.(string)
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip of %#v through %s gave %#v", in, out, got)
	}
}

func TestProperties(t *testing.T) {
	for _, s := range hostile {
		checkText(t, s)
		checkDOT(t, s)
		checkHTML(t, s)
		checkJSON(t, s)
		checkValue(t, s, "\xfe"+s)
	}
}

// TestJSONReaderPassesThrough: a JSON text without the escapes reaches
// the decoder byte for byte, whatever the chunking.
func TestJSONReaderPassesThrough(t *testing.T) {
	in := `{"a": "x\"y\\", "b": ["\u0041\ud83d\udc80", 1, true], "\u00e9": null}` + "\n"
	for _, r := range []io.Reader{strings.NewReader(in), iotest.OneByteReader(strings.NewReader(in)), iotest.HalfReader(strings.NewReader(in))} {
		out, err := io.ReadAll(NewJSONReader(r))
		if err != nil || string(out) != in {
			t.Errorf("read %q, %v; want the input", out, err)
		}
	}
}

func FuzzText(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkText(t, s) })
}

func FuzzDOT(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkDOT(t, s) })
}

func FuzzHTML(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkHTML(t, s) })
}

func FuzzJSON(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkJSON(t, s) })
}

func FuzzJSONValue(f *testing.F) {
	for i, s := range hostile {
		f.Add(s, hostile[(i+1)%len(hostile)])
	}
	f.Fuzz(func(t *testing.T, a, b string) { checkValue(t, a, b) })
}

// FuzzJSONReader: on any input, the reader hands on exactly its input
// unless a literal needed a placeholder, and it never fails where the
// decoder would not.
func FuzzJSONReader(f *testing.F) {
	f.Add([]byte(`{"a": "\udcff", "b": ["x", "\u0000byte:ff;", "\ud83d\udc80\udc80"]}`))
	f.Add([]byte(`"\\udcff\""`))
	f.Add([]byte(`{"a":"x`))
	f.Fuzz(func(t *testing.T, in []byte) {
		jr := NewJSONReader(iotest.HalfReader(bytes.NewReader(in)))
		out, err := io.ReadAll(jr)
		if err != nil {
			t.Fatal(err)
		}
		if !jr.tokens && !bytes.Equal(out, in) {
			t.Fatalf("changed %q to %q", in, out)
		}
		var a, b any
		errIn, errOut := json.Unmarshal(in, &a), json.Unmarshal(out, &b)
		if (errIn == nil) != (errOut == nil) {
			t.Fatalf("decoding %q: %v; through the reader: %v", in, errIn, errOut)
		}
	})
}

// TestMarshalJSONFollowsVisibility: a field encoding/json hides (shadowed
// by an outer field of the same name, or tagged "-") is no trouble; a
// ",string" field, which encoding/json quotes twice, is refused rather
// than written with a placeholder in it.
func TestMarshalJSONFollowsVisibility(t *testing.T) {
	type inner struct {
		Name string `json:"name"`
	}
	type outer struct {
		inner
		Name   string `json:"name"`
		Hidden string `json:"-"`
	}
	v := outer{inner: inner{Name: "\xffhidden"}, Name: "shown\xfe", Hidden: "\xfd"}
	got, err := MarshalJSON(v)
	if err != nil || string(got) != `{"name":"shown\udcfe"}` {
		t.Errorf("MarshalJSON = %s, %v", got, err)
	}
	type quoted struct {
		N string `json:"n,string"`
	}
	if got, err := MarshalJSON(quoted{N: "\xff"}); err == nil {
		t.Errorf("a ,string field was written: %s", got)
	}
	if got, err := MarshalJSON(quoted{N: `\u0000byte:ff;`}); err != nil || string(got) != `{"n":"\"\\\\u0000byte:ff;\""}` {
		t.Errorf("a ,string field holding the mark as text: %s, %v", got, err)
	}
}

// TestWriteJSONIndent: the indented form is encoding/json's for valid
// UTF-8 and keeps every byte of the rest.
func TestWriteJSONIndent(t *testing.T) {
	for i, s := range hostile {
		in := newRecord(s, hostile[(i+1)%len(hostile)])
		var got, want bytes.Buffer
		if err := WriteJSONIndent(&got, in, "", "  "); err != nil {
			t.Fatal(err)
		}
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(in); err != nil {
			t.Fatal(err)
		}
		if !hasRawString(reflect.ValueOf(in)) && got.String() != want.String() {
			t.Errorf("WriteJSONIndent = %s, json.Encoder wrote %s", got.String(), want.String())
		}
		jr := NewJSONReader(&got)
		var back record
		if err := json.NewDecoder(jr).Decode(&back); err != nil {
			t.Fatal(err)
		}
		jr.Restore(&back)
		back.Any = in.Any
		if !reflect.DeepEqual(back, in) {
			t.Errorf("WriteJSONIndent of %q did not read back", s)
		}
	}
}
