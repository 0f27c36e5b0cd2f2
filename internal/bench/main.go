// Command kcmpgraph-bench is the driver behind "make bench": it grows a
// live forest of processes with the test fixture, then runs, interleaved
// and several times each, kcmpgraph scan, lsof -n -P, lsfd and a floor (a
// C program that only reads every fd link and fdinfo, single-threaded),
// and writes wall time (median, min, max), peak RSS and kcmp calls per fd
// into BENCHMARKS.md with the exact command, kernel, CPU count and load.
// With -serve N it measures kcmpgraph serve on the forest instead: CPU per
// scan over N scans, per scrape and between scans, and RSS over the run.
// The forest is always removed, on any exit.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

type tool struct {
	name string
	argv []string
	wall []time.Duration
	rss  []int64 // KiB
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "kcmpgraph-bench: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	procs := flag.Int("procs", 1000, "processes in the forest")
	fds := flag.Int("fds", 100, "fds per process, about")
	runs := flag.Int("runs", 5, "runs of each tool")
	bin := flag.String("kcmpgraph", "bin/kcmpgraph", "kcmpgraph binary")
	out := flag.String("o", "BENCHMARKS.md", "append the results to this file (- for stdout)")
	hold := flag.Bool("hold", false, "build the forest, print its master pid and keep it until interrupted (to profile by hand)")
	serveScans := flag.Int("serve", 0, "instead of comparing tools, run kcmpgraph serve on the forest for this many scans back to back and report its CPU per scan, its average CPU at the default interval and its RSS")
	flag.Parse()

	floor, err := fixture.FloorBinary("")
	if err != nil {
		return err
	}
	ideal, err := fixture.IdealBinary("")
	if err != nil {
		return err
	}
	rss, err := fixture.RSSBinary("")
	if err != nil {
		return err
	}
	f, err := fixture.Start(fixture.Options{})
	if err != nil {
		return err
	}
	defer f.Close()
	// Remove the forest on Ctrl-C and SIGTERM too; SIGKILL of this
	// program kills the forest through PR_SET_PDEATHSIG.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		f.Close()
		os.Exit(130)
	}()
	start := time.Now()
	master, made, err := f.Root().Grow(fixture.GrowSpec{Procs: *procs, FDsPerProc: *fds, Seed: 1})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "forest: %d processes in %.1f s\n", made, time.Since(start).Seconds())
	if *hold {
		fmt.Fprintf(os.Stderr, "forest master pid %d; interrupt (Ctrl-C) to remove it\n", master)
		select {} // the signal handler above removes the forest and exits
	}
	if *serveScans > 0 {
		report, err := benchServe(*bin, floor, rss, *procs, *fds, *serveScans)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		return appendReport(*out, report)
	}

	snapPath := filepath.Join(os.TempDir(), fmt.Sprintf("kcmpgraph-bench-%d.json", os.Getpid()))
	defer os.Remove(snapPath)
	// The timed scans write their JSON to standard output, discarded like
	// lsof's and lsfd's text; an untimed scan into a file (fsync and
	// rename included) gives the call counts.
	scan := []string{*bin, "scan", "--threads", "-q", "--format", "json"}
	scanToFile := []string{*bin, "scan", "--threads", "-q", "-o", snapPath}
	for _, name := range []string{*bin, "lsof", "lsfd"} {
		if _, err := exec.LookPath(name); err != nil {
			return fmt.Errorf("%s: %w (install it: apt-get install lsof util-linux)", name, err)
		}
	}
	// That scan comes first: it gives the ideal program its number of kcmp
	// calls, as many as kcmpgraph's grouping makes, its end-of-run
	// verification left out.
	if _, _, err := measure(rss, scanToFile); err != nil {
		return fmt.Errorf("kcmpgraph scan: %w", err)
	}
	stats, err := readStats(snapPath)
	if err != nil {
		return err
	}
	idealCalls := int64(0)
	for n, c := range stats.Stats.KcmpCalls {
		if n != "verify" {
			idealCalls += c
		}
	}
	tools := []*tool{
		{name: "kcmpgraph scan", argv: scan},
		{name: "lsof -n -P", argv: []string{"lsof", "-n", "-P"}},
		{name: "lsfd", argv: []string{"lsfd"}},
		{name: "floor (C, 1 thread)", argv: []string{floor}},
		{name: fmt.Sprintf("ideal exact (C, %d threads, %d kcmp calls)", runtime.NumCPU(), idealCalls),
			argv: []string{ideal, strconv.FormatInt(idealCalls, 10)}},
	}
	for i := 0; i < *runs; i++ {
		for _, t := range tools {
			wall, peak, err := measure(rss, t.argv)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			t.wall = append(t.wall, wall)
			t.rss = append(t.rss, peak)
		}
	}
	report := format(tools, *procs, *fds, *runs, stats.Stats.Processes, stats.Stats.FDs, stats.Stats.KcmpCalls)
	if stats.Stats.Seconds > 0 {
		report += fmt.Sprintf("Endpoints: %d channels paired in %.3f s, %.0f%% of the counting scan's %.3f s.\n",
			len(stats.Endpoints), stats.Stats.Endpoint, 100*stats.Stats.Endpoint/stats.Stats.Seconds, stats.Stats.Seconds)
	}
	return appendReport(*out, report)
}

