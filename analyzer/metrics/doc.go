// Package metrics turns kcmpgraph scans into Prometheus metrics: the one
// table of metric names, labels and help texts (metrics.go), the Summary
// of a snapshot they are computed from, and the Exporter that scans in the
// background and serves the last result to every scrape.
//
// A scrape never starts a scan: the Exporter keeps only the Summary of its
// last successful scan (counts, never the snapshot itself, so that memory
// between scans is a few kilobytes) and its health. A scan that fails
// leaves the last good Summary in place and sets kcmpgraph_scan_success
// to 0. "kcmpgraph serve" registers an Exporter with client_golang's
// process and Go collectors behind an HTTP server; "kcmpgraph metrics"
// writes one Exporter's exposition once (WriteText), for node_exporter's
// textfile collector. Both therefore print the same metrics from the same
// code.
//
// Cardinality is bounded by construction: no label carries a pid, a path
// or any other string from /proc or from a snapshot file. Label values
// come from fixed sets (object types, channel kinds, audit rules and
// severities, reasons, errno names); a value a snapshot file brings that
// is not in its set is counted under "other". The one exception is
// opt-in (FindingsByContainer): the runtime's container, pod and
// namespace names, escaped for a terminal (escape.Text) and cut to 128
// bytes.
//
// The package judges nothing itself (package audit does) and reads no
// /proc (the scan function it is given does).
package metrics
