package vmm

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/embervm/ember/boot"
	"github.com/embervm/ember/devices/i8042"
	"github.com/embervm/ember/devices/pm"
	"github.com/embervm/ember/devices/pvpanic"
	"github.com/embervm/ember/devices/rtc"
	"github.com/embervm/ember/devices/serial"
	"github.com/embervm/ember/guestmem"
	"github.com/embervm/ember/vmm/console"
	"github.com/embervm/ember/vmm/kvm"
)

// Fixed guest-physical and port addresses of the machine.
const (
	tssAddr         = 0xfffbd000 // 3 pages for Intel VMX's real-mode TSS
	identityMapAddr = 0xfffbc000 // 1 page for Intel VMX's identity map
	com1Port        = 0x3f8
	com1IRQ         = 4
	postPort        = 0x80 // POST/io_delay port: writes are ignored
)

// IO connects a VM to the outside world.
type IO struct {
	ConsoleOut io.Writer    // serial output (io.Discard for none)
	ConsoleIn  io.Reader    // serial input, or nil
	Log        *slog.Logger // VMM diagnostics, or nil
	// VsockPath, if set, is where a restored VM's vsock device listens
	// instead of the socket it was saved with: a detached VM's is in its
	// own state directory. New ignores it (the Config says).
	VsockPath string
	// Nets, if set, are a restored VM's network interfaces in place of
	// the saved ones: the same interfaces (kind, tap, MAC), whose user-mode
	// networks may forward other ports and bring the frame sockets of
	// their fresh ember netd. New ignores it (the Config says).
	Nets []NetConfig
}

// Capability is a KVM capability ember checks for (ember probe lists them).
type Capability struct {
	Cap      int
	Name     string
	Required bool // ember cannot run a VM without it
}

// Capabilities are the KVM capabilities ember uses: the required ones
// first. The one list: New checks it, ember probe prints it.
var Capabilities = []Capability{
	{kvm.CapIRQChip, "in-kernel irqchip", true},
	{kvm.CapUserMemory, "user memory regions", true},
	{kvm.CapSetTSSAddr, "KVM_SET_TSS_ADDR", true},
	{kvm.CapExtCPUID, "KVM_GET_SUPPORTED_CPUID", true},
	{kvm.CapPIT2, "in-kernel PIT", true},
	{kvm.CapIRQFD, "irqfd", true},
	{kvm.CapIOEventFD, "ioeventfd", true},
	{kvm.CapImmediateExit, "immediate_exit", true},
	{kvm.CapTSCDeadlineTimer, "TSC deadline timer", false},
	{kvm.CapAdjustClock, "adjust-clock", false},
	{kvm.CapKVMClockCtrl, "kvmclock-ctrl", false},
	{kvm.CapVCPUEvents, "vcpu-events", false},
	{kvm.CapXSave, "xsave", false},
	{kvm.CapXCRs, "xcrs", false},
	{kvm.CapMPState, "mp-state", false},
}

