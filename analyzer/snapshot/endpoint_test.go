package snapshot

import (
	"errors"
	"fmt"
	"testing"
)

// channels is a snapshot with a tcp connection and a pty with two slave
// descriptions, for the endpoint checks below.
func channels() *Snapshot {
	fd := func(n int) FD { return FD{FD: n, Target: fmt.Sprintf("socket:[%d]", n)} }
	return &Snapshot{Schema: Schema, Processes: []Process{
		{PID: 10, Tasks: []int{10}, FDs: []FD{fd(3), fd(4)}},
		{PID: 11, PPID: 10, Tasks: []int{11}, FDs: []FD{fd(3), fd(5)}},
		{PID: 12, PPID: 10, Tasks: []int{12}, FDs: []FD{fd(0)}},
	}, Endpoints: []Endpoint{
		{Kind: "tcp", Addresses: []string{"127.0.0.1:80", "[::ffff:127.0.0.1]:4000"},
			Ends: [][]Member{{{PID: 10, FD: 3}}, {{PID: 11, FD: 3}}}},
		{Kind: "pty", Name: "/dev/pts/2", Ends: [][]Member{{{PID: 10, FD: 4}}, {{PID: 11, FD: 5}}, {{PID: 12, FD: 0}}}},
	}}
}

func TestEndpointValidate(t *testing.T) {
	if err := Validate(channels()); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		edit func(s *Snapshot)
		path string
	}{
		"one address": {func(s *Snapshot) { s.Endpoints[0].Addresses = s.Endpoints[0].Addresses[:1] }, "endpoints[0].addresses"},
		"no port":     {func(s *Snapshot) { s.Endpoints[0].Addresses[1] = "127.0.0.1" }, "endpoints[0].addresses[1]"},
		"hostile":     {func(s *Snapshot) { s.Endpoints[0].Addresses[0] = "1.2.3.4:5\n+tcp fake" }, "endpoints[0].addresses[0]"},
	} {
		s := channels()
		c.edit(s)
		err := Validate(s)
		var le *LoadError
		if !errors.As(err, &le) || le.Path != c.path || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want an ErrInvalid at %s", name, err, c.path)
		}
	}
}

func TestEndpointSelectAndLabel(t *testing.T) {
	s := channels()
	if got := s.Endpoints[0].Label(); got != "tcp 127.0.0.1:80 <-> [::ffff:127.0.0.1]:4000" {
		t.Errorf("tcp label %q", got)
	}
	if got := s.Endpoints[1].Label(); got != "pty /dev/pts/2" {
		t.Errorf("pty label %q", got)
	}
	// Without pid 11, the pty keeps its master and the other slave
	// description; the tcp connection has one end left: gone.
	sel := s.Select(Selection{PIDs: []int{10, 12}})
	if len(sel.Endpoints) != 1 || sel.Endpoints[0].Kind != "pty" || fmt.Sprint(sel.Endpoints[0].Ends) != "[[10:4] [12:0]]" {
		t.Errorf("selection of 10 and 12: %+v", sel.Endpoints)
	}
	// Addresses stay aligned with the ends they belong to.
	s.Endpoints[0].Ends = append(s.Endpoints[0].Ends, []Member{{PID: 12, FD: 0}})
	s.Endpoints[0].Addresses = append(s.Endpoints[0].Addresses, "[::1]:9")
	sel = s.Select(Selection{PIDs: []int{10, 12}})
	if len(sel.Endpoints) != 2 || fmt.Sprint(sel.Endpoints[0].Addresses) != "[127.0.0.1:80 [::1]:9]" {
		t.Errorf("addresses after selection: %+v", sel.Endpoints)
	}
	if err := Validate(sel); err != nil {
		t.Errorf("selection is invalid: %v", err)
	}
}
