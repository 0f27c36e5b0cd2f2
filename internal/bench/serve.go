package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat.
const clockTicks = 100

// serveRun is one kcmpgraph serve under measurement.
type serveRun struct {
	cmd  *exec.Cmd
	addr string
}

var listening = regexp.MustCompile(`msg="Listening on" address=(\S+)`)

// startServe starts kcmpgraph serve on the whole host, as it runs by
// default but for its schedule (args: --interval, or the hidden
// --bench.back-to-back), and waits for its address.
func startServe(bin string, args ...string) (*serveRun, error) {
	cmd := exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		return &serveRun{cmd: cmd, addr: a}, nil
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("kcmpgraph serve did not listen within 30 s")
	}
}

func (s *serveRun) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// scrape reads kcmpgraph_scans_total and kcmpgraph_fds from /metrics.
func (s *serveRun) scrape() (scans, fds float64, err error) {
	resp, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	found := false
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "kcmpgraph_scans_total "); ok {
			scans, err = strconv.ParseFloat(v, 64)
			found = err == nil
		}
		if v, ok := strings.CutPrefix(line, "kcmpgraph_fds "); ok {
			fds, _ = strconv.ParseFloat(v, 64)
		}
	}
	if !found {
		return 0, 0, fmt.Errorf("no kcmpgraph_scans_total in /metrics")
	}
	return scans, fds, nil
}

// cpuSeconds is the process's user plus system time so far.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTicks, nil
}

// rssKiB reads VmRSS and VmHWM of a process.
func rssKiB(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm, nil
}

