//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
)

// checkSVG fails unless the file is a well-formed SVG document.
func checkSVG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	sawSVG := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", path, err)
		}
		if el, ok := tok.(xml.StartElement); ok && el.Name.Local == "svg" {
			sawSVG = true
		}
	}
	if !sawSVG {
		t.Fatalf("%s has no <svg> element:\n%.300s", path, b)
	}
}

// TestGoInstall installs the module's commands the way a Go user does and
// draws an SVG with what was installed: go install ./cmd/... installs one
// program, kcmpgraph, that renders without anything next to it.
func TestGoInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and installs kcmpgraph")
	}
	gobin := t.TempDir()
	install := exec.Command("go", "install", "./cmd/...")
	install.Dir = filepath.Join("..", "..")
	install.Env = append(os.Environ(), "GOBIN="+gobin)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install ./cmd/...: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(gobin)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "kcmpgraph" {
		t.Fatalf("go install ./cmd/... installed %q, want only kcmpgraph", names)
	}
	svg := filepath.Join(t.TempDir(), "host.svg")
	cmd := exec.Command(filepath.Join(gobin, "kcmpgraph"), "graph", filepath.Join("testdata", "host.json"), "-o", svg)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installed kcmpgraph graph -o host.svg: %v\n%s", err, out)
	}
	checkSVG(t, svg)
}

// TestSVGAsNobody draws an SVG as uid 65534 with HOME=/nonexistent, as a
// system service's account would.
func TestSVGAsNobody(t *testing.T) {
	bin := buildForNobody(t)
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	snap, err := os.ReadFile(filepath.Join("testdata", "host.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "host.json"), snap, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	svg := filepath.Join(dir, "host.svg")
	_, stderr, code := runAsNobody(t, bin, "graph", filepath.Join(dir, "host.json"), "-o", svg)
	if code != 0 {
		t.Fatalf("graph -o host.svg as nobody with HOME=/nonexistent: exit %d %s", code, stderr)
	}
	checkSVG(t, svg)
}

// TestRenderCache: the first SVG compiles graphviz and caches it in a
// private XDG_CACHE_HOME; the second loads it (a tenth of the CPU, or
// less: compiling takes about a second).
func TestRenderCache(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kcmpgraph")
	}
	bin := kcmpgraphBinary(t)
	cache := t.TempDir()
	var cpu [2]time.Duration
	for i := range cpu {
		cmd := exec.Command(bin, "graph", filepath.Join("testdata", "host.json"), "-o", filepath.Join(t.TempDir(), "host.svg"))
		cmd.Env = []string{"PATH=/usr/bin:/bin", "XDG_CACHE_HOME=" + cache}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("graph -o host.svg: %v\n%s", err, out)
		}
		// The renderer's CPU is in kcmpgraph's: it waited for it.
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu[i] = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var files []string
	filepath.WalkDir(filepath.Join(cache, "kcmpgraph", "graphviz"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, path)
		}
		return err
	})
	if len(files) != 1 || cpu[1] > cpu[0]/4 {
		t.Errorf("cache files %v; CPU %v for the first render, %v for the second", files, cpu[0], cpu[1])
	}
}

// TestRendererBounds runs the renderer entry point of the binary directly:
// past its memory limit graphviz stops with a message that says so, and
// the DOT cannot make it read a file (an image attribute naming a real PNG
// draws nothing; a renderer that reads files writes an <image> element of
// the PNG's size).
func TestRendererBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kcmpgraph")
	}
	bin := kcmpgraphBinary(t)
	render := func(dot string, args ...string) (string, string, error) {
		cmd := exec.Command(bin, append([]string{"__render-svg", "-layout", "dot"}, args...)...)
		cmd.Dir = "/"
		cmd.Env = []string{}
		cmd.Stdin = strings.NewReader(dot)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	var big strings.Builder
	big.WriteString("digraph {\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&big, "n%d -> n%d;\n", i, (i*7+3)%200)
	}
	big.WriteString("}\n")
	_, stderr, err := render(big.String(), "-max-memory", strconv.Itoa(1<<20))
	if err == nil || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "needs more than its 1 MiB of memory") {
		t.Errorf("200 nodes in 1 MiB: %v %q", err, stderr)
	}

	pic := filepath.Join(t.TempDir(), "red.png")
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	img.Set(0, 0, color.RGBA{R: 0xff, A: 0xff})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pic, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := render(fmt.Sprintf("digraph { a [image=%q, label=\"\"]; a -> b }", pic))
	if err != nil || !strings.Contains(out, "<svg") || strings.Contains(out, "<image") {
		t.Errorf("image=%s: %v %q\n%s", pic, err, stderr, out)
	}
}

