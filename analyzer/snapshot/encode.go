package snapshot

import (
	"bufio"
	"encoding/json"
	"io"
)

// Encode writes the snapshot as indented JSON followed by a newline. It
// does not reorder anything; call Normalize first for canonical output.
func (s *Snapshot) Encode(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetIndent("", " ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	return bw.Flush()
}
