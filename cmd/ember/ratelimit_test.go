package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm"
)

func TestParseRateOptions(t *testing.T) {
	for _, c := range []struct {
		in   string
		want vmm.DiskConfig
	}{
		{"a.img,bw=10M", vmm.DiskConfig{Path: "a.img", Bandwidth: 10 << 20}},
		{"a.img,ro,bw=1500,iops=200", vmm.DiskConfig{Path: "a.img", ReadOnly: true, Bandwidth: 1500, IOPS: 200}},
		{"a.img,iops=0", vmm.DiskConfig{Path: "a.img"}},
	} {
		if got, err := parseDisk(c.in); err != nil || got != c.want {
			t.Errorf("parseDisk(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	n, err := parseNet("tap=tap0,bw=1G,pps=10000")
	if err != nil || n.Tap != "tap0" || n.Bandwidth != 1<<30 || n.PPS != 10000 {
		t.Errorf("parseNet = %+v, %v", n, err)
	}
	for _, bad := range []string{"a.img,bw=", "a.img,bw=10X", "a.img,bw=-1", "a.img,iops=1.5", "a.img,iops=1k", "a.img,bps=1"} {
		_, err := parseDisk(bad)
		if err == nil || !strings.HasPrefix(err.Error(), "--disk") || strings.Contains(err.Error(), "\n") {
			t.Errorf("parseDisk(%q) = %v, want a one-line error naming --disk", bad, err)
		}
	}
	for _, bad := range []string{"tap=t0,bw=fast", "tap=t0,pps=-2", "tap=t0,iops=5"} {
		_, err := parseNet(bad)
		if err == nil || !strings.HasPrefix(err.Error(), "--net") || strings.Contains(err.Error(), "\n") {
			t.Errorf("parseNet(%q) = %v, want a one-line error naming --net", bad, err)
		}
	}
}

func TestRNGRateFlag(t *testing.T) {
	kernel := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(kernel, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want uint64
		err  string
	}{
		{[]string{"--kernel", kernel}, 0, ""},
		{[]string{"--kernel", kernel, "--rng-rate", "64K"}, 64 << 10, ""},
		{[]string{"--kernel", kernel, "--rng-rate", "lots"}, 0, "--rng-rate: bad rate"},
		{[]string{"--kernel", kernel, "--rng=false", "--rng-rate", "1K"}, 0, "--rng-rate with --rng=false"},
	} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		vf := addVMFlags(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := vf.config()
		if c.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), c.err) {
				t.Errorf("%v: error %v, want one starting %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || cfg.RNGRate != c.want {
			t.Errorf("%v: RNGRate %d, %v; want %d", c.args, cfg.RNGRate, err, c.want)
		}
	}
}
