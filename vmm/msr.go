package vmm

import "github.com/embervm/ember/vmm/kvm"

// MSR indices (Intel SDM vol. 4).
const (
	msrIA32SysenterCS  = 0x174
	msrIA32SysenterESP = 0x175
	msrIA32SysenterEIP = 0x176
	msrIA32MiscEnable  = 0x1a0
	msrMTRRDefType     = 0x2ff
	msrSTAR            = 0xc0000081
	msrLSTAR           = 0xc0000082
	msrCSTAR           = 0xc0000083
	msrSyscallMask     = 0xc0000084
	msrKernelGSBase    = 0xc0000102

	miscEnableFastStrings = 1 << 0
	mtrrEnable            = 1 << 11
	mtrrTypeWB            = 6
)

// bootMSRs is the MSR state of a vCPU at power-on, as a firmware would
// leave it: syscall MSRs cleared, fast strings on, MTRRs enabled with
// write-back as the default memory type. The TSC is left alone: KVM starts
// every vCPU's TSC in sync, and writing it per vCPU at different moments
// would make the guest mark the TSC unstable.
func bootMSRs() []kvm.MSR {
	idx := []uint32{msrIA32SysenterCS, msrIA32SysenterESP, msrIA32SysenterEIP,
		msrSTAR, msrLSTAR, msrCSTAR, msrSyscallMask, msrKernelGSBase}
	msrs := make([]kvm.MSR, 0, len(idx)+2)
	for _, i := range idx {
		msrs = append(msrs, kvm.MSR{Index: i})
	}
	return append(msrs,
		kvm.MSR{Index: msrIA32MiscEnable, Data: miscEnableFastStrings},
		kvm.MSR{Index: msrMTRRDefType, Data: mtrrEnable | mtrrTypeWB},
	)
}
