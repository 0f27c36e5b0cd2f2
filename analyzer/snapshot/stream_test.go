package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
)

// TestInvalidUTF8RoundTrip: bytes that are not UTF-8, in any string of a
// snapshot, are written in the escaped form and loaded back byte for
// byte; a reader that does not know the form (encoding/json) reads U+FFFD
// there, as it read in snapshots before the form existed.
func TestInvalidUTF8RoundTrip(t *testing.T) {
	s := synthetic(3, 4)
	s.Host.Hostname = "host\xff"
	p := &s.Processes[1]
	p.Comm, p.Exe, p.Cgroup = "w\xfe\x00rk", "/usr/bin/\xc3(", "/sys\x80"
	p.Cmdline = []string{"arg\xff", "\x00", "ok", "\U0001f480\x80"}
	p.FDs[2].Target = "/srv/caf\xe9 \u00e9\x00.txt"
	s.Warnings = []string{"warn \xed\xa0\x80"}
	var buf bytes.Buffer
	if err := s.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"host\udcff"`, `"w\udcfe\u0000rk"`, `"/srv/caf\udce9 é\u0000.txt"`, `"\ud83d\udc80\udc80"`} {
		if !bytes.Contains(buf.Bytes(), []byte(want)) && !(want == `"\ud83d\udc80\udc80"` && bytes.Contains(buf.Bytes(), []byte("\"\U0001f480\\udc80\""))) {
			t.Errorf("the JSON lacks %s", want)
		}
	}
	got, err := Parse(buf.Bytes(), "roundtrip")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Processes[1], s.Processes[1]) || got.Host.Hostname != s.Host.Hostname || !reflect.DeepEqual(got.Warnings, s.Warnings) {
		t.Errorf("round trip changed the strings:\n%+v\nwant\n%+v", got.Processes[1], s.Processes[1])
	}
	var old struct {
		Host struct {
			Hostname string `json:"hostname"`
		} `json:"host"`
	}
	if err := json.Unmarshal(buf.Bytes(), &old); err != nil || old.Host.Hostname != "host\ufffd" {
		t.Errorf("encoding/json reads the hostname as %q (%v), want host\\ufffd", old.Host.Hostname, err)
	}
}

// countingReader counts what a loader read.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestRefusedEarly: input that cannot become a snapshot is refused where
// that shows, after reading little of it, however long it goes on.
func TestRefusedEarly(t *testing.T) {
	const limit = 8 << 20
	head := `{"schema": "kcmpgraph.snapshot/v1", `
	for _, c := range []struct {
		name           string
		prefix, repeat string
		want           string
		maxRead        int64
	}{
		{"zeros (/dev/zero)", "", "\x00", "not a JSON object", 1 << 16},
		{"text", "", "y\n", "not a JSON object", 1 << 16},
		{"an array", "", "[", "not a JSON object", 1 << 16},
		{"a string without end", head + `"x": "`, "a", "a string longer than", maxString + 1<<17},
		{"deep nesting", head + `"x": `, "[", "nested more than 64 deep", 1 << 16},
		{"another schema", `{"schema": "kcmpgraph.snapshot/v2", "processes": [`, `{"pid": 1},`, `"kcmpgraph.snapshot/v2" is not supported`, 1 << 17},
		{"a number without end", head + `"x": 1`, "1", "a number longer than", 1 << 16},
		{"two objects", head + `"processes": []}`, "{}", "after the end of the JSON object", 1 << 16},
		{"processes without end", head + `"processes": [`, `{"pid": 1, "fds": [{"fd": 0, "target": "/dev/null"}]},`, "limit", limit + 1<<17},
		// Tiny JSON that decodes large is refused by what it would take.
		{"empty fds without end", head + `"processes": [{"pid": 1, "fds": [`, `{},`, "limit", 1 << 20},
		{"tiny processes without end", head + `"processes": [`, `{},`, "limit", 1 << 20},
		{"tids without end", head + `"processes": [{"pid": 1, "tasks": [`, `1,`, "limit", 4 << 20},
	} {
		cr := &countingReader{r: &testkit.Endless{Prefix: []byte(c.prefix), Pattern: []byte(c.repeat)}}
		_, err := Load(cr, "in", LoadOptions{MaxBytes: limit})
		var le *LoadError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want a LoadError with %q", c.name, err, c.want)
		}
		if cr.n > c.maxRead {
			t.Errorf("%s: read %d bytes before refusing, want at most %d", c.name, cr.n, c.maxRead)
		}
	}
	// A file larger than the limit is refused before it is read.
	path := filepath.Join(t.TempDir(), "sparse.json")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 8<<30); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := LoadFile(path, LoadOptions{}); !errors.Is(err, ErrTooLarge) || time.Since(start) > time.Second {
		t.Errorf("an 8 GiB file: %v after %v, want ErrTooLarge at once", err, time.Since(start))
	}
}

