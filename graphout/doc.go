// Package graphout turns a snapshot into a sharing diagram: a gonum
// multigraph of processes (and, for objects held by three or more
// processes, object hub nodes) written as DOT with gonum's encoder.
//
// Every string that reaches the DOT text comes from /proc or a snapshot and
// is hostile: it is quoted here, before gonum sees it, because gonum passes
// any value that looks like "<...>" through raw as an HTML label. Node IDs
// are synthetic (p1234, o17); no URL or href is ever set.
//
// A real host has hundreds of processes that all hold /dev/null and a
// journal socket, and workers forked by the dozen. The diagram stays
// readable: identical siblings (same parent, same comm, same sharing)
// collapse into one node "×N", and past 300 boxes similar processes (same
// parent and comm, and children of merged parents) merge too, with objects
// of one type between the same boxes counted in one ellipse; objects held
// by most processes are summarised in the legend instead of drawn; edges
// between one pair of processes are one edge per object type with a
// count, not one per fd; labels are dropped past a size, and past a hard
// limit the diagram is refused with a hint.
//
// SVG rendering with go-graphviz lives in the separate program
// cmd/kcmpgraph/render, so that no other command pays its WebAssembly
// start-up or trusts its shared cache directory; see Render.
package graphout
