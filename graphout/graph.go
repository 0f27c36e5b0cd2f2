package graphout

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kcmpgraph/kcmpgraph/analyzer/objname"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// Views.
const (
	// ViewProcesses draws processes as boxes, similar ones once, with
	// the objects they share bundled by holders and channels as edges.
	ViewProcesses = "processes"
	// ViewObjects draws every shared object as a node of its own, and
	// every process as a box.
	ViewObjects = "objects"
)

// Options shape a diagram. Zero values mean the defaults.
type Options struct {
	View string
	// MaxNodes is the hard limit; past it Build refuses. The default and
	// the ceiling are what the renderer lays out in about three seconds
	// (see layoutFor).
	MaxNodes int
	// NoCollapse draws every process in a box of its own.
	NoCollapse bool
	// MaxBoxes is the number of process boxes drawn; past it the least
	// connected are summarised in one box (default 40, about what is
	// legible 1600 pixels wide).
	MaxBoxes int
	// Users names a uid ("root", "nobody"); nil or "" prints "uid N".
	Users func(uid int) string
	// Title says what is drawn, for the legend's first line ("host web1",
	// a file name); "" names the snapshot's host.
	Title string
}

// ErrTooLarge is returned when a diagram would exceed Options.MaxNodes.
var ErrTooLarge = errors.New("diagram too large")

// defaultMaxBoxes keeps the whole-host map legible 1600 pixels wide.
const defaultMaxBoxes = 40

// Colours and styles, one place.
const (
	boxFill     = `"#eef3fb"`
	boxColor    = `"#4a6fa5"`
	noteFill    = `"#fffbe6"`
	noteColor   = `"#b8961e"`
	parentColor = `"#9a9a9a"`
	linkColor   = `"#2b2b2b"`
	watchColor  = `"#7b4fa0"`
	fontName    = "Verdana"
)

// Build makes the diagram of a snapshot (select first with
// snapshot.Select, or Around). Its phases: collect the shared objects,
// leave out those nearly every process holds, put the processes in boxes,
// bundle the objects by the boxes holding them, summarise past MaxBoxes,
// then draw. A processes view that would take dot more than its budget
// (see layoutFor) is drawn again with fewer boxes.
func Build(s *snapshot.Snapshot, opts Options) (*Diagram, error) {
	if opts.View == "" {
		opts.View = ViewProcesses
	}
	if opts.View != ViewProcesses && opts.View != ViewObjects {
		return nil, fmt.Errorf("unknown view %q (valid: %s, %s)", opts.View, ViewProcesses, ViewObjects)
	}
	if opts.MaxBoxes <= 0 {
		opts.MaxBoxes = defaultMaxBoxes
	}
	names := objname.New(s)
	none := opts.NoCollapse || opts.View == ViewObjects
	for {
		d, boxes := build(s, names, opts, none)
		if none || d.cost() <= dotBudget || opts.MaxBoxes <= minBoxes || boxes <= minBoxes {
			if err := d.finish(opts.MaxNodes); err != nil {
				return nil, err
			}
			return d, nil
		}
		opts.MaxBoxes = max(minBoxes, min(opts.MaxBoxes, boxes)*2/3)
	}
}

// minBoxes is as few boxes as Build shrinks a diagram to.
const minBoxes = 8

