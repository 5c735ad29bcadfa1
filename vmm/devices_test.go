package vmm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/embervm/ember/devices/virtio"
)

// TestSavedRateLimits: what a snapshot records of a disk and of the
// entropy device brings their rate limits back on restore (load), and a
// snapshot made before rate limits loads as unlimited.
func TestSavedRateLimits(t *testing.T) {
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	want := Devices{Disks: []DiskConfig{{Path: img, ReadOnly: true, Bandwidth: 10 << 20, IOPS: 500}}, RNG: true, RNGRate: 4096}
	var got Devices
	for _, name := range []string{"blk", "rng"} {
		k, ok := kindNamed(name)
		if !ok {
			t.Fatalf("no device kind %s", name)
		}
		dev, err := k.build(&want, 0)
		if err != nil {
			t.Fatal(err)
		}
		b := savedJSON(t, k, &want, 0, dev)
		if err := k.load(&got, b); err != nil {
			t.Fatalf("%s: load %s: %v", name, b, err)
		}
	}
	if d := got.Disks[0]; d.Bandwidth != 10<<20 || d.IOPS != 500 || got.RNGRate != 4096 || !got.RNG {
		t.Errorf("restored devices %+v; want the rate limits back", got)
	}
	var old Devices
	rngKind, _ := kindNamed("rng")
	if err := rngKind.load(&old, nil); err != nil || !old.RNG || old.RNGRate != 0 {
		t.Errorf("an old snapshot's rng: %+v, %v; want unlimited", old, err)
	}
}

// savedJSON returns what a snapshot records of device i of kind k in d.
func savedJSON(t *testing.T, k *deviceKind, d *Devices, i int, dev virtio.Device) []byte {
	t.Helper()
	saved, err := k.save(d, i, dev)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(saved)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
