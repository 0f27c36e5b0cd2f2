//go:build linux

package main

import (
	"os/user"
	"strconv"
)

// userNames caches uid -> name look-ups. A uid without a name (deleted
// user, another container's uid) prints as the number.
type userNames map[int]string

func (u userNames) name(uid int) string {
	if n, ok := u[uid]; ok {
		return n
	}
	n := strconv.Itoa(uid)
	if usr, err := user.LookupId(n); err == nil && usr.Username != "" {
		n = usr.Username
	}
	u[uid] = n
	return n
}
