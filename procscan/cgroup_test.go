//go:build linux

package procscan

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/procfs"
)

// procfsCgroup is the oracle for ParseCgroup: prometheus/procfs parses
// data as /proc/1/cgroup of a fake proc root, and the result is rendered
// as ParseCgroup documents.
func procfsCgroup(t *testing.T, data []byte) (string, error) {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "1", "cgroup"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := procfs.NewFS(root)
	if err != nil {
		t.Fatal(err)
	}
	p, err := fs.Proc(1)
	if err != nil {
		t.Fatal(err)
	}
	cgs, err := p.Cgroups()
	if err != nil {
		return "", err
	}
	if len(cgs) == 1 && cgs[0].HierarchyID == 0 {
		return cgs[0].Path, nil
	}
	parts := make([]string, 0, len(cgs))
	for _, cg := range cgs {
		parts = append(parts, fmt.Sprintf("%d:%s:%s", cg.HierarchyID, strings.Join(cg.Controllers, ","), cg.Path))
	}
	return strings.Join(parts, ";"), nil
}

func TestParseCgroup(t *testing.T) {
	for in, want := range map[string]string{
		"0::/system.slice/nginx.service\n":            "/system.slice/nginx.service",
		"0::/a:b\r\n":                                 "/a:b",
		"1:cpu,cpuacct:/a\n2:name=systemd:/b\n0::/\n": "1:cpu,cpuacct:/a;2:name=systemd:/b;0::/",
		"+07:pids:/x":                                 "7:pids:/x",
		"":                                            "",
	} {
		got, err := ParseCgroup([]byte(in))
		if err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
		if oracle, err := procfsCgroup(t, []byte(in)); err != nil || oracle != got {
			t.Errorf("%q: procfs says %q, %v", in, oracle, err)
		}
	}
	for _, in := range []string{"\n", "0:/x\n", "x::/\n", "0::/\n\n1:a:/\n"} {
		if got, err := ParseCgroup([]byte(in)); !errors.Is(err, ErrCgroupSyntax) {
			t.Errorf("%q: %q, %v; want ErrCgroupSyntax", in, got, err)
		}
	}
}

// TestParseCgroupLive holds the parser to procfs on this host's
// processes.
func TestParseCgroupLive(t *testing.T) {
	for _, pid := range []string{"1", "self"} {
		data, err := os.ReadFile(filepath.Join("/proc", pid, "cgroup"))
		if err != nil {
			t.Skip(err)
		}
		got, err := ParseCgroup(data)
		oracle, oerr := procfsCgroup(t, data)
		if err != nil || oerr != nil || got != oracle {
			t.Errorf("/proc/%s/cgroup: %q, %v; procfs %q, %v", pid, got, err, oracle, oerr)
		}
	}
}

// FuzzCgroup holds ParseCgroup to procfs: equal text wherever procfs
// parses the input (a line longer than bufio's 64 KiB limit fails there
// only), an error wherever it does not.
func FuzzCgroup(f *testing.F) {
	f.Add([]byte("0::/system.slice/nginx.service\n"))
	f.Add([]byte("9:name=systemd:/\n8:pids:/\n0::/\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseCgroup(data)
		oracle, oerr := procfsCgroup(t, data)
		switch {
		case oerr == nil && (err != nil || got != oracle):
			t.Fatalf("%q: %q, %v; procfs %q", data, got, err, oracle)
		case oerr != nil && err == nil && !tooLongLine(data):
			t.Fatalf("%q: %q; procfs fails: %v", data, got, oerr)
		}
	})
}

func tooLongLine(data []byte) bool {
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		if len(line) >= 64*1024 {
			return true
		}
	}
	return false
}
