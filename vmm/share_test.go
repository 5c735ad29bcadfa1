package vmm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embervm/ember/devices/virtio/ninep"
)

// TestPlanShares: shared folders come after every other kind, so adding
// them moves no existing device's slot; they are named 9p0, 9p1.
func TestPlanShares(t *testing.T) {
	base := Devices{Disks: []DiskConfig{{Path: "a"}}, Nets: []NetConfig{{Tap: "t0"}}, RNG: true, Vsock: &VsockConfig{CID: 3}}
	with := base
	with.Shares = []ShareConfig{{Dir: "/x", Tag: "x"}, {Dir: "/y", Tag: "y"}}
	slot := func(d Devices) []string {
		var out []string
		for _, s := range d.plan() {
			out = append(out, fmt.Sprintf("%s@%#x:%d", s.name(), s.base, s.gsi))
		}
		return out
	}
	got, old := slot(with), slot(base)
	want := append(old, "9p0@0xd0005000:9", "9p1@0xd0006000:10")
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("plan with shares = %q, want %q", got, want)
	}
}

// TestValidateShares: a share's directory must exist and be a directory,
// its tag valid and unique; each error names the share and the fix.
func TestValidateShares(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		shares []ShareConfig
		want   string
	}{
		{[]ShareConfig{{Dir: dir, Tag: "a"}, {Dir: dir, Tag: "b", ReadOnly: true}}, ""},
		{[]ShareConfig{{Dir: filepath.Join(dir, "none"), Tag: "a"}}, "give an existing directory"},
		{[]ShareConfig{{Dir: file, Tag: "a"}}, "not a directory"},
		{[]ShareConfig{{Dir: dir, Tag: ""}}, "empty mount tag"},
		{[]ShareConfig{{Dir: dir, Tag: "a b"}}, "give a plain name"},
		{[]ShareConfig{{Dir: dir, Tag: strings.Repeat("t", ninep.MaxTagLen+1)}}, "shorter tag"},
		{[]ShareConfig{{Dir: dir, Tag: "a"}, {Dir: dir, Tag: "a", ReadOnly: true}}, "tag a is also 9p0's"},
	} {
		d := Devices{Shares: c.shares}
		err := d.validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v", c.shares, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "--share ")):
			t.Errorf("%v: error %v, want --share ... %q", c.shares, err, c.want)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Errorf("%v: error of more than one line: %q", c.shares, err)
		}
	}
}

// TestShareDevice: a share builds, counts, saves and loads back; the save
// is refused while the guest holds files (here: never, so it is allowed),
// and stats name the directory and tag.
func TestShareDevice(t *testing.T) {
	dir := t.TempDir()
	want := Devices{Shares: []ShareConfig{{Dir: dir, Tag: "data", ReadOnly: true}}}
	k, ok := kindNamed("9p")
	if !ok {
		t.Fatal("no device kind 9p")
	}
	dev, err := k.build(&want, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.(*ninep.Device).Close()
	if st, ok := k.stats(&want, 0, dev).(ShareStats); !ok || st.Dir != dir || st.Tag != "data" {
		t.Errorf("stats = %+v", k.stats(&want, 0, dev))
	}
	var got Devices
	b := savedJSON(t, k, &want, 0, dev)
	if err := k.load(&got, b); err != nil {
		t.Fatalf("load %s: %v", b, err)
	}
	if len(got.Shares) != 1 || got.Shares[0] != want.Shares[0] {
		t.Errorf("loaded %+v from %s, want %+v", got.Shares, b, want.Shares)
	}
	if err := k.load(&got, nil); err == nil {
		t.Error("a share saved without its configuration loaded")
	}
}
