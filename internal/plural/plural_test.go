package plural

import "testing"

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "0 processes"}, {1, "1 process"}, {2, "2 processes"}, {-1, "-1 processes"}} {
		if got := Count(tc.n, "process", "processes"); got != tc.want {
			t.Errorf("Count(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if Word(1, "fd", "fds") != "fd" || Word(3, "fd", "fds") != "fds" {
		t.Error("Word picks the wrong form")
	}
}
