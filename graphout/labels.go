package graphout

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kcmpgraph/kcmpgraph/internal/plural"
)

// tooltipRunes bounds each line of a tooltip.
const tooltipRunes = 160

// maxItems is the number of a bundle's items listed by name; the rest are
// counted.
const maxItems = 8

// namer names boxes for people: "nginx", "4 × nginx", with the user when
// two boxes of one command meet in one phrase.
type namer struct {
	users func(uid int) string
}

func (n namer) user(uid int) string {
	if uid < 0 {
		return "?"
	}
	if n.users != nil {
		if u := n.users(uid); u != "" {
			return u
		}
	}
	return "uid " + strconv.Itoa(uid)
}

// pidList writes pids compactly: "pid 100", "pids 101–104",
// "pids 101, 103, 107 +2".
func pidList(pids []int) string {
	if len(pids) == 1 {
		return "pid " + strconv.Itoa(pids[0])
	}
	consecutive := true
	for i := 1; i < len(pids); i++ {
		consecutive = consecutive && pids[i] == pids[i-1]+1
	}
	if consecutive {
		return "pids " + strconv.Itoa(pids[0]) + "–" + strconv.Itoa(pids[len(pids)-1])
	}
	var parts []string
	for i, p := range pids {
		if i == 3 {
			return "pids " + strings.Join(parts, ", ") + " +" + strconv.Itoa(len(pids)-3)
		}
		parts = append(parts, strconv.Itoa(p))
	}
	return "pids " + strings.Join(parts, ", ")
}

// boxLines are a box's label lines, raw: the command (with the count of
// similar processes), the user and pids, and what the members differ in.
func (n namer) boxLines(b *box) []string {
	title := b.comm
	if b.size() > 1 {
		title = strconv.Itoa(b.size()) + " × " + b.comm
	}
	out := []string{title, n.user(b.uid) + " · " + pidList(b.pids)}
	for i, d := range b.differs {
		if i == 2 {
			out = append(out, "(+"+plural.Count(len(b.differs)-2, "more difference", "more differences")+", in the tooltip)")
			break
		}
		out = append(out, d)
	}
	return out
}

// boxTooltip is what hovering a box shows: command line, user, pids,
// cluster and every difference.
func (n namer) boxTooltip(b *box) []string {
	lines := n.boxLines(b)[:1]
	if len(b.cmdline) > 0 {
		lines = append(lines, "command line: "+strings.Join(b.cmdline, " "))
	}
	if b.exe != "" {
		lines = append(lines, "executable: "+b.exe)
	}
	user := "user: " + n.user(b.uid)
	if !strings.HasPrefix(user, "user: uid ") {
		user += " (uid " + strconv.Itoa(b.uid) + ")"
	}
	lines = append(lines, user)
	var ps []string
	for i, p := range b.pids {
		if i == 40 {
			ps = append(ps, fmt.Sprintf("… (%d in all)", len(b.pids)))
			break
		}
		ps = append(ps, strconv.Itoa(p))
	}
	lines = append(lines, "pids: "+strings.Join(ps, ", "))
	if b.cluster != "" {
		lines = append(lines, "in: "+b.cluster)
	}
	lines = append(lines, b.differs...)
	return lines
}

// ref names a box inside a phrase; sameComm says another box of the
// phrase has the same command, so the user tells them apart.
func (n namer) ref(b *box, sameComm bool) string {
	r := b.comm
	if sameComm {
		r += " (" + n.user(b.uid) + ")"
	}
	return r
}

// sidesPhrase says who holds a bundle: "nginx (root) + 4 × nginx
// (nobody)", "each of 4 × worker + master".
func (n namer) sidesPhrase(sides []side, each *box) string {
	comms := map[string]int{}
	for _, sd := range sides {
		comms[sd.b.comm]++
	}
	var parts []string
	for _, sd := range sides {
		r := n.ref(sd.b, comms[sd.b.comm] > 1)
		size := sd.b.size()
		switch {
		case size == 1:
		case sd.b == each:
			r = "each of " + strconv.Itoa(size) + " × " + r
		case sd.cov == all:
			r = strconv.Itoa(size) + " × " + r
		case sd.cov == one:
			r = "one of " + strconv.Itoa(size) + " × " + r
		default:
			r = strconv.Itoa(sd.n) + " of " + strconv.Itoa(size) + " × " + r
		}
		parts = append(parts, r)
	}
	return strings.Join(parts, " + ")
}

