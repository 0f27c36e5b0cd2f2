package wasm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// ErrInitialized is returned by Init when the module exists already.
var ErrInitialized = errors.New("graphviz: the WebAssembly module is already instantiated; call Init before any other use of the package")

var (
	initMu sync.Mutex
	ready  atomic.Bool // mod.mod is set
)

// Init compiles and instantiates the embedded Graphviz module in a wazero
// runtime configured by cfg; nil means wazero.NewRuntimeConfig(): compiled
// in memory, nothing cached on disk. Without Init, the first call into the
// module does the same with the default configuration. Init returns
// ErrInitialized if the module exists already, since cfg could no longer
// apply.
func Init(ctx context.Context, cfg wazero.RuntimeConfig) error {
	initMu.Lock()
	defer initMu.Unlock()
	if ready.Load() {
		return ErrInitialized
	}
	return mod.setup(ctx, cfg)
}

// instance returns the module's instance, making it on first use.
func (m *WasmModule) instance() api.Module {
	if !ready.Load() {
		if err := m.setupOnce(); err != nil {
			panic(err)
		}
	}
	return m.mod
}

func (m *WasmModule) setupOnce() error {
	initMu.Lock()
	defer initMu.Unlock()
	if ready.Load() {
		return nil
	}
	return m.setup(context.Background(), nil)
}

func (m *WasmModule) setup(ctx context.Context, cfg wazero.RuntimeConfig) error {
	if cfg == nil {
		cfg = wazero.NewRuntimeConfig()
	}
	inst, err := m.instantiate(ctx, cfg)
	if err != nil {
		return fmt.Errorf("graphviz: instantiate the WebAssembly module: %w", err)
	}
	m.mod = inst
	ready.Store(true)
	// Set MAX to prevent outputting internally generated errors or warnings
	// with agerr to the stderr (cgraph's package init did this before). The
	// call finds the module ready.
	if _, err := SetError(ctx, MAX); err != nil {
		return fmt.Errorf("graphviz: set the error level: %w", err)
	}
	return nil
}
