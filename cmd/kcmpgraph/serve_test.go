//go:build linux

package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// daemon is a long-running child of a test: kcmpgraph serve or
// prometheus. Its stderr is kept for failure messages; cleanup stops it
// (SIGTERM, then SIGKILL) and reaps it even when the test fails.
type daemon struct {
	name   string
	cmd    *exec.Cmd
	mu     sync.Mutex
	log    strings.Builder
	listen chan string // the first "Listening on" address
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

var listenLine = regexp.MustCompile(`msg="Listening on" address=(\S+)`)

func startDaemon(t *testing.T, name string, cmd *exec.Cmd) *daemon {
	t.Helper()
	d := &daemon{name: name, cmd: cmd, listen: make(chan string, 1), exited: make(chan struct{})}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			d.mu.Lock()
			d.log.WriteString(line + "\n")
			d.mu.Unlock()
			if m := listenLine.FindStringSubmatch(line); m != nil {
				select {
				case d.listen <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		<-copied
		d.err = cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		d.stop(5 * time.Second)
		if t.Failed() {
			t.Logf("%s log:\n%s", name, d.logText())
		}
	})
	return d
}

func (d *daemon) logText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// stop sends SIGTERM and waits, then SIGKILL; it reports whether the
// process exited on SIGTERM within grace.
func (d *daemon) stop(grace time.Duration) bool {
	select {
	case <-d.exited:
		return true
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		return true
	case <-time.After(grace):
	}
	d.cmd.Process.Kill()
	<-d.exited
	return false
}

// address waits for the daemon to say where it listens.
func (d *daemon) address(t *testing.T) string {
	t.Helper()
	select {
	case a := <-d.listen:
		return a
	case <-d.exited:
		t.Fatalf("%s exited: %v\n%s", d.name, d.err, d.logText())
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not listen within 15 s:\n%s", d.name, d.logText())
	}
	return ""
}

// freePort returns a loopback port nothing listens on now (for prometheus,
// which does not print the port it got for :0).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kcmpgraph test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// promQuery asks Prometheus's HTTP API for an instant vector and returns
// each sample's value by the label values of labels.
func promQuery(promURL, query string, labels ...string) (map[string]float64, error) {
	resp, err := http.Get(promURL + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", query, r.Error)
	}
	out := map[string]float64{}
	for _, s := range r.Data.Result {
		var key []string
		for _, l := range labels {
			key = append(key, s.Metric[l])
		}
		str, _ := s.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v", query, s.Value[1])
		}
		out[strings.Join(key, ",")] = v
	}
	return out, nil
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last: %s", what, timeout, state)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// leakyTree builds the fixture the exporter must report: a 0600 root file
// kept open by a child that dropped to uid 65534 (KG001, high), and an
// address space shared with a uid-65534 clone (KG005, critical).
func leakyTree(t *testing.T) *fixture.Node {
	t.Helper()
	f := fixture.New(t)
	root := f.Root()
	secret := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(secret, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Open(secret, unix.O_RDONLY); err != nil {
		t.Fatal(err)
	}
	child := testkit.Must[*fixture.Node](t)(root.Fork())
	if err := child.Setuid(65534, 65534); err != nil {
		t.Fatal(err)
	}
	vmChild := testkit.Must[*fixture.Node](t)(root.Clone(unix.CLONE_VM))
	if err := vmChild.Setuid(65534, 65534); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestPrometheusScrapesServe runs the real binary twice and a real
// Prometheus (Debian's package) scraping both, on loopback:
//   - plain HTTP, run as uid 65534 with only CAP_SYS_PTRACE and
//     CAP_DAC_READ_SEARCH (ambient, as the systemd unit gives them),
//     a scan a second;
//   - TLS with basic auth from an exporter-toolkit web config, as root,
//     one scan an hour: every scrape after the first scan reads the same
//     result, and kcmpgraph_scans_total stays 1.
//
// Prometheus loads the shipped alerting rules; it must see scan_success 1,
// the fixture's findings on both targets, and fire KcmpgraphCriticalFinding.
func TestPrometheusScrapesServe(t *testing.T) {
	testkit.RequireKcmp(t)
	if _, err := exec.LookPath("prometheus"); err != nil {
		t.Skip("prometheus not installed (Debian package prometheus; .ci/run installs it)")
	}
	bin := buildForNobody(t) // skips unless root
	root := leakyTree(t)
	tree := strconv.Itoa(root.PID())
	dir := t.TempDir()

	// What kcmpgraph audit says of the same tree: the exporter must agree.
	out, stderr, code := runCLI(t, "audit", "--tree", tree, "--format", "json", "--fail-on", "critical")
	if code != exitFound {
		t.Fatalf("audit of the fixture: exit %d %s", code, stderr)
	}
	var rep struct {
		Findings []struct{ Rule, Severity string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	for _, f := range rep.Findings {
		want[f.Rule+","+f.Severity]++
	}
	if want["KG001,high"] != 1 || want["KG005,critical"] != 1 {
		t.Fatalf("the fixture should have one KG001 high and one KG005 critical finding: %v", want)
	}

	plain := exec.Command(bin, "serve", "--tree", tree, "--interval", "1s", "--listen", "127.0.0.1:0")
	plain.SysProcAttr = &syscall.SysProcAttr{
		Credential:  &syscall.Credential{Uid: 65534, Gid: 65534},
		AmbientCaps: []uintptr{unix.CAP_SYS_PTRACE, unix.CAP_DAC_READ_SEARCH},
	}
	plain.Dir = "/"
	plainD := startDaemon(t, "kcmpgraph serve (uid 65534)", plain)

	certFile, keyFile := selfSigned(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(webConfig, fmt.Appendf(nil, "tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prom: %s\n",
		certFile, keyFile, hash), 0o600); err != nil {
		t.Fatal(err)
	}
	tlsD := startDaemon(t, "kcmpgraph serve (TLS)", exec.Command(bin, "serve", "--tree", tree, "--interval", "1h",
		"--listen", "127.0.0.1:0", "--web.config.file", webConfig))
	plainAddr, tlsAddr := plainD.address(t), tlsD.address(t)

	rules, err := filepath.Abs("../../deploy/prometheus-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	promConfig := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(promConfig, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: plain
    static_configs: [{targets: [%q]}]
  - job_name: tls
    scheme: https
    tls_config: {ca_file: %q}
    basic_auth: {username: prom, password: s3cret}
    static_configs: [{targets: [%q]}]
`, rules, plainAddr, certFile, tlsAddr), 0o600); err != nil {
		t.Fatal(err)
	}
	promPort := freePort(t)
	promURL := "http://127.0.0.1:" + strconv.Itoa(promPort)
	startDaemon(t, "prometheus", exec.Command("prometheus", "--config.file="+promConfig,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address=127.0.0.1:"+strconv.Itoa(promPort)))

	query := func(q string, labels ...string) map[string]float64 {
		r, err := promQuery(promURL, q, labels...)
		if err != nil {
			return map[string]float64{"error: " + err.Error(): -1}
		}
		return r
	}
	// Prometheus's first scrape comes about 5 s after it starts.
	waitFor(t, 30*time.Second, "kcmpgraph_scan_success = 1 on both targets", func() (bool, string) {
		r := query("kcmpgraph_scan_success", "job")
		return r["plain"] == 1 && r["tls"] == 1, fmt.Sprint(r)
	})
	for _, job := range []string{"plain", "tls"} {
		got := query(`kcmpgraph_audit_findings{job="`+job+`"} > 0`, "rule", "severity")
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("job %s: Prometheus has findings %v, kcmpgraph audit %v", job, got, want)
		}
		if r := query(`kcmpgraph_unreadable_processes{job="`+job+`"} > 0`, "reason"); len(r) != 0 {
			t.Errorf("job %s: unreadable processes %v", job, r)
		}
	}
	if r := query(`kcmpgraph_processes{job="plain"} - on() kcmpgraph_processes{job="tls"}`); r[""] != 0 {
		t.Errorf("uid 65534 with two capabilities and root see different process counts: %v", r)
	}
	waitFor(t, 15*time.Second, "KcmpgraphCriticalFinding firing for both targets", func() (bool, string) {
		r := query(`ALERTS{alertname="KcmpgraphCriticalFinding",alertstate="firing",rule="KG005"}`, "job")
		return r["plain"] == 1 && r["tls"] == 1, fmt.Sprint(r)
	})

	// Unauthenticated and wrongly authenticated scrapes are refused.
	pool := x509.NewCertPool()
	pemBytes, _ := os.ReadFile(certFile)
	pool.AppendCertsFromPEM(pemBytes)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	scrape := func(user, pass string) (int, string) {
		req, _ := http.NewRequest("GET", "https://"+tlsAddr+"/metrics", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := scrape("", ""); code != http.StatusUnauthorized {
		t.Errorf("scrape without credentials: %d, want 401", code)
	}
	if code, _ := scrape("prom", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("scrape with a wrong password: %d, want 401", code)
	}
	if resp, err := http.Get("http://" + tlsAddr + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("the TLS target serves plain HTTP")
		}
	}
	var body string
	for range 20 {
		code, b := scrape("prom", "s3cret")
		if code != http.StatusOK {
			t.Fatalf("scrape with credentials: %d %s", code, b)
		}
		body = b
	}
	promtoolCheckMetrics(t, body)
	for _, want := range []string{"\nkcmpgraph_scans_total 1\n", "\nprocess_resident_memory_bytes ", "\ngo_goroutines ", "\nkcmpgraph_scan_interval_seconds 3600\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
		}
	}
	// Prometheus has scraped the hourly target every second since: still
	// one scan.
	waitFor(t, 10*time.Second, "at least 5 Prometheus scrapes of the TLS target", func() (bool, string) {
		r := query(`count_over_time(kcmpgraph_scans_total{job="tls"}[1m])`, "job")
		return r["tls"] >= 5, fmt.Sprint(r)
	})
	if r := query(`max_over_time(kcmpgraph_scans_total{job="tls"}[1m])`, "job"); r["tls"] != 1 {
		t.Errorf("scrapes started scans: kcmpgraph_scans_total reached %v", r)
	}
	if r := query(`kcmpgraph_scans_total{job="plain"}`, "job"); r["plain"] < 2 {
		t.Errorf("the 1 s target has not scanned again: %v", r)
	}

	// SIGTERM: a clean exit, on time.
	for _, d := range []*daemon{tlsD, plainD} {
		if !d.stop(6 * time.Second) {
			t.Errorf("%s did not exit within 6 s of SIGTERM", d.name)
		} else if d.err != nil {
			t.Errorf("%s exited with %v after SIGTERM", d.name, d.err)
		}
		if !strings.Contains(d.logText(), "shutting down") {
			t.Errorf("%s did not log its shutdown:\n%s", d.name, d.logText())
		}
	}
}

// scrapeValues reads the unlabelled samples of /metrics at addr.
func scrapeValues(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	vals := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if v, err := strconv.ParseFloat(val, 64); ok && err == nil {
			vals[name] = v
		}
	}
	return vals
}

// TestServeCPUBudget: with a budget of 0.01% of a CPU, the first scan of
// a small tree costs more than a 1 s interval allows, so the next scan
// waits its CPU time / 0.0001 (a minute or more); the exporter says so in
// its gauges and, once, in its log. Without a budget, the same serve
// scans every second.
func TestServeCPUBudget(t *testing.T) {
	testkit.RequireKcmp(t)
	bin := kcmpgraphBinary(t)
	f := fixture.New(t)
	master, _, err := f.Root().Grow(fixture.GrowSpec{Procs: 10, FDsPerProc: 10, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	tree := strconv.Itoa(master)
	d := startDaemon(t, "kcmpgraph serve --cpu-budget 0.01%", exec.Command(bin, "serve", "--tree", tree, "--interval", "1s",
		"--cpu-budget", "0.01%", "--listen", "127.0.0.1:0"))
	free := startDaemon(t, "kcmpgraph serve --cpu-budget 0", exec.Command(bin, "serve", "--tree", tree, "--interval", "1s",
		"--cpu-budget", "0", "--listen", "127.0.0.1:0"))
	addr, freeAddr := d.address(t), free.address(t)
	var v map[string]float64
	waitFor(t, 30*time.Second, "a first scan", func() (bool, string) {
		v = scrapeValues(t, addr)
		return v["kcmpgraph_scans_total"] >= 1 && v["kcmpgraph_scan_interval_seconds"] > 1, fmt.Sprint(v["kcmpgraph_scans_total"], " scans")
	})
	cpu, interval := v["kcmpgraph_scan_cpu_seconds"], v["kcmpgraph_scan_interval_seconds"]
	// The budget counts the scan's CPU time and the little the exporter
	// used before it (starting to listen).
	if cpu <= 0 || interval < 0.99*cpu/0.0001 || interval > cpu/0.0001+1000 {
		t.Errorf("scan_cpu_seconds %v, scan_interval_seconds %v: want the interval to be about the CPU time / 0.0001", cpu, interval)
	}
	// Five seconds on: five scans without the budget, still one with it.
	time.Sleep(5 * time.Second)
	if v := scrapeValues(t, addr); v["kcmpgraph_scans_total"] != 1 {
		t.Errorf("with the budget, %v scans, want 1 (the next is %v s after the first)", v["kcmpgraph_scans_total"], interval)
	}
	fv := scrapeValues(t, freeAddr)
	if fv["kcmpgraph_scans_total"] < 3 || fv["kcmpgraph_scan_interval_seconds"] != 1 {
		t.Errorf("without a budget: %v scans, interval %v s; want 3 or more, 1 s apart", fv["kcmpgraph_scans_total"], fv["kcmpgraph_scan_interval_seconds"])
	}
	if n := strings.Count(d.logText(), `msg="scan interval stretched to keep the exporter within its CPU budget" interval=1s effective_interval=`); n != 1 {
		t.Errorf("%d log lines about the stretch, want 1:\n%s", n, d.logText())
	}
	if strings.Contains(free.logText(), "stretched") {
		t.Errorf("without a budget, the interval was stretched:\n%s", free.logText())
	}
}

// TestServeMemoryFlat runs 250 scans of a small forest back to back and
// compares the exporter's own heap and RSS (its process and Go metrics)
// around scans 20 to 60 with scans 190 to 250.
func TestServeMemoryFlat(t *testing.T) {
	testkit.RequireKcmp(t)
	bin := buildForNobody(t)
	f := fixture.New(t)
	master, _, err := f.Root().Grow(fixture.GrowSpec{Procs: 20, FDsPerProc: 20, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "kcmpgraph serve", exec.Command(bin, "serve", "--tree", strconv.Itoa(master), "--bench.back-to-back", "--listen", "127.0.0.1:0"))
	addr := d.address(t)
	type sample struct{ scans, heap, rss float64 }
	read := func() sample {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s sample
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			name, val, ok := strings.Cut(sc.Text(), " ")
			v, err := strconv.ParseFloat(val, 64)
			if !ok || err != nil {
				continue
			}
			switch name {
			case "kcmpgraph_scans_total":
				s.scans = v
			case "go_memstats_heap_alloc_bytes":
				s.heap = v
			case "process_resident_memory_bytes":
				s.rss = v
			}
		}
		return s
	}
	// The least heap and RSS seen between scans lo and hi: what stays
	// when a scan's garbage is gone.
	window := func(lo, hi float64) sample {
		least := sample{heap: 1e18, rss: 1e18}
		// Generous: on a loaded 2-CPU machine a scan of the small forest
		// has taken 0.3 s; the bound only keeps a stuck exporter from
		// hanging the test.
		deadline := time.Now().Add(4 * time.Minute)
		for {
			s := read()
			if s.scans >= lo {
				least.heap, least.rss = min(least.heap, s.heap), min(least.rss, s.rss)
				least.scans = s.scans
			}
			if s.scans >= hi {
				return least
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %v scans in 4 minutes", s.scans)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Wide windows: the least heap is what is live just after a
	// collection, and a loaded machine samples fewer of those moments.
	early := window(20, 60)
	late := window(190, 250)
	t.Logf("after %v scans: heap %.0f KiB, RSS %.0f KiB; after %v scans: heap %.0f KiB, RSS %.0f KiB",
		early.scans, early.heap/1024, early.rss/1024, late.scans, late.heap/1024, late.rss/1024)
	// 512 KiB over 190 scans: a leak of 3 KiB a scan fails, a scan's
	// worth of garbage a collection has not yet freed does not.
	if late.heap > early.heap+512<<10 {
		t.Errorf("heap grew from %.0f to %.0f KiB over %v scans", early.heap/1024, late.heap/1024, late.scans-early.scans)
	}
	if late.rss > early.rss*1.1+1<<20 {
		t.Errorf("RSS grew from %.0f to %.0f KiB over %v scans", early.rss/1024, late.rss/1024, late.scans-early.scans)
	}
	if r := read(); r.scans < 250 {
		t.Errorf("scans_total %v", r.scans)
	}
}
