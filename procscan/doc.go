// Package procscan reads processes, their tasks and their file
// descriptors from a proc mount: what kcmpgraph needs to know before it
// compares anything with kcmp.
//
// Per process it reads pid, ppid, comm, cmdline, exe, real and effective
// uid and gid, start time, state, namespace ids, cgroup, root, the task
// list and every fd (link target, device and inode, mount id, mode and
// owner of the inode; from fdinfo: pos, flags, eventfd id, epoll watches).
// It uses github.com/prometheus/procfs for the per-process files it parses
// well (stat, status, cmdline, cgroup) and its own small parsers where
// procfs loses errors or is slow: fdinfo (procfs parses it with regular
// expressions into strings), namespaces (one unreadable link fails the
// whole procfs call) and the fd listing itself, which uses readlinkat and
// statx relative to the fd directory.
//
// The proc root is a parameter, so a container's /proc mount can be read.
// Processes are read in parallel. A process or fd that vanishes or denies
// access mid-scan is counted and skipped, never fatal. Kernel threads and
// zombies are read and marked; they hold no fds.
//
// procscan does not compare anything; that is package analyzer.
package procscan
