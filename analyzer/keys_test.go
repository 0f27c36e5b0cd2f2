//go:build linux

package analyzer

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/procscan"
)

// Bucket keys split by what cannot change in a description, and never
// split the fds of one description.
func TestBucketKeys(t *testing.T) {
	file := func(flags int, info bool) procscan.FD {
		return procscan.FD{Inode: &procscan.Inode{Target: "/etc/passwd", Dev: 1, Ino: 2, MntID: 3}, HasInfo: info, Flags: flags}
	}
	anon := func(target string) procscan.FD {
		return procscan.FD{Inode: &procscan.Inode{Target: target, Dev: 14, Ino: 1, MntID: 15}, HasInfo: true, Flags: unix.O_RDWR}
	}
	keysOf := func(fds ...procscan.FD) []bucketKey {
		p := &procscan.Process{PID: 1, FDs: fds}
		k := newKeyer([]fdTable{{fds: &p.FDs}}, func(int) bool { return true })
		var out []bucketKey
		for i := range fds {
			out = append(out, k.key(&fds[i]))
		}
		return out
	}
	k := keysOf(file(unix.O_RDONLY, true), file(unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_APPEND, true),
		file(unix.O_RDWR, true), file(unix.O_PATH, true))
	if k[0] != k[1] {
		t.Error("O_CLOEXEC, O_NONBLOCK or O_APPEND split a bucket: fcntl can change them in one description")
	}
	if k[0] == k[2] || k[0] == k[3] || k[2] == k[3] {
		t.Error("different access modes or O_PATH share a bucket")
	}
	// One fd without fdinfo: nothing fdinfo says may split its inode.
	k = keysOf(file(unix.O_RDONLY, true), file(unix.O_RDWR, true), file(0, false))
	if k[0] != k[1] || k[1] != k[2] {
		t.Errorf("an fd without fdinfo must share the bucket of every fd on its inode: %v", k)
	}
	k = keysOf(anon("anon_inode:[timerfd]"), anon("anon_inode:[signalfd]"), anon("anon_inode:[timerfd]"))
	if k[0] == k[1] || k[0] != k[2] {
		t.Errorf("anonymous inode kinds: %v", k)
	}
}
