//go:build linux

package testkit

// Endless is a reader of hostile input that never ends: Prefix, then
// Pattern over and over. Tests of loaders use it to show that input is
// refused after a bounded read, however long it would go on.
type Endless struct {
	Prefix, Pattern []byte
	off             int
}

// Read implements io.Reader; it never fails and never ends.
func (e *Endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(e.Prefix) > 0 {
			c := copy(p[n:], e.Prefix)
			e.Prefix = e.Prefix[c:]
			n += c
			continue
		}
		c := copy(p[n:], e.Pattern[e.off:])
		e.off = (e.off + c) % len(e.Pattern)
		n += c
	}
	return n, nil
}
