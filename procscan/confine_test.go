//go:build linux

package procscan

import (
	"errors"
	"os"
	"testing"
)

func TestParseMountIDs(t *testing.T) {
	data := []byte("22 27 0:21 / /proc rw,relatime - proc proc rw\n" +
		"68 46 254:0 /tmp/b/rootfs / ro,relatime - ext4 /dev/vda rw\n\n")
	ids, err := ParseMountIDs(data)
	if err != nil || len(ids) != 2 || !ids[22] || !ids[68] {
		t.Fatalf("ParseMountIDs = %v, %v", ids, err)
	}
	if _, err := ParseMountIDs([]byte("x 1 0:1 / / rw - a b rw\n")); !errors.Is(err, ErrMountinfoSyntax) {
		t.Errorf("a bad id: %v, want ErrMountinfoSyntax", err)
	}
}

func TestHostNamespaces(t *testing.T) {
	ns, of := HostNamespaces("")
	// pid 1's when readable (not on a sandbox that hides its init), else
	// the scanner's own.
	wantOf, link := "pid 1", "/proc/1/ns/mnt"
	if _, err := os.Readlink(link); err != nil {
		wantOf, link = "self", "/proc/self/ns/mnt"
	}
	text, err := os.Readlink(link)
	if err != nil {
		t.Fatal(err)
	}
	_, want, _ := ParseNamespaceLink([]byte(text))
	if of != wantOf || ns["mnt"] != want {
		t.Errorf("HostNamespaces = mnt %d of %q, want %d of %q", ns["mnt"], of, want, wantOf)
	}
	if ns, of := HostNamespaces(t.TempDir()); ns != nil || of != "" {
		t.Errorf("a directory without processes: %v, %q", ns, of)
	}
}

func FuzzParseMountIDs(f *testing.F) {
	f.Add([]byte("22 27 0:21 / /proc rw,relatime - proc proc rw\n"))
	f.Add([]byte("-1 0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ids, err := ParseMountIDs(data)
		for id := range ids {
			if id < 0 || err != nil {
				t.Fatalf("id %d with err %v", id, err)
			}
		}
	})
}
