//go:build linux

package main

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"unicode"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// userNames caches uid -> name look-ups. A uid without a name (deleted
// user, another container's uid) prints as the number.
type userNames map[int]string

func (u userNames) name(uid int) string {
	if n, ok := u[uid]; ok {
		return n
	}
	n := strconv.Itoa(uid)
	if usr, err := user.LookupId(n); err == nil && usr.Username != "" {
		n = usr.Username
	}
	u[uid] = n
	return n
}

// printable makes hostile text safe for a terminal: snapshot.Printable
// escapes control characters, backslashes and invalid UTF-8; this also
// escapes Unicode format characters (bidi overrides such as U+202E, zero
// width spaces and joiners), which can reorder or hide the rest of a line
// on terminals that honour them.
func printable(s string) string {
	s = snapshot.Printable(s)
	if strings.IndexFunc(s, isFormat) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case isFormat(r) && r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		case isFormat(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isFormat(r rune) bool { return unicode.Is(unicode.Cf, r) }