// TestSyntaxErrorPositions: a syntax error names the line and column of
// the byte where the JSON breaks.
func TestSyntaxErrorPositions(t *testing.T) {
	for in, want := range map[string]string{
		"{\n \"schema\": \"kcmpgraph.snapshot/v1\",\n \"processes\": [,]\n}\n": "f:3:16: bad JSON: unexpected ','",
		"{\"a\": tru}":         "f:1:10: bad JSON: unexpected '}' in literal true",
		"{\"a\": \"x\ny\"}":    "f:1:9: bad JSON: unexpected byte 0x0a in a string",
		"{\"a\": 01}":          "f:1:8: bad JSON: unexpected '1' after a leading 0",
		"{\"a\": [1 2]}":       "f:1:10: bad JSON: unexpected '2' after a value",
		"{\"a\": \"\\q\"}":     "f:1:9: bad JSON: unexpected 'q' in a string escape",
		"{\"a\"\n\n  1}":       "f:3:3: bad JSON: unexpected '1' after an object key",
		"{\"a\": 1":            "f:1:8: bad JSON: unexpected end of input",
		"\ufeff{}":             "f:1:1: bad JSON: byte 0xef: not a JSON object",
		"  \n\t ":              "f: empty file",
		"{\"a\": [}":           "f:1:8: bad JSON: unexpected '}' looking for a value",
		"{\"a\": 1, }":         "f:1:10: bad JSON: unexpected '}' looking for an object key",
		"{\"a\": -}":           "f:1:8: bad JSON: unexpected '}' in a number",
		"{\"a\": 1.}":          "f:1:9: bad JSON: unexpected '}' after a decimal point",
		"{\"a\": 1e}":          "f:1:9: bad JSON: unexpected '}' in an exponent",
		"{\"a\": \"\\u12x4\"}": "f:1:12: bad JSON: unexpected 'x' in a \\u escape",
	} {
		_, err := Parse([]byte(in), "f")
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %s...", in, err, want)
		}
	}
}

