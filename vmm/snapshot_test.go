package vmm

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/embervm/ember/devices/virtio/blk"
)

// counterAddr is where the counter guest keeps its count.
const counterAddr = 0x2000

func waitOutput(t *testing.T, out *syncBuffer, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); len(out.String()) < n; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("guest printed %d bytes, want %d", len(out.String()), n)
		}
	}
}

// checkRun checks that s is a run of counter letters: each one follows the
// one before ('a'..'p', modulo 16), with no repeat and no gap.
func checkRun(t *testing.T, what, s string) {
	t.Helper()
	for i := 1; i < len(s); i++ {
		if s[i]-'a' != (s[i-1]-'a'+1)%16 {
			t.Fatalf("%s: %q breaks at %d: %q follows %q", what, s, i, s[i], s[i-1])
		}
	}
}

// snapshotCounter runs the counter guest for a while, pauses it and
// snapshots it into a new directory, then stops it. It returns the
// directory, what the guest printed and its count at the snapshot.
func snapshotCounter(t *testing.T) (string, string, uint16) {
	t.Helper()
	v, out := newTinyVM(t, "counter", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := v.Run(ctx); done <- err }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("first VM: %v", err)
		}
	}()
	waitOutput(t, out, 20)
	if err := v.Pause(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "snap")
	start := time.Now()
	if err := v.Snapshot(dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("snapshot of a 1 MiB tiny guest took %v", time.Since(start))
	if !v.Paused() {
		t.Error("Snapshot resumed a VM that was paused before")
	}
	n, err := v.mem.Uint16(counterAddr)
	if err != nil {
		t.Fatal(err)
	}
	return dir, out.String(), n
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestSnapshotRestoreContinues: a guest snapshotted while paused goes on
// from where it was in a new VM, twice from the same snapshot: the count in
// memory, the printed sequence (no instruction repeated or lost), and its
// console input.
func TestSnapshotRestoreContinues(t *testing.T) {
	dir, before, count := snapshotCounter(t)
	st, err := os.Stat(filepath.Join(dir, snapshotMemoryFile))
	if err != nil || st.Size() != 1<<20 {
		t.Fatalf("memory file: %v, %v; want 1 MiB", st, err)
	}
	memHash := fileHash(t, filepath.Join(dir, snapshotMemoryFile))
	var firsts []string
	for round := 1; round <= 2; round++ {
		in, feed := io.Pipe()
		out := &syncBuffer{}
		start := time.Now()
		v, err := Restore(dir, IO{ConsoleOut: out, ConsoleIn: in})
		if err != nil {
			t.Fatalf("restore %d: %v", round, err)
		}
		t.Logf("restore %d built the VM in %v", round, time.Since(start))
		if n, err := v.mem.Uint16(counterAddr); err != nil || n != count {
			t.Fatalf("restore %d: count %d, %v; want %d", round, n, err, count)
		}
		done := make(chan error, 1)
		var reason ExitReason
		go func() {
			var err error
			reason, err = v.Run(context.Background())
			done <- err
		}()
		waitOutput(t, out, 20)
		t.Logf("restore %d: first KVM_RUN %v after Restore returned", round, v.FirstRun().Sub(v.Created))
		feed.Write([]byte("\n")) // the guest resets on a newline
		select {
		case err := <-done:
			if err != nil || reason != ExitReset {
				t.Fatalf("restore %d: Run = %v, %v; want reset (console input reached the guest)", round, reason, err)
			}
		case <-time.After(20 * time.Second):
			v.stop(ExitStopped, nil)
			<-done
			t.Fatalf("restore %d: guest ignored console input", round)
		}
		after := out.String()
		checkRun(t, "output across the snapshot", before[len(before)-1:]+after)
		firsts = append(firsts, after[:1])
		v.Close()
		feed.Close()
	}
	if firsts[0] != firsts[1] {
		t.Errorf("two restores of one snapshot began differently: %q, %q", firsts[0], firsts[1])
	}
	if fileHash(t, filepath.Join(dir, snapshotMemoryFile)) != memHash {
		t.Error("running restored VMs changed the memory file")
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{snapshotStateFile, snapshotMemoryFile} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// editState rewrites state.json through a generic JSON tree.
func editState(t *testing.T, dir string, edit func(m map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, snapshotStateFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// cpuidEntry returns vCPU 0's CPUID entry for leaf fn, subleaf 0.
func cpuidEntry(t *testing.T, m map[string]any, fn float64) map[string]any {
	t.Helper()
	for _, e := range m["vcpus"].([]any)[0].(map[string]any)["cpuid"].([]any) {
		if e := e.(map[string]any); e["Function"] == fn && e["Index"] == 0.0 {
			return e
		}
	}
	t.Fatalf("no CPUID leaf %#x", int(fn))
	return nil
}

// TestRestoreRefusesBadSnapshots: each damaged snapshot is refused with a
// message saying what is wrong, before anything is created (no file
// descriptor is left open).
func TestRestoreRefusesBadSnapshots(t *testing.T) {
	good, _, _ := snapshotCounter(t)
	for _, tc := range []struct {
		name, want string
		damage     func(dir string)
	}{
		{"truncated memory", "truncated", func(dir string) {
			os.Truncate(filepath.Join(dir, snapshotMemoryFile), 1<<20-4096)
		}},
		{"missing memory", "memory file", func(dir string) { os.Remove(filepath.Join(dir, snapshotMemoryFile)) }},
		{"missing state", "no state.json", func(dir string) { os.Remove(filepath.Join(dir, snapshotStateFile)) }},
		{"truncated state", "truncated", func(dir string) {
			p := filepath.Join(dir, snapshotStateFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o600)
		}},
		{"other version", "version 9", func(dir string) { editState(t, dir, func(m map[string]any) { m["version"] = 9 }) }},
		{"not a snapshot", "not an ember snapshot", func(dir string) {
			editState(t, dir, func(m map[string]any) { m["magic"] = "something" })
		}},
		{"short blob", "lapic", func(dir string) {
			editState(t, dir, func(m map[string]any) { m["vcpus"].([]any)[0].(map[string]any)["lapic"] = "AAAA" })
		}},
		{"other CPU vendor", "CPU vendor", func(dir string) {
			editState(t, dir, func(m map[string]any) {
				e := cpuidEntry(t, m, 0)
				e["EBX"], e["EDX"], e["ECX"] = 0x6f6f6f46, 0x6f6f6f46, 0x6f6f6f46 // "FooooFooooFooo"
			})
		}},
		{"CPU feature not offered", "does not offer", func(dir string) {
			editState(t, dir, func(m map[string]any) {
				e := cpuidEntry(t, m, 7)
				e["EBX"] = float64(0xffffffff) // more than any KVM offers (bit 6 is FDP_EXCPTN_ONLY, never)
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, good)
			tc.damage(dir)
			fds := openFDs(t)
			v, err := Restore(dir, IO{ConsoleOut: io.Discard})
			if err == nil {
				v.Close()
				t.Fatal("restored a bad snapshot")
			}
			t.Logf("refused: %v", err)
			if !errors.Is(err, ErrBadSnapshot) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q: want ErrBadSnapshot mentioning %q", err, tc.want)
			}
			if n := openFDs(t); n != fds {
				t.Errorf("%d file descriptors open after the refused restore, %d before", n, fds)
			}
		})
	}
}

// TestRestoreRefusesChangedDisk: a snapshot of a VM with a disk restores
// while the image is unchanged, and is refused once it changed.
func TestRestoreRefusesChangedDisk(t *testing.T) {
	disk := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(disk, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	v, _ := newTinyVM(t, "counter", nil)
	v.cfg.Disks = []DiskConfig{{Path: disk}}
	v.cfg.RNG = true
	if err := v.attachVirtioDevices(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "snap")
	if err := v.Snapshot(dir); err != nil {
		t.Fatal(err)
	}
	// While the snapshotted VM holds its read-write disk, a restore is refused.
	if r, err := Restore(dir, IO{ConsoleOut: io.Discard}); err == nil || !strings.Contains(err.Error(), "another VM") {
		if err == nil {
			r.Close()
		}
		t.Fatalf("restore while the original VM has the disk: %v", err)
	}
	v.Close() // the original VM is gone (newTinyVM's cleanup closes it again: a no-op)
	r, err := Restore(dir, IO{ConsoleOut: io.Discard})
	if err != nil {
		t.Fatalf("unchanged disk: %v", err)
	}
	var names []string
	for _, d := range r.devices {
		names = append(names, d.name())
	}
	if got := strings.Join(names, ","); got != "blk0,rng0" || r.cfg.Disks[0].Path != disk {
		t.Errorf("restored devices %q with disks %+v, want blk0,rng0 with %s", got, r.cfg.Disks, disk)
	}
	r.Close()
	later := time.Now().Add(2 * time.Second)
	if err := os.Chtimes(disk, later, later); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSnapshot(dir); !errors.Is(err, ErrBadSnapshot) || !strings.Contains(err.Error(), "changed since the snapshot") {
		t.Errorf("OpenSnapshot after the disk changed: %v", err)
	}
	if r, err := Restore(dir, IO{ConsoleOut: io.Discard}); err == nil {
		r.Close()
		t.Error("restored with a changed disk")
	}
}

// FuzzReadSnapshot: whatever state.json holds, reading it fails cleanly
// or yields a snapshot that passed every check; it never panics.
func FuzzReadSnapshot(f *testing.F) {
	f.Add([]byte(`{"magic":"ember-snapshot","version":2}`))
	f.Add([]byte(`{"magic":"ember-snapshot","version":2,"host":{"arch":"amd64"},"config":{"memory":4096,"cpus":1},` +
		`"memory":{"file":"memory","size":4096,"regions":[{"gpa":0,"offset":0,"size":4096}]},"vcpus":[{"id":0}]}`))
	f.Add([]byte(`{"magic":"ember-snapshot","version":2,"vcpus":[{"lapic":"AAAA"}],"devices":{"virtio":[{"kind":"blk"}]}}`))
	f.Add([]byte(`{"magic":"ember-snapshot","version":2,"devices":{"virtio":[{"kind":"net","device":{"tap":"t","mac":"x"}},{"kind":"vsock"}]}}`))
	f.Add([]byte(`[1,2,3]`))
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, snapshotMemoryFile), make([]byte, 4096), 0o600); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, snapshotStateFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := readSnapshot(dir); err != nil && !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("error %v does not wrap ErrBadSnapshot", err)
		}
	})
}

// TestSnapshotSyncsDisks: a snapshot fdatasyncs every writable disk before
// it is written: a disk that cannot be synced fails the snapshot, and no
// snapshot appears.
func TestSnapshotSyncsDisks(t *testing.T) {
	disk := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(disk, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	v, _ := newTinyVM(t, "counter", nil)
	v.cfg.Disks = []DiskConfig{{Path: disk}}
	if err := v.attachVirtioDevices(); err != nil {
		t.Fatal(err)
	}
	if err := v.syncDevices(); err != nil {
		t.Fatalf("sync of a good disk: %v", err)
	}
	v.devices[0].dev.(*blk.Device).Close() // its fd closed: fdatasync fails, if called
	dir := filepath.Join(t.TempDir(), "snap")
	err := v.Snapshot(dir)
	if err == nil || !strings.Contains(err.Error(), "blk0: disk "+disk+": fdatasync") {
		t.Fatalf("snapshot with a disk that cannot sync: %v, want the fdatasync error", err)
	}
	if _, err := readSnapshot(dir); err == nil {
		t.Error("a snapshot was written although its disk could not be synced")
	}
}
