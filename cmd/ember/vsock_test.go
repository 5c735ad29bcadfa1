package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm"
)

// --vsock: parsed, validated, and on by default for ember start only.
func TestVsockFlag(t *testing.T) {
	kernel := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(kernel, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	long := "/" + strings.Repeat("x", 100)
	for _, c := range []struct {
		args      []string
		start     bool
		cid       uint64 // 0: no device
		path, err string
	}{
		{args: nil},
		{args: nil, start: true, cid: vmm.VsockCID("v1")},
		{args: []string{"--vsock", "none"}, start: true},
		{args: []string{"--vsock", "path=/tmp/v.sock"}, cid: 3, path: "/tmp/v.sock"},
		{args: []string{"--vsock", "path=/tmp/v.sock"}, start: true, cid: vmm.VsockCID("v1"), path: "/tmp/v.sock"},
		{args: []string{"--vsock", "cid=42,path=/tmp/v.sock"}, start: true, cid: 42, path: "/tmp/v.sock"},
		{args: []string{"--vsock", "cid=2"}, err: "cid=2"},
		{args: []string{"--vsock", "cid=x"}, err: "cid"},
		{args: []string{"--vsock", "port=5"}, err: "unknown option"},
		{args: []string{"--vsock", "path=" + long}, err: "shorter path"},
	} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		vf := addVMFlags(fs)
		if err := fs.Parse(append([]string{"--kernel", kernel}, c.args...)); err != nil {
			t.Fatal(err)
		}
		var cfg vmm.Config
		var err error
		if c.start {
			var spec vmSpec
			spec, err = startSpec("v1", vf)
			cfg = spec.Config
		} else {
			cfg, err = vf.config()
		}
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: error %v, want one mentioning %q", c.args, err, c.err)
			}
			continue
		}
		switch {
		case err != nil:
			t.Errorf("%v (start %v): %v", c.args, c.start, err)
		case c.cid == 0 && cfg.Vsock != nil:
			t.Errorf("%v (start %v): a vsock device %+v, want none", c.args, c.start, *cfg.Vsock)
		case c.cid != 0 && (cfg.Vsock == nil || cfg.Vsock.CID != c.cid || cfg.Vsock.Path != c.path):
			t.Errorf("%v (start %v): vsock %+v, want CID %d path %q", c.args, c.start, cfg.Vsock, c.cid, c.path)
		}
	}
	if a, b := vmm.VsockCID("a"), vmm.VsockCID("b"); a == b || a < 3 || b < 3 || a >= 1<<31 {
		t.Errorf("VsockCID: %d, %d", a, b)
	}
}
