//go:build linux

// Package errno names the errno inside an error ("EACCES"): the name
// kcmpgraph counts failures by in a snapshot's stats and prints in its
// messages. It is the one place that turns an error into such a name.
//
// It does not wrap, classify or explain errors.
package errno

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Name returns the name of the errno inside err: "EACCES", "ESRCH",
// "errno200" for a number without a name. An error without an errno that
// matches os.ErrNotExist is "ENOENT", os.ErrPermission "EACCES"; any
// other is "other".
func Name(err error) string {
	var e unix.Errno
	if errors.As(err, &e) {
		if n := unix.ErrnoName(e); n != "" {
			return n
		}
		return "errno" + strconv.Itoa(int(e))
	}
	if errors.Is(err, os.ErrNotExist) {
		return "ENOENT"
	}
	if errors.Is(err, os.ErrPermission) {
		return "EACCES"
	}
	return "other"
}
