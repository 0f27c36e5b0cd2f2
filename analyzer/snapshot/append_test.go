package snapshot

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/kcmpgraph/kcmpgraph/internal/escape"
)

var hostileStrings = []string{
	"", "/etc/passwd", "socket:[5521]", `a"b\c`, "<script>alert(1)</script>", "a&b",
	"line\nbreak\ttab\x00nul\x1b[31m", "caf\u00e9", "\u202egnp.exe", "\u2028\u2029",
	"\xff\xfe invalid", "emoji \U0001F600", "del\x7f",
}

// TestAppendMatchesMarshal: the appenders write what the generic encoder
// writes, hostile and invalid strings included.
func TestAppendMatchesMarshal(t *testing.T) {
	for _, s := range hostileStrings {
		fds := []FD{
			{FD: 3, Target: s, Dev: 65024, Ino: 9978241, MntID: 27, Flags: 0o2100002, Pos: 12, Mode: 0o100644, OwnerUID: 1000, OwnerGID: 100},
			{FD: 4, Thread: 1240, Target: s, Dev: 1, Ino: 2, Flags: 2},
			{FD: math.MaxInt32, Target: s, Dev: math.MaxUint64, Ino: math.MaxUint64, MntID: math.MaxInt32, Flags: math.MaxInt32, Pos: math.MaxInt64, Mode: math.MaxUint32, OwnerUID: math.MaxUint32, OwnerGID: math.MaxUint32, ForeignMountNS: math.MaxUint64},
			{FD: 3, Target: s, Mode: 0o040755, ForeignMountNS: 4026531832},
			{},
		}
		for i := range fds {
			want, _ := escape.MarshalJSON(&fds[i])
			if got := appendFD(nil, &fds[i]); string(got) != string(want) {
				t.Errorf("appendFD = %s, want %s", got, want)
			}
		}
		g := Group{Type: s, Members: []Member{{PID: 1, FD: 2}, {PID: 3, TID: 4}}}
		want, _ := escape.MarshalJSON(&g)
		if got := appendGroup(nil, &g); string(got) != string(want) {
			t.Errorf("appendGroup = %s, want %s", got, want)
		}
	}
	holder := Member{PID: 7, FD: 9}
	epolls := []Epoll{
		{PID: 1, FD: 4, Watches: []Watch{{TFD: 5, Events: math.MaxUint32, Holder: &holder}, {TFD: -1, Events: 0}}},
		{PID: 2, FD: 3, Watches: []Watch{}},
		{PID: 2, FD: 3, Thread: 5, Watches: []Watch{{TFD: 4, Holder: &Member{PID: 2, FD: 4, Thread: 5}}}},
		{},
	}
	for i := range epolls {
		want, _ := escape.MarshalJSON(&epolls[i])
		if got := appendEpoll(nil, &epolls[i]); string(got) != string(want) {
			t.Errorf("appendEpoll = %s, want %s", got, want)
		}
	}
	for _, s := range hostileStrings {
		ends := []Endpoint{
			{Kind: "tcp", Addresses: []string{s, "[::1]:5000"}, Ends: [][]Member{{{PID: 1, FD: 3}}, {{PID: 2, FD: 4}, {PID: 3, FD: 4}}}},
			{Kind: s, Name: s, Ends: [][]Member{nil, {}}},
			{Kind: "pipe", Addresses: []string{}, Ends: [][]Member{}},
			{},
		}
		for i := range ends {
			want, _ := escape.MarshalJSON(&ends[i])
			if got := appendEndpoint(nil, &ends[i]); string(got) != string(want) {
				t.Errorf("appendEndpoint = %s, want %s", got, want)
			}
		}
	}
	for _, s := range hostileStrings {
		socks := []Socket{
			{Ino: math.MaxUint64, Protocol: "tcp", NetNS: 4026531840, State: "LISTEN", Local: s, Remote: s, Peer: 1},
			{Ino: 5, Protocol: s, Local: "@" + s},
			{},
		}
		for i := range socks {
			want, _ := escape.MarshalJSON(&socks[i])
			if got := appendSocket(nil, &socks[i]); string(got) != string(want) {
				t.Errorf("appendSocket = %s, want %s", got, want)
			}
		}
	}
	if got := string(appendGroup(nil, &Group{Type: "vm"})); got != `{"type":"vm","members":null}` {
		t.Errorf("empty group: %s", got)
	}
	members := []Member{{PID: 10, FD: 0}, {PID: 11, TID: 12}, {PID: -1, FD: -2}, {PID: 13, FD: 0, Thread: 14}}
	got := string(appendMembers(nil, members))
	if want := `[{"pid":10,"fd":0},{"pid":11,"tid":12},{"pid":-1,"fd":-2},{"pid":13,"fd":0,"tid":14}]`; got != want {
		t.Errorf("members %s, want %s", got, want)
	}
	var back []Member
	if err := json.Unmarshal([]byte(got), &back); err != nil || len(back) != len(members) {
		t.Fatalf("members do not read back: %v %v", back, err)
	}
	for i := range members {
		if back[i] != members[i] {
			t.Errorf("member %d reads back as %+v, want %+v", i, back[i], members[i])
		}
	}
}
