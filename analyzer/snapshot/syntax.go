package snapshot

import (
	"errors"
	"fmt"
	"io"
)

// Bounds on the shape of a snapshot's JSON, far above what any scan
// writes (nesting 6, a string of a few hundred KiB: a command line
// argument is at most 128 KiB, 6 bytes each when escaped): input beyond
// them is refused at that byte, so a stream of garbage is not read to the
// size limit first.
const (
	maxDepth     = 64
	maxString    = 4 << 20
	maxNumberLen = 64
)

// errSyntax is wrapped by the syntaxReader's errors.
var errSyntax = errors.New("bad JSON")

// syntaxError is a JSON syntax error at a line and column of the input.
type syntaxError struct {
	line, col int
	msg       string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%d:%d: bad JSON: %s", e.line, e.col, e.msg) }
func (e *syntaxError) Unwrap() error { return errSyntax }

// Scanner states: what the next byte may be.
const (
	stStart      = iota // before the first byte that is not whitespace
	stValue             // a value (after '[', ':' or an array's ',')
	stValueOrEnd        // a value or ']' (just after '[')
	stKey               // an object key (after an object's ',')
	stKeyOrEnd          // an object key or '}' (just after '{')
	stColon             // the ':' after a key
	stAfter             // ',' or the closing bracket, after a value
	stDone              // whitespace only: the top-level value is complete
	stString            // inside a string
	stEscape            // after a backslash in a string
	stHex               // in the four hex digits of \u
	stNumber            // in a number
	stLiteral           // in true, false or null
)

// syntaxReader checks, as bytes pass through it, that they are one JSON
// object and nothing more, within the bounds above. It fails at the first
// byte that cannot continue such a text, naming its line and column, so a
// damaged or foreign input is refused where it goes wrong and without
// being read further. encoding/json cannot say where an error is once it
// decodes a stream, and only scans a document it holds whole.
type syntaxReader struct {
	r     io.Reader
	err   error
	state int
	stack []byte // '{' or '[' per open container
	// isKey is set while the string being read is an object key.
	isKey bool
	// n counts the bytes of the current string, number or \u escape;
	// lit is the literal being matched ("true", "false", "null").
	n   int
	lit string
	// numState tracks the number grammar: see stepNumber.
	numState int
	// budget, if set, is charged valueCost for each value and objectCost
	// more for each object: the least memory they take decoded, charged
	// as they are read, before a decoder could allocate it (memsize.go).
	// charged sums the charges.
	budget                *int64
	valueCost, objectCost int64
	charged               int64
	line, col             int
}

func newSyntaxReader(r io.Reader) *syntaxReader {
	return &syntaxReader{r: r, state: stStart, line: 1}
}

// Read implements io.Reader: it hands on the bytes that are valid so far
// and then the error.
func (s *syntaxReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	for i := 0; i < n; i++ {
		if s.state == stString {
			// Most bytes are inside strings: skip the plain ones at once.
			j := i
			for j < n && p[j] != '"' && p[j] != '\\' && p[j] >= 0x20 {
				j++
			}
			s.col += j - i
			if s.n += j - i; s.n > maxString {
				s.err = &syntaxError{s.line, s.col, fmt.Sprintf("a string longer than %d bytes", maxString)}
				return i, nil
			}
			if i = j; i == n {
				break
			}
		} else if s.state == stNumber && (s.numState == numInt || s.numState == numFrac || s.numState == numExp) {
			// And most of the others are digits.
			j := i
			for j < n && p[j] >= '0' && p[j] <= '9' {
				j++
			}
			s.col += j - i
			if s.n += j - i; s.n > maxNumberLen {
				s.err = &syntaxError{s.line, s.col, fmt.Sprintf("a number longer than %d bytes", maxNumberLen)}
				return i, nil
			}
			if i = j; i == n {
				break
			}
		}
		if e := s.step(p[i]); e != nil {
			s.err = e
			if i == 0 {
				return 0, e
			}
			return i, nil
		}
	}
	if err == io.EOF && s.state != stDone {
		if s.state == stStart {
			s.err = io.EOF // nothing but whitespace: the caller says "empty"
		} else {
			s.err = &syntaxError{s.line, s.col + 1, "unexpected end of input (the file is truncated)"}
		}
		if n > 0 {
			return n, nil
		}
		return 0, s.err
	}
	if err != nil {
		s.err = err
	}
	return n, err
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// describe names a byte for a message.
func describe(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func (s *syntaxReader) fail(c byte, context string) error {
	return &syntaxError{s.line, s.col, fmt.Sprintf("unexpected %s %s", describe(c), context)}
}

// step advances the scanner by one byte.
func (s *syntaxReader) step(c byte) error {
	s.col++
	if err := s.step1(c); err != nil {
		return err
	}
	if c == '\n' { // only whitespace can be a newline
		s.line++
		s.col = 0
	}
	return nil
}

func (s *syntaxReader) step1(c byte) error {
	switch s.state {
	case stStart: // the very start: a snapshot is an object
		if isSpace(c) {
			return nil
		}
		if c != '{' {
			return &syntaxError{s.line, s.col, fmt.Sprintf("%s: not a JSON object (a kcmpgraph snapshot starts with '{')", describe(c))}
		}
		return s.open(c)
	case stString:
		return s.stepString(c)
	case stEscape:
		switch c {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			s.state = stString
		case 'u':
			s.state, s.n = stHex, 0
		default:
			return s.fail(c, "in a string escape")
		}
		return nil
	case stHex:
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return s.fail(c, "in a \\u escape")
		}
		if s.n++; s.n == 4 {
			s.state = stString
		}
		return nil
	case stNumber:
		done, err := s.stepNumber(c)
		if err != nil || !done {
			return err
		}
		s.state = stAfter
		return s.step2(c) // the byte after a number belongs to what follows
	case stLiteral:
		if c != s.lit[s.n] {
			return s.fail(c, fmt.Sprintf("in literal %s", s.lit))
		}
		if s.n++; s.n == len(s.lit) {
			s.state = stAfter
		}
		return nil
	}
	return s.step2(c)
}

// step2 handles the structural states, where whitespace is allowed.
func (s *syntaxReader) step2(c byte) error {
	if isSpace(c) {
		return nil
	}
	switch s.state {
	case stValue, stValueOrEnd:
		if c == ']' && s.state == stValueOrEnd {
			return s.close()
		}
		return s.value(c)
	case stKey, stKeyOrEnd:
		if c == '}' && s.state == stKeyOrEnd {
			return s.close()
		}
		if c != '"' {
			return s.fail(c, "looking for an object key")
		}
		s.state, s.isKey, s.n = stString, true, 0
		return nil
	case stColon:
		if c != ':' {
			return s.fail(c, "after an object key")
		}
		s.state = stValue
		return nil
	case stAfter:
		top := s.stack[len(s.stack)-1]
		switch {
		case c == ',' && top == '{':
			s.state = stKey
		case c == ',' && top == '[':
			s.state = stValue
		case c == '}' && top == '{', c == ']' && top == '[':
			return s.close()
		default:
			return s.fail(c, "after a value")
		}
		return nil
	case stDone:
		return s.fail(c, "after the end of the JSON object")
	}
	return s.fail(c, "")
}

// value starts a value with its first byte c.
func (s *syntaxReader) value(c byte) error {
	if s.budget != nil {
		cost := s.valueCost
		if c == '{' {
			cost += s.objectCost
		}
		s.charged += cost
		if *s.budget -= cost; *s.budget < 0 {
			return errTooLarge
		}
	}
	switch {
	case c == '{' || c == '[':
		return s.open(c)
	case c == '"':
		s.state, s.isKey, s.n = stString, false, 0
	case c == '-' || '0' <= c && c <= '9':
		s.state, s.n, s.numState = stNumber, 0, numStart
		_, err := s.stepNumber(c)
		return err
	case c == 't':
		s.state, s.lit, s.n = stLiteral, "true", 1
	case c == 'f':
		s.state, s.lit, s.n = stLiteral, "false", 1
	case c == 'n':
		s.state, s.lit, s.n = stLiteral, "null", 1
	default:
		return s.fail(c, "looking for a value")
	}
	return nil
}

func (s *syntaxReader) open(c byte) error {
	if len(s.stack) == maxDepth {
		return &syntaxError{s.line, s.col, fmt.Sprintf("nested more than %d deep", maxDepth)}
	}
	s.stack = append(s.stack, c)
	if c == '{' {
		s.state = stKeyOrEnd
	} else {
		s.state = stValueOrEnd
	}
	return nil
}

func (s *syntaxReader) close() error {
	s.stack = s.stack[:len(s.stack)-1]
	s.state = stAfter
	if len(s.stack) == 0 {
		s.state = stDone
	}
	return nil
}

func (s *syntaxReader) stepString(c byte) error {
	switch {
	case c == '"':
		s.state = stAfter
		if s.isKey {
			s.state = stColon
		}
		return nil
	case c == '\\':
		s.state = stEscape
	case c < 0x20:
		return s.fail(c, "in a string")
	}
	if s.n++; s.n > maxString {
		return &syntaxError{s.line, s.col, fmt.Sprintf("a string longer than %d bytes", maxString)}
	}
	return nil
}

// Number grammar states: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?
const (
	numStart = iota // before anything
	numMinus        // after '-'
	numZero         // after a leading 0
	numInt          // in the integer digits
	numDot          // after '.'
	numFrac         // in the fraction digits
	numE            // after 'e'
	numESign        // after the exponent's sign
	numExp          // in the exponent digits
)

// stepNumber advances the number grammar by c; done reports that c is
// not part of the number (which then ended before it).
func (s *syntaxReader) stepNumber(c byte) (done bool, err error) {
	digit := '0' <= c && c <= '9'
	if s.n++; s.n > maxNumberLen {
		return false, &syntaxError{s.line, s.col, fmt.Sprintf("a number longer than %d bytes", maxNumberLen)}
	}
	switch s.numState {
	case numStart:
		switch {
		case c == '-':
			s.numState = numMinus
		case c == '0':
			s.numState = numZero
		default:
			s.numState = numInt
		}
		return false, nil
	case numMinus:
		switch {
		case c == '0':
			s.numState = numZero
		case digit:
			s.numState = numInt
		default:
			return false, s.fail(c, "in a number")
		}
		return false, nil
	case numZero, numInt:
		switch {
		case digit && s.numState == numInt:
		case c == '.':
			s.numState = numDot
		case c == 'e' || c == 'E':
			s.numState = numE
		case digit:
			return false, s.fail(c, "after a leading 0")
		default:
			return true, nil
		}
		return false, nil
	case numDot:
		if !digit {
			return false, s.fail(c, "after a decimal point")
		}
		s.numState = numFrac
		return false, nil
	case numFrac:
		switch {
		case digit:
		case c == 'e' || c == 'E':
			s.numState = numE
		default:
			return true, nil
		}
		return false, nil
	case numE:
		switch {
		case c == '+' || c == '-':
			s.numState = numESign
		case digit:
			s.numState = numExp
		default:
			return false, s.fail(c, "in an exponent")
		}
		return false, nil
	case numESign:
		if !digit {
			return false, s.fail(c, "in an exponent")
		}
		s.numState = numExp
		return false, nil
	}
	if digit { // numExp
		return false, nil
	}
	return true, nil
}
