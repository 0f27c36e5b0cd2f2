//go:build linux

package webview

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/analyzer"
	"github.com/kcmpgraph/kcmpgraph/analyzer/audit"
	"github.com/kcmpgraph/kcmpgraph/analyzer/diff"
	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
	"github.com/kcmpgraph/kcmpgraph/procscan"
	"github.com/kcmpgraph/kcmpgraph/procscan/fixture"
)

// chromiumPath is the browser the tests drive (Debian's package).
const chromiumPath = "/usr/bin/chromium"

// hostileChild is the environment variable that makes the test binary a
// process with a crafted comm (see TestMain).
const hostileChild = "KCMPGRAPH_WEBVIEW_HOSTILE_COMM"

// Hostile strings: a comm, a command line and file names that would
// close the script element, inject markup, run script, reorder text or
// break UTF-8 if the page treated them as anything but text.
var (
	hostileComm = "</script>\u202e\xff"
	hostileArgs = []string{"kg-hostile", "</script><script>window.__pwned=1</script>",
		`"><img src=x onerror=window.__pwned=2>`, "\u202eevil\u2028line", "bad\xff\xfeutf8"}
	// hostileDir and hostileFile make a path holding "</script>": a
	// file name cannot hold a slash, a path can.
	hostileDir  = "x</script><script>window.__pwned=3;<"
	hostileFile = `script>"><img src=x onerror=window.__pwned=4>` + "\u202egpj.exe\xff"
)