// appendReport appends a section to the file out (- is stdout).
func appendReport(out, report string) error {
	if out == "-" {
		fmt.Print(report)
		return nil
	}
	w, err := os.OpenFile(out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := w.WriteString(report); err != nil {
		w.Close()
		return err
	}
	fmt.Fprint(os.Stderr, report)
	return w.Close()
}

// scanStats is what the benchmark reads back from kcmpgraph's snapshot.
type scanStats struct {
	Stats struct {
		FDs       int              `json:"fds"`
		Processes int              `json:"processes"`
		KcmpCalls map[string]int64 `json:"kcmp_calls"`
		Seconds   float64          `json:"seconds"`
		Endpoint  float64          `json:"endpoint_seconds"`
	} `json:"stats"`
	Endpoints []json.RawMessage `json:"endpoints"`
}

func readStats(path string) (*scanStats, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st scanStats
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &st, nil
}

// measure runs argv under the rss program with output discarded and
// returns its wall time and peak RSS in KiB.
func measure(rss string, argv []string) (time.Duration, int64, error) {
	cmd := exec.Command(rss, argv...)
	var errb strings.Builder
	cmd.Stderr = &errb
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 0, 0, err
	}
	out := strings.TrimSpace(errb.String())
	last := out[strings.LastIndexByte(out, '\n')+1:]
	kib, perr := strconv.ParseInt(strings.TrimPrefix(last, "rss-maxrss-kib "), 10, 64)
	if err != nil && argv[0] != "lsof" { // lsof exits 1 when some files vanish
		return 0, 0, fmt.Errorf("%v: %s", err, strings.TrimSpace(strings.TrimSuffix(out, last)))
	}
	if perr != nil || !strings.HasPrefix(last, "rss-maxrss-kib ") {
		return 0, 0, fmt.Errorf("no peak RSS reported: %q", last)
	}
	return wall, kib, nil
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func medianInt(d []int64) int64 {
	s := append([]int64(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func minmax(d []time.Duration) (time.Duration, time.Duration) {
	lo, hi := d[0], d[0]
	for _, x := range d {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

func format(tools []*tool, procs, fds, runs, scanned, scannedFDs int, calls map[string]int64) string {
	var b strings.Builder
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&b, "\n## %s — forest %d processes × %d fds\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), procs, fds)
	fmt.Fprintf(&b, "Command: `make bench PROCS=%d FDS=%d RUNS=%d` (kcmpgraph-bench). Kernel %s, %d CPUs, load before: %s. "+
		"Whole host scanned by every tool: %d processes, %d fds. %d runs each, interleaved. "+
		"kcmpgraph runs as `scan --threads --format json`, its JSON discarded like the others' output; "+
		"the kcmp counts come from an untimed `scan --threads -o FILE` before the runs.\n\n",
		procs, fds, runs, strings.TrimSpace(string(kernel)), runtime.NumCPU(), strings.TrimSpace(string(load)), scanned, scannedFDs, runs)
	fmt.Fprintf(&b, "| tool | wall median | min | max | peak RSS median |\n|---|---|---|---|---|\n")
	for _, t := range tools {
		lo, hi := minmax(t.wall)
		fmt.Fprintf(&b, "| %s | %.3f s | %.3f s | %.3f s | %.1f MiB |\n", t.name, median(t.wall).Seconds(), lo.Seconds(), hi.Seconds(), float64(medianInt(t.rss))/1024)
	}
	k, lsof, lsfd, floor, ideal := tools[0], tools[1], tools[2], tools[3], tools[4]
	ratio := func(a, b *tool) float64 { return median(a.wall).Seconds() / median(b.wall).Seconds() }
	fmt.Fprintf(&b, "\nRatios (medians): kcmpgraph/lsfd wall %.2f, kcmpgraph/floor wall %.2f, kcmpgraph/lsof wall %.2f, kcmpgraph/lsof peak RSS %.2f; "+
		"ideal/floor wall %.2f, kcmpgraph/ideal wall %.2f.\n",
		ratio(k, lsfd), ratio(k, floor), ratio(k, lsof), float64(medianInt(k.rss))/float64(medianInt(lsof.rss)),
		ratio(ideal, floor), ratio(k, ideal))
	var names []string
	var total int64
	for n, c := range calls {
		names = append(names, n)
		total += c
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d", n, calls[n]))
	}
	if scannedFDs > 0 {
		fmt.Fprintf(&b, "kcmp calls: %s; per fd: file grouping %.2f, with its end-of-run verification %.2f, all types %.2f.\n",
			strings.Join(parts, ", "), float64(calls["file"])/float64(scannedFDs),
			float64(calls["file"]+calls["verify"])/float64(scannedFDs), float64(total)/float64(scannedFDs))
	}
	return b.String()
}
