package audit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
)

// AllowList is a parsed allow-list file.
type AllowList struct {
	entries []allowEntry
}

type allowEntry struct {
	rule  string
	conds map[string]string
}

var allowKeys = map[string]bool{"comm": true, "exe": true, "target": true, "uid": true, "user-ns": true, "container": true, "unit": true}

// ErrAllowList is wrapped by every allow-list parse error.
var ErrAllowList = errors.New("bad allow-list")

// LoadAllowList reads and validates an allow-list file.
func LoadAllowList(file string) (*AllowList, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAllowList, err)
	}
	defer f.Close()
	return ParseAllowList(f, file)
}

// ParseAllowList parses allow-list text; errors name the file and line.
func ParseAllowList(r io.Reader, name string) (*AllowList, error) {
	known := map[string]bool{}
	for _, rule := range Rules() {
		known[rule.ID] = true
	}
	a := &AllowList{}
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: %s:%d: %s", ErrAllowList, name, line, fmt.Sprintf(format, args...))
		}
		e := allowEntry{rule: strings.ToUpper(fields[0]), conds: map[string]string{}}
		if !known[e.rule] {
			return nil, bad("unknown rule %q (valid: KG001 to KG%03d)", fields[0], len(known))
		}
		for _, f := range fields[1:] {
			k, v, ok := strings.Cut(f, "=")
			if !ok || v == "" {
				return nil, bad("%q is not key=value", f)
			}
			if !allowKeys[k] {
				return nil, bad("unknown key %q (valid: comm, exe, target, uid, user-ns, container, unit)", k)
			}
			if _, err := path.Match(v, ""); err != nil {
				return nil, bad("bad pattern %q: %v", v, err)
			}
			if k == "uid" || k == "user-ns" {
				if _, err := strconv.ParseUint(v, 10, 64); err != nil {
					return nil, bad("%s must be a number, not %q", k, v)
				}
			}
			e.conds[k] = v
		}
		if len(e.conds) == 0 {
			return nil, bad("entry for %s has no condition: it would silence the whole rule (use --disable %s instead)", e.rule, e.rule)
		}
		a.entries = append(a.entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrAllowList, name, err)
	}
	return a, nil
}

// allows reports whether an entry matches the finding: same rule, and
// every condition true of one holder.
func (a *AllowList) allows(f Finding) bool {
	if a == nil {
		return false
	}
	for _, e := range a.entries {
		if e.rule != f.Rule {
			continue
		}
		for _, h := range f.Holders {
			if e.matches(h) {
				return true
			}
		}
	}
	return false
}

// matches reports whether every condition is true of the holder: target
// of one of its fds; container of its container's id, name or label
// ("runc web"); unit of its systemd unit.
func (e allowEntry) matches(h Holder) bool {
	for k, pat := range e.conds {
		var vs []string
		switch k {
		case "comm":
			vs = []string{h.Comm}
		case "exe":
			vs = []string{h.Exe}
		case "target":
			for _, fd := range h.FDs {
				vs = append(vs, fd.Target)
			}
		case "uid":
			vs = []string{strconv.Itoa(h.EUID)}
		case "user-ns":
			vs = []string{strconv.FormatUint(h.Namespaces["user"], 10)}
		case "container":
			if h.Container != nil {
				vs = []string{h.Container.ID, h.Container.Name, h.Container.Label()}
			}
		case "unit":
			vs = []string{h.Unit}
		}
		if !anyMatch(pat, vs) {
			return false
		}
	}
	return true
}

func anyMatch(pat string, vs []string) bool {
	for _, v := range vs {
		if ok, _ := path.Match(pat, v); ok {
			return true
		}
	}
	return false
}
