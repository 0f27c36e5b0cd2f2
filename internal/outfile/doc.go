// Package outfile writes a command's output to a path the user named, or
// to standard output, without harming whatever the path already names.
// kcmpgraph runs as root; "-o /dev/null", "-o /dev/stdout", a FIFO read by
// another program, or a name another user planted in /tmp must not become
// a way to break the host or to leak a snapshot.
//
// What Write does with the path:
//
//   - "" or "-": standard output.
//   - A path that does not exist, or names a regular file: the file is
//     replaced atomically. The output goes to a new file in the same
//     directory (an unnamed O_TMPFILE where the file system has them,
//     else a hidden temporary name), which is synced, linked, renamed over
//     the path and followed by a sync of the directory. A failed or
//     interrupted write leaves the old file untouched and nothing else
//     behind; even a killed process leaves no temporary file where
//     O_TMPFILE works. The new file gets the mode the caller asks for
//     (0600 unless told otherwise: outputs hold other users' paths).
//   - A path that names something else (a character or block device, a
//     FIFO, or a symbolic link to one, /dev/stdout and /dev/fd/N
//     included): it is opened and written in place, never replaced. A path
//     that names one of this process's own descriptors (/dev/stdout,
//     /proc/self/fd/1) writes to that descriptor, so "> file" and ">> file"
//     keep their meaning. A FIFO is opened without blocking: without a
//     reader, Write says so on Options.Notices and waits for one at most
//     Options.FIFOWait, then fails with ErrNoReader. A socket, or a
//     directory, is refused.
//
// Symbolic links are resolved one component at a time from file
// descriptors (openat with O_NOFOLLOW and O_PATH, fstat and readlinkat of
// the opened link), so a link swapped in after a check is never followed.
// A link is followed only when the directory holding it cannot be changed
// by other users, or the link belongs to the caller, or, in a sticky
// directory such as /tmp, to the directory's owner: the rule the kernel's
// fs.protected_symlinks enforces, applied whether or not the host enables
// it, and extended to directories that another user owns. In the same
// directories a FIFO or device is written in place only if it belongs to
// the caller or the directory's owner (the rule of fs.protected_fifos), so
// a planted FIFO cannot read a root scan. Links in /proc (a process's fd,
// cwd or root) are the kernel's own and are followed by the kernel.
//
// What it is not for: formatting (the caller's write function produces the
// bytes) and reading.
package outfile
