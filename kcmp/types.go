package kcmp

import (
	"errors"
	"fmt"
	"strings"
)

// Type is the kind of kernel object kcmp compares (the KCMP_* constants of
// <linux/kcmp.h>).
type Type int

// The kcmp types, with the kernel's numbering.
const (
	File     Type = 0 // KCMP_FILE: open file descriptions, by fd number
	VM       Type = 1 // KCMP_VM: address spaces
	Files    Type = 2 // KCMP_FILES: file descriptor tables
	FS       Type = 3 // KCMP_FS: filesystem information (root, cwd, umask)
	Sighand  Type = 4 // KCMP_SIGHAND: signal handler tables
	IO       Type = 5 // KCMP_IO: I/O contexts
	Sysvsem  Type = 6 // KCMP_SYSVSEM: System V semaphore undo lists
	EpollTFD Type = 7 // KCMP_EPOLL_TFD: a file against an epoll watch
)

// AllTypes lists every type in kernel order.
var AllTypes = []Type{File, VM, Files, FS, Sighand, IO, Sysvsem, EpollTFD}

// TaskTypes lists the types that compare whole tasks rather than fds.
var TaskTypes = []Type{VM, Files, FS, Sighand, IO, Sysvsem}

// Info is what kcmpgraph says about a type, in every output: the one
// table of names, kernel names and words for people.
type Info struct {
	// Name is the type's name on the command line and in snapshots.
	Name string
	// Constant is the kernel's name for it ("KCMP_VM").
	Constant string
	// Struct is the kernel structure the type compares ("mm_struct").
	Struct string
	// Object names that object for people ("address space").
	Object string
	// Null says what a task whose object is NULL lacks ("no address
	// space"), and NullCause why a task usually lacks it; both are ""
	// for File and EpollTFD, which compare fds.
	Null, NullCause string
}

// types is indexed by Type.
var types = [...]Info{
	File:     {Name: "file", Constant: "KCMP_FILE", Struct: "file", Object: "open file description"},
	VM:       {Name: "vm", Constant: "KCMP_VM", Struct: "mm_struct", Object: "address space", Null: "no address space", NullCause: "exited, or kernel threads"},
	Files:    {Name: "files", Constant: "KCMP_FILES", Struct: "files_struct", Object: "fd table", Null: "no fd table", NullCause: "exited, or kernel threads"},
	FS:       {Name: "fs", Constant: "KCMP_FS", Struct: "fs_struct", Object: "fs info (root, cwd, umask)", Null: "no fs info", NullCause: "exited, or kernel threads"},
	Sighand:  {Name: "sighand", Constant: "KCMP_SIGHAND", Struct: "sighand_struct", Object: "signal handler table", Null: "no signal handler table", NullCause: "exited"},
	IO:       {Name: "io", Constant: "KCMP_IO", Struct: "io_context", Object: "I/O context", Null: "no I/O context", NullCause: "most tasks never get one"},
	Sysvsem:  {Name: "sysvsem", Constant: "KCMP_SYSVSEM", Struct: "sem_undo_list", Object: "SysV undo list", Null: "no SysV undo list", NullCause: "most tasks never use SEM_UNDO"},
	EpollTFD: {Name: "epoll", Constant: "KCMP_EPOLL_TFD", Struct: "epitem", Object: "epoll watch"},
}

// Info returns what kcmpgraph says about t; the zero Info for a Type
// that is not one of the constants.
func (t Type) Info() Info {
	if t >= 0 && int(t) < len(types) {
		return types[t]
	}
	return Info{}
}

// String returns the name kcmpgraph uses for the type on its command line
// and in snapshots: file vm files fs sighand io sysvsem epoll.
func (t Type) String() string {
	if n := t.Info().Name; n != "" {
		return n
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// IsTask reports whether the type compares tasks (vm, files, fs, sighand,
// io, sysvsem) rather than file descriptors.
func (t Type) IsTask() bool { return t >= VM && t <= Sysvsem }

// ErrUnknownType is returned by ParseType for a name that is not a type.
var ErrUnknownType = errors.New("unknown kcmp type")

// TypeNames returns the valid type names, in kernel order.
func TypeNames() []string {
	names := make([]string, len(types))
	for i, in := range types {
		names[i] = in.Name
	}
	return names
}

// Named returns the type whose Name is exactly name (as snapshots write
// it), and whether there is one.
func Named(name string) (Type, bool) {
	for i, in := range types {
		if in.Name == name {
			return Type(i), true
		}
	}
	return 0, false
}

// ParseType parses a type name as printed by String. Case is ignored, and
// the kernel's own spelling ("KCMP_FILE", "epoll_tfd") is accepted too.
func ParseType(name string) (Type, error) {
	n := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(name)), "kcmp_")
	for i, in := range types {
		if n == in.Name || "kcmp_"+n == strings.ToLower(in.Constant) {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("%w %q (valid: %s)", ErrUnknownType, name, strings.Join(TypeNames(), ", "))
}

// ParseTypes parses a comma-separated list of type names. Duplicates are
// removed; the result is in kernel order. "all" selects every type.
func ParseTypes(list string) ([]Type, error) {
	seen := make(map[Type]bool)
	for _, part := range strings.Split(list, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		if strings.EqualFold(strings.TrimSpace(part), "all") {
			for _, t := range AllTypes {
				seen[t] = true
			}
			continue
		}
		t, err := ParseType(part)
		if err != nil {
			return nil, err
		}
		seen[t] = true
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("%w: empty type list (valid: %s)", ErrUnknownType, strings.Join(TypeNames(), ", "))
	}
	var out []Type
	for _, t := range AllTypes {
		if seen[t] {
			out = append(out, t)
		}
	}
	return out, nil
}
