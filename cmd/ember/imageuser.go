package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// imageUser is who an image's process runs as, resolved as docker does
// from the image's own etc/passwd and etc/group.
type imageUser struct {
	uid, gid uint32
	groups   []uint32 // supplementary: the groups listing the user by name
	home     string   // from etc/passwd ("/" if not there)
}

// passwdEntry is one line of etc/passwd (name:x:uid:gid:gecos:home:shell)
// or etc/group (name:x:gid:members).
type passwdEntry struct {
	name    string
	id, gid uint32
	home    string
	members []string
}

// resolveImageUser resolves spec ("", name, uid, name:group, uid:gid or a
// mix) against the files of rootfs: a number not in etc/passwd is used as
// is, with group 0 (docker's rule); a name must be there.
func resolveImageUser(rootfs, spec string) (imageUser, error) {
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return imageUser{}, err
	}
	defer root.Close()
	passwd, err := readIDFile(root, "etc/passwd", true)
	if err != nil {
		return imageUser{}, err
	}
	groups, err := readIDFile(root, "etc/group", false)
	if err != nil {
		return imageUser{}, err
	}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" {
		userPart = "0"
	}
	u := imageUser{home: "/"}
	name := ""
	if e, ok := findID(passwd, userPart); ok {
		u.uid, u.gid, u.home, name = e.id, e.gid, e.home, e.name
	} else if n, err := strconv.ParseUint(userPart, 10, 32); err == nil {
		u.uid = uint32(n)
	} else {
		return imageUser{}, fmt.Errorf("image user %q: no user %q in the image's /etc/passwd: give a UID, or a user the image has", spec, userPart)
	}
	if hasGroup {
		if e, ok := findID(groups, groupPart); ok {
			u.gid = e.id
		} else if n, err := strconv.ParseUint(groupPart, 10, 32); err == nil {
			u.gid = uint32(n)
		} else {
			return imageUser{}, fmt.Errorf("image user %q: no group %q in the image's /etc/group: give a GID, or a group the image has", spec, groupPart)
		}
	}
	u.groups = []uint32{} // never the agent's own
	for _, g := range groups {
		for _, m := range g.members {
			if name != "" && m == name && g.id != u.gid {
				u.groups = append(u.groups, g.id)
			}
		}
	}
	return u, nil
}

// findID finds the entry named s, else the first with the number s.
func findID(entries []passwdEntry, s string) (passwdEntry, bool) {
	for _, e := range entries {
		if e.name == s {
			return e, true
		}
	}
	for _, e := range entries {
		if strconv.FormatUint(uint64(e.id), 10) == s {
			return e, true
		}
	}
	return passwdEntry{}, false
}

// readIDFile reads etc/passwd (passwd) or etc/group inside root. A file
// that cannot be opened (missing, or a link out of the root) has no
// entries; a malformed line is skipped.
func readIDFile(root *os.Root, name string, passwd bool) ([]passwdEntry, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, nil //nolint:nilerr // as docker: no file, no names
	}
	defer f.Close()
	var out []passwdEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 4 || (passwd && len(fields) < 7) {
			continue
		}
		id, err := strconv.ParseUint(fields[2], 10, 32)
		if err != nil {
			continue
		}
		e := passwdEntry{name: fields[0], id: uint32(id)}
		if passwd {
			gid, err := strconv.ParseUint(fields[3], 10, 32)
			if err != nil {
				continue
			}
			e.gid, e.home = uint32(gid), fields[5]
		} else if fields[3] != "" {
			e.members = strings.Split(fields[3], ",")
		}
		out = append(out, e)
	}
	return out, sc.Err()
}
