package vmm

import "github.com/embervm/ember/vmm/kvm"

// CPUID bits ember adjusts (Intel SDM vol. 2A, CPUID; AMD APM vol. 3).
const (
	cpuid1ECXHypervisor  = 1 << 31
	cpuid1EDXHTT         = 1 << 28
	cpuid1ECXTSCDeadline = 1 << 24
	cpuid6ECXEPB         = 1 << 3 // energy perf bias: needs an MSR we do not emulate
)

// guestCPUID derives vCPU id's CPUID from KVM_GET_SUPPORTED_CPUID with a
// consistent topology: ncpus cores in one socket, one thread per core, APIC
// ID = vCPU index. The KVM paravirtual leaves (0x40000000..), which give
// the guest kvmclock, are passed through as KVM reports them.
//
// tscDeadline adds the TSC-deadline timer, which KVM emulates in its
// in-kernel LAPIC (KVM_CAP_TSC_DEADLINE_TIMER) but does not list in the
// supported CPUID: without it the guest must calibrate the LAPIC timer
// against the PIT, which fails under nested virtualization.
func guestCPUID(supported []kvm.CPUIDEntry, id, ncpus int, tscDeadline bool) []kvm.CPUIDEntry {
	out := make([]kvm.CPUIDEntry, len(supported))
	copy(out, supported)
	shift := uint32(0) // bits of APIC ID used for the core number
	for (1 << shift) < ncpus {
		shift++
	}
	for i := range out {
		e := &out[i]
		switch e.Function {
		case 1:
			e.EBX = e.EBX&0x0000ffff | uint32(id)<<24 | uint32(ncpus)<<16
			e.ECX |= cpuid1ECXHypervisor
			if tscDeadline {
				e.ECX |= cpuid1ECXTSCDeadline
			}
			if ncpus > 1 {
				e.EDX |= cpuid1EDXHTT
			} else {
				e.EDX &^= cpuid1EDXHTT
			}
		case 4:
			// Deterministic cache parameters: cores per package - 1 in
			// EAX[31:26], threads sharing this cache - 1 in EAX[25:14].
			e.EAX &= 0x3fff
			e.EAX |= uint32(ncpus-1) << 26
			if level := (e.EAX >> 5) & 7; level == 3 {
				e.EAX |= uint32(ncpus-1) << 14
			}
		case 6:
			e.ECX &^= cpuid6ECXEPB
		case 0xb, 0x1f:
			// Extended topology: subleaf 0 = SMT level, 1 = core level.
			e.EDX = uint32(id)
			switch e.Index {
			case 0:
				e.EAX, e.EBX, e.ECX = 0, 1, 1<<8
			case 1:
				e.EAX, e.EBX, e.ECX = shift, uint32(ncpus), 2<<8|1
			default:
				e.EAX, e.EBX, e.ECX = 0, 0, e.Index&0xff
			}
		case 0x80000008:
			// AMD: ECX[7:0] = number of cores - 1; ECX[15:12] = APIC ID size.
			e.ECX = e.ECX&^0xf0ff | uint32(ncpus-1) | shift<<12
		}
	}
	return out
}
