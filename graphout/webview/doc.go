// Package webview is kcmpgraph's interactive view of a snapshot, or of
// two (before and after): the page that "kcmpgraph report" writes as one
// self-contained HTML file and "kcmpgraph web" serves on a local port.
//
// Build (and BuildDiff) make a Model: processes with every fd named by
// package objname, the objects they share with the holders of each, the
// ends of channels and the epoll watches, the audit's findings or the
// diff's changes, and the diagram: one box per process (similar
// processes are one box "N ×" past collapseAbove), laid out here as the
// process tree, children in rows below their parent, with one edge per
// pair of boxes and object type. The browser draws the model as SVG,
// with svg-pan-zoom (vendored in assets/vendor, BSD-2-Clause) for pan and
// zoom, and our own small script for search, panels and toggles.
//
// Every string in a model came from /proc or a snapshot and is hostile.
// It is escaped with escape.Text (control and bidi characters, invalid
// UTF-8 shown as Go escapes), written as JSON with <, >, & and U+2028/9
// escaped, and set in the page with textContent only. The report carries
// a meta Content-Security-Policy that allows its inline script and style
// by hash and nothing else (ReportCSP); the server sends ServerCSP,
// nosniff and no CORS headers, answers only to its own Host, and starts
// a rescan only for a POST whose Origin is itself.
//
// It is not for the static diagram (package graphout draws that as
// DOT/SVG) nor for deciding what is shared (package analyzer).
package webview