// TestOtherCommandsSkipGraphviz: a command that draws nothing compiles
// nothing. kcmpgraph links go-graphviz, whose package init (patched) only
// allocates tables; unpatched, it compiles graphviz there (megabytes
// allocated, a second of CPU).
func TestOtherCommandsSkipGraphviz(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kcmpgraph")
	}
	bin := kcmpgraphBinary(t)
	for _, args := range [][]string{{"scan", "--help"}, {"show", filepath.Join("testdata", "host.json")}} {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"GODEBUG=inittrace=1"}
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errb.Bytes())
		}
		var pkgs []string
		var bytesAllocated int64
		sc := bufio.NewScanner(&errb)
		for sc.Scan() {
			// init github.com/goccy/go-graphviz/internal/wasm @2.6 ms, 0.023 ms clock, 4384 bytes, 70 allocs
			f := strings.Fields(sc.Text())
			if len(f) < 9 || f[0] != "init" || f[8] != "bytes," ||
				!strings.HasPrefix(f[1], "github.com/goccy/go-graphviz") && !strings.HasPrefix(f[1], "github.com/tetratelabs/wazero") {
				continue
			}
			n, err := strconv.ParseInt(f[7], 10, 64)
			if err != nil {
				t.Fatalf("inittrace line %q: %v", sc.Text(), err)
			}
			pkgs = append(pkgs, f[1])
			bytesAllocated += n
		}
		if !strings.Contains(strings.Join(pkgs, " "), "github.com/goccy/go-graphviz/internal/wasm") {
			t.Fatalf("%v: no init of go-graphviz's wasm package in the trace (is it linked?): %v", args, pkgs)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		if bytesAllocated > 256<<10 || cpu > 500*time.Millisecond {
			t.Errorf("%v: go-graphviz and wazero allocated %d bytes in their package inits; the process used %v of CPU", args, bytesAllocated, cpu)
		}
	}
}

