package vmm

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/embervm/ember/boot"
	"github.com/embervm/ember/vmm/kvm"
)

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		err  bool
	}{
		{"256M", 256 << 20, false}, {"1G", 1 << 30, false}, {"512", 512 << 20, false},
		{"64MiB", 64 << 20, false}, {"2g", 2 << 30, false}, {"4096K", 4 << 20, false},
		{"", 0, true}, {"0", 0, true}, {"-1G", 0, true}, {"12Q", 0, true}, {"1.5G", 0, true},
		{"99999999999999T", 0, true},
	} {
		got, err := ParseSize(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, err=%v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	kernel := filepath.Join(dir, "bzImage")
	os.WriteFile(kernel, []byte("not empty"), 0o644)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	ok := Config{Kernel: kernel, Memory: 256 << 20, CPUs: 1}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, c := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Kernel = "" }, "--kernel"},
		{func(c *Config) { c.Kernel = "/nonexistent/bzImage" }, "/nonexistent/bzImage"},
		{func(c *Config) { c.Kernel = dir }, "not a regular file"},
		{func(c *Config) { c.Kernel = empty }, "empty"},
		{func(c *Config) { c.Initrd = "/nonexistent/initrd" }, "/nonexistent/initrd"},
		{func(c *Config) { c.Memory = 1 << 20 }, "memory"},
		{func(c *Config) { c.Memory = 257 << 20 }, "multiple of 2 MiB"},
		{func(c *Config) { c.CPUs = 0 }, "cpus"},
		{func(c *Config) { c.CPUs = 1000 }, "cpus"},
		{func(c *Config) { c.Disks = []DiskConfig{{Path: "/nonexistent/disk.img"}} }, "/nonexistent/disk.img"},
		{func(c *Config) { c.Disks = []DiskConfig{{Path: kernel, ID: strings.Repeat("x", 21)}} }, "20 bytes"},
		{func(c *Config) { c.Disks = slices.Repeat([]DiskConfig{{Path: kernel}}, MaxVirtioDevices); c.RNG = true }, "at most"},
	} {
		cfg := ok
		c.mod(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v; want an error mentioning %q", cfg, err, c.want)
		}
	}
}

func TestFullCmdline(t *testing.T) {
	c := Config{Cmdline: `ember.cmd="true"`, Devices: Devices{Disks: []DiskConfig{{Path: "a"}, {Path: "b"}}, RNG: true}}
	got := c.fullCmdline()
	want := DefaultCmdline + " ember.boottimer=0xd0000000 ember.exit=0xd0000004" +
		" virtio_mmio.device=512@0xd0001000:5 virtio_mmio.device=512@0xd0002000:6" +
		` virtio_mmio.device=512@0xd0003000:7 ember.cmd="true"`
	if got != want {
		t.Errorf("fullCmdline =\n%q, want\n%q", got, want)
	}
	if n := len((&Devices{}).plan()); n != 0 {
		t.Errorf("an empty config plans %d devices", n)
	}
	c.NoVirtioCmdline = true
	if got := c.fullCmdline(); strings.Contains(got, "virtio_mmio") {
		t.Errorf("NoVirtioCmdline: the command line still announces devices: %q", got)
	}
}

// TestACPITables checks what the DSDT describes: one LNRO0005 device per
// planned virtio slot at its address and GSI, and the fixed devices.
func TestACPITables(t *testing.T) {
	c := Config{CPUs: 2, Devices: Devices{Disks: []DiskConfig{{Path: "a"}, {Path: "b"}}, RNG: true}}
	tables, err := c.acpiTables()
	if err != nil {
		t.Fatal(err)
	}
	if string(tables[:8]) != "RSD PTR " || uint64(len(tables)) > boot.ACPIMaxSize {
		t.Fatalf("tables of %d bytes starting %q", len(tables), tables[:8])
	}
	for _, want := range []string{"VR00", "VR01", "VR02", "LNRO0005", "ACPI0013", "QEMU0001", "PWRB", "COM1", "RTC_", "KBD_"} {
		if !bytes.Contains(tables, []byte(want)) {
			t.Errorf("the DSDT lacks %s", want)
		}
	}
	if bytes.Contains(tables, []byte("VR03")) {
		t.Error("the DSDT describes a fourth virtio device; three are planned")
	}
	// Each slot's Memory32Fixed base and Interrupt GSI, as plan() placed them.
	le := binary.LittleEndian
	for _, s := range c.Devices.plan() {
		mem := le.AppendUint32([]byte{0x86, 9, 0, 1}, uint32(s.base))
		irq := le.AppendUint32([]byte{0x89, 6, 0, 3, 1}, s.gsi)
		if !bytes.Contains(tables, mem) || !bytes.Contains(tables, irq) {
			t.Errorf("%s: no resources for %#x, GSI %d", s.name(), s.base, s.gsi)
		}
	}
	c.NoACPI = true
	if tables, err := c.acpiTables(); tables != nil || err != nil {
		t.Errorf("NoACPI: %d bytes of tables, %v", len(tables), err)
	}
	kernel := filepath.Join(t.TempDir(), "bzImage")
	if err := os.WriteFile(kernel, []byte("not empty"), 0o644); err != nil {
		t.Fatal(err)
	}
	rngOnly := Config{Kernel: kernel, Memory: 256 << 20, CPUs: 1, Devices: Devices{RNG: true}, NoACPI: true, NoVirtioCmdline: true}
	if err := rngOnly.Validate(); err == nil || !strings.Contains(err.Error(), "no way to find its virtio devices") {
		t.Errorf("NoACPI and NoVirtioCmdline with a device: %v", err)
	}
	rngOnly.RNG = false
	if err := rngOnly.Validate(); err != nil {
		t.Errorf("NoACPI and NoVirtioCmdline without devices: %v", err)
	}
}

func TestGuestCPUIDTopology(t *testing.T) {
	supported := []kvm.CPUIDEntry{
		{Function: 1, EBX: 0x00000800},
		{Function: 0xb, Index: 0}, {Function: 0xb, Index: 1}, {Function: 0xb, Index: 2},
		{Function: 0x80000008},
	}
	for id := 0; id < 3; id++ {
		got := guestCPUID(supported, id, 3, true)
		if got[0].EBX>>24 != uint32(id) || (got[0].EBX>>16)&0xff != 3 || got[0].EBX&0xffff != 0x800 {
			t.Errorf("vcpu %d leaf 1 EBX = %#x", id, got[0].EBX)
		}
		if got[0].ECX&cpuid1ECXHypervisor == 0 || got[0].ECX&cpuid1ECXTSCDeadline == 0 || got[0].EDX&cpuid1EDXHTT == 0 {
			t.Errorf("vcpu %d leaf 1 ECX/EDX = %#x/%#x: want hypervisor, TSC deadline, HTT", id, got[0].ECX, got[0].EDX)
		}
		for _, e := range got[1:4] {
			if e.EDX != uint32(id) {
				t.Errorf("vcpu %d leaf 0xb.%d x2APIC id = %d", id, e.Index, e.EDX)
			}
		}
		if got[2].EAX != 2 || got[2].EBX != 3 || got[2].ECX != 2<<8|1 {
			t.Errorf("leaf 0xb.1 = %+v: want shift 2, 3 logical CPUs, core level", got[2])
		}
		if got[4].ECX&0xff != 2 {
			t.Errorf("leaf 0x80000008 ECX = %#x: want 2 (cores - 1)", got[4].ECX)
		}
	}
	if supported[0].EBX != 0x800 {
		t.Error("guestCPUID modified its input")
	}
}