// benchServe measures kcmpgraph serve on the forest: scans back to back
// (--bench.back-to-back: no interval, no CPU budget) for scans scans,
// sampling CPU time and RSS after each, then the cost of a scrape, and
// writes a section for BENCHMARKS.md.
func benchServe(bin, floor, rss string, procs, fds, scans int) (string, error) {
	load, _ := os.ReadFile("/proc/loadavg")
	_, floorRSS, err := measure(rss, []string{floor})
	if err != nil {
		return "", fmt.Errorf("floor: %w", err)
	}
	floorCPU, err := childCPU(floor)
	if err != nil {
		return "", err
	}
	s, err := startServe(bin, "--bench.back-to-back")
	if err != nil {
		return "", err
	}
	defer s.stop()
	pid := s.cmd.Process.Pid
	type sample struct {
		scans    int
		scrapes  int // scrapes made so far, this sample's included
		cpu      float64
		rss, hwm int64
	}
	var samples []sample
	last, scrapes := -1, 0
	var scannedFDs float64
	start := time.Now()
	for last < scans {
		// Each scrape costs serve about 5 ms of CPU: polling every
		// 20 ms (as this driver did until 2026-12-02) added 0.8 s to
		// each 4 s scan. Poll seldom, and take the scrapes' cost out
		// below.
		n, f, err := s.scrape()
		if err != nil {
			return "", err
		}
		scrapes++
		if int(n) != last {
			last, scannedFDs = int(n), f
			cpu, err := cpuSeconds(pid)
			if err != nil {
				return "", err
			}
			r, h, err := rssKiB(pid)
			if err != nil {
				return "", err
			}
			samples = append(samples, sample{last, scrapes, cpu, r, h})
		}
		if time.Since(start) > time.Duration(scans)*time.Minute {
			return "", fmt.Errorf("only %d scans in %v", last, time.Since(start))
		}
		time.Sleep(250 * time.Millisecond)
	}
	wall := time.Since(start)
	// Scrapes: the cost of 200 of them, between scans of an exporter that
	// scans once an hour.
	s.stop()
	idle, err := startServe(bin, "--interval", "1h")
	if err != nil {
		return "", err
	}
	defer idle.stop()
	for n := 0.0; n < 1; {
		if n, _, err = idle.scrape(); err != nil {
			return "", err
		}
		time.Sleep(50 * time.Millisecond)
	}
	c0, _ := cpuSeconds(idle.cmd.Process.Pid)
	const timedScrapes = 200
	for range timedScrapes {
		if _, _, err := idle.scrape(); err != nil {
			return "", err
		}
	}
	c1, _ := cpuSeconds(idle.cmd.Process.Pid)
	perScrape := (c1 - c0) / timedScrapes
	time.Sleep(10 * time.Second)
	c2, _ := cpuSeconds(idle.cmd.Process.Pid)
	idlePerSecond := (c2 - c1) / 10

	// CPU per scan from scan 10 on (the first scans warm the heap), and
	// the median RSS of the samples in each tenth of the run.
	first := 0
	for first < len(samples) && samples[first].scans < 10 {
		first++
	}
	a, z := samples[first], samples[len(samples)-1]
	// The samples' CPU includes this driver's scrapes since a.
	cpuPerScan := (z.cpu - a.cpu - float64(z.scrapes-a.scrapes)*perScrape) / float64(z.scans-a.scans)
	at60 := 100 * (cpuPerScan + 4*perScrape + 60*idlePerSecond) / 60
	// serve's defaults: --interval 60s stretched by --cpu-budget 2% to
	// the CPU used since the scan before ended / 0.02, with a scrape
	// every 15 s: E = (scan + E/15 scrapes + E idle) / 0.02.
	const budget = 0.02
	effective := 60.0
	if rest := budget - perScrape/15 - idlePerSecond; rest > 0 {
		effective = max(effective, cpuPerScan/rest)
	}
	atBudget := 100 * (cpuPerScan + effective/15*perScrape + effective*idlePerSecond) / effective
	var b strings.Builder
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Fprintf(&b, "\n## %s — kcmpgraph serve on the forest %d processes × %d fds\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), procs, fds)
	fmt.Fprintf(&b, "Command: `make bench-serve PROCS=%d FDS=%d SCANS=%d` (kcmpgraph-bench -serve). Kernel %s, %d CPUs, load before: %s. "+
		"`kcmpgraph serve --bench.back-to-back` (the whole host, %.0f fds at the last scan): %d scans back to back in %.0f s, CPU time from /proc/PID/stat (less the cost of this driver's %d scrapes between scans %d and %d), RSS from /proc/PID/status after each scan.\n\n",
		procs, fds, scans, strings.TrimSpace(string(kernel)), runtime.NumCPU(), strings.TrimSpace(string(load)), scannedFDs, z.scans, wall.Seconds(), z.scrapes-a.scrapes, a.scans, z.scans)
	fmt.Fprintf(&b, "| measure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| CPU per scan (scans %d–%d) | %.3f s |\n", a.scans, z.scans, cpuPerScan)
	fmt.Fprintf(&b, "| floor (C: every fd link and fdinfo of the host read once) CPU, before the run | %.3f s (%.1f MiB) |\n", floorCPU, float64(floorRSS)/1024)
	fmt.Fprintf(&b, "| CPU per scrape of /metrics | %.2f ms |\n", 1000*perScrape)
	fmt.Fprintf(&b, "| CPU between scans (idle) | %.2f ms/s |\n", 1000*idlePerSecond)
	fmt.Fprintf(&b, "| average CPU at a 60 s interval without the budget (`--cpu-budget 0`: a scan, 4 scrapes and 60 s idle per minute) | %.2f%% of one CPU |\n", at60)
	fmt.Fprintf(&b, "| **serve's defaults** (`--interval 60s --cpu-budget 2%%`): the interval the budget sets (the CPU since the last scan, scrapes every 15 s included, / 0.02); the average CPU | **%.0f s; %.2f%% of one CPU** |\n", effective, atBudget)
	var tenths []string
	for i := 1; i <= 10; i++ {
		lo, hi := z.scans*(i-1)/10, z.scans*i/10
		var rs []int64
		for _, s := range samples {
			if s.scans >= lo && s.scans < hi || i == 10 && s.scans == hi {
				rs = append(rs, s.rss)
			}
		}
		if len(rs) > 0 {
			sort.Slice(rs, func(i, j int) bool { return rs[i] < rs[j] })
			tenths = append(tenths, fmt.Sprintf("%.1f", float64(rs[len(rs)/2])/1024))
		}
	}
	fmt.Fprintf(&b, "| RSS after a scan, median of each tenth of the run | %s MiB |\n", strings.Join(tenths, ", "))
	fmt.Fprintf(&b, "| peak RSS (VmHWM) after scan %d; after scan %d | %.1f MiB; %.1f MiB |\n", a.scans, z.scans, float64(a.hwm)/1024, float64(z.hwm)/1024)
	return b.String(), nil
}

// childCPU runs a program once and returns its CPU time.
func childCPU(path string) (float64, error) {
	cmd := exec.Command(path)
	if err := cmd.Run(); err != nil {
		return 0, err
	}
	u := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano()).Seconds(), nil
}
