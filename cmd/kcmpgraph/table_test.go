//go:build linux

package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/golden"
)

// The golden tables run the real command line on hand-written snapshots.
// Their uids are 0 (root on every Linux host) and 3999999 (assigned on
// none, so printed as a number): the output does not depend on the
// machine's users. Regenerate with go test ./cmd/kcmpgraph -update.
func TestShowGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"host.table", []string{"show", "testdata/host.json"}},
		{"host-selected.table", []string{"show", "testdata/host.json", "--tree", "100", "--types", "file,epoll"}},
		{"hostile.table", []string{"show", "testdata/hostile.json"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out, stderr, code := runCLI(t, tc.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("%v: exit %d, stderr %q", tc.args, code, stderr)
			}
			golden.Check(t, tc.golden, []byte(out))
		})
	}
}

// TestHostileTableIsSafe proves that nothing in a crafted snapshot reaches
// the terminal raw: no control characters but newlines, no bidi
// overrides or zero-width characters, valid UTF-8, one line per row, and
// columns that stay aligned around wide (CJK) characters.
func TestHostileTableIsSafe(t *testing.T) {
	out, _, code := runCLI(t, "show", "testdata/hostile.json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	checkTerminalSafe(t, out)
	if !strings.Contains(out, "*** NOT EXACT") {
		t.Error("a snapshot taken without kcmp is shown without the NOT EXACT banner")
	}
	for _, want := range []string{`evil\n\x1b[2J<script>`, `/tmp/invoice\u202egpj.exe`, `/tmp/tab\there\\back\x00nul`, `\xff\xfe\xc3(`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks the escaped form %q", want)
		}
	}
	// Three header lines and the banner; a blank line, a header and 10
	// rows for the 4 groups; 4 lines of epoll, 4 of channels (a blank,
	// a header, a row per end), 4 of warnings: a newline inside a string
	// would add lines.
	if n := strings.Count(out, "\n"); n != 28 {
		t.Errorf("%d lines, want 28: a string broke a line?\n%s", n, out)
	}
	checkAligned(t, out, "TYPE  ")
	checkAligned(t, out, "EPOLL  ")
}

// checkTerminalSafe fails on anything a terminal would interpret.
func checkTerminalSafe(t *testing.T, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Error("output is not valid UTF-8")
	}
	for i, r := range out {
		if (unicode.IsControl(r) && r != '\n') || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			t.Errorf("raw %U at byte %d: %q", r, i, out[max(0, i-40):min(len(out), i+40)])
			return
		}
	}
}

// checkAligned checks that in the table starting with the header line
// that begins with prefix, every row has a column boundary (two spaces)
// where the header has one, counted in terminal columns.
func checkAligned(t *testing.T, out, prefix string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			start = i
		}
	}
	if start < 0 {
		t.Fatalf("no table starting with %q", prefix)
	}
	header := lines[start]
	var bounds []int // terminal columns where a header cell starts
	for i := 1; i < len(header); i++ {
		if header[i] != ' ' && header[i-1] == ' ' && i >= 2 && header[i-2] == ' ' {
			bounds = append(bounds, uniseg.StringWidth(header[:i]))
		}
	}
	for _, row := range lines[start+1:] {
		if row == "" {
			break
		}
		for _, col := range bounds {
			if uniseg.StringWidth(row) <= col {
				break // the rest of the row is empty
			}
			before, ok := prefixOfWidth(row, col)
			if !ok || !strings.HasSuffix(before, "  ") && strings.TrimSpace(before) != "" {
				t.Errorf("row not aligned at column %d:\n%s\n%s", col, header, row)
			}
		}
	}
}

// prefixOfWidth returns the prefix of s that is exactly width columns
// wide; ok is false if a character straddles that column.
func prefixOfWidth(s string, width int) (string, bool) {
	used, state, n := 0, -1, 0
	for rest := s; rest != "" && used < width; {
		var cluster string
		var w int
		cluster, rest, w, state = uniseg.FirstGraphemeClusterInString(rest, state)
		used += w
		n += len(cluster)
	}
	return s[:n], used == width
}