// bundleLines are a bundle note's lines: who holds it, then its items
// (the same name counted once, "/dev/null ×2"), the first maxItems by
// name and the rest by kind.
func (n namer) bundleLines(bd *bundle) []string {
	head := "shared by " + n.sidesPhrase(bd.sides, bd.each) + ":"
	switch {
	case bd.inherited != nil:
		below, children := 0, true
		for _, sd := range bd.sides {
			if sd.b != bd.inherited {
				below += sd.b.size()
				children = children && sd.b.parent == bd.inherited && sd.b.direct
			}
		}
		what := plural.Count(below, "process", "processes") + " below it"
		if children {
			what = "its " + plural.Count(below, "child", "children")
		}
		head = "shared by " + n.ref(bd.inherited, false) + " and " + what + ":"
	case bd.each != nil:
		head = "own, " + head
	}
	out := wrapAt(head, " + ", maxLabelRunes)
	names, counts := itemNames(bd.items)
	for i, name := range names {
		if i == maxItems {
			out = append(out, "… and "+kindCounts(bd.items[indexOfName(bd.items, name):]))
			break
		}
		if c := counts[name]; c > 1 {
			name += " ×" + strconv.Itoa(c)
		}
		out = append(out, name)
	}
	return out
}

// wrapAt breaks text into lines of at most n runes at sep, keeping sep
// at the start of the next line; a piece longer than n stays whole (the
// label cuts it).
func wrapAt(text, sep string, n int) []string {
	pieces := strings.Split(text, sep)
	var out []string
	cur := pieces[0]
	for _, p := range pieces[1:] {
		if utf8.RuneCountInString(cur+sep+p) > n {
			out = append(out, cur)
			cur = strings.TrimLeft(sep, " ") + p
			continue
		}
		cur += sep + p
	}
	return append(out, cur)
}

// bundleTooltip lists every item with the fds that hold it.
func (n namer) bundleTooltip(bd *bundle, comm func(int) string) []string {
	return append([]string{n.bundleLines(bd)[0]}, objectsText(bd.items, comm)...)
}

// objectsText lists objects with the fds that hold them, one a line, the
// first 40.
func objectsText(objs []*object, comm func(int) string) []string {
	var lines []string
	for i, o := range objs {
		if i == 40 {
			lines = append(lines, fmt.Sprintf("… (%d in all)", len(objs)))
			break
		}
		lines = append(lines, o.name+": "+holdersText(o, comm))
	}
	return lines
}

// holdersText lists the fds that hold an object: "nginx 100 fd 3, 4;
// nginx 101 fd 3", the first few processes.
func holdersText(o *object, comm func(int) string) string {
	var parts []string
	for _, p := range o.pids {
		if len(o.fds[p]) == 0 {
			continue // the watched end of an epoll watch: the watcher's line names it
		}
		if len(parts) == 6 {
			parts = append(parts, fmt.Sprintf("+%d more", len(o.fds)-6))
			break
		}
		parts = append(parts, comm(p)+" "+strconv.Itoa(p)+" "+strings.Join(o.fds[p], ", "))
	}
	return strings.Join(parts, "; ")
}

// itemNames lists the distinct names of items in order, with how many
// items have each.
func itemNames(items []*object) ([]string, map[string]int) {
	counts := map[string]int{}
	var names []string
	for _, o := range items {
		if counts[o.brief] == 0 {
			names = append(names, o.brief)
		}
		counts[o.brief]++
	}
	return names, counts
}

func indexOfName(items []*object, name string) int {
	for i, o := range items {
		if o.brief == name {
			return i
		}
	}
	return len(items)
}

