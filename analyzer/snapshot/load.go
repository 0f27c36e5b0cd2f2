package snapshot

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/internal/escape"
)

// DefaultMaxBytes is the largest snapshot Load accepts unless told
// otherwise, both as input and as the memory its decoded form takes: a
// host with 900,000 fds writes about 140 MB, which take about 160 MiB
// decoded. A refused input costs at most about this much memory, whatever
// its shape (see memsize.go).
const DefaultMaxBytes int64 = 160 << 20

// Errors a loader returns, testable with errors.Is.
var (
	// ErrInvalid is wrapped by every rejection of a snapshot's content.
	ErrInvalid = errors.New("invalid snapshot")
	// ErrSchema is wrapped when the schema field is missing or names a
	// version this build does not read.
	ErrSchema = errors.New("unsupported snapshot schema")
	// ErrTooLarge is wrapped when the input exceeds the size limit.
	ErrTooLarge = errors.New("snapshot too large")
)

// LoadError says what is wrong with a snapshot and where: the file, a JSON
// path (processes[3].fds[1].fd) or a line and column for a syntax error.
// File and Path are as found (a path may hold a JSON key from the file);
// Error escapes them, and the snapshot's strings in Msg, with escape.Text,
// so its text is safe to print on a terminal.
type LoadError struct {
	File   string
	Path   string // JSON path of the offending value, if known
	Line   int    // 1-based, for syntax errors
	Column int
	Msg    string
	Err    error // ErrInvalid, ErrSchema or ErrTooLarge, or an I/O error
}

func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString(escape.Text(e.File))
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	if e.Path != "" {
		fmt.Fprintf(&b, ": %s", escape.Text(e.Path))
	}
	fmt.Fprintf(&b, ": %s", e.Msg)
	return b.String()
}

func (e *LoadError) Unwrap() error { return e.Err }

// LoadOptions bound what Load accepts.
type LoadOptions struct {
	// MaxBytes is the size limit, of the input and of the memory its
	// decoded form takes (at least 16 MiB); 0 means DefaultMaxBytes.
	MaxBytes int64
}

// minMemory is the decoded memory any load may take, however small its
// input limit: a small snapshot decodes to more than its length.
const minMemory = 16 << 20

func (o LoadOptions) limit() int64 {
	if o.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return o.MaxBytes
}

// LoadFile reads and validates the snapshot in path ("-" is stdin).
func LoadFile(path string, opts LoadOptions) (*Snapshot, error) {
	return LoadFileContext(context.Background(), path, opts)
}

// LoadFileContext is LoadFile, stopped when ctx is done. A regular file
// larger than the limit is refused before any of it is read.
func LoadFileContext(ctx context.Context, path string, opts LoadOptions) (*Snapshot, error) {
	if path == "-" {
		return LoadContext(ctx, os.Stdin, "<stdin>", opts)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &LoadError{File: path, Msg: "cannot open: " + errnoText(err), Err: err}
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		switch {
		case st.IsDir():
			return nil, &LoadError{File: path, Msg: "is a directory, not a snapshot file", Err: ErrInvalid}
		case st.Mode().IsRegular() && st.Size() > opts.limit():
			return nil, tooLarge(path, opts.limit())
		}
	}
	return LoadContext(ctx, f, path, opts)
}

func tooLarge(name string, limit int64) error {
	return &LoadError{File: name, Msg: fmt.Sprintf("larger than the %d-byte limit (as a file or decoded)", limit), Err: ErrTooLarge}
}

func errnoText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Load reads a snapshot from r, named name in errors, and validates it:
// schema, sizes, and that every reference (group member, null entry, epoll
// holder) names a process and fd or task that the snapshot lists. Unknown
// fields are ignored. It never panics on any input.
func Load(r io.Reader, name string, opts LoadOptions) (*Snapshot, error) {
	return LoadContext(context.Background(), r, name, opts)
}

