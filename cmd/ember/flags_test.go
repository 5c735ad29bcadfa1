package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/vmm"
)

func TestParseDisk(t *testing.T) {
	for _, c := range []struct {
		in   string
		want vmm.DiskConfig
		err  bool
	}{
		{"a.img", vmm.DiskConfig{Path: "a.img"}, false},
		{"a.img,ro", vmm.DiskConfig{Path: "a.img", ReadOnly: true}, false},
		{"a.img,id=root,ro", vmm.DiskConfig{Path: "a.img", ReadOnly: true, ID: "root"}, false},
		{",ro", vmm.DiskConfig{}, true},
		{"a.img,rw", vmm.DiskConfig{}, true},
	} {
		got, err := parseDisk(c.in)
		if (err != nil) != c.err || (!c.err && got != c.want) {
			t.Errorf("parseDisk(%q) = %+v, %v", c.in, got, err)
		}
	}
}

func TestParseConsole(t *testing.T) {
	for in, want := range map[string]consoleSpec{
		"stdio": {kind: "stdio"}, "none": {kind: "none"}, "file:/tmp/x": {kind: "file", path: "/tmp/x"},
	} {
		if got, err := parseConsole(in); err != nil || got != want {
			t.Errorf("parseConsole(%q) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "tty", "file:", "stdio2"} {
		if _, err := parseConsole(bad); err == nil || !strings.Contains(err.Error(), "--console") {
			t.Errorf("parseConsole(%q) = %v, want an error naming --console", bad, err)
		}
	}
}

// oneByteReader returns its input one byte per Read, like a terminal.
type oneByteReader struct{ s []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.s) == 0 {
		return 0, io.EOF
	}
	p[0] = r.s[0]
	r.s = r.s[1:]
	return 1, nil
}

func TestEscapeReader(t *testing.T) {
	for _, c := range []struct {
		in, want string
		quit     bool
	}{
		{"hello\r", "hello\r", false},
		{"ab\x01xcd", "ab", true},
		{"\x01\x01z", "\x01z", false},
		{"\x01q", "\x01q", false},
		{"\x01X", "", true},
	} {
		for _, oneByte := range []bool{false, true} {
			quit := false
			var src io.Reader = strings.NewReader(c.in)
			if oneByte {
				src = &oneByteReader{[]byte(c.in)}
			}
			var out bytes.Buffer
			_, err := io.Copy(&out, newEscapeReader(src, func() { quit = true }))
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != c.want || quit != c.quit {
				t.Errorf("escape(%q, oneByte=%v) = %q quit=%v; want %q quit=%v", c.in, oneByte, out.String(), quit, c.want, c.quit)
			}
		}
	}
}

func TestCRLFWriter(t *testing.T) {
	var b bytes.Buffer
	n, err := crlfWriter{&b}.Write([]byte("a\nb\n"))
	if err != nil || n != 4 || b.String() != "a\r\nb\r\n" {
		t.Errorf("crlfWriter wrote %q (n=%d, %v)", b.String(), n, err)
	}
}

func TestParseNet(t *testing.T) {
	n, err := parseNet("tap=tap0,mac=02:00:00:00:00:07")
	if err != nil || n.Tap != "tap0" || n.MAC.String() != "02:00:00:00:00:07" {
		t.Errorf("parseNet = %+v, %v", n, err)
	}
	for _, bad := range []string{"", "tap=", "mac=02:00:00:00:00:07", "tap=t,mac=zz", "tap=t,foo=1"} {
		if _, err := parseNet(bad); err == nil || !strings.Contains(err.Error(), "--net") {
			t.Errorf("parseNet(%q) = %v, want an error naming --net", bad, err)
		}
	}
}

// TestConfigFileAndFlags: --config gives the VM; flags given on the command
// line override it, defaults of flags not given do not.
func TestConfigFileAndFlags(t *testing.T) {
	dir := t.TempDir()
	kernel := filepath.Join(dir, "k")
	disk := filepath.Join(dir, "d.img")
	for _, p := range []string{kernel, disk} {
		if err := os.WriteFile(p, make([]byte, 4096), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "vm.json")
	body := `{"kernel":"` + kernel + `","memory":"512M","cpus":2,"disks":[{"path":"` + disk + `","read_only":true}],"rng":false,"acpi":false}`
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args   []string
		cpus   int
		memory uint64
		disks  int
		rng    bool
		acpi   bool
	}{
		{[]string{"--config", file}, 2, 512 << 20, 1, false, false},
		{[]string{"--config", file, "--cpus", "3", "--rng", "--acpi"}, 3, 512 << 20, 1, true, true},
		{[]string{"--config", file, "--memory", "1G", "--disk", disk, "--disk", disk + ",ro"}, 2, 1 << 30, 2, false, false},
		{[]string{"--kernel", kernel}, 1, 256 << 20, 0, true, true},
		{[]string{"--kernel", kernel, "--acpi=false"}, 1, 256 << 20, 0, true, false},
	} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		vf := addVMFlags(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := vf.config()
		if err != nil || cfg.CPUs != c.cpus || cfg.Memory != c.memory || len(cfg.Disks) != c.disks || cfg.RNG != c.rng ||
			cfg.NoACPI == c.acpi || cfg.NoVirtioCmdline || cfg.Kernel != kernel {
			t.Errorf("%v: %+v, %v", c.args, cfg, err)
		}
	}
}
