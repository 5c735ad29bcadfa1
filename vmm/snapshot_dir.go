package vmm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// A snapshot directory DIR holds its snapshot in a generation directory,
// DIR/.snap-XXXX, with the files of snapshot_format.go; DIR/state.json is
// a symlink to the current generation's state.json. Replacing that symlink
// (a rename) switches DIR from one complete snapshot to the next at once.
// DIR/memory is a symlink to the current memory file, for people and
// tools: Restore reads the memory file beside the state.json it resolved.
// A DIR holding state.json and memory as plain files (older embers, or a
// copy made with cp -L) is read as well.
const (
	generationPrefix = ".snap-"
	linkPrefix       = ".link-" // a symlink being made, renamed over DIR/state.json or DIR/memory
)

// currentGeneration returns the name of the generation DIR/state.json
// points at, or "" if state.json is a plain file or missing.
func currentGeneration(dir string) (string, error) {
	path := filepath.Join(dir, snapshotStateFile)
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return "", nil
	}
	target, err := os.Readlink(path)
	if err != nil {
		return "", err
	}
	gen, file, ok := strings.Cut(target, "/")
	if !ok || file != snapshotStateFile || !strings.HasPrefix(gen, generationPrefix) || strings.Contains(gen[len(generationPrefix):], ".") {
		return "", fmt.Errorf("%s links to %q, not to a snapshot generation in %s: it was not written by ember", path, target, dir)
	}
	return gen, nil
}

// snapshotFiles returns the directory holding the files of the snapshot
// in dir: its current generation, or dir itself for a flat snapshot.
func snapshotFiles(dir string) (string, error) {
	gen, err := currentGeneration(dir)
	if err != nil || gen == "" {
		return dir, err
	}
	return filepath.Join(dir, gen), nil
}

// removeStale removes what interrupted snapshots left in dir: every
// generation but keep, links being made, and the temporary files of
// older embers. A killed snapshot leaves a whole memory file behind, so
// this runs before each snapshot into dir.
func removeStale(dir, keep string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		n := e.Name()
		stale := strings.HasPrefix(n, generationPrefix) && n != keep || strings.HasPrefix(n, linkPrefix) ||
			strings.HasPrefix(n, "."+snapshotMemoryFile+".tmp-") || strings.HasPrefix(n, "."+snapshotStateFile+".tmp-")
		if stale {
			if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("remove what an interrupted snapshot left: %w", err)
			}
		}
	}
	return nil
}

// checkPrivate refuses a snapshot directory or file (fi, from stat of
// path) that is not this user's own or that others could write: state.json
// names the host files a restored VM reopens read-write, so whoever can
// change it chooses the files this user's VM writes.
func checkPrivate(path string, fi os.FileInfo) error {
	fix := "chmod 600 " + path
	if fi.IsDir() {
		fix = "chmod 700 " + path
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not by this user (uid %d): restore only snapshots you own (chown it to yourself, then %s)",
			path, st.Uid, os.Geteuid(), fix)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%s is writable by others (mode %#o): %s", path, perm, fix)
	}
	return nil
}

// checkPrivatePath is checkPrivate of what path names (symlinks followed).
func checkPrivatePath(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return checkPrivate(path, fi)
}

// lockSnapshotDir takes an exclusive lock on dir for as long as the
// returned file is open: two snapshots writing into one directory would
// remove each other's generation.
func lockSnapshotDir(dir string) (*os.File, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	err = unix.Flock(int(d.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	switch {
	case err == nil:
		return d, nil
	case errors.Is(err, unix.EWOULDBLOCK):
		err = errors.New("another snapshot is being written into it: wait for it to finish, or use another directory")
	}
	d.Close()
	return nil, err
}
