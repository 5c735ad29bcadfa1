package state

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestExitString(t *testing.T) {
	four := 4
	for _, tc := range []struct {
		e           Exit
		short, long string
	}{
		{Exit{Reason: ReasonPoweroff}, "poweroff", "poweroff"},
		{Exit{Reason: ReasonPoweroff, ExitStatus: &four}, "poweroff, status 4", "poweroff, status 4"},
		{Exit{Reason: ReasonKilled}, "killed", "killed"},
		{Exit{Reason: ReasonKilled, Error: "killed by seccomp: syscall 41 (socket)"}, "killed", "killed by seccomp: syscall 41 (socket)"},
		{Exit{Reason: ReasonError, Error: "open disk: no such file"}, "error", "error: open disk: no such file"},
		{Exit{Reason: ReasonStopped, Error: "killed after --timeout 10s"}, "stopped", "stopped: killed after --timeout 10s"},
	} {
		if got := tc.e.Short(); got != tc.short {
			t.Errorf("%+v.Short() = %q, want %q", tc.e, got, tc.short)
		}
		if got := tc.e.String(); got != tc.long {
			t.Errorf("%+v.String() = %q, want %q", tc.e, got, tc.long)
		}
	}
}

// TestExitRecord: the lock holder writes the record (only into its own
// directory); a dead VM without one gets one through UpdateExit, which
// refuses a live VM and keeps an existing record if asked to.
func TestExitRecord(t *testing.T) {
	base := t.TempDir()
	d, lock, err := Create(base, "vm")
	if err != nil {
		t.Fatal(err)
	}
	if e, err := d.ReadExit(); e != nil || err != nil {
		t.Fatalf("a new VM's exit record: %+v, %v; want none", e, err)
	}
	if _, err := d.UpdateExit(func(*Exit) *Exit { return &Exit{Reason: ReasonKilled} }); !errors.Is(err, ErrAlive) {
		t.Fatalf("UpdateExit of a live VM: %v, want ErrAlive", err)
	}
	status := 3
	want := Exit{Time: time.Now().Round(0).UTC(), Reason: ReasonPoweroff, ExitStatus: &status, PID: 42}
	if err := d.WriteExitIfLocked(int(lock.File().Fd()), want); err != nil {
		t.Fatal(err)
	}
	lock.Close()
	got, err := d.ReadExit()
	if err != nil || got == nil || !got.Time.Equal(want.Time) || got.Reason != want.Reason || *got.ExitStatus != 3 || got.PID != 42 {
		t.Fatalf("exit record %+v, %v; want %+v", got, err, want)
	}
	keep := func(old *Exit) *Exit {
		if old != nil {
			return nil
		}
		return &Exit{Reason: ReasonKilled}
	}
	if e, err := d.UpdateExit(keep); err != nil || e.Reason != ReasonPoweroff {
		t.Fatalf("UpdateExit kept %+v, %v; want the poweroff record", e, err)
	}
	os.Remove(d.File(ExitFile)) // as if it died without writing one
	if e, err := d.UpdateExit(keep); err != nil || e.Reason != ReasonKilled {
		t.Fatalf("UpdateExit recorded %+v, %v; want killed", e, err)
	}
	if e, _ := d.ReadExit(); e == nil || e.Reason != ReasonKilled {
		t.Fatalf("after UpdateExit the record is %+v", e)
	}

	// A process whose directory was replaced writes nothing into the new one.
	orphanDir, orphan, err := Replace(base, "vm")
	if err != nil {
		t.Fatal(err)
	}
	defer orphan.Close()
	os.RemoveAll(orphanDir.Path())
	_, winner, err := Create(base, "vm")
	if err != nil {
		t.Fatal(err)
	}
	defer winner.Close()
	if err := d.WriteExitIfLocked(int(orphan.File().Fd()), Exit{Reason: ReasonReset}); err != nil {
		t.Fatal(err)
	}
	if e, _ := d.ReadExit(); e != nil {
		t.Fatalf("an orphan wrote its exit record %+v into the new VM's directory", e)
	}
	if ents, _ := os.ReadDir(d.Path()); len(ents) != 1 {
		t.Fatalf("the new VM's directory holds %d entries, want its lock file alone", len(ents))
	}
}

// startRmCycles is how many rounds TestStartRmRace runs.
const startRmCycles = 200

// TestStartRmRace runs, round after round, a start, a start --replace
// and two rms of one name at once. A "VM process" is a lock holder:
// from its Create to the release of its lock it counts as live, writes
// its exit record as it ends, and must find the name holding its own
// directory all along. Never may two be live at once, every failure
// must be one of the expected refusals, and no round may leave a
// temporary directory behind; at the end an rm leaves nothing at all.
func TestStartRmRace(t *testing.T) {
	base := memTempDir(t)
	d := Dir{Base: base, Name: "vm"}
	var live, maxLive, started atomic.Int32
	vm := func(create func(string, string) (Dir, *Lock, error)) error {
		_, lock, err := create(base, d.Name)
		if errors.Is(err, ErrInUse) || errors.Is(err, ErrExited) {
			return nil
		}
		if err != nil {
			return err
		}
		defer lock.Close()
		started.Add(1)
		n := live.Add(1)
		defer live.Add(-1)
		if n > maxLive.Load() {
			maxLive.Store(n)
		}
		fd := int(lock.File().Fd())
		time.Sleep(20 * time.Microsecond) // "running"
		if ours, err := isFile(fd, d.File(LockFile)); err != nil || !ours {
			return fmt.Errorf("a live VM's directory was removed or replaced (%v)", err)
		}
		return d.WriteExitIfLocked(fd, Exit{Time: time.Now(), Reason: ReasonPoweroff})
	}
	rm := func() error {
		if err := d.Remove(); err != nil && !errors.Is(err, ErrAlive) {
			return err
		}
		return nil
	}
	ops := []func() error{
		func() error { return vm(Create) },
		func() error { return vm(Replace) },
		rm, rm,
	}
	for round := range startRmCycles {
		var wg sync.WaitGroup
		errs := make([]error, len(ops))
		for i, op := range ops {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = op() }()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if n := maxLive.Load(); n > 1 {
			t.Fatalf("round %d: %d VMs of one name live at once", round, n)
		}
		ents, _ := os.ReadDir(base)
		for _, e := range ents {
			if e.Name() != d.Name {
				t.Fatalf("round %d: stray entry %s in the base directory", round, e.Name())
			}
		}
		if len(ents) == 1 {
			if e, err := d.ReadExit(); err != nil || e == nil {
				t.Fatalf("round %d: an exited VM's directory without its exit record (%v)", round, err)
			}
		}
	}
	t.Logf("%d rounds: %d VMs started", startRmCycles, started.Load())
	if started.Load() < startRmCycles/2 {
		t.Errorf("only %d VMs started in %d rounds: the race was hardly run", started.Load(), startRmCycles)
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(base); len(ents) != 0 {
		t.Fatalf("base holds %d entries after the last rm, want none", len(ents))
	}
}
