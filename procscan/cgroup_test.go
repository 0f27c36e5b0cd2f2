//go:build linux

package procscan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/procfs"
)

// readCgroup reads a cgroup file the way a scan does: procfs parses
// /proc/PID/cgroup, cgroupText renders it.
func readCgroup(t *testing.T, data []byte) (string, error) {
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
	return cgroupText(cgs), nil
}

func TestCgroupText(t *testing.T) {
	for in, want := range map[string]string{
		"0::/system.slice/nginx.service\n":            "/system.slice/nginx.service",
		"1:cpu,cpuacct:/a\n2:name=systemd:/b\n0::/\n": "1:cpu,cpuacct:/a;2:name=systemd:/b;0::/",
	} {
		got, err := readCgroup(t, []byte(in))
		if err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzCgroup(f *testing.F) {
	f.Add([]byte("0::/system.slice/nginx.service\n"))
	f.Add([]byte("9:name=systemd:/\n8:pids:/\n0::/\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := readCgroup(t, data)
		if err == nil && strings.Contains(got, "\x00") && !strings.Contains(string(data), "\x00") {
			t.Fatalf("NUL appeared from nowhere: %q", got)
		}
	})
}
