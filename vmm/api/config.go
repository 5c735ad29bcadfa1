package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/embervm/ember/vmm"
)

// VMConfig is a VM's configuration on the wire: the "config" of GET /vm,
// and the VM config file (ember run --config FILE, ember start --config
// FILE). docs/api.yaml, schema VMConfig, is its contract.
type VMConfig struct {
	Kernel  string       `json:"kernel"`
	Initrd  string       `json:"initrd,omitempty"`
	Cmdline string       `json:"cmdline,omitempty"`
	Memory  Size         `json:"memory,omitempty"` // bytes; a file may also say "512M"
	CPUs    int          `json:"cpus,omitempty"`
	Disks   []DiskConfig `json:"disks,omitempty"`
	Nets    []NetConfig  `json:"nets,omitempty"`
	RNG     *bool        `json:"rng,omitempty"`      // absent: true
	RNGRate Size         `json:"rng_rate,omitempty"` // bytes per second; absent: no limit
	ACPI    *bool        `json:"acpi,omitempty"`     // absent: true
	// VirtioCmdline: announce virtio devices on the kernel command line
	// too (absent: true).
	VirtioCmdline *bool `json:"virtio_cmdline,omitempty"`
	KSM           bool  `json:"ksm,omitempty"` // offer guest memory to KSM (default false)
	// Vsock is the virtio socket device (absent: none for ember run, one
	// with its socket in the state directory for ember start).
	Vsock *VsockConfig `json:"vsock,omitempty"`
	// Shares are the shared folders (virtio-9p), mounted in the guest
	// with mount -t 9p -o trans=virtio TAG /mnt.
	Shares []ShareConfig `json:"shares,omitempty"`
}

// ShareConfig is one shared folder: a host directory and its mount tag.
type ShareConfig struct {
	Dir      string `json:"dir"`
	Tag      string `json:"tag"`
	ReadOnly bool   `json:"read_only,omitempty"` // every change refused (EROFS) by the VMM
}

// VsockConfig is the virtio socket device (hybrid vsock on unix sockets).
type VsockConfig struct {
	CID  uint64 `json:"cid,omitempty"`  // the guest's CID, 3 and up; absent: chosen (ember start: from the name)
	Path string `json:"path,omitempty"` // the socket host programs connect to; guest connections to port P reach PATH_P
}

// DiskConfig is one virtio-blk disk.
type DiskConfig struct {
	Path     string `json:"path"`
	ReadOnly bool   `json:"read_only,omitempty"`
	ID       string `json:"id,omitempty"`
	// Rate limits (absent: none): bytes per second ("10M" or a number)
	// and requests per second.
	Bandwidth Size   `json:"bandwidth,omitempty"`
	IOPS      uint64 `json:"iops,omitempty"`
}

// NetConfig is one virtio-net interface: on a host TAP device (tap), or
// on a user-mode network (user).
type NetConfig struct {
	Tap  string       `json:"tap,omitempty"`
	User *UserNetwork `json:"user,omitempty"`
	MAC  string       `json:"mac,omitempty"` // aa:bb:cc:dd:ee:ff; absent: random
	// Rate limits of each direction (absent: none): bytes per second and
	// packets per second.
	Bandwidth Size   `json:"bandwidth,omitempty"`
	PPS       uint64 `json:"pps,omitempty"`
}

// UserNetwork is a user-mode network (ember netd): DHCP gives the guest
// 10.0.2.15, the gateway 10.0.2.2 reaches the host's loopback, and host
// ports are forwarded to guest ports. A host_addr left out is 127.0.0.1.
type UserNetwork struct {
	Forwards []vmm.Forward `json:"forwards,omitempty"`
}

// Size is a byte count (or a byte rate: bytes per second). It is written
// as a number; it reads a number of bytes or a string with a unit ("256M",
// "1G": vmm.ParseSize).
type Size uint64

// UnmarshalJSON accepts a number of bytes, or a size string with a unit
// ("512M": a bare number in a string would be ambiguous); null is no size.
func (s *Size) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		if str == "" || str[len(str)-1] >= '0' && str[len(str)-1] <= '9' {
			return fmt.Errorf("size %q: give a unit (K, M, G, T), or a number of bytes without quotes", str)
		}
		n, err := vmm.ParseSize(str)
		if err != nil {
			return err
		}
		*s = Size(n)
		return nil
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("size %s: a number of bytes or a string such as \"512M\"", b)
	}
	*s = Size(n)
	return nil
}

