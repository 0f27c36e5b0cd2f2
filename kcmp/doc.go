// Package kcmp is a typed wrapper around the Linux kcmp(2) system call.
//
// kcmp tells whether two tasks share a kernel object (an open file
// description, an address space, an fd table, filesystem information, a
// signal handler table, an I/O context, a System V undo list) and, when
// they do not, orders the two objects. The order is the order of obfuscated
// kernel pointers: a strict total order per Type that is stable within one
// boot and meaningless across boots or types. It is a valid sort
// comparator and never a value to store.
//
// golang.org/x/sys/unix has only SYS_KCMP; this package defines the types,
// the result, the epoll slot and the errors. It is the only package of
// kcmpgraph that makes the call. It knows nothing about /proc or grouping.
//
// It owns the list of types: Type.Info is the one table of what every
// kcmpgraph output says about a type (its name, the kernel's constant and
// structure, the object's name for people and what a NULL object means).
// The types build on any system, the calls on Linux only, so the offline
// packages (snapshot, diff, graphout) can name types anywhere.
//
// Errors keep the errno: errors.Is(err, unix.EPERM) works on every error
// returned here.
package kcmp