// LoadContext is Load, stopped when ctx is done (it then returns ctx's
// error, not a LoadError).
//
// It decodes as it reads, one process, group or epoll entry at a time,
// and never holds the JSON text whole. What cannot become a snapshot is
// refused at the byte where that shows, with its line and column: a
// stream that is not a JSON object at its first byte, bad JSON where it
// breaks, nesting deeper than 64, a string longer than 4 MiB, another
// schema when the "schema" field is read, input over the limit when the
// limit is reached. The loaded snapshot is in canonical order (processes
// by pid, each process's fds by table and number), so Process and FDIn
// find what they look for by binary search.
func LoadContext(ctx context.Context, r io.Reader, name string, opts LoadOptions) (*Snapshot, error) {
	limit := opts.limit()
	sr := newSyntaxReader(&limitReader{ctx: ctx, r: r, left: limit})
	jr := escape.NewJSONReader(sr)
	d := &decoder{ctx: ctx, dec: json.NewDecoder(jr), sr: sr, memory: max(limit, minMemory)}
	sr.budget, sr.valueCost, sr.objectCost = &d.memory, minValueCost, minValueCost
	s, err := d.snapshot()
	if err != nil {
		return nil, loadError(ctx, name, limit, err)
	}
	jr.Restore(s)
	if err := validate(ctx, s); err != nil {
		return nil, loadError(ctx, name, limit, err)
	}
	s.sortForLookup()
	return s, nil
}

// Parse decodes and validates a snapshot held in memory, of any length;
// its decoded form may take DefaultMaxBytes, or as much as data if more.
func Parse(data []byte, name string) (*Snapshot, error) {
	return Load(bytes.NewReader(data), name, LoadOptions{MaxBytes: max(int64(len(data))+1, DefaultMaxBytes)})
}

// loadError names the file in err, or returns ctx's error.
func loadError(ctx context.Context, name string, limit int64, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	var le *LoadError
	var se *syntaxError
	switch {
	case errors.As(err, &le):
		le.File = name
		return le
	case errors.Is(err, errTooLarge):
		return tooLarge(name, limit)
	case errors.As(err, &se):
		return &LoadError{File: name, Line: se.line, Column: se.col, Msg: "bad JSON: " + se.msg, Err: fmt.Errorf("%w: %w", ErrInvalid, err)}
	case errors.Is(err, io.EOF):
		return &LoadError{File: name, Msg: "empty file, not a snapshot", Err: ErrInvalid}
	}
	return &LoadError{File: name, Msg: "read failed: " + errnoText(err), Err: err}
}

// errTooLarge is what limitReader says past the limit.
var errTooLarge = errors.New("over the size limit")

// limitReader fails with errTooLarge once more than left bytes are read,
// and with ctx's error once ctx is done.
type limitReader struct {
	ctx  context.Context
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if err := l.ctx.Err(); err != nil {
		return 0, err
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if l.left -= int64(n); l.left < 0 {
		return 0, errTooLarge
	}
	return n, err
}

// decoder reads a snapshot's top-level object member by member, and the
// long lists element by element.
type decoder struct {
	ctx context.Context
	dec *json.Decoder
	sr  *syntaxReader
	// memory is what the decoded values may still take (memsize.go).
	memory int64
}

// minValueCost is the least any decoded value is charged: a string
// header, or an int and its slot.
const minValueCost = 16

// The object each list holds most of, whose size the syntax check
// charges for every object of an element of that list as it is read.
var (
	fdSize     = int64(reflect.TypeFor[FD]().Size())
	memberSize = int64(reflect.TypeFor[Member]().Size())
	socketSize = int64(reflect.TypeFor[Socket]().Size())
)

// spend charges n bytes of decoded memory.
func (d *decoder) spend(n int64) error {
	if d.memory -= n; d.memory < 0 {
		return errTooLarge
	}
	return nil
}

// checkEvery is how many list elements are decoded between looks at the
// context.
const checkEvery = 256

func (d *decoder) snapshot() (*Snapshot, error) {
	if _, err := d.dec.Token(); err != nil { // the '{' the syntax check saw
		return nil, err
	}
	s := &Snapshot{}
	rest := map[string]json.RawMessage{}
	haveSchema := false
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string) // an object key: the syntax check saw to it
		switch key {
		case "schema":
			if err := d.value(key, &s.Schema); err != nil {
				return nil, err
			}
			if s.Schema != Schema {
				return nil, &LoadError{Path: "schema",
					Msg: fmt.Sprintf("%s is not supported (this build reads \"%s\")", quoted(s.Schema, 80), Schema), Err: ErrSchema}
			}
			haveSchema = true
		case "processes":
			err = decodeList(d, key, &s.Processes, fdSize, shrinkFDs)
		case "groups":
			err = decodeList(d, key, &s.Groups, memberSize)
		case "epoll":
			err = decodeList(d, key, &s.Epoll, memberSize)
		case "endpoints":
			err = decodeList(d, key, &s.Endpoints, memberSize)
		case "sockets":
			err = decodeList(d, key, &s.Sockets, socketSize)
		default:
			var raw json.RawMessage
			if err = d.dec.Decode(&raw); err == nil {
				err = d.spend(2 * int64(len(raw)))
			}
			rest[key] = raw
		}
		if err != nil {
			return nil, err
		}
	}
	if _, err := d.dec.Token(); err != nil { // '}'
		return nil, err
	}
	if _, err := d.dec.Token(); err != io.EOF { // the syntax check refuses anything after
		return nil, err
	}
	if !haveSchema {
		return nil, &LoadError{Path: "schema", Msg: "missing; not a kcmpgraph snapshot", Err: ErrSchema}
	}
	// The short members (host, null, stats, ...) are decoded together, by
	// their field tags.
	if len(rest) > 0 {
		b, err := json.Marshal(rest)
		if err == nil {
			err = json.Unmarshal(b, s)
		}
		if err != nil {
			return nil, elementError("", err)
		}
	}
	return s, nil
}

