// Package plural writes counts for people: "1 process", "3 processes".
// Every kcmpgraph output that counts something in English uses it, so
// that none says "1 processes" or "process(es)".
//
// It knows English counting only; it does not format numbers or lists.
package plural

import "strconv"

// Count returns n followed by one when n is 1, else by many:
// Count(1, "fd", "fds") is "1 fd", Count(0, "fd", "fds") is "0 fds".
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// Word returns one when n is 1, else many, for a count written apart
// from its noun ("3 of 8 processes").
func Word(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
