//go:build linux

package graphout

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/goccy/go-graphviz"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"
)

// rendererArg, as the first argument, makes the process the SVG renderer
// that Render starts.
const rendererArg = "__render-svg"

// rendererName is the renderer's argv[0] and its comm, as ps and top show
// it (a program started from /proc/self/exe would be called "exe").
const rendererName = "kcmpgraph-svg"

// maxDOT bounds the DOT text the renderer accepts.
const maxDOT = 64 << 20

// serving is set once ServeRenderer ran: Render refuses to re-execute a
// program that would not serve.
var serving atomic.Bool

// ServeRenderer makes this process the SVG renderer if Render started it,
// and returns at once otherwise. Render re-executes the running program, so
// every program that renders calls ServeRenderer first thing in main, and
// every test binary that renders calls it in TestMain before m.Run.
//
// The renderer reads DOT on stdin, writes SVG on stdout and exits: 0 on
// success, 1 with a one-line message on stderr. go-graphviz is touched only
// here: a process that never renders never compiles its WebAssembly module.
func ServeRenderer() {
	serving.Store(true)
	if len(os.Args) < 2 || os.Args[1] != rendererArg {
		return
	}
	setComm(rendererName)
	if err := serveRenderer(os.Args[2:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", rendererName, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// setComm names the process for ps and top (PR_SET_NAME); failing that,
// the name stays "exe", which is harmless.
func setComm(name string) {
	b := append([]byte(name), 0)
	syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_NAME, uintptr(unsafe.Pointer(&b[0])), 0)
}

func serveRenderer(args []string, in io.Reader, out io.Writer) error {
	fl := flag.NewFlagSet(rendererName, flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	layout := fl.String("layout", "dot", "graphviz layout engine")
	maxMemory := fl.Int64("max-memory", DefaultMaxMemory, "graphviz memory limit in bytes")
	cacheFD := fl.Int("cache-fd", -1, "an open directory (checked by Render) to cache compiled graphviz in")
	if err := fl.Parse(args); err != nil {
		return err
	}
	switch graphviz.Layout(*layout) {
	case graphviz.DOT, graphviz.SFDP, graphviz.NEATO, graphviz.FDP:
	default:
		return fmt.Errorf("unknown layout %q", *layout)
	}
	data, err := io.ReadAll(io.LimitReader(in, maxDOT+1))
	if err != nil {
		return fmt.Errorf("read DOT: %w", err)
	}
	if len(data) > maxDOT {
		return fmt.Errorf("DOT input larger than %d MiB", maxDOT>>20)
	}
	cfg := wazero.NewRuntimeConfig()
	if *cacheFD >= 0 {
		// The directory is reached through the descriptor Render opened
		// and checked, never by its path.
		if cache, err := wazero.NewCompilationCacheWithDir(fmt.Sprintf("/proc/self/fd/%d", *cacheFD)); err == nil {
			cfg = cfg.WithCompilationCache(cache)
		}
	}
	return renderSVG(context.Background(), data, graphviz.Layout(*layout), *maxMemory, cfg, out)
}

// wasmPage is the size of a WebAssembly memory page.
const wasmPage = 64 << 10

// renderSVG renders in this process with go-graphviz, in a wazero runtime
// configured by cfg (its compilation cache). graphviz's heap is
// the module's linear memory, capped at maxMemory; the Go heap (the
// compiler, the copy of the output) gets a soft limit above it. The module
// sees no file system, so a DOT attribute that names a file (image,
// shapefile, fontpath) reads nothing.
func renderSVG(ctx context.Context, dotText []byte, layout graphviz.Layout, maxMemory int64, cfg wazero.RuntimeConfig, out io.Writer) error {
	pages := min(maxMemory/wasmPage, 1<<16)
	if pages < 1 {
		return fmt.Errorf("memory limit %d bytes is below one WebAssembly page", maxMemory)
	}
	debug.SetMemoryLimit(maxMemory + maxMemory/2)
	if err := graphviz.Init(ctx, cfg.WithMemoryLimitPages(uint32(pages))); err != nil {
		return err
	}
	graphviz.SetFileSystem(noFiles{})
	g, err := graphviz.ParseBytes(dotText)
	if err != nil {
		return graphvizError("parse DOT", err, maxMemory)
	}
	defer g.Close()
	gv, err := graphviz.New(ctx)
	if err != nil {
		return graphvizError("start graphviz", err, maxMemory)
	}
	defer gv.Close()
	gv.SetLayout(layout)
	w := bufio.NewWriter(out)
	if err := gv.Render(ctx, g, graphviz.SVG, w); err != nil {
		return graphvizError("render", err, maxMemory)
	}
	return w.Flush()
}

// graphvizError says what failed. graphviz exits (through WASI) where
// malloc fails, so an exit is most likely the memory limit.
func graphvizError(what string, err error, maxMemory int64) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("%s: graphviz stopped with exit code %d, as it does when it needs more than its %d MiB of memory; narrow the diagram with --tree, --pid or --types",
			what, exit.ExitCode(), maxMemory>>20)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// noFiles is the renderer's file system: it has no files.
type noFiles struct{}

func (noFiles) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
