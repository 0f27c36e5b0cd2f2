//go:build linux

package analyzer

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

func endsOf(e snapshot.Endpoint) string { return fmt.Sprint(e.Ends) }

// TestLiveEndpoints: a pipe whose read end is also dup'd, with the ends in
// different processes, and socketpairs of each type across processes.
// Every endpoint pair must be exact and none invented.
func TestLiveEndpoints(t *testing.T) {
	requireKcmp(t)
	f := fixture.New(t)
	root := f.Root()
	m, mn := must[int](t), must[*fixture.Node](t)
	r, w := must2(t)(root.Pipe())
	type pair struct{ a, b int }
	pairs := map[string]pair{}
	for _, typ := range []int{unix.SOCK_STREAM, unix.SOCK_DGRAM, unix.SOCK_SEQPACKET} {
		a, b := must2(t)(root.Socketpair(typ))
		pairs["unix-"+sockType(typ)] = pair{a, b}
	}
	reader := mn(root.Fork())
	writer := mn(root.Fork())
	rdup := m(reader.Dup(r))
	check(t, reader.Close(w))
	check(t, writer.Close(r))
	check(t, root.Close(r))
	check(t, root.Close(w))
	for _, p := range pairs {
		check(t, reader.Close(p.b))
		check(t, writer.Close(p.a))
		check(t, root.Close(p.a))
		check(t, root.Close(p.b))
	}
	snap := scanTree(t, root.PID(), false)
	want := map[string]string{
		"pipe": fmt.Sprint([][]snapshot.Member{sorted([]snapshot.Member{fdm(reader, r), fdm(reader, rdup)}), {fdm(writer, w)}}),
	}
	for kind, p := range pairs {
		want[kind] = fmt.Sprint([][]snapshot.Member{{fdm(reader, p.a)}, {fdm(writer, p.b)}})
	}
	got := map[string]string{}
	for _, e := range snap.Endpoints {
		if _, dup := got[e.Kind]; dup {
			t.Errorf("more than one %s endpoint: %+v", e.Kind, snap.Endpoints)
		}
		ends := endsOf(e)
		// Socket ends come out in inode order: either way round is right.
		if len(e.Ends) == 2 {
			if swapped := fmt.Sprint([][]snapshot.Member{e.Ends[1], e.Ends[0]}); swapped == want[e.Kind] {
				ends = swapped
			}
		}
		got[e.Kind] = ends
	}
	for kind, w := range want {
		if got[kind] != w {
			t.Errorf("%s endpoint = %s, want %s", kind, got[kind], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("endpoints %v, want exactly %v", got, want)
	}
}
