package snapshot

import (
	"strconv"
	"strings"
)

// Open flags as fdinfo prints them (FD.Flags), with Linux's values on
// x86-64 and the architectures that use the generic numbering; arm and
// arm64 number O_DIRECTORY, O_NOFOLLOW, O_DIRECT and O_LARGEFILE
// differently (FlagsText then names those bits wrongly).
const (
	OAccMode   = 0o3
	OWrOnly    = 0o1
	ORdWr      = 0o2
	OAppend    = 0o2000
	ONonblock  = 0o4000
	ODsync     = 0o10000
	OAsync     = 0o20000
	ODirect    = 0o40000
	OLargefile = 0o100000
	ODirectory = 0o200000
	ONofollow  = 0o400000
	ONoatime   = 0o1000000
	OCloexec   = 0o2000000
	OSync      = 0o4010000
	OPath      = 0o10000000

	// FDOnlyFlags belong to the fd, not to its open file description:
	// two fds of one description can differ there (fdinfo adds FD_CLOEXEC
	// as O_CLOEXEC).
	FDOnlyFlags = OCloexec
	// SettableFlags are the description's flags fcntl(F_SETFL) can
	// change; the others stay as open(2) set them for the description's
	// life.
	SettableFlags = OAppend | OAsync | ODirect | ONoatime | ONonblock
)

var flagNames = []struct {
	bit  int
	name string
}{
	{OAppend, "O_APPEND"}, {ONonblock, "O_NONBLOCK"}, {OSync, "O_SYNC"}, {ODsync, "O_DSYNC"}, {OAsync, "O_ASYNC"},
	{ODirect, "O_DIRECT"}, {OLargefile, "O_LARGEFILE"}, {ODirectory, "O_DIRECTORY"}, {ONofollow, "O_NOFOLLOW"},
	{ONoatime, "O_NOATIME"}, {OCloexec, "O_CLOEXEC"}, {OPath, "O_PATH"},
}

// FlagsText names open flags: the access mode, then each flag set, in
// the order open(2) lists them ("O_WRONLY|O_APPEND|O_CLOEXEC"); bits it
// does not know stay as one octal number at the end.
func FlagsText(flags int) string {
	parts := []string{[]string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}[flags&OAccMode]}
	rest := flags &^ OAccMode
	for _, f := range flagNames {
		if rest&f.bit == f.bit {
			parts = append(parts, f.name)
			rest &^= f.bit
		}
	}
	if rest != 0 {
		parts = append(parts, "0"+strconv.FormatInt(int64(rest), 8))
	}
	return strings.Join(parts, "|")
}

// MayOpen reports whether process p, by its effective uid and gid, could
// open the file fd points at with fd's access mode, judged by the inode's
// mode and owner: what a descriptor leak across users gets around. Root
// may open anything; a directory needs only read permission. It does not
// know ACLs, capabilities other than root's, supplementary groups or the
// permissions of the path's directories, so it errs towards "could".
func MayOpen(p *Process, fd *FD) bool {
	if p.EUID == 0 {
		return true
	}
	var bits uint32
	switch {
	case fd.OwnerUID == p.EUID:
		bits = (fd.Mode >> 6) & 7
	case fd.OwnerGID == p.EGID || fd.OwnerGID == p.GID:
		bits = (fd.Mode >> 3) & 7
	default:
		bits = fd.Mode & 7
	}
	need := uint32(4)
	switch fd.Flags & OAccMode {
	case OWrOnly:
		need = 2
	case ORdWr:
		need = 6
	}
	if fd.Mode&sIFMT == sIFDIR {
		need = 4
	}
	return bits&need == need
}

// IsFileOrDir reports whether fd opens a regular file or a directory: what
// a path names and open(2) reaches, unlike a socket, pipe or device.
func (fd *FD) IsFileOrDir() bool {
	k := fd.Mode & sIFMT
	return k == sIFREG || k == sIFDIR
}

const (
	sIFMT  = 0o170000
	sIFDIR = 0o040000
	sIFREG = 0o100000
)
