package state

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
)

// staleRounds is how many times TestCreateOverDeadRace races two
// Replaces (ember start --replace) over a dead VM's directory. The race it guards against lost
// about one round in twenty, so 2,000 rounds find it every time.
const staleRounds = 2000

// TestCreateOverDeadRace races two Replaces of one name over a dead VM's
// directory, round after round: exactly one must win, the other must
// get ErrInUse, and the name must then hold the winner's directory with
// the winner's lock file. flock locks belong to open file descriptions,
// not processes, so two goroutines each opening the lock file contend
// exactly as two ember start processes do.
func TestCreateOverDeadRace(t *testing.T) {
	base := memTempDir(t)
	const name = "vm"
	d := Dir{Base: base, Name: name}
	makeDead(t, d)
	runRounds(t, d, staleRounds, func() error { return raceRound(d) })
}

// runRounds runs round n times over d, a dead VM's directory, and fails
// the test with how many rounds failed and the first error; a failed
// round's successor starts from a clean dead directory.
func runRounds(t *testing.T, d Dir, n int, round func() error) {
	t.Helper()
	failed := 0
	var first error
	for i := range n {
		if err := round(); err != nil {
			failed++
			if first == nil {
				first = fmt.Errorf("round %d: %w", i, err)
			}
			os.RemoveAll(d.Path())
			makeDead(t, d)
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d rounds failed; first: %v", failed, n, first)
	}
}

// memTempDir returns a temporary directory in memory (/dev/shm) if it
// can, like the default base /run/ember: on a disk file system each
// round costs milliseconds, not tens of microseconds.
func memTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "ember-state-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// makeDead leaves a dead VM's directory at d: a lock file nobody holds
// and a pid file.
func makeDead(t *testing.T, d Dir) {
	t.Helper()
	_, lock, err := Create(d.Base, d.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WritePID(1 << 22); err != nil {
		t.Fatal(err)
	}
	lock.Close()
}

// raceRound runs two Replaces of d's name at once over d, which must be
// a dead VM's directory, and checks the outcome. It leaves d dead again
// (the winner's lock released) for the next round.
func raceRound(d Dir) error {
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		locks [2]*Lock
		errs  [2]error
	)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, locks[i], errs[i] = Replace(d.Base, d.Name)
		}()
	}
	close(start)
	wg.Wait()
	defer func() {
		for _, l := range locks {
			if l != nil {
				l.Close()
			}
		}
	}()
	var win *Lock
	for i, err := range errs {
		switch {
		case err == nil && win != nil:
			return errors.New("both Creates won")
		case err == nil:
			win = locks[i]
		case !errors.Is(err, ErrInUse):
			return fmt.Errorf("Create: %v, want nil or ErrInUse", err)
		}
	}
	if win == nil {
		return fmt.Errorf("no Create won: %v; %v", errs[0], errs[1])
	}
	a, err := win.File().Stat()
	if err != nil {
		return err
	}
	b, err := os.Stat(d.File(LockFile))
	if err != nil {
		return fmt.Errorf("the winner's directory is gone: %w", err)
	}
	if !os.SameFile(a, b) {
		return errors.New("the name holds a directory other than the winner's")
	}
	return d.WritePID(1 << 22)
}

// TestOrphanCleanupKeepsWinner: a VM process whose directory was
// removed and taken by a new VM of the same name (what the race above
// used to produce) holds the lock of an unlinked file. Its cleanup at
// exit, and its ember start's, must leave the new VM's directory alone.
func TestOrphanCleanupKeepsWinner(t *testing.T) {
	base := t.TempDir()
	d, orphan, err := Create(base, "vm")
	if err != nil {
		t.Fatal(err)
	}
	defer orphan.Close()
	if err := os.RemoveAll(d.Path()); err != nil { // how Remove used to delete it
		t.Fatal(err)
	}
	_, winner, err := Create(base, "vm")
	if err != nil {
		t.Fatal(err)
	}
	defer winner.Close()
	if err := d.RemoveIfLocked(int(orphan.File().Fd())); err != nil {
		t.Fatalf("the orphan's cleanup: %v", err)
	}
	if err := orphan.RemoveDir(d); err != nil {
		t.Fatalf("the orphan's start's cleanup: %v", err)
	}
	if err := d.Remove(); !errors.Is(err, ErrAlive) {
		t.Fatalf("Remove of the winner's directory: %v, want ErrAlive", err)
	}
	a, _ := winner.File().Stat()
	b, err := os.Stat(d.File(LockFile))
	if err != nil || !os.SameFile(a, b) {
		t.Fatalf("the winner's directory is gone or replaced (%v)", err)
	}
	// The winner's own cleanup removes it, leaving nothing behind.
	if err := winner.RemoveDir(d); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(base); len(ents) != 0 {
		t.Fatalf("base holds %d entries after the winner's cleanup, want none", len(ents))
	}
}
