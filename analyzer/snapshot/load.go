package snapshot

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// DefaultMaxBytes is the largest snapshot Load accepts unless told
// otherwise: a host with a million fds writes about 200 MB.
const DefaultMaxBytes int64 = 1 << 30

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
	b.WriteString(e.File)
	switch {
	case e.Line > 0:
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	if e.Path != "" {
		fmt.Fprintf(&b, ": %s", e.Path)
	}
	fmt.Fprintf(&b, ": %s", e.Msg)
	return b.String()
}

func (e *LoadError) Unwrap() error { return e.Err }

// LoadOptions bound what Load accepts.
type LoadOptions struct {
	// MaxBytes is the size limit; 0 means DefaultMaxBytes.
	MaxBytes int64
}

// LoadFile reads and validates the snapshot in path ("-" is stdin).
func LoadFile(path string, opts LoadOptions) (*Snapshot, error) {
	if path == "-" {
		return Load(os.Stdin, "<stdin>", opts)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &LoadError{File: path, Msg: "cannot open: " + errnoText(err), Err: err}
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, &LoadError{File: path, Msg: "is a directory, not a snapshot file", Err: ErrInvalid}
	}
	return Load(f, path, opts)
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
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	data, err := io.ReadAll(io.LimitReader(bufio.NewReader(r), limit+1))
	if err != nil {
		return nil, &LoadError{File: name, Msg: "read failed: " + errnoText(err), Err: err}
	}
	if int64(len(data)) > limit {
		return nil, &LoadError{File: name, Msg: fmt.Sprintf("larger than the %d-byte limit", limit), Err: ErrTooLarge}
	}
	return Parse(data, name)
}

// Parse decodes and validates a snapshot held in memory.
func Parse(data []byte, name string) (*Snapshot, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, &LoadError{File: name, Msg: "empty file, not a snapshot", Err: ErrInvalid}
	}
	if trimmed[0] != '{' {
		return nil, &LoadError{File: name, Line: 1, Column: 1 + bytes.IndexByte(data, trimmed[0]),
			Msg: "not a JSON object (a kcmpgraph snapshot starts with '{')", Err: ErrInvalid}
	}
	// The schema is checked before the full decode so that a snapshot of
	// another version gets a schema error, not a type error.
	var head struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, syntaxError(name, data, err)
	}
	switch {
	case head.Schema == nil:
		return nil, &LoadError{File: name, Path: "schema", Msg: "missing; not a kcmpgraph snapshot", Err: ErrSchema}
	case *head.Schema != Schema:
		return nil, &LoadError{File: name, Path: "schema",
			Msg: fmt.Sprintf("\"%s\" is not supported (this build reads \"%s\")", truncate(*head.Schema, 80), Schema), Err: ErrSchema}
	}
	var s Snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, syntaxError(name, data, err)
	}
	if err := Validate(&s); err != nil {
		var le *LoadError
		if errors.As(err, &le) {
			le.File = name
		}
		return nil, err
	}
	return &s, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func syntaxError(name string, data []byte, err error) error {
	le := &LoadError{File: name, Err: fmt.Errorf("%w: %w", ErrInvalid, err)}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		le.Line, le.Column = lineCol(data, se.Offset)
		le.Msg = "bad JSON: " + se.Error()
	case errors.As(err, &te):
		le.Line, le.Column = lineCol(data, te.Offset)
		le.Path = te.Field
		le.Msg = fmt.Sprintf("expected %s, found JSON %s", te.Type, te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		le.Msg = "truncated: the JSON ends early"
	default:
		le.Msg = err.Error()
	}
	return le
}

func lineCol(data []byte, off int64) (int, int) {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}
