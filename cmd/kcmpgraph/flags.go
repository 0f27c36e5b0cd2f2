//go:build linux

package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kcmpgraph/kcmpgraph/kcmp"
)

// valueError is a flag value's own complaint; flagError prints it after
// the flag's name ("--tree: \"abc\" is not a pid").
type valueError struct{ msg string }

func (e *valueError) Error() string { return e.msg }

func badValue(format string, args ...any) error { return &valueError{fmt.Sprintf(format, args...)} }

// flagError says in our words what is wrong with a flag's value, instead
// of the parser's ("strconv.ParseInt: parsing ...: invalid syntax").
func flagError(_ *cobra.Command, err error) error {
	var ive *pflag.InvalidValueError
	if !errors.As(err, &ive) {
		return usageError{err}
	}
	name, value := "--"+ive.GetFlag().Name, ive.GetValue()
	var own *valueError
	if errors.As(err, &own) {
		return usagef("%s: %s", name, own.msg)
	}
	switch ive.GetFlag().Value.Type() {
	case "int":
		return usagef("%s: %q is not a whole number", name, value)
	case "duration":
		return usagef("%s: %q is not a duration (for example 90s, 2m or 1m30s)", name, value)
	case "bool":
		return usagef("%s: %q is not true or false", name, value)
	}
	return usagef("%s: %q is not a valid %s", name, value, ive.GetFlag().Value.Type())
}

// parsePID parses one pid: a positive decimal number.
func parsePID(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return 0, badValue("%q is not a pid (a positive number)", s)
	}
	return n, nil
}

// pidFlag is a flag holding one pid (--tree).
type pidFlag int

func (p *pidFlag) String() string {
	if *p == 0 {
		return ""
	}
	return strconv.Itoa(int(*p))
}

func (p *pidFlag) Set(s string) error {
	n, err := parsePID(s)
	if err != nil {
		return err
	}
	*p = pidFlag(n)
	return nil
}

func (p *pidFlag) Type() string { return "pid" }

// pidListFlag is a flag holding comma-separated pids (--pid); given twice,
// the lists add up.
type pidListFlag []int

func (l *pidListFlag) String() string { return joinInts(*l) }

func (l *pidListFlag) Set(s string) error {
	n := 0
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		pid, err := parsePID(part)
		if err != nil {
			return err
		}
		*l = append(*l, pid)
		n++
	}
	if n == 0 {
		return badValue("empty list (give pids separated by commas)")
	}
	return nil
}

func (l *pidListFlag) Type() string { return "pids" }

// typesFlag is a flag holding comma-separated kcmp type names (--types);
// given twice, the lists add up.
type typesFlag []kcmp.Type

func (l *typesFlag) String() string {
	names := make([]string, len(*l))
	for i, t := range *l {
		names[i] = t.String()
	}
	return strings.Join(names, ",")
}

func (l *typesFlag) Set(s string) error {
	ts, err := kcmp.ParseTypes(s)
	if err != nil {
		return badValue("%v", err)
	}
	seen := map[kcmp.Type]bool{}
	for _, t := range append(*l, ts...) {
		seen[t] = true
	}
	*l = (*l)[:0]
	for _, t := range kcmp.AllTypes {
		if seen[t] {
			*l = append(*l, t)
		}
	}
	return nil
}

func (l *typesFlag) Type() string { return "types" }

// names returns the types as snapshot type names, nil for none given.
func (l typesFlag) names() []string {
	if len(l) == 0 {
		return nil
	}
	out := make([]string, len(l))
	for i, t := range l {
		out[i] = t.String()
	}
	return out
}

// usersFlag is a flag holding comma-separated user names or uids
// (--user); given twice, the lists add up. selection.uids resolves them.
type usersFlag []string

func (l *usersFlag) String() string { return strings.Join(*l, ",") }

func (l *usersFlag) Set(s string) error {
	n := 0
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
			n++
		}
	}
	if n == 0 {
		return badValue("empty list (give user names or uids separated by commas)")
	}
	return nil
}

func (l *usersFlag) Type() string { return "users" }

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
