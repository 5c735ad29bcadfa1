package main

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
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
	disks, nets, shares                                  []string
	rng, acpi, virtioCmdline, ksm                        bool
	vsockAutoCID                                         bool // config gave the vsock device CID 3 for want of one
}

func addVMFlags(fs *pflag.FlagSet) *vmFlags {
	f := &vmFlags{fs: fs}
	fs.StringVar(&f.configFile, "config", "", "VM config file (JSON, docs/api.yaml VMConfig); the flags below override it")
	fs.StringVar(&f.kernel, "kernel", "", "guest kernel: a bzImage (Linux 64-bit boot protocol) or an ELF vmlinux (PVH). "+
		"Default: $EMBER_KERNEL, else the bzImage 'make images' builds (../guest-images/out/ from ember's executable)")
	fs.StringVar(&f.initrd, "initrd", "", "initramfs image. Default with no --kernel: $EMBER_INITRD, else 'make images's initramfs.cpio.gz")
	fs.StringVar(&f.cmdline, "cmdline", "", "kernel command line, appended to: "+vmm.DefaultCmdline)
	fs.StringVar(&f.memory, "memory", "256M", "guest memory (K, M, G suffixes; a bare number is MiB)")
	fs.IntVar(&f.cpus, "cpus", 1, "number of vCPUs")
	fs.StringVar(&f.console, "console", "stdio", "serial console: stdio, none, or file:PATH")
	fs.StringArrayVar(&f.disks, "disk", nil, "virtio-blk disk: PATH[,ro][,id=NAME][,bw=BYTES/s][,iops=N] (repeatable; the first is /dev/vda; bw takes K, M, G suffixes)")
	fs.StringArrayVar(&f.nets, "net", nil, "virtio-net interface: "+netUsage+" (repeatable; eth0, eth1...; bw and pps limit each direction). "+
		"tap=NAME: on a host TAP device. user: on a user-mode network needing no root (a helper process, ember netd, runs beside the VM): "+
		"the guest gets 10.0.2.15 by DHCP, the gateway 10.0.2.2 is the host's loopback, DNS 10.0.2.3; each hostfwd forwards a host TCP port "+
		"(on 127.0.0.1 unless HOSTADDR is given) to a guest port")
	fs.StringArrayVar(&f.shares, "share", nil, "shared folder (virtio-9p): "+shareUsage+" (repeatable): the guest mounts HOSTDIR with "+
		"'mount -t 9p -o trans=virtio,version=9p2000.L TAG /mnt' and sees nothing outside it (no '..', symbolic or hard link leaves it); "+
		"ro: ember refuses every change (EROFS). New files belong to ember's user. A snapshot is refused while the guest has it mounted")
	fs.BoolVar(&f.rng, "rng", true, "virtio entropy device fed from the host's random source (--rng=false to omit)")
	fs.StringVar(&f.rngRate, "rng-rate", "0", "limit the entropy device to BYTES per second (K, M suffixes; 0: no limit)")
	fs.StringVar(&f.vsock, "vsock", "", "virtio socket device: [cid=N][,path=SOCKET] (hybrid vsock: host programs connect to SOCKET and write 'CONNECT <port>'; the guest's connections to host port P reach SOCKET_P), or none. ember start has one by default, its socket vsock.sock in the VM's state directory and its CID from the name")
	fs.BoolVar(&f.acpi, "acpi", true, "describe the machine and its virtio devices in ACPI tables, as distribution kernels need (--acpi=false for none)")
	fs.BoolVar(&f.ksm, "ksm", false, "offer guest memory to the host's kernel samepage merging (KSM): saves memory across similar VMs, but lets one VM learn by timing which pages another holds")
	fs.BoolVar(&f.virtioCmdline, "virtio-cmdline", true, "also announce virtio devices with virtio_mmio.device= kernel parameters, for kernels without ACPI")
	return f
}

