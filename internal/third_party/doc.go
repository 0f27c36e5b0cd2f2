// Package thirdparty holds patched copies of third-party modules, each a
// nested module that go.mod points at with a replace directive, and the
// patches themselves, written to be offered upstream. It has no code; its
// test checks that each copy is upstream plus its patch.
//
// go-graphviz/ is github.com/goccy/go-graphviz v0.2.10 (MIT; its embedded
// graphviz.wasm is graphviz under the Eclipse Public License, see the
// copy's README.md and LICENSE) with go-graphviz-lazy-init.patch applied.
// Upstream compiles and instantiates its WebAssembly module in a package
// init (about 1.2 s of CPU here, paid by every program that imports it,
// before main) and caches compiled code in os.TempDir()/go-graphviz,
// created 0755 if missing and used whoever owns it: another local user who
// creates that directory first chooses the machine code the next program
// that imports go-graphviz runs, as root too. Patched, nothing happens at
// package init, the first use (or graphviz.Init with the caller's wazero
// configuration) compiles the module, and nothing is cached on disk unless
// the caller names a cache. go-graphviz-lazy-init.md explains the change as
// an upstream pull request would.
//
// Besides the patch, the copy differs from the module as published only in
// what kcmpgraph's tree needs: .github/ and the .gitignore files are left
// out (the latter would hide testdata from git), and cgraph/attribute.go is
// gofmt'd (two quotes in doc comments), so that the repository's gofmt
// check passes.
//
// To move to a new upstream version: copy the module from
// $(go env GOMODCACHE)/github.com/goccy/go-graphviz@VERSION, drop the same
// files, apply the patch (patch -p1), gofmt, update the version here, in
// the test and in go.mod, and run go test ./internal/third_party. Once
// upstream has the change, delete the copy and the replace directive.
package thirdparty