// TestTableRawStrings feeds writeTable strings as a live scan has them,
// before any JSON round trip: invalid UTF-8 and control bytes from /proc.
func TestTableRawStrings(t *testing.T) {
	s, err := snapshot.LoadFile("testdata/host.json", snapshot.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Processes[1].Comm = "\xff\xfe\x1b[31mred"
	s.Processes[1].FDs[1].Target = "/tmp/\xc3(\x00\x7f\u202e"
	s.Warnings = append(s.Warnings, "bad \x9b byte \xe2\x80\xae")
	var b bytes.Buffer
	if err := writeTable(&b, s, tableOptions{users: func(int) string { return "\x1b]0;user\x07" }}); err != nil {
		t.Fatal(err)
	}
	checkTerminalSafe(t, b.String())
	for _, want := range []string{`\xff\xfe\x1b[31mred`, `/tmp/\xc3(\x00\x7f\u202e`, `\x1b]0;user\a`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestCutWidth(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"/var/log/nginx/access.log", 10, "/var/log/…"},
		{"日本語のファイル", 7, "日本語…"},                  // wide runes: never half a character
		{"cafe\u0301-au-lait", 5, "cafe\u0301…"}, // the accent stays with its e
		{"🇫🇷🇫🇷🇫🇷", 5, "🇫🇷🇫🇷…"},                   // a flag is one cluster of two runes
		{"anything", 0, "anything"},
	} {
		got := cutWidth(tc.in, tc.n)
		if got != tc.want {
			t.Errorf("cutWidth(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
		if tc.n > 0 && displayWidth(got) > tc.n {
			t.Errorf("cutWidth(%q, %d) is %d columns wide", tc.in, tc.n, displayWidth(got))
		}
	}
}

func TestWrap(t *testing.T) {
	got := wrap("partial result: 3 processes could not be read or compared", 24, "- ", "  ")
	want := []string{"- partial result: 3", "  processes could not be", "  read or compared"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("wrap = %q, want %q", got, want)
	}
	if got := wrap("one line", 0, "- ", "  "); len(got) != 1 || got[0] != "- one line" {
		t.Errorf("wrap without width = %q", got)
	}
	if got := wrap(strings.Repeat("x", 30), 20, "", "  "); len(got) != 1 || displayWidth(got[0]) != 20 {
		t.Errorf("a word longer than the line = %q, want it cut to 20 columns", got)
	}
}

func TestUserNames(t *testing.T) {
	u := userNames{}
	if got := u.name(0); got != "root" {
		t.Errorf("uid 0 = %q, want root", got)
	}
	if got := u.name(3999999); got != "3999999" {
		t.Errorf("an unassigned uid = %q, want the number", got)
	}
}

// TestTableWidthPolicy: on a terminal narrower than the table, the widest
// columns give way first, the last one included; no column is cut to
// nothing while another stays whole (the old policy cut only the last
// column, which left OTHER END 12 columns at 100-120).
func TestTableWidthPolicy(t *testing.T) {
	long := strings.Repeat("x", 70)
	tt := textTable{header: []string{"CHANNEL", "NAME", "ONE END", "OTHER END"}}
	tt.add("unix", "/run/"+long[:30], "100:3 nginx, "+long[:47], "200:4 logger, "+long[:26])
	for _, width := range []int{100, 120} {
		var b bytes.Buffer
		tt.write(&b, width)
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		for _, l := range lines {
			if displayWidth(l) > width {
				t.Errorf("width %d: line of %d columns: %q", width, displayWidth(l), l)
			}
		}
		cells := strings.Split(lines[1], "  ")
		var kept []string
		for _, c := range cells {
			if c != "" {
				kept = append(kept, strings.TrimSpace(c))
			}
		}
		if len(kept) != 4 {
			t.Fatalf("width %d: row %q", width, lines[1])
		}
		// The narrow column stays whole; the last one keeps a fair share.
		if kept[0] != "unix" || displayWidth(kept[3]) < 25 {
			t.Errorf("width %d: cells %q", width, kept)
		}
	}
	widths := []int{11, 35, 60, 40}
	fitColumns(widths, 94)
	if fmt.Sprint(widths) != "[11 27 28 28]" {
		t.Errorf("fitColumns to 94: %v", widths)
	}
	widths = []int{4, 30, 3}
	fitColumns(widths, 10)
	if fmt.Sprint(widths) != "[4 8 3]" {
		t.Errorf("fitColumns below the floors: %v", widths)
	}
}
