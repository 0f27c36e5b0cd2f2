//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kcmpgraph/kcmpgraph/internal/testkit"
)

// openPTY opens a real pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("pty number: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pty slave: %v", err)
	}
	// A new pty is 0x0; terminals users have are not.
	if err := unix.IoctlSetWinsize(int(m.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 100}); err != nil {
		t.Skipf("pty size: %v", err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

// progressHelper, set in the environment, makes TestProgressHelper one of
// the processes the progress tests start on a pseudo-terminal.
const progressHelper = "KCMPGRAPH_PROGRESS_HELPER"

// TestProgressHelper is a process of the progress tests, with the pty as
// its stderr: "quiet" reports as a quick and a quiet scan do, "draw" as a
// slow scan does, and "background" runs "draw" in a process group of its
// own, not the terminal's foreground group, and exits 3 if it stops.
func TestProgressHelper(t *testing.T) {
	switch os.Getenv(progressHelper) {
	case "":
		t.Skip("a process of the progress tests")
	case "quiet":
		quick := newScanProgress(os.Stderr, false)
		quick.report(5, 10) // within the first moment: nothing
		quiet := newScanProgress(os.Stderr, true)
		quiet.start = time.Now().Add(-time.Second)
		quiet.report(5, 10)
		time.Sleep(300 * time.Millisecond) // a drawn bar would be redrawn by now
		quick.finish()
		quiet.finish()
	case "draw":
		slow := newScanProgress(os.Stderr, false)
		slow.start = time.Now().Add(-time.Second)
		slow.report(5, 10)
		time.Sleep(300 * time.Millisecond) // the bar redraws every 100 ms
		slow.report(10, 10)
		time.Sleep(300 * time.Millisecond)
		slow.finish()
		slow.report(10, 10) // after finish: nothing
	case "background":
		cmd := exec.Command(os.Args[0], "-test.run=^TestProgressHelper$")
		cmd.Env = append(os.Environ(), progressHelper+"=draw")
		cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		testkit.Check(t, cmd.Start())
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			testkit.Check(t, err)
		case <-time.After(10 * time.Second):
			stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
			cmd.Process.Kill()
			<-done
			fmt.Printf("the background process did not end: %s\n", stat)
			os.Exit(3)
		}
	}
}

// onPTY runs TestProgressHelper in mode as the leader of a new session
// whose controlling terminal is a new pty (stdin and stderr), and returns
// what the terminal got. tostop sets "stty tostop" first.
func onPTY(t *testing.T, mode string, tostop bool) string {
	t.Helper()
	master, slave := openPTY(t)
	if tostop {
		tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
		testkit.Check(t, err)
		tio.Lflag |= unix.TOSTOP
		testkit.Check(t, unix.IoctlSetTermios(int(slave.Fd()), unix.TCSETS, tio))
	}
	var stdout bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^TestProgressHelper$")
	cmd.Env = append(os.Environ(), progressHelper+"="+mode)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, &stdout, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s on a pty: %v\n%s", mode, err, stdout.String())
	}
	slave.Close()
	master.SetReadDeadline(time.Now().Add(2 * time.Second))
	var got bytes.Buffer
	buf := make([]byte, 4096)
	for {
		n, err := master.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return got.String()
}

func TestProgressOnlyOnATerminalAfterAMoment(t *testing.T) {
	var pipe bytes.Buffer
	p := newScanProgress(&pipe, false)
	p.start = time.Now().Add(-time.Second)
	p.report(1, 10)
	p.finish()
	if pipe.Len() != 0 {
		t.Errorf("progress written to a non-terminal: %q", pipe.String())
	}

	if got := onPTY(t, "quiet", false); got != "" {
		t.Errorf("a quick or quiet scan drew on the terminal: %q", got)
	}

	got := onPTY(t, "draw", false)
	if !strings.Contains(got, "scanning processes") || !strings.Contains(got, "5/10") {
		t.Errorf("terminal shows %q, want a bar at 5/10", got)
	}
	if !strings.Contains(got, "comparing with kcmp") {
		t.Errorf("terminal shows %q, want the comparing phase once every process is read", got)
	}
	// finish clears the bar: the last thing written erases its line.
	if !strings.HasSuffix(got, "\x1b[J") {
		t.Errorf("terminal output does not end by clearing the bar: %q", got)
	}

	// A terminal that is not the process's controlling terminal has no
	// foreground group for it: no bar.
	master, slave := openPTY(t)
	other := newScanProgress(slave, false)
	other.start = time.Now().Add(-time.Second)
	other.report(5, 10)
	time.Sleep(300 * time.Millisecond)
	other.finish()
	slave.Close()
	master.SetReadDeadline(time.Now().Add(2 * time.Second))
	if b, _ := io.ReadAll(master); len(b) != 0 {
		t.Errorf("a bar on a terminal that is not ours: %q", b)
	}
}

// TestProgressNotInBackground: a scan in a process group that is not its
// terminal's foreground group draws no bar, so "stty tostop" does not stop
// it (SIGTTOU) while it may hold a freeze of other processes.
func TestProgressNotInBackground(t *testing.T) {
	if got := onPTY(t, "background", true); got != "" {
		t.Errorf("a background scan drew on the terminal: %q", got)
	}
}
