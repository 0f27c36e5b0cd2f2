//go:build linux

package main

import (
	"os/user"
	"strconv"

	"github.com/kcmpgraph/kcmpgraph/analyzer/snapshot"
)

// userNames caches uid -> name look-ups.
type userNames map[int]string

func (u userNames) name(uid int) string {
	if n, ok := u[uid]; ok {
		return n
	}
	n := strconv.Itoa(uid)
	if usr, err := user.LookupId(n); err == nil {
		n = usr.Username
	}
	u[uid] = n
	return n
}

// printable makes hostile text safe for a terminal (snapshot.Printable).
func printable(s string) string { return snapshot.Printable(s) }
