//go:build linux

package errno

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"golang.org/x/sys/unix"
)

func TestName(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{unix.EACCES, "EACCES"},
		{fmt.Errorf("kcmp: %w", unix.ESRCH), "ESRCH"},
		{&fs.PathError{Op: "open", Path: "/proc/1/fd", Err: unix.EPERM}, "EPERM"},
		{unix.Errno(4000), "errno4000"},
		{fs.ErrNotExist, "ENOENT"},
		{fmt.Errorf("x: %w", fs.ErrPermission), "EACCES"},
		{errors.New("boom"), "other"},
	} {
		if got := Name(tc.err); got != tc.want {
			t.Errorf("Name(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
