package wasm

import (
	"context"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"
)

// TestLazyInit checks that package init made no module, that Init makes
// it with the given configuration, and that a second Init is refused.
func TestLazyInit(t *testing.T) {
	if ready.Load() || mod.mod != nil {
		t.Fatal("the module was instantiated at package init")
	}
	ctx := context.Background()
	cache := wazero.NewCompilationCache()
	defer cache.Close(ctx)
	if err := Init(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache)); err != nil {
		t.Fatal(err)
	}
	if !ready.Load() {
		t.Fatal("Init did not instantiate the module")
	}
	if err := Init(ctx, nil); !errors.Is(err, ErrInitialized) {
		t.Fatalf("second Init: %v, want ErrInitialized", err)
	}
	if _, err := NewGraphDescriptor(ctx); err != nil {
		t.Fatal(err)
	}
}