// New builds a VM from cfg, ready to Run. It validates cfg first, so a
// user's mistake fails before /dev/kvm is touched.
func New(cfg Config, io IO) (_ *VM, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v := &VM{cfg: cfg, log: io.Log, input: io.ConsoleIn}
	defer func() {
		if err != nil {
			v.Close()
		}
	}()
	mem, err := guestmem.New(cfg.Memory)
	if err != nil {
		return nil, err
	}
	v.mem = mem
	if cfg.KSM {
		if err := mem.EnableKSM(); err != nil {
			return nil, err
		}
	}
	// Two slow steps run beside the others, in goroutines of their own:
	// loading the kernel and initrd (needs guest memory but no KVM), and
	// registering guest memory with KVM (needs the VM only; on kvm_pvm
	// KVM_SET_USER_MEMORY_REGION takes about 4 ms per 256 MiB). New waits
	// for both whatever happens: they use guest memory, which Close unmaps.
	tables, err := cfg.acpiTables()
	if err != nil {
		return nil, err
	}
	var entry *boot.Entry
	var background []<-chan error
	background = append(background, async(func() (err error) {
		entry, err = boot.Load(mem, boot.Config{
			Kernel: cfg.Kernel, Initrd: cfg.Initrd, Cmdline: cfg.fullCmdline(), CPUs: cfg.CPUs,
			ACPITables: tables,
		})
		return err
	}))
	steps := []func() error{
		v.openKVM,
		v.createVM,
		func() error { background = append(background, async(v.attachMemory)); return nil },
		func() error { return v.attachLegacyDevices(io.ConsoleOut) },
		v.attachVirtioDevices,
		v.createVCPUs,
	}
	var stepErr error
	for _, step := range steps {
		if stepErr = step(); stepErr != nil {
			break
		}
	}
	// Errors in step order: the KVM set-up's, guest memory's, then the loader's.
	errs := []error{stepErr}
	for i := len(background) - 1; i >= 0; i-- {
		errs = append(errs, <-background[i])
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if err := setBootRegisters(v.vcpus[0].VCPU, entry); err != nil {
		return nil, fmt.Errorf("boot vcpu registers: %w", err)
	}
	v.Created = time.Now()
	return v, nil
}

func (v *VM) openKVM() error {
	sys, err := kvm.Open()
	if err != nil {
		return err
	}
	v.sys = sys
	for _, c := range Capabilities {
		if c.Required && sys.CheckExtension(c.Cap) == 0 {
			return fmt.Errorf("%s lacks %s (KVM capability %d), which ember needs", kvm.DevicePath, c.Name, c.Cap)
		}
	}
	if max := sys.CheckExtension(kvm.CapMaxVCPUs); max > 0 && v.cfg.CPUs > max {
		return fmt.Errorf("cpus %d: this host's KVM allows at most %d vCPUs per VM", v.cfg.CPUs, max)
	}
	return nil
}

func (v *VM) createVM() error {
	vm, err := v.sys.CreateVM()
	if err != nil {
		return err
	}
	v.vm = vm
	if err := vm.SetTSSAddr(tssAddr); err != nil {
		return err
	}
	if err := vm.SetIdentityMapAddr(identityMapAddr); err != nil {
		return err
	}
	if err := vm.CreateIRQChip(); err != nil {
		return err
	}
	return vm.CreatePIT2()
}

// attachMemory registers the guest memory (mapped by New) with KVM.
func (v *VM) attachMemory() error {
	for i, r := range v.mem.Regions() {
		if err := v.vm.SetUserMemoryRegion(uint32(i), uint64(r.GPA), r.Host); err != nil {
			return err
		}
	}
	return nil
}

// attachLegacyDevices adds the devices every guest gets: COM1, the i8042
// (whose reset line ends the VM), the CMOS clock, the ACPI power
// management ports and power button, the pvpanic port, a sink for the
// POST port, the boot timer and the guest exit register. The ACPI ones are there even with
// NoACPI (nothing tells the guest of them then), so a snapshot's machine
// does not depend on the option.
func (v *VM) attachLegacyDevices(out io.Writer) error {
	irq, err := newIRQLine(v.vm, com1IRQ)
	if err != nil {
		return err
	}
	v.closers = append(v.closers, irq)
	if out != io.Discard {
		// The UART's output leaves one byte per guest exit: batch it.
		v.console = console.NewBatcher(out, console.DefaultLinger)
		v.closers = append(v.closers, v.console)
		out = v.console
	}
	v.serial = serial.New(out, irq)
	kbd := i8042.New(func() { v.stop(ExitReset, nil) })
	v.kbd = kbd
	v.rtc = rtc.New()
	ged, err := newIRQLine(v.vm, gedGSI)
	if err != nil {
		return err
	}
	v.closers = append(v.closers, ged)
	v.powerButton = ged
	power := pm.New(func() { v.stop(ExitPoweroff, nil) }, func() { v.stop(ExitReset, nil) })
	panics := pvpanic.New(func() { v.stop(ExitPanic, nil) },
		func() { v.logOnce[2].Do(func() { v.logf("the guest loaded a crash kernel (pvpanic)") }) })
	for _, d := range []struct {
		name       string
		base, size uint64
		dev        interface {
			Read(uint64, []byte)
			Write(uint64, []byte)
		}
	}{
		{"com1", com1Port, 8, v.serial},
		{"i8042-data", i8042.DataPortAddr, 1, kbd.DataPort()},
		{"i8042-cmd", i8042.CommandPortAddr, 1, kbd.CommandPort()},
		{"rtc", rtc.IndexPort, rtc.PortSize, v.rtc},
		{"acpi-pm", pmPort, pm.Size, power},
		{"pvpanic", pvpanic.Port, 1, panics},
		{"post", postPort, 1, sink{}},
	} {
		if err := v.pio.Register(d.name, d.base, d.size, d.dev); err != nil {
			return err
		}
	}
	if err := v.mmio.Register("boot-timer", BootTimerAddr, 1, &v.timer); err != nil {
		return err
	}
	v.guestExit.onExit = func() { v.stop(ExitGuestStatus, nil) }
	return v.mmio.Register("guest-exit", GuestExitAddr, GuestExitSize, &v.guestExit)
}

// async runs fn in a goroutine; the channel yields its result.
func async(fn func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- fn() }()
	return ch
}

// sink is a device that ignores writes and reads as zero.
type sink struct{}

func (sink) Read(_ uint64, p []byte) { clear(p) }
func (sink) Write(uint64, []byte)    {}

func (v *VM) createVCPUs() error {
	supported, err := v.sys.SupportedCPUID()
	if err != nil {
		return err
	}
	tscDeadline := v.sys.CheckExtension(kvm.CapTSCDeadlineTimer) != 0
	for i := 0; i < v.cfg.CPUs; i++ {
		c, err := v.vm.CreateVCPU(i)
		if err != nil {
			return err
		}
		cpuid := guestCPUID(supported, i, v.cfg.CPUs, tscDeadline)
		v.vcpus = append(v.vcpus, &vcpu{VCPU: c, cpuid: cpuid})
		if err := c.SetCPUID(cpuid); err != nil {
			return err
		}
		if err := c.SetMSRs(bootMSRs()); err != nil {
			return err
		}
		if err := setupFPU(c); err != nil {
			return err
		}
		if err := setupLINTs(c); err != nil {
			return err
		}
	}
	return nil
}
