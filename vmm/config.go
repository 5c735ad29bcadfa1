package vmm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/embervm/ember/boot"
	"github.com/embervm/ember/internal/userfile"
)

// Memory limits.
const (
	MinMemory     = 32 << 20
	MaxMemory     = 64 << 30
	DefaultMemory = 256 << 20
)

// DefaultCmdline is what ember puts before the user's --cmdline: the
// serial console, reboot through the keyboard controller (the only reset
// path our machine has), an immediate reboot on panic so a crashed guest
// never lingers, and a quiet kernel. Each byte the kernel prints costs two
// exits (LSR, THR): in the test host its 8 KB boot log took 1.7 s of a 5.5 s
// boot. Warnings and panics still print; add loglevel=7 to see everything.
// 8250.nr_uarts=1: the machine has one UART, so the kernel does not probe
// COM2-4 (ports the VMM does not handle). The i8042 options tell a kernel
// with the i8042 driver (a distribution's) that there is no aux port, no
// multiplexer and a keyboard that does not answer commands: Debian's
// kernel otherwise waited out the timeouts of probing them, 6.4 s in the
// test host. Unlike Firecracker we leave out i8042.nopnp: under
// hardware-reduced ACPI, ISA IRQ 1 exists for the kernel only through the
// keyboard's ACPI description (without it the driver fails with EINVAL).
// pci=off: the machine has no PCI, so a kernel with PCI support does not
// probe the config space ports (it still logs "PCI: Fatal: No config space
// access function found").
const DefaultCmdline = "console=ttyS0 reboot=k panic=-1 quiet 8250.nr_uarts=1 " +
	"i8042.noaux i8042.nomux i8042.dumbkbd pci=off"

// Config describes one VM. The CLI maps flags onto it; nothing else does.
type Config struct {
	Kernel  string // bzImage or ELF vmlinux (PVH)
	Initrd  string // optional
	Cmdline string // appended to DefaultCmdline
	Memory  uint64 // bytes
	CPUs    int
	Devices // virtio devices (devices.go)

	// NoACPI leaves out the ACPI tables (acpi.go); kernels then find the
	// machine through the MP table and the command line.
	NoACPI bool
	// NoVirtioCmdline leaves out the virtio_mmio.device= parameters. With
	// ACPI on, a kernel that has both ACPI and
	// CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES otherwise sees each device twice
	// (the second probe fails with EBUSY, harmlessly).
	NoVirtioCmdline bool
	// KSM offers guest RAM to the host's kernel samepage merging. Off by
	// default: merged pages let one VM time another's memory contents.
	KSM bool
}

// Validate checks the config before anything is created, so a user's
// mistake is reported in one line naming the thing and the fix.
func (c *Config) Validate() error {
	if c.Kernel == "" {
		return errors.New("no kernel: pass --kernel PATH (a bzImage or an ELF vmlinux)")
	}
	if err := checkReadable("kernel", c.Kernel, false); err != nil {
		return err
	}
	if c.Initrd != "" {
		if err := checkReadable("initrd", c.Initrd, false); err != nil {
			return err
		}
	}
	if c.Memory < MinMemory || c.Memory > MaxMemory {
		return fmt.Errorf("memory %s: must be between %s and %s", FormatSize(c.Memory), FormatSize(MinMemory), FormatSize(MaxMemory))
	}
	if c.Memory%(2<<20) != 0 {
		return fmt.Errorf("memory %s: must be a multiple of 2 MiB", FormatSize(c.Memory))
	}
	if c.CPUs < 1 || c.CPUs > boot.MaxCPUs {
		return fmt.Errorf("cpus %d: must be between 1 and %d", c.CPUs, boot.MaxCPUs)
	}
	if c.NoACPI && c.NoVirtioCmdline && len(c.Devices.plan()) > 0 {
		return errors.New("--acpi=false with --virtio-cmdline=false: the guest would have no way to find its virtio devices; keep one of them")
	}
	return c.Devices.validate()
}

// fullCmdline returns the kernel command line the guest gets: the
// defaults, the parameters announcing devices, then the user's.
func (c *Config) fullCmdline() string {
	parts := []string{DefaultCmdline}
	boottimer := fmt.Sprintf("ember.boottimer=%#x ember.exit=%#x", BootTimerAddr, GuestExitAddr)
	var devices string
	if !c.NoVirtioCmdline {
		devices = c.Devices.cmdline()
	}
	for _, p := range []string{boottimer, devices, c.Cmdline} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " ")
}

func checkDisk(d DiskConfig) error {
	if d.Path == "" {
		return errors.New("--disk: empty path")
	}
	if err := checkReadable("disk", d.Path, true); err != nil {
		return err
	}
	if !d.ReadOnly {
		if err := unix.Access(d.Path, unix.W_OK); err != nil {
			return fmt.Errorf("disk %s: not writable (%v): fix its permissions or add ,ro for a read-only disk", d.Path, err)
		}
	}
	if len(d.ID) > 20 {
		return fmt.Errorf("disk %s: id %q is longer than 20 bytes", d.Path, d.ID)
	}
	return nil
}

// checkReadable checks that path is a readable, non-empty regular file (or
// block device, if allowed), without blocking on a FIFO (userfile.Open).
func checkReadable(what, path string, allowBlockDevice bool) error {
	f, err := userfile.Open(what, path, os.O_RDONLY, allowBlockDevice)
	if err != nil {
		switch {
		case errors.Is(err, userfile.ErrNotRegular):
			return err
		case errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("%s %s: no such file (run 'make images' to build the default guest images)", what, path)
		case errors.Is(err, os.ErrPermission):
			return fmt.Errorf("%s %s: permission denied: make it readable by this user", what, path)
		}
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd) // a block device's size too
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	if size == 0 {
		return fmt.Errorf("%s %s: file is empty", what, path)
	}
	return nil
}

// ParseSize parses a memory size: a number with an optional K, M, G or T
// suffix (powers of 1024, optional trailing "iB" or "B"). A bare number is
// taken as MiB, like QEMU's -m.
func ParseSize(s string) (uint64, error) {
	t := strings.TrimSpace(strings.ToUpper(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := uint64(1 << 20)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult, t = 1<<10, t[:n-1]
		case 'M':
			mult, t = 1<<20, t[:n-1]
		case 'G':
			mult, t = 1<<30, t[:n-1]
		case 'T':
			mult, t = 1<<40, t[:n-1]
		}
	}
	v, err := strconv.ParseUint(t, 10, 64)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("bad size %q: use a number with a unit, e.g. 256M or 1G", s)
	}
	if v > (1<<64-1)/mult {
		return 0, fmt.Errorf("bad size %q: too large", s)
	}
	return v * mult, nil
}

// FormatSize formats a byte count with the largest exact binary unit.
func FormatSize(n uint64) string {
	switch {
	case n != 0 && n%(1<<30) == 0:
		return fmt.Sprintf("%dG", n>>30)
	case n != 0 && n%(1<<20) == 0:
		return fmt.Sprintf("%dM", n>>20)
	case n != 0 && n%(1<<10) == 0:
		return fmt.Sprintf("%dK", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
