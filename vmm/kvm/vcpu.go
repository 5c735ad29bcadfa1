package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// VCPU is a KVM virtual CPU. Run must be called from one OS thread
// (runtime.LockOSThread); other methods are for setup while it is stopped.
type VCPU struct {
	ID  int
	fd  int
	run []byte // mmap'd struct kvm_run
}

// Close unmaps the run page and closes the vCPU fd.
func (c *VCPU) Close() error {
	err := unix.Munmap(c.run)
	if cerr := unix.Close(c.fd); err == nil {
		err = cerr
	}
	return err
}

// Run enters the guest until the next exit. EINTR and EAGAIN (a signal or
// immediate_exit) are reported as ExitInterrupted, not errors.
func (c *VCPU) Run() (Exit, error) {
	_, err := ioctl(c.fd, ioRun, 0)
	if err != nil {
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			return Exit{Kind: ExitInterrupted}, nil
		}
		return Exit{}, fmt.Errorf("KVM_RUN vcpu %d: %w", c.ID, err)
	}
	return decodeExit(c.run), nil
}

// SetImmediateExit sets kvm_run.immediate_exit: while set, KVM_RUN returns
// EINTR at once instead of entering the guest.
func (c *VCPU) SetImmediateExit(on bool) {
	var v byte
	if on {
		v = 1
	}
	c.run[runImmediateExit] = v
}

// Regs returns the general-purpose registers.
func (c *VCPU) Regs() (Regs, error) {
	var r Regs
	_, err := ioctlPtr(c.fd, ioGetRegs, &r)
	return r, wrap(err, "KVM_GET_REGS", c.ID)
}

// SetRegs sets the general-purpose registers.
func (c *VCPU) SetRegs(r Regs) error {
	_, err := ioctlPtr(c.fd, ioSetRegs, &r)
	return wrap(err, "KVM_SET_REGS", c.ID)
}

// Sregs returns the special registers.
func (c *VCPU) Sregs() (Sregs, error) {
	var s Sregs
	_, err := ioctlPtr(c.fd, ioGetSregs, &s)
	return s, wrap(err, "KVM_GET_SREGS", c.ID)
}

// SetSregs sets the special registers.
func (c *VCPU) SetSregs(s Sregs) error {
	_, err := ioctlPtr(c.fd, ioSetSregs, &s)
	return wrap(err, "KVM_SET_SREGS", c.ID)
}

// FPU returns the FPU state.
func (c *VCPU) FPU() (FPU, error) {
	var f FPU
	_, err := ioctlPtr(c.fd, ioGetFPU, &f)
	return f, wrap(err, "KVM_GET_FPU", c.ID)
}

// SetFPU sets the FPU state.
func (c *VCPU) SetFPU(f FPU) error {
	_, err := ioctlPtr(c.fd, ioSetFPU, &f)
	return wrap(err, "KVM_SET_FPU", c.ID)
}

// LAPIC returns the local APIC register page.
func (c *VCPU) LAPIC() (LAPIC, error) {
	var l LAPIC
	_, err := ioctlPtr(c.fd, ioGetLAPIC, &l)
	return l, wrap(err, "KVM_GET_LAPIC", c.ID)
}

// SetLAPIC sets the local APIC register page.
func (c *VCPU) SetLAPIC(l LAPIC) error {
	_, err := ioctlPtr(c.fd, ioSetLAPIC, &l)
	return wrap(err, "KVM_SET_LAPIC", c.ID)
}

// MPState returns the multiprocessing state (KVM_MP_STATE_*).
func (c *VCPU) MPState() (uint32, error) {
	var s uint32
	_, err := ioctlPtr(c.fd, ioGetMPState, &s)
	return s, wrap(err, "KVM_GET_MP_STATE", c.ID)
}

// SetMPState sets the multiprocessing state.
func (c *VCPU) SetMPState(s uint32) error {
	_, err := ioctlPtr(c.fd, ioSetMPState, &s)
	return wrap(err, "KVM_SET_MP_STATE", c.ID)
}

// SetCPUID sets the CPUID the guest sees (KVM_SET_CPUID2).
func (c *VCPU) SetCPUID(entries []CPUIDEntry) error {
	buf := alignedBuf(8 + 40*len(entries))
	binary.LittleEndian.PutUint32(buf, uint32(len(entries)))
	copy(buf[8:], bytesOf(entries))
	_, err := ioctlBuf(c.fd, ioSetCPUID2, buf)
	return wrap(err, "KVM_SET_CPUID2", c.ID)
}

// SetMSRs sets model-specific registers; all must be accepted.
func (c *VCPU) SetMSRs(msrs []MSR) error {
	if len(msrs) == 0 {
		return nil
	}
	buf := alignedBuf(8 + 16*len(msrs))
	binary.LittleEndian.PutUint32(buf, uint32(len(msrs)))
	copy(buf[8:], bytesOf(msrs))
	n, err := ioctlBuf(c.fd, ioSetMSRs, buf)
	if err != nil {
		return wrap(err, "KVM_SET_MSRS", c.ID)
	}
	if int(n) != len(msrs) {
		return fmt.Errorf("KVM_SET_MSRS vcpu %d: MSR %#x refused (%d of %d set)", c.ID, msrs[n].Index, n, len(msrs))
	}
	return nil
}

// MSRs reads the MSRs whose indices are given.
func (c *VCPU) MSRs(indices []uint32) ([]MSR, error) {
	msrs := make([]MSR, len(indices))
	for i, idx := range indices {
		msrs[i].Index = idx
	}
	buf := alignedBuf(8 + 16*len(msrs))
	binary.LittleEndian.PutUint32(buf, uint32(len(msrs)))
	copy(buf[8:], bytesOf(msrs))
	n, err := ioctlBuf(c.fd, ioGetMSRs, buf)
	if err != nil {
		return nil, wrap(err, "KVM_GET_MSRS", c.ID)
	}
	copy(msrs, sliceOf[MSR](buf[8:], len(msrs)))
	return msrs[:n], nil
}

func wrap(err error, what string, id int) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s vcpu %d: %w", what, id, err)
}
