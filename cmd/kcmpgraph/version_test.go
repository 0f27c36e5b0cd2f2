//go:build linux

package main

import (
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestDescribeBuild(t *testing.T) {
	vcs := func(rev, at, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: at}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		name, ldflags string
		bi            *debug.BuildInfo
		want, short   string
	}{
		{"no build info", "", nil, "devel", "devel"},
		{"ldflags win", "v1.4.0-rc1", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}, Settings: vcs("abc", "2026-01-02T03:04:05Z", "true")},
			"v1.4.0-rc1", "v1.4.0-rc1"},
		{"go install module@version", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, "v1.3.0", "v1.3.0"},
		{"checkout, clean", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260102030405-0123456789ab"},
			Settings: vcs("0123456789abcdef", "2026-01-02T03:04:05Z", "false")},
			"v0.0.0-20260102030405-0123456789ab (commit 0123456789abcdef, 2026-01-02T03:04:05Z)", "v0.0.0-20260102030405-0123456789ab"},
		{"checkout, modified", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260102030405-0123456789ab+dirty"},
			Settings: vcs("0123456789abcdef", "2026-01-02T03:04:05Z", "true")},
			"v0.0.0-20260102030405-0123456789ab+dirty (commit 0123456789abcdef, 2026-01-02T03:04:05Z, modified)",
			"v0.0.0-20260102030405-0123456789ab+dirty"},
		{"no version, revision", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123", "", "true")},
			"devel (commit 0123, modified)", "devel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := describeBuild(tc.ldflags, tc.bi); got != tc.want {
				t.Errorf("describeBuild = %q, want %q", got, tc.want)
			}
			if got := buildVersion(tc.ldflags, tc.bi); got != tc.short {
				t.Errorf("buildVersion = %q, want %q", got, tc.short)
			}
		})
	}
}

// TestVersionOfBuilds builds kcmpgraph twice: with -ldflags, --version
// prints that version exactly; without, it prints what the go command
// recorded in the binary (module version, and the commit where the go
// command stamped one: a clone, not a git worktree).
func TestVersionOfBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kcmpgraph")
	}
	dir := t.TempDir()
	plain, stamped := filepath.Join(dir, "plain"), filepath.Join(dir, "stamped")
	for _, b := range [][]string{{"-buildvcs=auto", "-o", plain}, {"-ldflags", "-X main.version=v7.7.7-test", "-o", stamped}} {
		if out, err := exec.Command("go", append(append([]string{"build"}, b...), ".")...).CombinedOutput(); err != nil {
			t.Fatalf("go build %v: %v\n%s", b, err, out)
		}
	}
	out, err := exec.Command(stamped, "--version").Output()
	if err != nil || string(out) != "kcmpgraph version v7.7.7-test\n" {
		t.Errorf("--version with -ldflags: %q %v", out, err)
	}
	info, err := exec.Command("go", "version", "-m", plain).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "devel"
	var rev string
	for _, line := range strings.Split(string(info), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "mod" && f[2] != "(devel)":
			want = f[2]
		case len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.revision="):
			rev = strings.TrimPrefix(f[1], "vcs.revision=")
		}
	}
	out, err = exec.Command(plain, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "kcmpgraph version "+want) || rev != "" && !strings.Contains(string(out), "commit "+rev) {
		t.Errorf("--version without -ldflags: %q %v; the binary records version %s, revision %q", out, err, want, rev)
	}
}
