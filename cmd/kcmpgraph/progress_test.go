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
	slow := newScanProgress(slave, false)
	slow.start = time.Now().Add(-time.Second)
	slow.report(5, 10)
	slow.finish()
	slave.Close()
	master.SetReadDeadline(time.Now().Add(2 * time.Second))
	var got bytes.Buffer
	buf := make([]byte, 4096)
	for {
		n, err := master.Read(buf)
		got.Write(buf[:n])
		if err != nil || strings.Contains(got.String(), "10") {
			break
		}
	}
	if !strings.Contains(got.String(), "scanning processes") || !strings.Contains(got.String(), "5/10") {
		t.Errorf("terminal shows %q, want a bar at 5/10", got.String())
	}
	if strings.Count(got.String(), "scanning processes") > 2 {
		t.Errorf("quick or quiet scans drew a bar too: %q", got.String())
	}
}