// WireConfig returns c as it goes on the wire.
func WireConfig(c vmm.Config) VMConfig {
	rng, acpi, virtioCmdline := c.RNG, !c.NoACPI, !c.NoVirtioCmdline
	w := VMConfig{Kernel: c.Kernel, Initrd: c.Initrd, Cmdline: c.Cmdline, Memory: Size(c.Memory), CPUs: c.CPUs,
		RNG: &rng, RNGRate: Size(c.RNGRate), ACPI: &acpi, VirtioCmdline: &virtioCmdline, KSM: c.KSM}
	if c.Vsock != nil {
		w.Vsock = &VsockConfig{CID: c.Vsock.CID, Path: c.Vsock.Path}
	}
	for _, d := range c.Disks {
		w.Disks = append(w.Disks, DiskConfig{Path: d.Path, ReadOnly: d.ReadOnly, ID: d.ID, Bandwidth: Size(d.Bandwidth), IOPS: d.IOPS})
	}
	for _, n := range c.Nets {
		nc := NetConfig{Tap: n.Tap, Bandwidth: Size(n.Bandwidth), PPS: n.PPS}
		if n.User != nil {
			nc.User = &UserNetwork{Forwards: n.User.Forwards}
		}
		if n.MAC != nil {
			nc.MAC = n.MAC.String()
		}
		w.Nets = append(w.Nets, nc)
	}
	for _, sh := range c.Shares {
		w.Shares = append(w.Shares, ShareConfig(sh))
	}
	return w
}

// Config returns the vmm.Config w describes, with the defaults for what it
// leaves out (vmm.DefaultMemory, 1 vCPU, the entropy device). It checks
// only what the wire form can get wrong (a MAC); vmm.Config.Validate does
// the rest.
func (w VMConfig) Config() (vmm.Config, error) {
	c := vmm.Config{Kernel: w.Kernel, Initrd: w.Initrd, Cmdline: w.Cmdline, Memory: uint64(w.Memory), CPUs: w.CPUs}
	if c.Memory == 0 {
		c.Memory = vmm.DefaultMemory
	}
	if c.CPUs == 0 {
		c.CPUs = 1
	}
	c.RNG = w.RNG == nil || *w.RNG
	c.RNGRate = uint64(w.RNGRate)
	if c.RNGRate != 0 && !c.RNG {
		return c, fmt.Errorf("rng_rate %d with rng false: there is no entropy device to limit; drop one of them", c.RNGRate)
	}
	c.NoACPI = w.ACPI != nil && !*w.ACPI
	c.NoVirtioCmdline = w.VirtioCmdline != nil && !*w.VirtioCmdline
	c.KSM = w.KSM
	if w.Vsock != nil {
		c.Vsock = &vmm.VsockConfig{CID: w.Vsock.CID, Path: w.Vsock.Path}
	}
	for _, d := range w.Disks {
		c.Disks = append(c.Disks, vmm.DiskConfig{Path: d.Path, ReadOnly: d.ReadOnly, ID: d.ID, Bandwidth: uint64(d.Bandwidth), IOPS: d.IOPS})
	}
	for _, n := range w.Nets {
		nc := vmm.NetConfig{Tap: n.Tap, Bandwidth: uint64(n.Bandwidth), PPS: n.PPS}
		if n.User != nil {
			nc.User = &vmm.UserNet{}
			for _, f := range n.User.Forwards {
				f.HostAddr = f.Host().Addr() // the default written out
				nc.User.Forwards = append(nc.User.Forwards, f)
			}
		}
		if n.MAC != "" {
			mac, err := net.ParseMAC(n.MAC)
			if err != nil || len(mac) != 6 {
				return c, fmt.Errorf("net %s: bad MAC address %q (use e.g. 02:00:00:00:00:01)", nc, n.MAC)
			}
			nc.MAC = mac
		}
		c.Nets = append(c.Nets, nc)
	}
	for _, sh := range w.Shares {
		c.Shares = append(c.Shares, vmm.ShareConfig(sh))
	}
	return c, nil
}

// maxConfigFile bounds a VM config file.
const maxConfigFile = 1 << 20

// ReadConfigFile reads a VM config file: one VMConfig object, parsed
// strictly (an unknown field is an error naming it).
func ReadConfigFile(path string) (VMConfig, error) {
	var w VMConfig
	b, err := os.ReadFile(path)
	if err != nil {
		return w, fmt.Errorf("config %s: %w", path, err)
	}
	if len(b) > maxConfigFile {
		return w, fmt.Errorf("config %s: larger than %d KiB: not a VM config file", path, maxConfigFile>>10)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return w, fmt.Errorf("config %s: %w (docs/api.yaml, VMConfig, says what it holds)", path, err)
	}
	if dec.More() {
		return w, fmt.Errorf("config %s: data after the config object", path)
	}
	return w, nil
}