func TestMain(m *testing.M) {
	if comm := os.Getenv(hostileChild); comm != "" {
		// Writing /proc/self/comm names the thread-group leader.
		if err := os.WriteFile("/proc/self/comm", []byte(comm), 0); err != nil {
			os.Exit(3)
		}
		time.Sleep(10 * time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// live is the fixture the browser tests look at: a root master with two
// workers of another user that share its TCP listener, its unix socket
// and its log, each with an epoll instance watching the listener, and a
// process whose comm, command line and open files are hostile.
type live struct {
	master, hostile int
	workers         []int
	port            int
	snap            *snapshot.Snapshot
}

func startLive(t *testing.T) *live {
	testkit.RequireKcmp(t)
	testkit.RequireRoot(t, "to start workers under another user")
	f := fixture.New(t)
	master := f.Root()
	dir := t.TempDir()
	must := testkit.Must[int](t)
	testkit.Check(t, master.SetComm("kg-master"))
	lfd, port := testkit.Must2[int, int](t)(master.TCPListen("127.0.0.1", 0))
	must(master.Listen(filepath.Join(dir, "app.sock")))
	must(master.Open(filepath.Join(dir, "app.log"), unix.O_WRONLY|unix.O_CREAT|unix.O_APPEND))
	testkit.Must2[int, int](t)(master.Pipe()) // a channel whose other end the view shows
	lv := &live{master: master.PID(), port: port}
	for i := 0; i < 2; i++ {
		w := testkit.Must[*fixture.Node](t)(master.Fork())
		testkit.Check(t, w.SetComm("kg-worker"))
		ep := must(w.EpollCreate())
		testkit.Check(t, w.EpollAdd(ep, lfd))
		testkit.Check(t, w.Setuid(65534, 65534))
		lv.workers = append(lv.workers, w.PID())
	}
	lv.hostile = startHostile(t, dir)
	lv.snap = lv.scan(t)
	return lv
}

// startHostile starts the test binary as a process with the hostile comm
// and command line, holding two hostile files; it dies with the test.
func startHostile(t *testing.T, dir string) int {
	sub := filepath.Join(dir, hostileDir)
	testkit.Check(t, os.MkdirAll(sub, 0o700))
	var files []*os.File
	for _, name := range []string{filepath.Join(sub, hostileFile), filepath.Join(dir, "\u202eplain\xfe")} {
		f, err := os.Create(name)
		testkit.Check(t, err)
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
	}
	exe, err := os.Executable()
	testkit.Check(t, err)
	cmd := &exec.Cmd{Path: exe, Args: hostileArgs, Env: []string{hostileChild + "=" + hostileComm},
		ExtraFiles: files, SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}}
	testkit.Check(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid))
		if strings.TrimSuffix(string(comm), "\n") == hostileComm {
			return cmd.Process.Pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("hostile child: comm %q", comm)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (lv *live) scan(t *testing.T) *snapshot.Snapshot {
	pids := append([]int{lv.master, lv.hostile}, lv.workers...)
	snap, err := analyzer.Run(context.Background(), analyzer.Options{Scan: procscan.Options{PIDs: pids}})
	testkit.Check(t, err)
	return snap
}

func (lv *live) model(t *testing.T, snap *snapshot.Snapshot) *Model {
	rep, err := audit.Run(snap, audit.Options{})
	testkit.Check(t, err)
	return Build(snap, Options{Audit: rep})
}

// browser starts a headless Chromium with a fresh profile and collects
// what the page must never produce: console errors and warnings,
// exceptions and Content-Security-Policy violations.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not installed (Debian package chromium; .ci/run installs it)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1600, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTime(); cancel(); cancelAlloc() })
	b := &browser{ctx: ctx}
	// Runs before the page's own scripts, outside its CSP.
	_, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`})
	testkit.Check(t, err)
	messages := chromedp.Console(ctx)
	go func() {
		for msg, err := range messages {
			if err != nil {
				return
			}
			if msg.IsException() || msg.Type == "error" || msg.Type == "warning" {
				b.mu.Lock()
				b.problems = append(b.problems, msg.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

func (b *browser) do(t testing.TB, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t testing.TB, b *browser, expr string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func textOf(t testing.TB, b *browser, sel string) string {
	t.Helper()
	return eval[string](t, b, fmt.Sprintf(`document.querySelector(%q).textContent`, sel))
}

func poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second))
}

// checkClean fails on any console error, exception or CSP violation so
// far, and on any sign that a hostile string ran or added markup.
func (b *browser) checkClean(t testing.TB, title string) {
	t.Helper()
	if csp := eval[[]string](t, b, `window.__csp`); len(csp) > 0 {
		t.Errorf("CSP violations: %q", csp)
	}
	if eval[bool](t, b, `window.__pwned !== undefined`) {
		t.Error("a hostile string ran script")
	}
	got, err := chromedp.Run(b.ctx, chromedp.Title())
	testkit.Check(t, err)
	if got != title {
		t.Errorf("title %q, want %q", got, title)
	}
	imgs := eval[int](t, b, `document.querySelectorAll('img, iframe, object, embed, [onerror], [onload]').length`)
	scripts := eval[int](t, b, `document.querySelectorAll('script').length`)
	if imgs != 0 || scripts > 3 {
		t.Errorf("hostile markup became elements: %d img/iframe/on* elements, %d scripts", imgs, scripts)
	}
	time.Sleep(100 * time.Millisecond) // the console's last messages
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("browser console: %s", p)
	}
	b.problems = nil
}

// exercise drives the view of lv like a person: search, click, toggle.
func (b *browser) exercise(t *testing.T, lv *live, m *Model, name string) {
	t.Helper()
	b.do(t, chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
	b.checkClean(t, m.Title)

	// Search finds the workers and only them.
	b.do(t, chromedp.SendKeys(chromedp.CSS(`#search`), "kg-worker"), poll(`document.querySelector('#hits').textContent === '2 processes'`))
	if marked := eval[int](t, b, `document.querySelectorAll('g.box.hit').length`); marked != 2 {
		t.Errorf("search kg-worker: %d boxes marked, want 2", marked)
	}
	// Clicking a worker shows its listener's address and its master.
	worker := m.Procs[index(m, lv.workers[0])]
	b.do(t, chromedp.Click(chromedp.CSS(fmt.Sprintf(`g.box[data-box="%d"]`, worker.Box))),
		poll(fmt.Sprintf(`document.querySelector('#panel h2').textContent.includes('pid %d')`, worker.PID)))
	panel := textOf(t, b, `#panel`)
	for _, want := range []string{fmt.Sprintf("tcp 127.0.0.1:%d LISTEN", lv.port), fmt.Sprintf("kg-master %d", lv.master), "app.sock", "app.log", "uid 65534"} {
		if !strings.Contains(panel, want) {
			t.Errorf("worker's panel lacks %q:\n%s", want, panel)
		}
	}
	b.shot(t, name+"-worker.png")
	// Clicking the pipe in the worker's fd table shows its holders and
	// the other end's.
	row := slices.IndexFunc(worker.FDs, func(f FD) bool { return f.Obj >= 0 && len(m.Objects[f.Obj].Peers) > 0 })
	if row < 0 {
		t.Fatalf("worker %d holds no channel end", worker.PID)
	}
	b.do(t, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#panel table tr:nth-child(%d) td button`, row+1))),
		poll(`document.querySelector('#panel h2').textContent.startsWith('pipe')`))
	panel = textOf(t, b, `#panel`)
	for _, want := range []string{"Held by", "Other end", fmt.Sprintf("kg-master %d", lv.master), fmt.Sprintf("kg-worker %d", lv.workers[1])} {
		if !strings.Contains(panel, want) {
			t.Errorf("the pipe's panel lacks %q:\n%s", want, panel)
		}
	}
	// The first finding in the list selects the boxes it accuses.
	if len(m.Findings) == 0 {
		t.Fatal("no findings for the master/worker fixture")
	}
	f := m.Findings[0]
	accused := map[int]bool{}
	for _, pid := range f.PIDs {
		if i := index(m, pid); i >= 0 && m.Procs[i].Box >= 0 {
			accused[m.Procs[i].Box] = true
		}
	}
	b.do(t, chromedp.Click(chromedp.CSS(`#list li button`)),
		poll(fmt.Sprintf(`document.querySelector('#panel h2').textContent === %q`, f.Rule+" "+f.Title)))
	if n := eval[int](t, b, `document.querySelectorAll('g.box.related').length`); len(accused) == 0 || n != len(accused) {
		t.Errorf("finding %s selects %d boxes, want its %d", f.Rule, n, len(accused))
	}
	// A socket address finds the master and the workers that hold it.
	eval[chromedp.Void](t, b, `document.querySelector('#search').value = ''`)
	b.do(t, chromedp.SendKeys(chromedp.CSS(`#search`), fmt.Sprintf("127.0.0.1:%d", lv.port)),
		poll(`document.querySelector('#hits').textContent === '3 processes'`))
	// The epoll toggle hides the epoll edges.
	const visible = `[...document.querySelectorAll('path.t-epoll')].filter((e) => getComputedStyle(e).display !== 'none').length`
	shown := eval[int](t, b, visible)
	b.do(t, chromedp.Click(chromedp.CSS(`#toggle-epoll`)))
	if hidden := eval[int](t, b, visible); shown == 0 || hidden != 0 {
		t.Errorf("epoll edges shown before the toggle: %d, after: %d; want some, then none", shown, hidden)
	}
	// The hostile process reads as text.
	hostile := m.Procs[index(m, lv.hostile)]
	eval[chromedp.Void](t, b, `document.querySelector('#search').value = ''`)
	b.do(t, chromedp.SendKeys(chromedp.CSS(`#search`), fmt.Sprint(lv.hostile)+"\r"),
		poll(fmt.Sprintf(`document.querySelector('#panel h2').textContent.includes('pid %d')`, lv.hostile)))
	panel = textOf(t, b, `#panel`)
	for _, want := range []string{`</script>\u202e\xff`, `</script><script>window.__pwned=1</script>`, `"><img src=x onerror=window.__pwned=2>`,
		`\u202eevil\u2028line`, `bad\xff\xfeutf8`, hostileDir + "/" + `script>"><img src=x onerror=window.__pwned=4>\u202egpj.exe\xff`, `\u202eplain\xfe`} {
		if !strings.Contains(panel, want) {
			t.Errorf("hostile process's panel lacks %q as text:\n%s", want, panel)
		}
	}
	if hostile.Comm != `</script>\u202e\xff` {
		t.Errorf("model comm %q", hostile.Comm)
	}
	if box := textOf(t, b, fmt.Sprintf(`g.box[data-box="%d"]`, hostile.Box)); !strings.Contains(box, `</script>\u202e\xff`) {
		t.Errorf("hostile box reads %q", box)
	}
	b.checkClean(t, m.Title)
}

func index(m *Model, pid int) int {
	for i := range m.Procs {
		if m.Procs[i].PID == pid {
			return i
		}
	}
	return -1
}

// shot saves a screenshot when KCMPGRAPH_SCREENSHOTS names a directory.
func (b *browser) shot(t testing.TB, name string) {
	dir := os.Getenv("KCMPGRAPH_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	testkit.Check(t, err)
	testkit.Check(t, os.WriteFile(filepath.Join(dir, name), png, 0o600))
}

// TestReportInBrowser opens the report of a live master/worker fixture
// from a file, offline, and uses it.
func TestReportInBrowser(t *testing.T) {
	lv := startLive(t)
	b := newBrowser(t)
	m := lv.model(t, lv.snap)
	path := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(path)
	testkit.Check(t, err)
	testkit.Check(t, WriteReport(f, m))
	testkit.Check(t, f.Close())
	b.do(t, chromedp.Navigate("file://"+path))
	b.exercise(t, lv, m, "report")
	b.shot(t, "report.png")
}

// TestWebInBrowser serves the live fixture, uses the page, and rescans
// with its button.
func TestWebInBrowser(t *testing.T) {
	lv := startLive(t)
	b := newBrowser(t)
	m := lv.model(t, lv.snap)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testkit.Check(t, err)
	rescans, last := 0, m
	srv, err := NewServer(m, ln.Addr(), false, func(context.Context) (*Model, error) {
		rescans++
		last = lv.model(t, lv.scan(t))
		return last, nil
	})
	testkit.Check(t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, srv) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	b.do(t, chromedp.Navigate("http://"+ln.Addr().String()+"/"))
	b.exercise(t, lv, m, "web")
	b.shot(t, "web.png")

	b.do(t, chromedp.Click(chromedp.CSS(`#rescan`)), poll(`!document.querySelector('#rescan').disabled`))
	if n := eval[int](t, b, `document.querySelectorAll('g.box').length`); rescans != 1 || n != len(m.Boxes) {
		t.Errorf("rescan: %d scans, %d boxes, want 1 and %d", rescans, n, len(m.Boxes))
	}
	b.checkClean(t, last.Title)
}

// TestDiffReportInBrowser opens the before/after report of two snapshots:
// the changes are listed, started and exited processes coloured, and a
// change selects its processes.
func TestDiffReportInBrowser(t *testing.T) {
	before, after := load(t, "../../analyzer/diff/testdata/before.json"), load(t, "../../analyzer/diff/testdata/after.json")
	d := diff.Compare(before, after, "before.json", "after.json", diff.Options{})
	m := BuildDiff(before, after, d, Options{})
	path := filepath.Join(t.TempDir(), "diff.html")
	f, err := os.Create(path)
	testkit.Check(t, err)
	testkit.Check(t, WriteReport(f, m))
	testkit.Check(t, f.Close())
	b := newBrowser(t)
	b.do(t, chromedp.Navigate("file://"+path), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
	if n := eval[int](t, b, `document.querySelectorAll('#list li button').length`); n != len(m.Changes) {
		t.Errorf("%d changes listed, want %d", n, len(m.Changes))
	}
	started := eval[int](t, b, `document.querySelectorAll('g.box.s-started').length`)
	exited := eval[int](t, b, `document.querySelectorAll('g.box.s-exited').length`)
	coloured := eval[int](t, b, `document.querySelectorAll('path.edge.s-added, path.edge.s-removed').length`)
	if started == 0 || exited == 0 || coloured == 0 {
		t.Errorf("%d started, %d exited boxes, %d coloured edges; want some of each", started, exited, coloured)
	}
	b.do(t, chromedp.Click(chromedp.CSS(`#list li button`)), poll(`document.querySelectorAll('g.box.related').length > 0`))
	b.shot(t, "diff.png")
	b.checkClean(t, m.Title)
}