// FuzzSyntax: the syntax check accepts exactly the JSON objects that
// encoding/json accepts, within its bounds, whatever the input.
func FuzzSyntax(f *testing.F) {
	for _, s := range []string{`{}`, `{"a": [1, -2.5e+3, true, false, null, "x\u00e9\n"]}`, `{"a": {"b": []}} `,
		`{"a": 01}`, `[1]`, `{"a": "\ud83d"}`, "{\"a\":\"\x01\"}", `{"a":1}{}`, `{"a" 1}`, `{,}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		_, err := io.ReadAll(newSyntaxReader(bytes.NewReader(in)))
		trimmed := bytes.TrimLeft(in, " \t\r\n")
		if len(trimmed) == 0 {
			return // whitespace only: the reader ends, the loader says "empty"
		}
		want := json.Valid(in) && len(trimmed) > 0 && trimmed[0] == '{' && withinBounds(in)
		if (err == nil) != want {
			t.Fatalf("syntax check of %q: %v; encoding/json valid: %v", in, err, json.Valid(in))
		}
	})
}

// withinBounds reports whether a valid JSON text nests at most maxDepth
// deep and has no number longer than maxNumberLen.
func withinBounds(in []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return true
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				if depth++; depth > maxDepth {
					return false
				}
			} else {
				depth--
			}
		case json.Number:
			if len(v) > maxNumberLen {
				return false
			}
		}
	}
}

// TestLoadUnsorted: a snapshot in any order loads in canonical order, so
// look-ups are binary searches.
func TestLoadUnsorted(t *testing.T) {
	s := synthetic(50, 6)
	for i, j := 0, len(s.Processes)-1; i < j; i, j = i+1, j-1 {
		s.Processes[i], s.Processes[j] = s.Processes[j], s.Processes[i]
	}
	fds := s.Processes[7].FDs
	fds[0], fds[5] = fds[5], fds[0]
	var buf bytes.Buffer
	if err := s.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Parse(buf.Bytes(), "unsorted")
	if err != nil {
		t.Fatal(err)
	}
	for i := range got.Processes {
		p := &got.Processes[i]
		if i > 0 && got.Processes[i-1].PID >= p.PID {
			t.Fatalf("processes not in pid order at %d", i)
		}
		for k := 1; k < len(p.FDs); k++ {
			if p.FDs[k-1].FD >= p.FDs[k].FD {
				t.Fatalf("fds of pid %d not in order", p.PID)
			}
		}
		if got.Process(p.PID) != p {
			t.Fatalf("Process(%d) does not find it", p.PID)
		}
	}
}

// TestLoadCancelled: a cancelled load stops and says why, with the
// context's error rather than a complaint about the input.
func TestLoadCancelled(t *testing.T) {
	var buf bytes.Buffer
	if err := synthetic(2000, 10).Encode(&buf); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := LoadContext(ctx, &buf, "big", LoadOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	var le *LoadError
	if _, err := LoadContext(ctx, strings.NewReader(`{}`), "small", LoadOptions{}); errors.As(err, &le) {
		t.Errorf("a cancelled load reported a LoadError: %v", err)
	}
}

// FuzzMemberCompact: the fast member reader agrees with encoding/json on
// everything it accepts.
func FuzzMemberCompact(f *testing.F) {
	for _, s := range []string{`{"pid":1,"fd":2}`, `{"pid":10,"tid":12}`, `{"pid":13,"fd":0,"tid":14}`, `{"pid":-1,"fd":-2}`,
		`{"pid":1,"pid":2}`, `{"pid":1,"fd":2,}`, `{"fd":1}`, `{"pid":123456789012,"fd":1}`, `{"x":1}`, `{ "pid": 1 }`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast memberJSON
		if !fast.parseCompact(b) {
			return
		}
		var slow memberJSON
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatalf("%q: the fast reader accepts what encoding/json refuses: %v", b, err)
		}
		same := func(a, b *int) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
		if !same(fast.PID, slow.PID) || !same(fast.FD, slow.FD) || !same(fast.TID, slow.TID) {
			t.Fatalf("%q: fast %v %v %v, encoding/json %v %v %v", b, fast.PID, fast.FD, fast.TID, slow.PID, slow.FD, slow.TID)
		}
	})
}

// TestProcessIndex: Process finds every process of a loaded snapshot after
// the processes are shuffled, or renumbered in order, and nil for a pid
// that is not there.
func TestProcessIndex(t *testing.T) {
	var buf bytes.Buffer
	if err := synthetic(300, 2).Encode(&buf); err != nil {
		t.Fatal(err)
	}
	s, err := Parse(buf.Bytes(), "index")
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string) {
		t.Helper()
		for i := range s.Processes {
			if p := s.Process(s.Processes[i].PID); p != &s.Processes[i] {
				t.Fatalf("%s: Process(%d) = %v", what, s.Processes[i].PID, p)
			}
		}
		if s.Process(1_000_000) != nil || s.Process(0) != nil {
			t.Fatalf("%s: an absent pid was found", what)
		}
	}
	check("loaded")
	r := rand.New(rand.NewPCG(4, 5))
	r.Shuffle(len(s.Processes), func(i, j int) { s.Processes[i], s.Processes[j] = s.Processes[j], s.Processes[i] })
	check("shuffled")
	s.Normalize()
	for i := range s.Processes {
		s.Processes[i].PID += 5000
	}
	check("renumbered in order")
	s.Processes = s.Processes[:100]
	check("cut")
}
