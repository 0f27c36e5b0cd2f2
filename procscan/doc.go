// Package procscan reads processes, their tasks and their file
// descriptors from a proc mount: what kcmpgraph needs to know before it
// compares anything with kcmp.
//
// Per process it reads pid, ppid, comm, cmdline, exe, real and effective
// uid and gid, start time, state, namespace ids, cgroup, root, the task
// list and every fd (link target, device and inode, mount id, mode and
// owner of the inode; from fdinfo: pos, flags, eventfd id, epoll watches).
// It reads and parses every file itself, because the scan is bound by
// system calls: fdinfo, stat, status, cmdline, cgroup, namespaces and the
// fd listing (readlinkat and statx relative to the fd directory).
// github.com/prometheus/procfs checks the proc root, and in the tests it
// is the second opinion the cgroup parser is held to; its own path cost
// more per process (an os.Open per file, a stat of /proc/PID, full parses
// into strings) and loses errors (one unreadable namespace link fails its
// whole call).
//
// For processes in another mount namespace than the host's
// (HostNamespaces: pid 1's, or the scanner's own where pid 1's are
// hidden), it finds the directories and regular files they could not have
// opened themselves (Process.ForeignMountNS): on a mount that is not of
// their namespace but of the host's or another scanned one, and whose path
// does not lead to them inside the process's root. See confine.go.
//
// The proc root is a parameter, so a container's /proc mount can be read.
// Processes are read in parallel. A process or fd that vanishes or denies
// access mid-scan is counted and skipped, never fatal. Kernel threads and
// zombies are read and marked; they hold no fds.
//
// procscan does not compare anything; that is package analyzer.
package procscan