// build draws s once; it returns the diagram and its number of boxes.
func build(s *snapshot.Snapshot, names *objname.Names, opts Options, none bool) (*Diagram, int) {
	objs := collectObjects(s, names, opts.View == ViewObjects)
	objs, common := leaveOutCommon(objs)
	boxes, of := makeBoxes(s, objs, none, clusterer(s))
	if none {
		// Every box is a node, and the ends of one channel make at least
		// this many edges: refuse before pairing the ends of every
		// channel, a million pairs for a pipe a thousand processes hold.
		if least := len(boxes) + mostPairs(objs); least > sfdpBudget {
			return &Diagram{least: least, Processes: len(boxes)}, len(boxes)
		}
	}
	var notes []string
	if !none && len(boxes) > opts.MaxBoxes {
		var sum *summary
		boxes, objs, sum = summarise(boxes, objs, of, opts.MaxBoxes)
		notes = append(notes, sum.note())
	}
	var bundles []*bundle
	var links []*link
	if opts.View == ViewObjects {
		bundles, links = oneByOne(objs, of)
	} else {
		bundles, links = aggregate(objs, of)
	}
	var hubs []*hub
	if !none {
		links, hubs = gatherHubs(links, len(boxes))
		var wide []string
		bundles, wide = leaveOutWide(bundles, len(boxes))
		common = append(common, wide...)
	}
	if none {
		// Drawn one by one, a host of a thousand processes would take a
		// minute to label before finish refused it: refuse it first.
		// Each box is a node, each bundle a note or an edge, each hub a
		// note and the links between two boxes one edge.
		pairs := map[[2]*box]bool{}
		for _, l := range links {
			pairs[l.boxes()] = true
		}
		if least := len(boxes) + len(bundles) + len(hubs) + len(pairs); least > sfdpBudget {
			return &Diagram{least: least, Processes: len(boxes)}, len(boxes)
		}
	}
	describeDifferences(boxes, bundles, links, namer{opts.Users})
	p := &picture{s: s, opts: opts, n: namer{opts.Users}, boxes: boxes, of: of, bundles: bundles, links: links, hubs: hubs}
	return p.draw(common, notes), len(boxes)
}

// mostPairs is the most edges one channel draws between processes drawn
// one by one: the unordered pairs of a holder of one end and a holder of
// the other, counted at least once.
func mostPairs(objs []*object) int {
	most := 0
	for _, o := range objs {
		if !o.link {
			continue
		}
		from := map[int]bool{}
		for _, p := range o.from {
			from[p] = true
		}
		both := 0
		for _, p := range o.to {
			if from[p] {
				both++
			}
		}
		most = max(most, (len(o.from)*len(o.to)-both)/2)
	}
	return most
}

// leaveOutCommon takes out the items held by most processes of a large
// diagram (/dev/null, a journal socket): drawn, they would tie every box
// to one note. It returns the rest and one legend line per object name.
func leaveOutCommon(objs []*object) ([]*object, []string) {
	holders := map[int]bool{}
	for _, o := range objs {
		for _, p := range o.pids {
			holders[p] = true
		}
	}
	if len(holders) < 20 {
		return objs, nil
	}
	limit := len(holders)/2 + 1
	kept := objs[:0:0]
	type common struct {
		name    string
		objects int
		most    int
	}
	byName := map[string]*common{}
	var order []*common
	for _, o := range objs {
		if o.link || len(o.pids) < limit {
			kept = append(kept, o)
			continue
		}
		c := byName[o.brief]
		if c == nil {
			c = &common{name: o.brief}
			byName[o.brief] = c
			order = append(order, c)
		}
		c.objects++
		c.most = max(c.most, len(o.pids))
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].most > order[j].most })
	var lines []string
	for i, c := range order {
		if i == 4 {
			lines = append(lines, fmt.Sprintf("not drawn either: %d more objects held by most processes", len(order)-i))
			break
		}
		what := c.name
		if c.objects > 1 {
			what = fmt.Sprintf("%s (%d objects)", c.name, c.objects)
		}
		lines = append(lines, fmt.Sprintf("not drawn: %s, held by up to %d processes", what, c.most))
	}
	return kept, lines
}

// leaveOutWide takes out of a large diagram the bundles held by a third
// of its boxes or more (at least 6): inherited stdio, a file every tree
// opened. One note tied to every box would cross the whole drawing; the
// legend names them instead.
func leaveOutWide(bundles []*bundle, boxes int) ([]*bundle, []string) {
	if boxes < 15 {
		return bundles, nil
	}
	limit := max(6, boxes/3)
	kept := bundles[:0:0]
	var lines []string
	for _, bd := range bundles {
		if len(bd.sides) < limit {
			kept = append(kept, bd)
			continue
		}
		names, _ := itemNames(bd.items)
		what := strings.Join(names, ", ")
		if len(names) > 3 {
			what = strings.Join(names[:3], ", ") + fmt.Sprintf(" and %d more", len(names)-3)
		}
		lines = append(lines, fmt.Sprintf("not drawn: %s, held by %d boxes", what, len(bd.sides)))
	}
	if len(lines) > 4 {
		lines = append(lines[:3], fmt.Sprintf("not drawn either: %d more sets of objects held by many boxes", len(lines)-3))
	}
	return kept, lines
}

