package kcmp

import (
	"errors"
	"testing"
)

// TestInfoTable: every type has every word an output needs, and the
// names round-trip.
func TestInfoTable(t *testing.T) {
	for _, typ := range AllTypes {
		in := typ.Info()
		if in.Name == "" || in.Constant == "" || in.Struct == "" || in.Object == "" {
			t.Errorf("%d: incomplete %+v", typ, in)
		}
		if typ.IsTask() != (in.Null != "" && in.NullCause != "") {
			t.Errorf("%s: Null %q, NullCause %q: want both exactly for the per-task types", typ, in.Null, in.NullCause)
		}
		if got, ok := Named(in.Name); !ok || got != typ {
			t.Errorf("Named(%q) = %v, %v", in.Name, got, ok)
		}
		if got, err := ParseType(in.Constant); err != nil || got != typ {
			t.Errorf("ParseType(%q) = %v, %v", in.Constant, got, err)
		}
	}
	if _, ok := Named("VM"); ok {
		t.Error("Named accepts a name in another case")
	}
	if (Type(99).Info() != Info{}) || Type(99).String() != "Type(99)" {
		t.Errorf("Type(99): %+v %s", Type(99).Info(), Type(99))
	}
}

func TestTypeNamesRoundTrip(t *testing.T) {
	for _, typ := range AllTypes {
		got, err := ParseType(typ.String())
		if err != nil || got != typ {
			t.Errorf("ParseType(%q) = %v, %v; want %v", typ.String(), got, err, typ)
		}
	}
	for in, want := range map[string]Type{"KCMP_EPOLL_TFD": EpollTFD, " File ": File, "kcmp_sysvsem": Sysvsem} {
		if got, err := ParseType(in); err != nil || got != want {
			t.Errorf("ParseType(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseType("mm"); !errors.Is(err, ErrUnknownType) {
		t.Errorf("ParseType(mm) error = %v, want ErrUnknownType", err)
	}
	if got := Type(42).String(); got != "Type(42)" {
		t.Errorf("Type(42).String() = %q", got)
	}
}

func TestParseTypes(t *testing.T) {
	got, err := ParseTypes("io,file, vm,file")
	if err != nil {
		t.Fatal(err)
	}
	want := []Type{File, VM, IO}
	if len(got) != len(want) {
		t.Fatalf("ParseTypes = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ParseTypes = %v, want %v", got, want)
		}
	}
	if all, err := ParseTypes("all"); err != nil || len(all) != len(AllTypes) {
		t.Errorf("ParseTypes(all) = %v, %v", all, err)
	}
	for _, bad := range []string{"", ",", "file,bogus"} {
		if _, err := ParseTypes(bad); !errors.Is(err, ErrUnknownType) {
			t.Errorf("ParseTypes(%q) error = %v, want ErrUnknownType", bad, err)
		}
	}
}
