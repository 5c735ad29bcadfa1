package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/api"
	"github.com/embervm/ember/vmm/jail"
)

func TestParseShare(t *testing.T) {
	for _, c := range []struct {
		in   string
		want vmm.ShareConfig
	}{
		{"/srv/data:data", vmm.ShareConfig{Dir: "/srv/data", Tag: "data"}},
		{"/srv/data:data,ro", vmm.ShareConfig{Dir: "/srv/data", Tag: "data", ReadOnly: true}},
		{"rel/d:x:tag", vmm.ShareConfig{Dir: "rel/d:x", Tag: "tag"}},
	} {
		if got, err := parseShare(c.in); err != nil || got != c.want {
			t.Errorf("parseShare(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "/srv", ":tag", "/srv:", "/srv:t,rw", "/srv:t,ro,ro"} {
		if _, err := parseShare(bad); err == nil || !strings.HasPrefix(err.Error(), "--share") || !strings.Contains(err.Error(), shareUsage) {
			t.Errorf("parseShare(%q) = %v, want an error naming --share and its form", bad, err)
		}
	}
}

// TestShareFlags: --share is repeatable, replaces a config file's shares,
// is checked by Validate (a missing directory, a tag twice), made
// absolute for a detached VM, and bound into a jail (read-only with ro).
func TestShareFlags(t *testing.T) {
	dir := t.TempDir()
	kernel := filepath.Join(dir, "k")
	if err := os.WriteFile(kernel, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{a, b} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "vm.json")
	if err := os.WriteFile(file, []byte(`{"kernel":"`+kernel+`","shares":[{"dir":"`+a+`","tag":"a"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	parse := func(args ...string) (vmm.Config, error) {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		vf := addVMFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return vf.config()
	}
	cfg, err := parse("--config", file)
	if err != nil || len(cfg.Shares) != 1 || cfg.Shares[0] != (vmm.ShareConfig{Dir: a, Tag: "a"}) {
		t.Errorf("config file's share: %+v, %v", cfg.Shares, err)
	}
	cfg, err = parse("--config", file, "--share", b+":b,ro", "--share", a+":a2")
	if err != nil || len(cfg.Shares) != 2 || cfg.Shares[0] != (vmm.ShareConfig{Dir: b, Tag: "b", ReadOnly: true}) {
		t.Errorf("--share over a config file: %+v, %v", cfg.Shares, err)
	}
	for args, want := range map[string]string{
		filepath.Join(dir, "none") + ":x": "give an existing directory",
		a + ":x|" + b + ":x":              "tag x is also 9p0's",
	} {
		var flags []string
		for _, s := range strings.Split(args, "|") {
			flags = append(flags, "--share", s)
		}
		if _, err := parse(append([]string{"--kernel", kernel}, flags...)...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", args, err, want)
		}
	}

	t.Chdir(dir)
	rel := vmm.Config{Kernel: kernel, Devices: vmm.Devices{Shares: []vmm.ShareConfig{{Dir: "b", Tag: "b", ReadOnly: true}}}}
	if err := absPaths(&rel); err != nil || rel.Shares[0].Dir != b {
		t.Errorf("absPaths: %q, %v; want %q", rel.Shares[0].Dir, err, b)
	}
	var j jail.Spec
	completeJail(&j, "t", rel, dir) // Check fails without root; the binds are made before
	if !slices.Contains(j.Binds, jail.Bind{Path: b, ReadOnly: true}) {
		t.Errorf("jail binds %+v: want %s read-only", j.Binds, b)
	}
}

func TestSharesText(t *testing.T) {
	got := sharesText([]api.ShareConfig{{Dir: "/srv/a", Tag: "a"}, {Dir: "/srv/b", Tag: "b", ReadOnly: true}})
	if want := "/srv/a:a /srv/b:b,ro"; got != want {
		t.Errorf("ls shows %q, want %q", got, want)
	}
	if sharesText(nil) != "-" {
		t.Error("no share: want -")
	}
}
