package snapshot

import (
	"strconv"

	"github.com/kcmpgraph/kcmpgraph/internal/escape"
)

// The encoder writes the lines a snapshot has most of (fds, groups, epoll
// fds and endpoints) with these appenders instead of encoding/json: reflection and
// the compaction json does after every MarshalJSON were a tenth of a
// 100k-fd scan. Their output is byte for byte what escape.MarshalJSON
// writes: json.Marshal's, with invalid UTF-8 kept (TestAppendMatchesMarshal).

// appendFD appends fd as escape.MarshalJSON(fd) would.
func appendFD(b []byte, fd *FD) []byte {
	b = append(b, `{"fd":`...)
	b = strconv.AppendInt(b, int64(fd.FD), 10)
	if fd.Thread != 0 {
		b = append(b, `,"tid":`...)
		b = strconv.AppendInt(b, int64(fd.Thread), 10)
	}
	b = append(b, `,"target":`...)
	b = escape.AppendJSON(b, fd.Target)
	b = append(b, `,"dev":`...)
	b = strconv.AppendUint(b, fd.Dev, 10)
	b = append(b, `,"ino":`...)
	b = strconv.AppendUint(b, fd.Ino, 10)
	b = append(b, `,"mnt_id":`...)
	b = strconv.AppendInt(b, int64(fd.MntID), 10)
	b = append(b, `,"flags":`...)
	b = strconv.AppendInt(b, int64(fd.Flags), 10)
	b = append(b, `,"pos":`...)
	b = strconv.AppendInt(b, fd.Pos, 10)
	b = append(b, `,"mode":`...)
	b = strconv.AppendUint(b, uint64(fd.Mode), 10)
	b = append(b, `,"owner_uid":`...)
	b = strconv.AppendInt(b, int64(fd.OwnerUID), 10)
	b = append(b, `,"owner_gid":`...)
	b = strconv.AppendInt(b, int64(fd.OwnerGID), 10)
	if fd.ForeignMountNS != 0 {
		b = append(b, `,"foreign_mount_ns":`...)
		b = strconv.AppendUint(b, fd.ForeignMountNS, 10)
	}
	return append(b, '}')
}

// appendMember appends m as its MarshalJSON does.
func appendMember(b []byte, m Member) []byte {
	b = append(b, `{"pid":`...)
	b = strconv.AppendInt(b, int64(m.PID), 10)
	if m.IsTask() {
		b = append(b, `,"tid":`...)
		b = strconv.AppendInt(b, int64(m.TID), 10)
	} else {
		b = append(b, `,"fd":`...)
		b = strconv.AppendInt(b, int64(m.FD), 10)
		if m.Thread != 0 {
			b = append(b, `,"tid":`...)
			b = strconv.AppendInt(b, int64(m.Thread), 10)
		}
	}
	return append(b, '}')
}

// appendList appends xs as a JSON array, each element written by one;
// nil is null, as json writes it.
func appendList[T any](b []byte, xs []T, one func([]byte, *T) []byte) []byte {
	if xs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = one(b, &xs[i])
	}
	return append(b, ']')
}

// appendMembers appends ms as a JSON array; nil is null, as json writes it.
func appendMembers(b []byte, ms []Member) []byte {
	return appendList(b, ms, func(b []byte, m *Member) []byte { return appendMember(b, *m) })
}

// appendGroup appends g as escape.MarshalJSON(g) would.
func appendGroup(b []byte, g *Group) []byte {
	b = append(b, `{"type":`...)
	b = escape.AppendJSON(b, g.Type)
	b = append(b, `,"members":`...)
	b = appendMembers(b, g.Members)
	return append(b, '}')
}

// appendEpoll appends e as escape.MarshalJSON(e) would.
func appendEpoll(b []byte, e *Epoll) []byte {
	b = append(b, `{"pid":`...)
	b = strconv.AppendInt(b, int64(e.PID), 10)
	b = append(b, `,"fd":`...)
	b = strconv.AppendInt(b, int64(e.FD), 10)
	if e.Thread != 0 {
		b = append(b, `,"tid":`...)
		b = strconv.AppendInt(b, int64(e.Thread), 10)
	}
	b = append(b, `,"watches":`...)
	b = appendList(b, e.Watches, appendWatch)
	return append(b, '}')
}

func appendWatch(b []byte, w *Watch) []byte {
	b = append(b, `{"tfd":`...)
	b = strconv.AppendInt(b, int64(w.TFD), 10)
	b = append(b, `,"events":`...)
	b = strconv.AppendUint(b, uint64(w.Events), 10)
	b = append(b, `,"holder":`...)
	if w.Holder == nil {
		b = append(b, "null"...)
	} else {
		b = appendMember(b, *w.Holder)
	}
	return append(b, '}')
}

// appendEndpoint appends e as escape.MarshalJSON(e) would.
func appendEndpoint(b []byte, e *Endpoint) []byte {
	b = append(b, `{"kind":`...)
	b = escape.AppendJSON(b, e.Kind)
	if e.Name != "" {
		b = append(b, `,"name":`...)
		b = escape.AppendJSON(b, e.Name)
	}
	if len(e.Addresses) > 0 {
		b = append(b, `,"addresses":`...)
		b = appendList(b, e.Addresses, func(b []byte, a *string) []byte { return escape.AppendJSON(b, *a) })
	}
	b = append(b, `,"ends":`...)
	b = appendList(b, e.Ends, func(b []byte, end *[]Member) []byte { return appendMembers(b, *end) })
	return append(b, '}')
}

// appendSocket appends k as escape.MarshalJSON(k) would.
func appendSocket(b []byte, k *Socket) []byte {
	b = append(b, `{"ino":`...)
	b = strconv.AppendUint(b, k.Ino, 10)
	b = append(b, `,"protocol":`...)
	b = escape.AppendJSON(b, k.Protocol)
	if k.NetNS != 0 {
		b = append(b, `,"netns":`...)
		b = strconv.AppendUint(b, k.NetNS, 10)
	}
	for _, f := range [...]struct{ key, v string }{{`,"state":`, k.State}, {`,"local":`, k.Local}, {`,"remote":`, k.Remote}} {
		if f.v != "" {
			b = append(b, f.key...)
			b = escape.AppendJSON(b, f.v)
		}
	}
	if k.Peer != 0 {
		b = append(b, `,"peer":`...)
		b = strconv.AppendUint(b, k.Peer, 10)
	}
	return append(b, '}')
}