// kindCounts counts objects by kind: "3 files, 2 sockets".
func kindCounts(objs []*object) string {
	c := map[string]int{}
	for _, o := range objs {
		c[string(o.kind)]++
	}
	ks := make([]string, 0, len(c))
	for k := range c {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return c[ks[i]] > c[ks[j]] || c[ks[i]] == c[ks[j]] && ks[i] < ks[j] })
	var parts []string
	for _, k := range ks {
		w := kindWords[k]
		parts = append(parts, plural.Count(c[k], w[0], w[1]))
	}
	return strings.Join(parts, ", ")
}

// kindWords are the words kindCounts counts objects of each kind in.
var kindWords = map[string][2]string{
	"listener": {"listener", "listeners"}, "socket": {"socket", "sockets"}, "pipe": {"pipe", "pipes"},
	"fifo": {"fifo", "fifos"}, "pty": {"pty", "ptys"}, "file": {"file", "files"}, "deleted": {"deleted file", "deleted files"},
	"dir": {"directory", "directories"}, "device": {"device", "devices"}, "memfd": {"memfd", "memfds"},
	"anon": {"anonymous inode", "anonymous inodes"}, "namespace": {"namespace", "namespaces"},
	"other": {"other object", "other objects"}, "task": {"per-task object", "per-task objects"},
}

// linkLabel names the channels of a link: the one channel's name, or
// their count by kind ("4 × unix socketpair, one per nginx").
func (n namer) linkLabel(l *link) []string {
	names, counts := itemNames(l.objs)
	var text []string
	switch {
	case len(names) == 1 && counts[names[0]] == 1:
		text = names
	case len(names) == 1:
		text = []string{strconv.Itoa(counts[names[0]]) + " × " + names[0]}
	case len(names) == 2 && len(l.objs) == 2:
		text = names
	default:
		text = []string{strconv.Itoa(len(l.objs)) + " channels: " + names[0] + ", …"}
	}
	if l.each != nil {
		other := l.from
		if other == l.each {
			other = l.to
		}
		text = append(text, "(one per "+n.ref(l.each, other.comm == l.each.comm)+")")
	}
	return text
}

// countedNames lists the distinct names of objs, each with its count
// ("8 × pipe", "unix /run/app.sock"), the first n and how many more.
func countedNames(objs []*object, n int) []string {
	names, counts := itemNames(objs)
	var out []string
	for i, name := range names {
		if i == n {
			out = append(out, "… and "+plural.Count(len(names)-n, "more kind", "more kinds"))
			break
		}
		if c := counts[name]; c > 1 {
			name = strconv.Itoa(c) + " × " + name
		}
		out = append(out, name)
	}
	return out
}

// linkTooltip lists each channel of a link with its holders' fds.
func (n namer) linkTooltip(l *link, comm func(int) string) []string {
	return objectsText(l.objs, comm)
}

// hubLines are a hub note's lines: how many boxes connect, and over what.
func (n namer) hubLines(h *hub) []string {
	others := map[*box]bool{}
	var objs []*object
	for _, l := range h.links {
		other := l.from
		if other == h.b {
			other = l.to
		}
		others[other] = true
		objs = append(objs, l.objs...)
	}
	out := []string{plural.Count(len(others), "box connects", "boxes connect") + " to " + n.ref(h.b, false) + ":"}
	names, counts := itemNames(objs)
	for i, name := range names {
		if i == maxItems {
			out = append(out, "… and "+plural.Count(len(names)-i, "more channel", "more channels"))
			break
		}
		if c := counts[name]; c > 1 {
			name += " ×" + strconv.Itoa(c)
		}
		out = append(out, name)
	}
	return out
}

// hubTooltip lists who connects to a hub, over what.
func (n namer) hubTooltip(h *hub, comm func(int) string) []string {
	lines := n.hubLines(h)[:1]
	for i, l := range h.links {
		if i == 40 {
			lines = append(lines, fmt.Sprintf("… (%d in all)", len(h.links)))
			break
		}
		other := l.from
		if other == h.b {
			other = l.to
		}
		lines = append(lines, n.ref(other, false)+" "+pidList(other.pids)+": "+strings.Join(n.linkLabel(l), " "))
	}
	return lines
}
