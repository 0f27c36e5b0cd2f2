package snapshot

import (
	"bufio"
	"io"

	"github.com/kcmpgraph/kcmpgraph/internal/escape"
)

// Encode writes the snapshot as JSON followed by a newline, one fd, group
// or epoll entry per line: readable by a person, diffable, and streamed —
// a host with 100k fds is written without building the document in
// memory. It does not reorder anything; call Normalize first for
// canonical output.
func (s *Snapshot) Encode(w io.Writer) error {
	e := &encoder{w: bufio.NewWriterSize(w, 1<<16)}
	e.raw("{\n \"schema\": ")
	e.value(s.Schema)
	e.raw(",\n \"exact\": ")
	e.value(s.Exact)
	e.raw(",\n \"host\": ")
	e.value(s.Host)
	e.raw(",\n \"processes\": [")
	for i := range s.Processes {
		p := &s.Processes[i]
		e.sep(i)
		// The process without its fds on one line, then one fd per line.
		fds := p.FDs
		if fds == nil && p.StreamFDs != nil {
			e.fds = p.StreamFDs(e.fds[:0])
			fds = e.fds
		}
		head := *p
		head.FDs = nil // not even looked at: they follow, one per line
		b, err := escape.MarshalJSON(processHead{Process: &head})
		if err != nil {
			return err
		}
		e.raw("\n  ")
		e.bytes(b[:len(b)-1]) // without the closing brace
		e.raw(`,"fds":[`)
		for j := range fds {
			if j > 0 {
				e.raw(",")
			}
			e.raw("\n   ")
			e.buf = appendFD(e.buf[:0], &fds[j])
			e.bytes(e.buf)
		}
		if len(fds) > 0 {
			e.raw("\n  ")
		}
		e.raw("]}")
	}
	e.end(len(s.Processes))
	e.raw(",\n \"groups\": [")
	for i := range s.Groups {
		e.sep(i)
		e.raw("\n  ")
		e.buf = appendGroup(e.buf[:0], &s.Groups[i])
		e.bytes(e.buf)
	}
	e.end(len(s.Groups))
	e.raw(",\n \"null\": ")
	if s.Null == nil {
		e.raw("{}")
	} else {
		e.value(s.Null)
	}
	e.raw(",\n \"epoll\": [")
	for i := range s.Epoll {
		e.sep(i)
		e.raw("\n  ")
		e.buf = appendEpoll(e.buf[:0], &s.Epoll[i])
		e.bytes(e.buf)
	}
	e.end(len(s.Epoll))
	if len(s.Endpoints) > 0 {
		e.raw(",\n \"endpoints\": [")
		for i := range s.Endpoints {
			e.sep(i)
			e.raw("\n  ")
			e.buf = appendEndpoint(e.buf[:0], &s.Endpoints[i])
			e.bytes(e.buf)
		}
		e.end(len(s.Endpoints))
	}
	if len(s.Sockets) > 0 {
		e.raw(",\n \"sockets\": [")
		for i := range s.Sockets {
			e.sep(i)
			e.raw("\n  ")
			e.buf = appendSocket(e.buf[:0], &s.Sockets[i])
			e.bytes(e.buf)
		}
		e.end(len(s.Sockets))
	}
	e.raw(",\n \"stats\": ")
	e.value(s.Stats)
	if len(s.Warnings) > 0 {
		e.raw(",\n \"warnings\": ")
		e.value(s.Warnings)
	}
	e.raw("\n}\n")
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}

// processHead is a process without its fds: the shallower FDs field hides
// the embedded one and is always nil, so "fds" is left out.
type processHead struct {
	*Process
	FDs *struct{} `json:"fds,omitempty"`
}

type encoder struct {
	w   *bufio.Writer
	err error
	buf []byte // reused by the appenders
	fds []FD   // reused for streamed fds
}

func (e *encoder) raw(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *encoder) bytes(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) value(v any) {
	if e.err != nil {
		return
	}
	b, err := escape.MarshalJSON(v)
	if err != nil {
		e.err = err
		return
	}
	e.bytes(b)
}

func (e *encoder) sep(i int) {
	if i > 0 {
		e.raw(",")
	}
}

func (e *encoder) end(n int) {
	if n > 0 {
		e.raw("\n ")
	}
	e.raw("]")
}
