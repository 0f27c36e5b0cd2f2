// Package graphout turns a snapshot into a sharing diagram: a gonum
// directed multigraph written as DOT with gonum's encoder, drawn the way
// an SRE sketches a server on a whiteboard.
//
// Processes are boxes that name their command, user and pids. Similar
// processes (same parent, command, user and cluster, and the same part in
// the channels among their siblings) are one box "4 × nginx" that says
// what its members do not have in common ("each: own unix socketpair with
// nginx"). Objects held by the same boxes in the same way are one note
// that lists them by name ("shared by nginx (root) + 4 × nginx (nobody):
// tcp 0.0.0.0:80 LISTEN, /var/log/nginx/access.log, ..."), named by
// package objname; one inherited by everything below a box hangs from
// that box alone. Channels are edges: pipes from write end to read end,
// connections from client to server, socketpairs and ptys as plain
// lines; a pipeline's stages sit on one rank, left to right. Parents
// point at their children (not pid 1, nor across clusters). Boxes are
// clustered by systemd unit or container (from the cgroup) and by PID
// namespace. Tooltips give command lines, users and the fds behind every
// note and edge. The legend is on top.
//
// A large host becomes a map: objects most processes hold are named in
// the legend, channels into a box that most boxes talk to (journald) are
// one note beside it, and past MaxBoxes boxes the services sharing least
// with the others are left out and named. Build's phases are in their
// own files: objects.go (what is shared), boxes.go (who is drawn once),
// bundles.go (notes and edges), summary.go (the map), draw.go and
// pack.go (nodes, edges, rows no wider than a screen), layout.go (the
// engine and its budgets, measured on the WebAssembly graphviz: see
// dotBudget).
//
// Every string that reaches the DOT text comes from /proc or a snapshot and
// is hostile: it is quoted here, before gonum sees it, because gonum passes
// any value that looks like "<...>" through raw as an HTML label. Node IDs
// are synthetic (pid1234, shared3); no URL or href is ever set.
//
// Render turns the DOT text into SVG with go-graphviz (graphviz compiled to
// WebAssembly) in a bounded child process: the running program started
// again, which ServeRenderer, called first in main, turns into the
// renderer. go-graphviz is used only in that child, so a process that does
// not render never compiles graphviz.
package graphout