// config returns the VM the flags describe: the --config file if given,
// with every flag given on the command line overriding it (a --disk,
// --net or --share replaces the file's list); else the flags and their
// defaults.
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
	if err := defaultGuest(&cfg.Kernel, &cfg.Initrd); err != nil {
		return vmm.Config{}, err
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
	var err error
	if set("disk") {
		if cfg.Disks, err = parseEach(f.disks, parseDisk); err != nil {
			return vmm.Config{}, err
		}
	}
	if set("net") {
		if cfg.Nets, err = parseEach(f.nets, parseNet); err != nil {
			return vmm.Config{}, err
		}
	}
	if set("share") {
		if cfg.Shares, err = parseEach(f.shares, parseShare); err != nil {
			return vmm.Config{}, err
		}
	}
	if cfg.Vsock != nil && cfg.Vsock.CID == 0 {
		// No CID given: 3 here, the name's (vmm.VsockCID) for ember start.
		cfg.Vsock.CID, f.vsockAutoCID = vsock.MinGuestCID, true
	}
	return cfg, cfg.Validate()
}

// parseEach parses each value of a repeatable flag (none: nil).
func parseEach[T any](values []string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, v := range values {
		x, err := parse(v)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
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

const (
	netUsage     = "tap=NAME|user[,hostfwd=tcp:[HOSTADDR:]HOSTPORT-:GUESTPORT]...[,mac=MAC][,bw=BYTES/s][,pps=N]"
	hostfwdUsage = "hostfwd=tcp:[HOSTADDR:]HOSTPORT-:GUESTPORT"
)

// parseNet parses a --net value: tap=NAME or user, with its options
// (netUsage). A forward without a host address listens on 127.0.0.1.
func parseNet(s string) (vmm.NetConfig, error) {
	var n vmm.NetConfig
	user := false // the word user was given
	for _, p := range strings.Split(s, ",") {
		var err error
		switch {
		case strings.HasPrefix(p, "tap="):
			n.Tap = p[len("tap="):]
		case p == "user":
			user = true
			n.User = cmp.Or(n.User, &vmm.UserNet{})
		case strings.HasPrefix(p, "hostfwd="):
			var f vmm.Forward
			if f, err = parseHostfwd(p[len("hostfwd="):]); err == nil {
				n.User = cmp.Or(n.User, &vmm.UserNet{})
				n.User.Forwards = append(n.User.Forwards, f)
			}
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
	switch {
	case n.Tap != "" && n.User != nil:
		return n, usageErrorf("--net %q: tap=NAME and a user network (user, hostfwd=): give one (use %s)", s, netUsage)
	case n.Tap == "" && n.User == nil:
		return n, usageErrorf("--net %q: missing tap=NAME or user (use %s)", s, netUsage)
	case n.User != nil && !user:
		return n, usageErrorf("--net %q: hostfwd= is for a user network: start with user (use %s)", s, netUsage)
	}
	return n, nil
}

// parseHostfwd parses a forward: tcp:[HOSTADDR:]HOSTPORT-:GUESTPORT
// (HOSTADDR may be an IPv6 address in brackets, or empty: 127.0.0.1).
func parseHostfwd(s string) (vmm.Forward, error) {
	var f vmm.Forward
	bad := func(what string) error { return fmt.Errorf("%s (use %s)", what, hostfwdUsage) }
	rest, ok := strings.CutPrefix(s, "tcp:")
	if !ok {
		if strings.HasPrefix(s, "udp:") {
			return f, bad("only TCP ports are forwarded")
		}
		return f, bad("give the protocol, tcp:")
	}
	host, guest, ok := strings.Cut(rest, "-")
	if !ok {
		return f, bad("no guest port after '-'")
	}
	guestPort, ok := strings.CutPrefix(guest, ":")
	if !ok {
		return f, bad(fmt.Sprintf("guest %q: give :GUESTPORT (the guest's address is its DHCP one)", guest))
	}
	addr, hostPort := "", host
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		addr, hostPort = strings.TrimSuffix(strings.TrimPrefix(host[:i], "["), "]"), host[i+1:]
	}
	var err error
	if addr != "" {
		if f.HostAddr, err = netip.ParseAddr(addr); err != nil {
			return f, bad(fmt.Sprintf("host address %q is not an IP address", addr))
		}
	}
	if f.HostPort, err = parsePort("host", hostPort); err != nil {
		return f, bad(err.Error())
	}
	if f.GuestPort, err = parsePort("guest", guestPort); err != nil {
		return f, bad(err.Error())
	}
	f.HostAddr = f.Host().Addr() // the default written out
	return f, nil
}

// parsePort parses a TCP port, 1 to 65535.
func parsePort(what, s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%s port %q: give a port from 1 to 65535", what, s)
	}
	return uint16(n), nil
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