// BenchmarkStartup runs a command that draws nothing: the cost of starting
// kcmpgraph.
func BenchmarkStartup(b *testing.B) {
	bin := kcmpgraphBinary(b)
	for b.Loop() {
		if err := exec.Command(bin, "show", filepath.Join("testdata", "host.json")).Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPlantedCompilationCache plants a compiled-code cache entry, as a FIFO,
// where go-graphviz v0.2.10 as published would load it from: in a
// go-graphviz directory of another user's in TMPDIR, in one that others
// may write, and under XDG_CACHE_HOME and HOME in a kcmpgraph directory of
// another user's (where the previous kcmpgraph let its renderer cache, one
// level below a parent it did not check); and where this kcmpgraph caches,
// below that directory of another user's and in a private directory whose
// subdirectory others may write. The published module, built here, opens
// the entry (the control: the marker is where it looks); a root render
// with kcmpgraph, with TMPDIR, XDG_CACHE_HOME and HOME pointing at those
// directories, must succeed without opening any of them.
func TestPlantedCompilationCache(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kcmpgraph and the published go-graphviz")
	}
	testkit.RequireRoot(t, "to render as root against directories of uid 65534")
	control := buildPublishedGoGraphviz(t)
	bin := kcmpgraphBinary(t)

	// Where the published module caches: run it once with a scratch TMPDIR.
	scratch := t.TempDir()
	if out, err := runWithEnv(control, "TMPDIR="+scratch); err != nil {
		t.Fatalf("go-graphviz v0.2.10 with TMPDIR=%s: %v\n%s", scratch, err, out)
	}
	entry := cacheEntry(t, filepath.Join(scratch, "go-graphviz"))

	root := t.TempDir()
	mkdir := func(path string, uid int, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(path, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path, uid, uid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	var fifos []string
	// plant makes the FIFO, uid 65534's, at entry in cacheDir, in a
	// directory of uid's with mode.
	plant := func(cacheDir string, uid int, mode os.FileMode) {
		t.Helper()
		fifo := filepath.Join(cacheDir, entry)
		mkdir(filepath.Dir(fifo), uid, mode)
		if err := unix.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(fifo, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		fifos = append(fifos, fifo)
	}
	// TMPDIR/go-graphviz owned by another user.
	tmpOwned := filepath.Join(root, "tmp-owned")
	mkdir(filepath.Join(tmpOwned, "go-graphviz"), 65534, 0o755)
	plant(filepath.Join(tmpOwned, "go-graphviz"), 65534, 0o755)
	// TMPDIR/go-graphviz root's but writable by others, like /tmp itself.
	tmpOpen := filepath.Join(root, "tmp-open")
	mkdir(tmpOpen, 0, 0o1777)
	mkdir(filepath.Join(tmpOpen, "go-graphviz"), 0, 0o777)
	plant(filepath.Join(tmpOpen, "go-graphviz"), 65534, 0o755)
	// The previous kcmpgraph's cache: .../kcmpgraph/graphviz (root's, 0700,
	// all it checked) in a kcmpgraph directory of another user's, who can
	// swap what lies below it.
	// This kcmpgraph caches in that graphviz directory itself: planted
	// there too, and below a private chain whose last directory others
	// may write.
	for _, base := range []string{filepath.Join(root, "xdg"), filepath.Join(root, "home", ".cache")} {
		mkdir(filepath.Join(base, "kcmpgraph"), 65534, 0o755)
		mkdir(filepath.Join(base, "kcmpgraph", "graphviz"), 0, 0o700)
		mkdir(filepath.Join(base, "kcmpgraph", "graphviz", "go-graphviz"), 65534, 0o755)
		plant(filepath.Join(base, "kcmpgraph", "graphviz", "go-graphviz"), 65534, 0o755)
		plant(filepath.Join(base, "kcmpgraph", "graphviz"), 65534, 0o755)
	}
	loose := filepath.Join(root, "loose")
	for _, d := range []string{loose, filepath.Join(loose, "kcmpgraph"), filepath.Join(loose, "kcmpgraph", "graphviz")} {
		mkdir(d, 0, 0o700)
	}
	plant(filepath.Join(loose, "kcmpgraph", "graphviz"), 0, 0o777)

	// The control opens the entries planted in TMPDIR.
	for i, tmp := range []string{tmpOwned, tmpOpen} {
		cmd := exec.Command(control)
		cmd.Env = []string{"TMPDIR=" + tmp}
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		opened := waitForReader(fifos[i], 2*time.Minute)
		cmd.Process.Kill()
		cmd.Wait()
		if !opened {
			t.Fatalf("control: go-graphviz v0.2.10 with TMPDIR=%s did not open %s; the test plants in the wrong place", tmp, fifos[i])
		}
	}

	snap := filepath.Join("testdata", "host.json")
	for _, env := range [][]string{
		{"TMPDIR=" + tmpOwned, "XDG_CACHE_HOME=" + filepath.Join(root, "xdg"), "HOME=" + filepath.Join(root, "home")},
		{"TMPDIR=" + tmpOpen, "HOME=" + filepath.Join(root, "home")},
		{"XDG_CACHE_HOME=" + loose},
	} {
		svg := filepath.Join(t.TempDir(), "host.svg")
		cmd := exec.Command(bin, "graph", snap, "-o", svg, "--timeout", "2m")
		cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var opened []string
		var err error
	watch:
		for {
			for _, f := range fifos {
				if hasReader(f) {
					opened = append(opened, f)
				}
			}
			select {
			case err = <-done:
				break watch
			case <-time.After(20 * time.Millisecond):
			}
		}
		if len(opened) > 0 {
			t.Fatalf("a root render with %v opened planted cache entries %v (exit: %v)\n%s", env, opened, err, errb.Bytes())
		}
		if err != nil {
			t.Fatalf("graph -o host.svg with %v: %v\n%s", env, err, errb.Bytes())
		}
		checkSVG(t, svg)
	}
}

// hasReader reports whether a process has the FIFO open for reading (or is
// blocked opening it): only then does a non-blocking open for writing
// succeed. Opening for writing lets that reader go on, and closing it gives
// the reader end of file.
func hasReader(fifo string) bool {
	fd, err := unix.Open(fifo, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

func waitForReader(fifo string, timeout time.Duration) bool {
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if hasReader(fifo) {
			return true
		}
	}
	return false
}

// cacheEntry returns the one file wazero wrote under dir, relative to it.
func cacheEntry(t *testing.T, dir string) string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, rel)
		}
		return err
	})
	sort.Strings(files)
	if err != nil || len(files) != 1 {
		t.Fatalf("go-graphviz v0.2.10's cache in %s: %v %v, want one entry", dir, files, err)
	}
	return files[0]
}

func runWithEnv(bin string, env ...string) ([]byte, error) {
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd.CombinedOutput()
}

// buildPublishedGoGraphviz builds a program that only imports go-graphviz
// v0.2.10 as published (not kcmpgraph's patched copy): its package init
// compiles graphviz and caches it under TMPDIR.
func buildPublishedGoGraphviz(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join("..", "..", "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	// kcmpgraph's go.sum lacks the replaced module itself.
	sum = append(sum, "github.com/goccy/go-graphviz v0.2.10 h1:jHu/1I0Iw0xIzzYk96Ous/ZeuD11Rt2oW8juHdIE30g=\n"+
		"github.com/goccy/go-graphviz v0.2.10/go.mod h1:LRlMnNmY17QbN6fLnvOzY7g0rXQjLKAhzxeTHbEUM6w=\n"...)
	files := map[string]string{
		"go.mod":  "module published\n\ngo 1.26\n\nrequire github.com/goccy/go-graphviz v0.2.10\n",
		"go.sum":  string(sum),
		"main.go": "package main\n\nimport _ \"github.com/goccy/go-graphviz\"\n\nfunc main() {}\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "published")
	build := exec.Command("go", "build", "-mod=mod", "-o", bin, ".")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build a program with go-graphviz v0.2.10: %v\n%s", err, out)
	}
	return bin
}
