package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/embervm/ember/devices/virtio/vsock"
	"github.com/embervm/ember/vmm"
	"github.com/embervm/ember/vmm/api"
)

// vmFlags are the flags that describe a VM, shared by run and start.
type vmFlags struct {
	fs                                                   *pflag.FlagSet
	configFile, kernel, initrd, cmdline, memory, console string
	rngRate, vsock                                       string
	cpus                                                 int
	disks, nets                                          []string
	rng, acpi, virtioCmdline, ksm                        bool
	vsockAutoCID                                         bool // config gave the vsock device CID 3 for want of one
}

func addVMFlags(fs *pflag.FlagSet) *vmFlags {
	f := &vmFlags{fs: fs}
	fs.StringVar(&f.configFile, "config", "", "VM config file (JSON, docs/api.yaml VMConfig); the flags below override it")
	fs.StringVar(&f.kernel, "kernel", "", "guest kernel: a bzImage (Linux 64-bit boot protocol) or an ELF vmlinux (PVH)")
	fs.StringVar(&f.initrd, "initrd", "", "initramfs image")
	fs.StringVar(&f.cmdline, "cmdline", "", "kernel command line, appended to: "+vmm.DefaultCmdline)
	fs.StringVar(&f.memory, "memory", "256M", "guest memory (K, M, G suffixes; a bare number is MiB)")
	fs.IntVar(&f.cpus, "cpus", 1, "number of vCPUs")
	fs.StringVar(&f.console, "console", "stdio", "serial console: stdio, none, or file:PATH")
	fs.StringArrayVar(&f.disks, "disk", nil, "virtio-blk disk: PATH[,ro][,id=NAME][,bw=BYTES/s][,iops=N] (repeatable; the first is /dev/vda; bw takes K, M, G suffixes)")
	fs.StringArrayVar(&f.nets, "net", nil, "virtio-net interface on a host TAP device: tap=NAME[,mac=MAC][,bw=BYTES/s][,pps=N] (repeatable; eth0, eth1...; bw and pps limit each direction)")
	fs.BoolVar(&f.rng, "rng", true, "virtio entropy device fed from the host's random source (--rng=false to omit)")
	fs.StringVar(&f.rngRate, "rng-rate", "0", "limit the entropy device to BYTES per second (K, M suffixes; 0: no limit)")
	fs.StringVar(&f.vsock, "vsock", "", "virtio socket device: [cid=N][,path=SOCKET] (hybrid vsock: host programs connect to SOCKET and write 'CONNECT <port>'; the guest's connections to host port P reach SOCKET_P), or none. ember start has one by default, its socket vsock.sock in the VM's state directory and its CID from the name")
	fs.BoolVar(&f.acpi, "acpi", true, "describe the machine and its virtio devices in ACPI tables, as distribution kernels need (--acpi=false for none)")
	fs.BoolVar(&f.ksm, "ksm", false, "offer guest memory to the host's kernel samepage merging (KSM): saves memory across similar VMs, but lets one VM learn by timing which pages another holds")
	fs.BoolVar(&f.virtioCmdline, "virtio-cmdline", true, "also announce virtio devices with virtio_mmio.device= kernel parameters, for kernels without ACPI")
	return f
}

// config returns the VM the flags describe: the --config file if given,
// with every flag given on the command line overriding it (a --disk or
// --net replaces the file's list); else the flags and their defaults.
func (f *vmFlags) config() (vmm.Config, error) {
	if _, err := parseConsole(f.console); err != nil {
		return vmm.Config{}, err
	}
	cfg := vmm.Config{}
	set := func(name string) bool { return f.configFile == "" || f.fs.Changed(name) }
	if f.configFile != "" {
		w, err := api.ReadConfigFile(f.configFile)
		if err == nil {
			cfg, err = w.Config()
		}
		if err != nil {
			return cfg, fmt.Errorf("--config: %w", err)
		}
	}
	if set("memory") {
		mem, err := vmm.ParseSize(f.memory)
		if err != nil {
			return vmm.Config{}, usageErrorf("--memory: %w", err)
		}
		cfg.Memory = mem
	}
	for _, s := range []struct {
		name string
		dst  *string
		val  string
	}{{"kernel", &cfg.Kernel, f.kernel}, {"initrd", &cfg.Initrd, f.initrd}, {"cmdline", &cfg.Cmdline, f.cmdline}} {
		if set(s.name) {
			*s.dst = s.val
		}
	}
	if set("cpus") {
		cfg.CPUs = f.cpus
	}
	if set("rng") {
		cfg.RNG = f.rng
	}
	if set("rng-rate") {
		r, err := vmm.ParseRate(f.rngRate)
		if err != nil {
			return vmm.Config{}, usageErrorf("--rng-rate: %w", err)
		}
		cfg.RNGRate = r
	}
	if cfg.RNGRate != 0 && !cfg.RNG {
		return vmm.Config{}, usageErrorf("--rng-rate with --rng=false: there is no entropy device to limit; drop one of them")
	}
	if set("vsock") {
		v, err := parseVsock(f.vsock)
		if err != nil {
			return vmm.Config{}, err
		}
		cfg.Vsock = v
	}
	if set("acpi") {
		cfg.NoACPI = !f.acpi
	}
	if set("ksm") {
		cfg.KSM = f.ksm
	}
	if set("virtio-cmdline") {
		cfg.NoVirtioCmdline = !f.virtioCmdline
	}
	if set("disk") {
		cfg.Disks = nil
		for _, d := range f.disks {
			dc, err := parseDisk(d)
			if err != nil {
				return vmm.Config{}, err
			}
			cfg.Disks = append(cfg.Disks, dc)
		}
	}
	if set("net") {
		cfg.Nets = nil
		for _, n := range f.nets {
			nc, err := parseNet(n)
			if err != nil {
				return vmm.Config{}, err
			}
			cfg.Nets = append(cfg.Nets, nc)
		}
	}
	if cfg.Vsock != nil && cfg.Vsock.CID == 0 {
		// No CID given: 3 here, the name's (vmm.VsockCID) for ember start.
		cfg.Vsock.CID, f.vsockAutoCID = vsock.MinGuestCID, true
	}
	return cfg, cfg.Validate()
}

