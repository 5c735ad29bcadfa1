package bench

import (
	"strings"
	"testing"
)

func TestParseVariants(t *testing.T) {
	vs, err := ParseVariants([]string{"percpu=percpu_alloc=page", "both=a b"}, []string{"pvh=/k/vmlinux", "both=/k/other"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Variant{{"percpu", "percpu_alloc=page", ""}, {"both", "a b", "/k/other"}, {"pvh", "", "/k/vmlinux"}}
	if len(vs) != len(want) {
		t.Fatalf("got %+v", vs)
	}
	for i := range want {
		if vs[i] != want[i] {
			t.Errorf("variant %d = %+v, want %+v", i, vs[i], want[i])
		}
	}
	for _, bad := range [][]string{{"noequals"}, {"=x"}, {"a:b=x"}, {"x=1", "x=2"}} {
		if _, err := ParseVariants(bad, nil); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestVariantTarget(t *testing.T) {
	cfg := &Config{Ember: "/bin/ember", Kernel: "/k/bzImage", Cmdline: "console=ttyS0 quiet", MemoryMiB: 256, CPUs: 1,
		Variants: []Variant{{Name: "pvh", Kernel: "/k/vmlinux"}, {Name: "pc", Cmdline: "percpu_alloc=page"}}}
	tg, err := variantTarget(cfg, VariantSystem("pc"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cmd := strings.Join(tg.sys.Command, " ")
	if tg.sys.Name != "ember:pc" || tg.sys.Label != "ember, pc" || !strings.HasSuffix(cmd, "--cmdline console=ttyS0 quiet percpu_alloc=page") ||
		!strings.Contains(cmd, "--kernel /k/bzImage") {
		t.Errorf("system %q (%q): %s", tg.sys.Name, tg.sys.Label, cmd)
	}
	if tg, _ := variantTarget(cfg, VariantSystem("pvh"), t.TempDir()); !strings.Contains(strings.Join(tg.sys.Command, " "), "--kernel /k/vmlinux") {
		t.Errorf("pvh: %v", tg.sys.Command)
	}
	if cfg.Kernel != "/k/bzImage" || cfg.Cmdline != "console=ttyS0 quiet" {
		t.Errorf("the variant changed the config: %+v", cfg)
	}
	if _, err := variantTarget(cfg, VariantSystem("none"), t.TempDir()); err == nil {
		t.Error("unknown variant: no error")
	}
}
