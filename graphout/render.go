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
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// RendererName is the SVG renderer program's name (cmd/kcmpgraph/render).
const RendererName = "kcmpgraph-render"

// ErrNoRenderer is returned when the renderer program cannot be found.
var ErrNoRenderer = errors.New(RendererName + " not found (build it with 'make build'; it is installed next to kcmpgraph)")

// RenderOptions bound the renderer.
type RenderOptions struct {
	// Renderer is the program's path; "" looks in $KCMPGRAPH_RENDER, next
	// to the running executable, then in $PATH.
	Renderer string
	// Timeout kills the renderer after this long (default 60 s).
	Timeout time.Duration
	// CacheDir is go-graphviz's private cache directory; "" means
	// $XDG_CACHE_HOME/kcmpgraph/graphviz (or ~/.cache/...).
	CacheDir string
}

func findRenderer(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	if p := os.Getenv("KCMPGRAPH_RENDER"); p != "" {
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), RendererName)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(RendererName); err == nil {
		return p, nil
	}
	return "", ErrNoRenderer
}

// privateDir returns a directory only this user can use: created 0700,
// and refused if it exists owned by someone else or open to others. This
// is where go-graphviz caches compiled code; a directory another local
// user could write would let them plant code that a root run executes.
func privateDir(dir string) (string, error) {
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no cache directory: %w", err)
		}
		dir = filepath.Join(base, "kcmpgraph", "graphviz")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(dir, &st); err != nil {
		return "", err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR || int(st.Uid) != os.Geteuid() || st.Mode&0o077 != 0 {
		return "", fmt.Errorf("cache directory %s is not private (owner %d, mode %o); remove it or set XDG_CACHE_HOME", dir, st.Uid, st.Mode&0o777)
	}
	return dir, nil
}

// Render turns DOT text into SVG with the renderer program, bounded by a
// timeout and a memory limit, with a private cache directory.
func Render(ctx context.Context, dotText []byte, layout string, w io.Writer, opts RenderOptions) error {
	prog, err := findRenderer(opts.Renderer)
	if err != nil {
		return err
	}
	cache, err := privateDir(opts.CacheDir)
	if err != nil {
		return fmt.Errorf("svg: %w", err)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, "-layout", layout)
	cmd.Stdin = bytes.NewReader(dotText)
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	// go-graphviz's cache goes under $TMPDIR/go-graphviz: point it at our
	// private directory. GOMEMLIMIT makes the Go side collect hard before
	// the machine suffers; the timeout ends a layout that runs away.
	cmd.Env = append(filterEnv(os.Environ(), "TMPDIR=", "GOMEMLIMIT="), "TMPDIR="+cache, "GOMEMLIMIT=1GiB")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("svg: rendering took longer than %v; narrow the diagram with --tree, --pid or --types, or write --format dot", timeout)
		}
		return fmt.Errorf("svg: %s: %w", strings.TrimSpace(errOut.String()), err)
	}
	_, err = w.Write(out.Bytes())
	return err
}

func filterEnv(env []string, drop ...string) []string {
	var out []string
next:
	for _, e := range env {
		for _, d := range drop {
			if strings.HasPrefix(e, d) {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}
