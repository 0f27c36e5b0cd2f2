//go:build linux

package graphout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoRenderer is returned by Render in a program that did not call
// ServeRenderer: Render re-executes the running program as its renderer,
// and a program that does not serve would run its own main instead.
var ErrNoRenderer = errors.New("svg: this program cannot render (it must call graphout.ServeRenderer at the start of main, and tests in TestMain)")

// DefaultMaxMemory is graphviz's memory limit unless RenderOptions says
// otherwise. An sfdp layout of 3,000 nodes and edges with labels fits in
// 64 MiB; a dot layout of more than about 1,000 nodes can want gigabytes,
// which the limit turns into an error instead of pressure on the host.
const DefaultMaxMemory = 1 << 30

// maxSVG bounds the SVG that Render accepts from the renderer.
const maxSVG = 256 << 20

// RenderOptions bound the renderer.
type RenderOptions struct {
	// Timeout kills the renderer after this long (default 60 s).
	Timeout time.Duration
	// MaxMemory limits graphviz's memory in bytes (default
	// DefaultMaxMemory); past it the render fails with an error.
	MaxMemory int64
	// Warn, if set, is told why the cache of compiled code was not used
	// (see Render): the render then compiles graphviz in memory, about a
	// second of CPU every time.
	Warn func(string)
}

// Render turns DOT text into SVG with graphviz (compiled to WebAssembly,
// run by wazero) in a child process: the running program itself, started
// again from /proc/self/exe with ServeRenderer's argument. The child gets
// an empty environment and / as its directory, needs no HOME or TMPDIR,
// and gives graphviz no file system. It is bounded by a timeout, a memory
// limit and PR_SET_PDEATHSIG, so a layout that runs away cannot outlive or
// exhaust the caller.
//
// Compiling graphviz takes the child about a second of CPU. The compiled
// code is cached in $XDG_CACHE_HOME/kcmpgraph/graphviz (else
// ~/.cache/kcmpgraph/graphviz) when that directory, every directory above
// it and everything in it can be changed by no one but root and this user
// (see openRenderCache); otherwise the child compiles in memory and caches
// nothing, and RenderOptions.Warn is told why.
func Render(ctx context.Context, dotText []byte, layout string, w io.Writer, opts RenderOptions) error {
	if !serving.Load() {
		return ErrNoRenderer
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	maxMemory := opts.MaxMemory
	if maxMemory <= 0 {
		maxMemory = DefaultMaxMemory
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := []string{rendererArg, "-layout", layout, "-max-memory", strconv.FormatInt(maxMemory, 10)}
	var cache *os.File
	if dir, err := openRenderCache(); err == nil {
		cache = dir
		defer cache.Close()
		args = append(args, "-cache-fd", "3")
	} else if opts.Warn != nil {
		opts.Warn(fmt.Sprintf("svg: not caching compiled graphviz, compiling it anew (about a second): %v", err))
	}
	cmd := exec.CommandContext(ctx, "/proc/self/exe", args...)
	cmd.Args[0] = rendererName
	if cache != nil {
		cmd.ExtraFiles = []*os.File{cache}
	}
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.Stdin = bytes.NewReader(dotText)
	out := &limitedBuffer{max: maxSVG}
	errOut := &headBuffer{max: 4096}
	cmd.Stdout = out
	cmd.Stderr = errOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("svg: rendering took longer than %v; narrow the diagram with --tree, --pid or --types, or write --format dot", timeout)
		case out.full:
			return fmt.Errorf("svg: the SVG is larger than %d MiB; narrow the diagram with --tree, --pid or --types", maxSVG>>20)
		}
		msg := strings.TrimSpace(errOut.String())
		if msg == "" {
			msg = "renderer failed"
		}
		return fmt.Errorf("svg: %s: %w", msg, err)
	}
	_, err := w.Write(fitWidth(out.Bytes()))
	return err
}

// fitStyle lets a browser scale a diagram wider than its window down to
// the window's width, keeping its aspect (graphviz gives the SVG a fixed
// width and height in points, and a viewBox); a narrower one keeps its
// size. A host map some 1,800 px wide is then read whole at 1,600 px.
const fitStyle = ` style="max-width:100%;height:auto"`

// fitWidth adds fitStyle to the SVG's root element.
func fitWidth(svg []byte) []byte {
	i := bytes.Index(svg, []byte("<svg "))
	if i < 0 {
		return svg
	}
	i += len("<svg")
	return slices.Concat(svg[:i], []byte(fitStyle), svg[i:])
}

// limitedBuffer keeps up to max bytes; a write past that fails, which
// closes the pipe and ends the child.
type limitedBuffer struct {
	bytes.Buffer
	max  int
	full bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		b.full = true
		return 0, errors.New("output too large")
	}
	return b.Buffer.Write(p)
}

// headBuffer keeps the first max bytes written to it and drops the rest.
type headBuffer struct {
	bytes.Buffer
	max int
}

func (b *headBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
