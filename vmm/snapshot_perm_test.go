package vmm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSnapshotIsPrivate: a snapshot's directories are 0700 and its files
// 0600.
func TestSnapshotIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	writeFake(t, dir, 1)
	files, err := snapshotFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		dir: 0o700, files: 0o700,
		filepath.Join(files, snapshotStateFile): 0o600, filepath.Join(files, snapshotMemoryFile): 0o600,
	} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %#o", path, fi.Mode(), err, want)
		}
	}
}

// TestReadSnapshotRefusesOthersFiles: a snapshot directory, generation,
// state.json or memory file that others can write, or that another user
// owns, is refused with a message naming it and the fix.
func TestReadSnapshotRefusesOthersFiles(t *testing.T) {
	for _, target := range []string{"dir", "generation", snapshotStateFile, snapshotMemoryFile} {
		for _, how := range []string{"writable", "owner"} {
			t.Run(target+"/"+how, func(t *testing.T) {
				if how == "owner" && os.Geteuid() != 0 {
					t.Skip("giving a file to another user needs root")
				}
				dir := filepath.Join(t.TempDir(), "snap")
				writeFake(t, dir, 1)
				files, err := snapshotFiles(dir)
				if err != nil {
					t.Fatal(err)
				}
				path, fix := filepath.Join(files, target), "chmod 600 "
				switch target {
				case "dir":
					path, fix = dir, "chmod 700 "
				case "generation":
					path, fix = files, "chmod 700 "
				}
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if how == "writable" {
					err = os.Chmod(path, fi.Mode().Perm()|0o002)
				} else {
					err = os.Chown(path, 65534, 65534)
				}
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]string{"writable": "writable by others", "owner": "owned by uid 65534"}[how]
				_, err = readSnapshot(dir)
				if !errors.Is(err, ErrBadSnapshot) || !strings.Contains(err.Error(), path+" is "+want) ||
					!strings.Contains(err.Error(), fix+path) {
					t.Errorf("error %v; want ErrBadSnapshot saying %s %s and %s%s", err, path, want, fix, path)
				}
			})
		}
	}
}

// TestSnapshotRefusesOpenDir: a snapshot is not written into a directory
// others can write (Restore would refuse it).
func TestSnapshotRefusesOpenDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	err := writeSnapshot(dir, fakeState(fakeMemSize), newMemory(t, fakeMemSize, 1))
	if err == nil || !strings.Contains(err.Error(), "chmod 700 "+dir) {
		t.Errorf("snapshot into a directory others can write: %v", err)
	}
}
