//go:build linux

package main

import (
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=..." (make
// build does); it wins over the build information.
var version string

// moduleVersion is this build's version for machine-readable outputs:
// -ldflags' version, else the module version that go build or go install
// recorded (v1.2.3 when installed with go install ...@v1.2.3; a
// pseudo-version with +dirty when built in a modified checkout), else
// "devel".
func moduleVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return buildVersion(version, bi)
}

// versionText is what --version prints: moduleVersion and, when the build
// information has them, the commit, its time and whether the tree had
// uncommitted changes.
func versionText() string {
	bi, _ := debug.ReadBuildInfo()
	return describeBuild(version, bi)
}

func buildVersion(ldflags string, bi *debug.BuildInfo) string {
	if ldflags != "" {
		return ldflags
	}
	if bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func describeBuild(ldflags string, bi *debug.BuildInfo) string {
	v := buildVersion(ldflags, bi)
	if ldflags != "" || bi == nil {
		return v
	}
	var rev, at string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return v
	}
	details := []string{"commit " + rev}
	if at != "" {
		details = append(details, at)
	}
	if modified {
		details = append(details, "modified")
	}
	return v + " (" + strings.Join(details, ", ") + ")"
}
