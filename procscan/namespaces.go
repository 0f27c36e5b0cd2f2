package procscan

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// NamespaceTypes are the namespace links read from /proc/PID/ns.
var NamespaceTypes = []string{"mnt", "pid", "net", "user", "ipc", "uts", "cgroup", "time"}

// ErrNamespaceSyntax is wrapped by ParseNamespaceLink errors.
var ErrNamespaceSyntax = errors.New("namespace link syntax error")

// ParseNamespaceLink parses a /proc/PID/ns/X link text such as
// "mnt:[4026531841]" into its type and inode number.
func ParseNamespaceLink(link []byte) (string, uint64, error) {
	c := bytes.Index(link, []byte(":["))
	if c <= 0 || len(link) < c+4 || link[len(link)-1] != ']' {
		return "", 0, fmt.Errorf("%w: %q", ErrNamespaceSyntax, truncateBytes(link, 60))
	}
	ino, err := strconv.ParseUint(string(link[c+2:len(link)-1]), 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %q", ErrNamespaceSyntax, truncateBytes(link, 60))
	}
	return string(link[:c]), ino, nil
}
