//go:build linux

package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

func TestProgressOnlyOnATerminalAfterAMoment(t *testing.T) {
	var pipe bytes.Buffer
	p := newScanProgress(&pipe, false)
	p.start = time.Now().Add(-time.Second)
	p.report(1, 10)
	p.finish()
	if pipe.Len() != 0 {
		t.Errorf("progress written to a non-terminal: %q", pipe.String())
	}

	master, slave := openPTY(t)
	quick := newScanProgress(slave, false)
	quick.report(5, 10) // within the first moment: nothing
	quiet := newScanProgress(slave, true)
	quiet.start = time.Now().Add(-time.Second)
	quiet.report(5, 10)
	time.Sleep(300 * time.Millisecond) // a drawn bar would be redrawn by now
	quick.finish()
	quiet.finish()
	// Whatever they drew comes before this mark.
	if _, err := slave.WriteString("MARK\n"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	var early bytes.Buffer
	for !strings.Contains(early.String(), "MARK") {
		n, err := master.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		early.Write(buf[:n])
	}
	if before, _, _ := strings.Cut(early.String(), "MARK"); before != "" {
		t.Errorf("a quick or quiet scan drew on the terminal: %q", before)
	}

	slow := newScanProgress(slave, false)
	slow.start = time.Now().Add(-time.Second)
	slow.report(5, 10)
	time.Sleep(300 * time.Millisecond) // the bar redraws every 100 ms
	slow.report(10, 10)
	time.Sleep(300 * time.Millisecond)
	slow.finish()
	slow.report(10, 10) // after finish: nothing
	slave.Close()
	master.SetReadDeadline(time.Now().Add(2 * time.Second))
	var got bytes.Buffer
	for {
		n, err := master.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if !strings.Contains(got.String(), "scanning processes") || !strings.Contains(got.String(), "5/10") {
		t.Errorf("terminal shows %q, want a bar at 5/10", got.String())
	}
	if !strings.Contains(got.String(), "comparing with kcmp") {
		t.Errorf("terminal shows %q, want the comparing phase once every process is read", got.String())
	}
	// finish clears the bar: the last thing written erases its line.
	if !strings.HasSuffix(got.String(), "\x1b[J") {
		t.Errorf("terminal output does not end by clearing the bar: %q", got.String())
	}
}
