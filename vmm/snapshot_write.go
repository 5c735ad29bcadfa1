package vmm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/guestmem"
)

// writeSnapshot writes st and guest memory into dir as a new generation
// (snapshot_dir.go) and switches dir to it:
//
//  1. Lock dir (another snapshot writing there is refused) and remove what
//     an interrupted snapshot left: generations state.json does not point
//     at, temporary links.
//  2. Write memory and state.json into a fresh generation directory
//     dir/.snap-XXXX, fdatasync both, fsync the generation directory.
//  3. Point dir/state.json at the new generation: one rename of a symlink
//     over it, then fsync dir. This is the switch: before it Restore finds
//     the old snapshot whole, after it the new one whole.
//  4. Point dir/memory at the new memory file (for people and tools; Restore
//     finds the memory file beside the state.json it resolved), and remove
//     the old generation (or a flat snapshot's old memory file). A VM
//     restored from it keeps its mapping of the unlinked file.
//
// No file is ever truncated or rewritten in place. A failure before the
// switch removes the new generation; a kill leaves it for the next
// snapshot into dir to remove.
func writeSnapshot(dir string, st *snapshotState, mem *guestmem.Memory) (err error) {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := checkPrivatePath(dir); err != nil { // Restore would refuse it
		return err
	}
	d, err := lockSnapshotDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	old, _ := currentGeneration(dir)
	if err := removeStale(dir, old); err != nil {
		return err
	}
	gen, err := os.MkdirTemp(dir, generationPrefix)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(gen)
		}
	}()
	if err := writeFile(gen, snapshotMemoryFile, func(f *os.File) error { return writeMemory(f, mem) }); err != nil {
		return fmt.Errorf("memory file: %w", err)
	}
	if err := writeFile(gen, snapshotStateFile, func(f *os.File) error {
		_, err := f.Write(append(data, '\n'))
		return err
	}); err != nil {
		return fmt.Errorf("%s: %w", snapshotStateFile, err)
	}
	if err := syncDir(gen); err != nil {
		return err
	}
	name := filepath.Base(gen)
	if err := replaceLink(dir, snapshotStateFile, name); err != nil {
		return err
	}
	// Switched: what follows is tidying, and no longer fails the snapshot.
	if err := replaceLink(dir, snapshotMemoryFile, name); err == nil && old != "" {
		os.RemoveAll(filepath.Join(dir, old))
	}
	return nil
}

// writeFile creates dir/name (0600, it must not exist), fills it with
// write and fdatasyncs it.
func writeFile(dir, name string, write func(*os.File) error) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = unix.Fdatasync(int(f.Fd()))
	}
	return errors.Join(err, f.Close())
}

// replaceLink points dir/name at generation gen's file of the same name:
// a new symlink under a temporary name, renamed over dir/name (atomic),
// then fsync of dir.
func replaceLink(dir, name, gen string) error {
	tmp := filepath.Join(dir, linkPrefix+name+"-"+gen)
	os.Remove(tmp)
	if err := os.Symlink(filepath.Join(gen, name), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// memChunk is the unit writeMemory skips when it is all zeros.
const memChunk = 64 << 10

var zeroChunk [memChunk]byte

// writeMemory writes guest RAM, region after region, sized exactly:
// all-zero chunks are left as holes (they read back as zeros), so a guest
// that used little of its RAM makes a small, quickly written file. The
// size is set last, so a full disk fails the writes themselves.
func writeMemory(f *os.File, mem *guestmem.Memory) error {
	var off int64
	for _, r := range mem.Regions() {
		for i := 0; i < len(r.Host); i += memChunk {
			b := r.Host[i:min(i+memChunk, len(r.Host))]
			if bytes.Equal(b, zeroChunk[:len(b)]) {
				continue
			}
			if _, err := f.WriteAt(b, off+int64(i)); err != nil {
				return err
			}
		}
		off += int64(len(r.Host))
	}
	return f.Truncate(int64(mem.Size()))
}