// clusterer returns how processes are grouped into clusters: by
// container or systemd unit (placeOf), and by PID namespace for processes
// of another PID namespace than the host's; nil when no process has
// either.
func clusterer(s *snapshot.Snapshot) func(*snapshot.Process) string {
	host := hostPIDNS(s)
	used := false
	for i := range s.Processes {
		p := &s.Processes[i]
		if !p.KernelThread && (placeOf(p) != "" || p.Namespaces["pid"] != host) {
			used = true
			break
		}
	}
	if !used {
		return nil
	}
	return func(p *snapshot.Process) string {
		c := placeOf(p)
		if ns := p.Namespaces["pid"]; ns != host && ns != 0 {
			pidns := "pid namespace " + strconv.FormatUint(ns, 10)
			if c == "" {
				return pidns
			}
			return c + " · " + pidns
		}
		return c
	}
}

// hostPIDNS is the host's PID namespace: as the snapshot recorded it, or
// else the one most processes are in.
func hostPIDNS(s *snapshot.Snapshot) uint64 {
	if ns := s.Host.Namespaces["pid"]; ns != 0 {
		return ns
	}
	count := map[uint64]int{}
	var best uint64
	for i := range s.Processes {
		ns := s.Processes[i].Namespaces["pid"]
		count[ns]++
		if count[ns] > count[best] {
			best = ns
		}
	}
	return best
}

// hub is a box that many boxes have a channel to (a logging daemon, a
// message bus): its links are drawn as one note beside it.
type hub struct {
	b     *box
	links []*link
}

// gatherHubs takes out the links of boxes linked with more than a fifth
// of a large diagram's boxes (at least 6): fifty lines into journald say
// less than one note "38 boxes connect to it".
func gatherHubs(links []*link, boxes int) ([]*link, []*hub) {
	if boxes < 15 {
		return links, nil
	}
	limit := max(6, boxes/5)
	partners := map[*box]map[*box]bool{}
	for _, l := range links {
		for _, e := range [][2]*box{{l.from, l.to}, {l.to, l.from}} {
			if partners[e[0]] == nil {
				partners[e[0]] = map[*box]bool{}
			}
			partners[e[0]][e[1]] = true
		}
	}
	byBox := map[*box]*hub{}
	var hubs []*hub
	kept := links[:0:0]
	for _, l := range links {
		var h *box
		switch {
		case len(partners[l.to]) > limit:
			h = l.to
		case len(partners[l.from]) > limit:
			h = l.from
		default:
			kept = append(kept, l)
			continue
		}
		if byBox[h] == nil {
			byBox[h] = &hub{b: h}
			hubs = append(hubs, byBox[h])
		}
		byBox[h].links = append(byBox[h].links, l)
	}
	return kept, hubs
}

// oneByOne makes a bundle of every item and a link of every channel: the
// objects view.
func oneByOne(objs []*object, of boxOf) ([]*bundle, []*link) {
	var bundles []*bundle
	var links []*link
	for _, o := range objs {
		bs, ls := aggregate([]*object{o}, of)
		bundles = append(bundles, bs...)
		links = append(links, ls...)
	}
	return bundles, links
}

// describeDifferences says, in each box of several processes, what its
// members do not share: the objects each has of its own, and those only
// some hold.
func describeDifferences(boxes []*box, bundles []*bundle, links []*link, n namer) {
	for _, l := range links {
		if b := l.each; b != nil {
			other := l.to
			if other == b {
				other = l.from
			}
			with := " with "
			if l.objs[0].typ == "epoll" {
				with = " on " // a watch is of a description the other holds
			}
			b.differs = append(b.differs, "each: own "+l.objs[0].brief+with+n.ref(other, other.comm == b.comm))
		}
	}
	for _, bd := range bundles {
		for _, sd := range bd.sides {
			switch {
			case sd.b == bd.each:
				sd.b.differs = append(sd.b.differs, "each: own "+bd.items[0].brief)
			case sd.cov != all && sd.b.size() > 1:
				sd.b.differs = append(sd.b.differs, fmt.Sprintf("%d of %d hold %s", sd.n, sd.b.size(), bd.items[0].brief))
			}
		}
	}
	for _, b := range boxes {
		seen := map[string]bool{}
		kept := b.differs[:0]
		for _, d := range b.differs {
			if !seen[d] {
				seen[d] = true
				kept = append(kept, d)
			}
		}
		b.differs = kept
	}
}
