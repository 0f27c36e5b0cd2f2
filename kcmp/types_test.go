package kcmp

import "testing"

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