// consoleSpec is a parsed --console value.
type consoleSpec struct {
	kind string // "stdio", "none" or "file"
	path string
}

func parseConsole(s string) (consoleSpec, error) {
	switch {
	case s == "stdio" || s == "none":
		return consoleSpec{kind: s}, nil
	case strings.HasPrefix(s, "file:") && len(s) > len("file:"):
		return consoleSpec{kind: "file", path: s[len("file:"):]}, nil
	}
	return consoleSpec{}, usageErrorf("--console %q: use stdio, none or file:PATH", s)
}

const diskUsage = "PATH[,ro][,id=NAME][,bw=BYTES/s][,iops=N]"

// parseDisk parses a --disk value: PATH[,ro][,id=NAME][,bw=RATE][,iops=N].
func parseDisk(s string) (vmm.DiskConfig, error) {
	parts := strings.Split(s, ",")
	d := vmm.DiskConfig{Path: parts[0]}
	if d.Path == "" {
		return d, usageErrorf("--disk %q: missing path (use %s)", s, diskUsage)
	}
	for _, p := range parts[1:] {
		var err error
		switch {
		case p == "ro":
			d.ReadOnly = true
		case strings.HasPrefix(p, "id="):
			d.ID = p[len("id="):]
		case strings.HasPrefix(p, "bw="):
			d.Bandwidth, err = vmm.ParseRate(p[len("bw="):])
		case strings.HasPrefix(p, "iops="):
			d.IOPS, err = vmm.ParseCount(p[len("iops="):])
		default:
			return d, usageErrorf("--disk %q: unknown option %q (use %s)", s, p, diskUsage)
		}
		if err != nil {
			return d, usageErrorf("--disk %q: %s: %w", s, p, err)
		}
	}
	return d, nil
}

const netUsage = "tap=NAME[,mac=MAC][,bw=BYTES/s][,pps=N]"

// parseNet parses a --net value: tap=NAME[,mac=MAC][,bw=RATE][,pps=N].
func parseNet(s string) (vmm.NetConfig, error) {
	var n vmm.NetConfig
	for _, p := range strings.Split(s, ",") {
		var err error
		switch {
		case strings.HasPrefix(p, "tap="):
			n.Tap = p[len("tap="):]
		case strings.HasPrefix(p, "mac="):
			mac, err := net.ParseMAC(p[len("mac="):])
			if err != nil || len(mac) != 6 {
				return n, usageErrorf("--net %q: bad MAC address (use e.g. mac=02:00:00:00:00:01)", s)
			}
			n.MAC = mac
		case strings.HasPrefix(p, "bw="):
			n.Bandwidth, err = vmm.ParseRate(p[len("bw="):])
		case strings.HasPrefix(p, "pps="):
			n.PPS, err = vmm.ParseCount(p[len("pps="):])
		default:
			return n, usageErrorf("--net %q: unknown option %q (use %s)", s, p, netUsage)
		}
		if err != nil {
			return n, usageErrorf("--net %q: %s: %w", s, p, err)
		}
	}
	if n.Tap == "" {
		return n, usageErrorf("--net %q: missing tap=NAME", s)
	}
	return n, nil
}

const vsockUsage = "[cid=N][,path=SOCKET] or none"

// parseVsock parses a --vsock value: [cid=N][,path=SOCKET], or none (nil).
// A CID left out is 0, which ember start replaces with vmm.VsockCID.
func parseVsock(s string) (*vmm.VsockConfig, error) {
	if s == "none" || s == "" { // "": not given (ember start adds one)
		return nil, nil
	}
	v := &vmm.VsockConfig{}
	for _, p := range strings.Split(s, ",") {
		switch {
		case strings.HasPrefix(p, "cid="):
			n, err := strconv.ParseUint(p[len("cid="):], 10, 64)
			if err != nil {
				return nil, usageErrorf("--vsock %q: cid: a number of 3 or more", s)
			}
			v.CID = n
		case strings.HasPrefix(p, "path=") && len(p) > len("path="):
			v.Path = p[len("path="):]
		default:
			return nil, usageErrorf("--vsock %q: unknown option %q (use %s)", s, p, vsockUsage)
		}
	}
	return v, nil
}
