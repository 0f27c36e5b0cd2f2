package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/golden"
)

func host(t *testing.T) *snapshot.Snapshot {
	t.Helper()
	s, err := snapshot.LoadFile("testdata/host.json", snapshot.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRulesFindTheirCases(t *testing.T) {
	rep, err := Run(host(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Severity{}
	for _, f := range rep.Findings {
		if _, dup := got[f.Rule+f.Object]; dup {
			t.Errorf("duplicate finding %s %s", f.Rule, f.Object)
		}
		got[f.Rule+f.Object] = f.Severity
	}
	want := map[string]Severity{
		"KG001/etc/backup.key":                      High,
		"KG002unix /run/nginx.sock LISTEN":          Info, // a master's listener in its worker
		"KG003dir /sys/fs/cgroup":                   Medium,
		"KG004/etc/shadow":                          Critical, // one finding for both of pid 400's fds
		"KG005vm":                                   Critical,
		"KG006/var/log/super.log":                   Low,
		"KG006dir /sys/fs/cgroup":                   Low,
		"KG007unix /run/nginx.sock":                 Medium,
		"KG007tcp 127.0.0.1:8080 ↔ 127.0.0.1:41000": Low,
		"KG007pty /dev/pts/0":                       Medium,
		"KG007pipe:[960]":                           Info, // a container's stdout, read by conmon
		"KG008dir /sys/fs/cgroup":                   Critical,
		"KG009unix → /run/docker.sock":              Critical,
		"KG010net namespace 4026531840":             Critical,
	}
	for k, sev := range want {
		if got[k] != sev {
			t.Errorf("finding %s: severity %v, want %v", k, got[k], sev)
		}
	}
	if len(got) != len(want) {
		t.Errorf("findings %v, want exactly %v", got, want)
	}
	if rep.Worst() != Critical {
		t.Errorf("worst = %v", rep.Worst())
	}
}

func TestGoldenOutputs(t *testing.T) {
	allow, err := LoadAllowList("testdata/allow.txt")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(host(t), Options{Allow: allow})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Allowed != 1 {
		t.Errorf("allow-list removed %d findings, want 1", rep.Allowed)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "host.txt", text.Bytes())
	if bytes.ContainsAny(text.Bytes(), "\x1b") {
		t.Error("raw escape in the text report")
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	golden.Check(t, "host.json.golden", append(js, '\n'))
	var sf bytes.Buffer
	if err := rep.WriteSARIF(&sf, "test"); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "host.sarif", sf.Bytes())
}

// TestSARIFStructure checks what the SARIF 2.1.0 schema requires of the
// parts kcmpgraph writes, and that go-sarif reads the file back. (The
// schema file itself is not available offline here.)
func TestSARIFStructure(t *testing.T) {
	rep, err := Run(host(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.WriteSARIF(&buf, "test"); err != nil {
		t.Fatal(err)
	}
	back, err := sarif.FromBytes(buf.Bytes())
	if err != nil {
		t.Fatalf("go-sarif cannot read it back: %v", err)
	}
	if back.Version != "2.1.0" || len(back.Runs) != 1 {
		t.Fatalf("version %q, %d runs", back.Version, len(back.Runs))
	}
	run := back.Runs[0]
	if run.Tool.Driver == nil || run.Tool.Driver.Name != "kcmpgraph" || len(run.Tool.Driver.Rules) != len(Rules()) {
		t.Fatalf("driver %+v", run.Tool.Driver)
	}
	ids := map[string]bool{}
	for _, r := range run.Tool.Driver.Rules {
		ids[r.ID] = true
	}
	levels := map[string]bool{"none": true, "note": true, "warning": true, "error": true}
	for _, r := range run.Results {
		if r.RuleID == nil || !ids[*r.RuleID] {
			t.Errorf("result with unknown rule %v", r.RuleID)
		}
		if r.Message.Text == nil || *r.Message.Text == "" {
			t.Error("result without message text")
		}
		if r.Level == nil || !levels[*r.Level] {
			t.Errorf("result level %v", r.Level)
		}
	}
	if len(run.Results) != len(rep.Findings) {
		t.Errorf("%d results for %d findings", len(run.Results), len(rep.Findings))
	}
}

func TestOptions(t *testing.T) {
	rep, err := Run(host(t), Options{Rules: []string{"kg004"}})
	if err != nil || len(rep.Rules) != 1 || len(rep.Findings) != 1 || len(rep.Findings[0].Holders[0].FDs) != 2 {
		t.Errorf("--rules kg004: %v, %d rules, %d findings", err, len(rep.Rules), len(rep.Findings))
	}
	rep, err = Run(host(t), Options{Disable: []string{"KG004", "KG005"}})
	if err != nil || rep.Worst() != Critical || len(rep.Findings) != 12 {
		t.Errorf("--disable: %v, %d findings", err, len(rep.Findings))
	}
	if _, err := Run(host(t), Options{Rules: []string{"KG999"}}); !errors.Is(err, ErrUnknownRule) {
		t.Errorf("unknown rule: %v", err)
	}
	if _, err := ParseSeverity("severe"); !errors.Is(err, ErrUnknownSeverity) {
		t.Errorf("bad severity: %v", err)
	}
	s := host(t)
	s.Exact = false
	rep, _ = Run(s, Options{})
	var text bytes.Buffer
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "NOT EXACT") {
		t.Error("text report of an inexact snapshot lacks the banner")
	}
}

func TestAllowListErrors(t *testing.T) {
	for text, want := range map[string]string{
		"KG999 comm=x\n":          "a.txt:1: unknown rule",
		"\n# c\nKG002 colour=red": "a.txt:3: unknown key \"colour\"",
		"KG002 comm=[\n":          "a.txt:1: bad pattern",
		"KG002 uid=root\n":        "a.txt:1: uid must be a number",
		"KG002\n":                 "a.txt:1: entry for KG002 has no condition",
		"KG002 comm\n":            "a.txt:1: \"comm\" is not key=value",
	} {
		_, err := ParseAllowList(strings.NewReader(text), "a.txt")
		if !errors.Is(err, ErrAllowList) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", text, err, want)
		}
	}
}

func FuzzParseAllowList(f *testing.F) {
	f.Add("KG002 comm=nginx target=socket:*\n# comment\nKG003 exe=/usr/bin/* uid=0\n")
	f.Fuzz(func(t *testing.T, text string) {
		a, err := ParseAllowList(strings.NewReader(text), "fuzz")
		if err != nil {
			if !errors.Is(err, ErrAllowList) {
				t.Fatalf("error %v does not wrap ErrAllowList", err)
			}
			return
		}
		a.allows(Finding{Rule: "KG002", Holders: []Holder{{Comm: "nginx", FDs: []HeldFD{{Target: "socket:[1]"}}}}})
	})
}

// TestTextEscapesOnce: hostile text in a finding's headline and evidence is
// escaped for the terminal exactly once, where it is printed.
func TestTextEscapesOnce(t *testing.T) {
	const evil = "/etc/back\\up\x1b[31m\u202e.key"
	s := host(t)
	for i := range s.Processes {
		for j := range s.Processes[i].FDs {
			if fd := &s.Processes[i].FDs[j]; fd.Target == "/etc/backup.key" {
				fd.Target = evil
			}
		}
	}
	rep, err := Run(s, Options{Rules: []string{"KG001"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || !strings.Contains(rep.Findings[0].Message, evil) {
		t.Fatalf("findings %+v: want one whose message holds the raw target (JSON carries it as is)", rep.Findings)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	const once = `/etc/back\\up\x1b[31m\u202e.key`
	if got := strings.Count(text.String(), once); got != 3 {
		t.Errorf("the escaped target appears %d times, want 3 (the headline and two holders):\n%s", got, text.String())
	}
	if strings.Contains(text.String(), `\\x1b`) || strings.ContainsAny(text.String(), "\x1b\u202e") {
		t.Errorf("the target is escaped twice or not at all:\n%s", text.String())
	}
}

// TestFingerprintsStableAcrossHosts: the same sharing on another host (or
// after a restart) has other pids, inode numbers, fd numbers, container
// ids and host names, and the same fingerprints; another object, another
// user or another container name changes them.
func TestFingerprintsStableAcrossHosts(t *testing.T) {
	base, err := Run(host(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	moved := host(t)
	moved.Host.Hostname, moved.Host.BootID = "other", "other-boot"
	shift := func(pid int) int { return pid + 10000 }
	for i := range moved.Processes {
		p := &moved.Processes[i]
		p.PID, p.PPID, p.StartTime = shift(p.PID), shift(p.PPID), p.StartTime+777
		if p.Container != nil {
			c := *p.Container
			c.ID = strings.Repeat("9", 64-len(c.Name)) + c.Name // another random id, same name
			p.Container = &c
		}
		for j := range p.FDs {
			fd := &p.FDs[j]
			if strings.HasPrefix(fd.Target, "pipe:[") || strings.HasPrefix(fd.Target, "socket:[") {
				kind, _, _ := strings.Cut(fd.Target, "[")
				fd.Ino += 5000
				fd.Target = kind + "[" + strconv.FormatUint(fd.Ino, 10) + "]"
			}
		}
	}
	for i := range moved.Sockets {
		moved.Sockets[i].Ino += 5000
		if moved.Sockets[i].Peer != 0 {
			moved.Sockets[i].Peer += 5000
		}
	}
	shiftMembers := func(ms []snapshot.Member) {
		for i := range ms {
			ms[i].PID = shift(ms[i].PID)
		}
	}
	for i := range moved.Groups {
		shiftMembers(moved.Groups[i].Members)
	}
	for i := range moved.Endpoints {
		for _, end := range moved.Endpoints[i].Ends {
			shiftMembers(end)
		}
	}
	if err := snapshot.Validate(moved); err != nil {
		t.Fatal(err)
	}
	again, err := Run(moved, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := fingerprints(base), fingerprints(again)
	if !slices.Equal(a, b) {
		t.Errorf("fingerprints changed with pids, inodes and container ids:\n%q\n%q", a, b)
	}
	if len(a) != len(base.Findings) || len(slices.Compact(slices.Clone(a))) != len(a) {
		t.Errorf("fingerprints are not one per finding: %q", a)
	}
	// Another container name is another finding.
	renamed := host(t)
	for i := range renamed.Processes {
		if c := renamed.Processes[i].Container; c != nil && c.Name == "web" {
			c.Name = "api"
		}
	}
	other, _ := Run(renamed, Options{Rules: []string{"KG008"}})
	first, _ := Run(host(t), Options{Rules: []string{"KG008"}})
	if other.Findings[0].Fingerprint == first.Findings[0].Fingerprint {
		t.Errorf("the same fingerprint for the leak in container web and in container api")
	}
}

// TestOlderSnapshotKeepsTheCVEWarning: a snapshot without the host's
// namespaces (taken before the reachability check) cannot have KG008; a
// host directory shared into another mount namespace is then KG003
// critical, as before.
func TestOlderSnapshotKeepsTheCVEWarning(t *testing.T) {
	s := host(t)
	s.Host.Namespaces = nil
	for i := range s.Processes {
		for j := range s.Processes[i].FDs {
			s.Processes[i].FDs[j].ForeignMountNS = 0
		}
	}
	rep, err := Run(s, Options{Rules: []string{"KG003", "KG008"}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range rep.Findings {
		if f.Rule == "KG008" {
			t.Errorf("KG008 without reachability data: %+v", f)
		}
		if f.Rule == "KG003" && f.Object == "dir /sys/fs/cgroup" {
			found = f.Severity == Critical
		}
	}
	if !found {
		t.Errorf("no critical KG003 for the host directory on an older snapshot: %+v", rep.Findings)
	}
}

func TestRuntimeSocketsAndNamespaceFiles(t *testing.T) {
	for name, want := range map[string]bool{
		"/run/docker.sock": true, "/var/run/docker.sock": true, "/run/containerd/containerd.sock": true,
		"/run/containerd/containerd.sock.ttrpc": true, "/var/run/crio/crio.sock": true, "/run/podman/podman.sock": true,
		"/run/containerd/s/4f2a": true, "@/containerd-shim/moby/x/shim.sock": true,
		"/run/nginx.sock": false, "/var/lib/kubelet/device-plugins/kubelet.sock": false, "": false, "docker.socket": false,
	} {
		if got := runtimeSocket(name); got != want {
			t.Errorf("runtimeSocket(%q) = %v, want %v", name, got, want)
		}
	}
	for target, want := range map[string]uint64{"net:[4026531840]": 4026531840, "mnt:[1]": 1, "socket:[5]": 0, "/x/net:[5]": 0, "net:[x]": 0, "pipe:[7]": 0} {
		if got, ok := nsInode(target); got != want || ok != (want != 0) {
			t.Errorf("nsInode(%q) = %d, %v", target, got, ok)
		}
	}
	// A namespace of another container is high, not critical.
	s := host(t)
	for i := range s.Processes {
		if p := &s.Processes[i]; p.PID == 301 {
			for j := range p.FDs {
				if p.FDs[j].FD == 9 {
					p.FDs[j].Target = "net:[4026532402]" // the podman container's
				}
			}
		}
	}
	rep, _ := Run(s, Options{Rules: []string{"KG010"}})
	if len(rep.Findings) != 1 || rep.Findings[0].Severity != High || rep.Findings[0].Holders[0].FDs[0].Note != "another namespace" {
		t.Errorf("another container's namespace: %+v", rep.Findings)
	}
}
