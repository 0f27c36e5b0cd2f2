package webview

import (
	"fmt"
	"sort"
	"strconv"
)

// Layout sizes, in pixels. Labels are monospace, 12 px: charWidth is
// the width of one character of the browser's monospace font at that
// size (DejaVu Sans Mono, Liberation Mono: 7.2).
const (
	charWidth  = 7.2
	lineHeight = 15
	boxPad     = 8
	gapX       = 16
	gapY       = 48
	// maxRow is the widest a row of children gets before the next row.
	maxRow = 1800
	// maxLabel bounds a label line, in characters.
	maxLabel = 40
)

// collapseAbove is the number of processes past which similar processes
// (same parent box, command and user) are drawn as one box "N ×": a
// server's workers, a forest's leaves. Below it every process has a box
// of its own; search and the panels show every process either way.
const collapseAbove = 400

// layout makes the boxes, one per process or per set of similar
// processes, and places them as a tree: children in rows below their
// parent, no row wider than maxRow.
func (b *builder) layout() {
	procs := b.m.Procs
	children := map[int][]int{} // parent pid -> proc indexes
	var roots []int
	for i := range procs {
		if _, ok := b.proc[procs[i].PPID]; ok && procs[i].PPID != procs[i].PID {
			children[procs[i].PPID] = append(children[procs[i].PPID], i)
		} else {
			roots = append(roots, i)
		}
	}
	collapse := len(procs) > collapseAbove
	if collapse {
		b.m.Notes = append(b.m.Notes, fmt.Sprintf("%d processes: similar processes (same parent, command and user) are one box \"N ×\"; search finds each of them", len(procs)))
	}
	// Breadth first, so that a parent has its box before its children.
	type key struct {
		parent int
		comm   string
		uid    int
	}
	byKey := map[key]int{}
	// A snapshot whose parents form a loop has no root there: the first
	// process not reached yet becomes one.
	queue := append([]int(nil), roots...)
	visited := make([]bool, len(procs))
	for next := 0; len(queue) > 0 || next < len(procs); {
		if len(queue) == 0 {
			if !visited[next] {
				queue = append(queue, next)
			}
			next++
			continue
		}
		i := queue[0]
		queue = queue[1:]
		if visited[i] {
			continue
		}
		visited[i] = true
		p := &procs[i]
		parent := -1
		if _, ok := b.proc[p.PPID]; ok && p.PPID != p.PID {
			parent = procs[b.proc[p.PPID]].Box
		}
		k := key{parent, p.Comm, p.UID}
		if x, ok := byKey[k]; ok && collapse && parent >= 0 {
			p.Box = x
			b.m.Boxes[x].PIDs = append(b.m.Boxes[x].PIDs, p.PID)
		} else {
			p.Box = len(b.m.Boxes)
			byKey[k] = p.Box
			b.m.Boxes = append(b.m.Boxes, Box{PIDs: []int{p.PID}, Parent: parent, Status: p.Status})
		}
		queue = append(queue, children[p.PID]...)
	}
	for x := range b.m.Boxes {
		b.label(x)
	}
	kids := make([][]int, len(b.m.Boxes))
	var top []int
	for x := range b.m.Boxes {
		if p := b.m.Boxes[x].Parent; p >= 0 {
			kids[p] = append(kids[p], x)
		} else {
			top = append(top, x)
		}
	}
	ext := make([][2]float64, len(b.m.Boxes)) // subtree width, height
	var measure func(x int)
	measure = func(x int) {
		bx := &b.m.Boxes[x]
		for _, c := range kids[x] {
			measure(c)
		}
		w, h := rows(kids[x], ext)
		if len(kids[x]) == 0 {
			ext[x] = [2]float64{bx.W, bx.H}
			return
		}
		ext[x] = [2]float64{max(bx.W, w), bx.H + gapY + h}
	}
	var place func(x int, left, top float64)
	place = func(x int, left, top float64) {
		bx := &b.m.Boxes[x]
		bx.X, bx.Y = left+(ext[x][0]-bx.W)/2, top
		w, _ := rows(kids[x], ext)
		placeRows(kids[x], ext, left+(ext[x][0]-w)/2, top+bx.H+gapY, place)
	}
	for _, x := range top {
		measure(x)
	}
	w, h := rows(top, ext)
	placeRows(top, ext, gapX, gapX, place)
	b.m.Width, b.m.Height = w+2*gapX, h+2*gapX
}

// rows measures subtrees xs laid out left to right in rows no wider than
// maxRow: the widest row and the rows' total height.
func rows(xs []int, ext [][2]float64) (w, h float64) {
	rowW, rowH := 0.0, 0.0
	for _, x := range xs {
		if rowW > 0 && rowW+ext[x][0] > maxRow {
			w, h = max(w, rowW-gapX), h+rowH+gapY
			rowW, rowH = 0, 0
		}
		rowW += ext[x][0] + gapX
		rowH = max(rowH, ext[x][1])
	}
	if rowW > 0 {
		w, h = max(w, rowW-gapX), h+rowH
	}
	return w, h
}

// placeRows places subtrees xs in the rows rows measured, from left, top.
func placeRows(xs []int, ext [][2]float64, left, top float64, place func(x int, left, top float64)) {
	x0, rowW, rowH := left, 0.0, 0.0
	for _, x := range xs {
		if rowW > 0 && rowW+ext[x][0] > maxRow {
			top += rowH + gapY
			rowW, rowH = 0, 0
		}
		place(x, x0+rowW, top)
		rowW += ext[x][0] + gapX
		rowH = max(rowH, ext[x][1])
	}
}

// label writes a box's lines and sets its size: the command, the user
// and pids, where it runs.
func (b *builder) label(x int) {
	bx := &b.m.Boxes[x]
	p := &b.m.Procs[b.proc[bx.PIDs[0]]]
	if len(bx.PIDs) == 1 {
		bx.Lines = []string{p.Comm, p.User + " · pid " + strconv.Itoa(p.PID)}
	} else {
		pids := append([]int(nil), bx.PIDs...)
		sort.Ints(pids)
		bx.Lines = []string{fmt.Sprintf("%d × %s", len(pids), p.Comm),
			fmt.Sprintf("%s · pids %d…%d", p.User, pids[0], pids[len(pids)-1])}
	}
	if p.Place != "" {
		bx.Lines = append(bx.Lines, p.Place)
	}
	width := 0
	for i, l := range bx.Lines {
		r := []rune(l)
		if len(r) > maxLabel {
			r = append(r[:maxLabel-1], '…')
			bx.Lines[i] = string(r)
		}
		width = max(width, len(r))
	}
	bx.W = float64(width)*charWidth + 2*boxPad
	bx.H = float64(len(bx.Lines))*lineHeight + boxPad
}