// value decodes the next value into v.
func (d *decoder) value(path string, v any) error {
	if err := d.dec.Decode(v); err != nil {
		return elementError(path, err)
	}
	return nil
}

// shrinkFDs gives a decoded process's fds a slice of their own size: the
// decoder grows it by doubling, and the slack would be a fifth of a
// large snapshot's memory.
func shrinkFDs(p *Process) {
	if cap(p.FDs) > len(p.FDs) {
		p.FDs = append([]FD(nil), p.FDs...)
	}
}

// decodeList decodes the array (or null) that follows into out, one
// element at a time, calling each on each element. While an element is
// read, each object in it is charged objectCost; once it is decoded, the
// estimate of what it takes replaces that charge.
func decodeList[T any](d *decoder, name string, out *[]T, objectCost int64, each ...func(*T)) error {
	d.sr.objectCost = objectCost
	defer func() { d.sr.objectCost = minValueCost }()
	tok, err := d.dec.Token()
	if err != nil {
		return err
	}
	*out = nil
	if tok == nil {
		return nil
	}
	if tok != json.Delim('[') {
		return &LoadError{Path: name, Msg: "expected an array, found " + jsonKind(tok), Err: ErrInvalid}
	}
	for i := 0; d.dec.More(); i++ {
		if i%checkEvery == 0 && d.ctx.Err() != nil {
			return d.ctx.Err()
		}
		var v T
		charged := d.sr.charged
		if err := d.dec.Decode(&v); err != nil {
			return elementError(fmt.Sprintf("%s[%d]", name, i), err)
		}
		for _, f := range each {
			f(&v)
		}
		d.memory += d.sr.charged - charged
		if err := d.spend(memoryOf(&v)); err != nil {
			return err
		}
		*out = append(*out, v)
	}
	_, err = d.dec.Token() // ']'
	return err
}

// jsonKind names the JSON kind of a token.
func jsonKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		return "an object"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// elementError turns a decoding error inside the value at path into a
// LoadError naming the JSON path; reading errors pass through.
func elementError(path string, err error) error {
	var te *json.UnmarshalTypeError
	var se *syntaxError
	switch {
	case errors.As(err, &se), errors.Is(err, errTooLarge), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &te):
		p := path
		if te.Field != "" {
			if p != "" {
				p += "."
			}
			p += te.Field
		}
		return &LoadError{Path: p, Msg: fmt.Sprintf("expected %s, found JSON %s", te.Type, te.Value), Err: fmt.Errorf("%w: %w", ErrInvalid, err)}
	}
	var pe *os.PathError
	if errors.As(err, &pe) || errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	// A type's own UnmarshalJSON (Member's) said what is wrong.
	return &LoadError{Path: path, Msg: err.Error(), Err: fmt.Errorf("%w: %w", ErrInvalid, err)}
}

// quoted is snapshot text for a message: cut to n bytes, escaped for a
// terminal, in double quotes.
func quoted(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "..."
	}
	return `"` + escape.Text(s) + `"`
}

// sortForLookup puts processes in pid order and each process's fds in
// (table, number) order, where they are not already.
func (s *Snapshot) sortForLookup() {
	// Pids are unique (Validate): no order between equals to keep.
	slices.SortFunc(s.Processes, func(a, b Process) int { return cmp.Compare(a.PID, b.PID) })
	s.reindex()
	for i := range s.Processes {
		fds := s.Processes[i].FDs
		less := func(a, b int) bool {
			if fds[a].Thread != fds[b].Thread {
				return fds[a].Thread < fds[b].Thread
			}
			return fds[a].FD < fds[b].FD
		}
		if !sort.SliceIsSorted(fds, less) {
			sort.SliceStable(fds, less)
		}
	}
}
