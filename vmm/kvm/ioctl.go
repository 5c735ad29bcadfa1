package kvm

// ioctl numbers from linux/kvm.h (x86-64), checked with a C program against
// the installed headers.
const (
	ioGetAPIVersion       = 0xae00
	ioCreateVM            = 0xae01
	ioGetMSRIndexList     = 0xc004ae02
	ioCheckExtension      = 0xae03
	ioGetVCPUMmapSize     = 0xae04
	ioGetSupportedCPUID   = 0xc008ae05
	ioCreateVCPU          = 0xae41
	ioSetUserMemoryRegion = 0x4020ae46
	ioSetTSSAddr          = 0xae47
	ioSetIdentityMapAddr  = 0x4008ae48
	ioCreateIRQChip       = 0xae60
	ioIRQLine             = 0x4008ae61
	ioIRQFD               = 0x4020ae76
	ioCreatePIT2          = 0x4040ae77
	ioIOEventFD           = 0x4040ae79
	ioRun                 = 0xae80
	ioGetRegs             = 0x8090ae81
	ioSetRegs             = 0x4090ae82
	ioGetSregs            = 0x8138ae83
	ioSetSregs            = 0x4138ae84
	ioGetMSRs             = 0xc008ae88
	ioSetMSRs             = 0x4008ae89
	ioSetCPUID2           = 0x4008ae90
	ioGetFPU              = 0x81a0ae8c
	ioSetFPU              = 0x41a0ae8d
	ioGetLAPIC            = 0x8400ae8e
	ioSetLAPIC            = 0x4400ae8f
	ioGetMPState          = 0x8004ae98
	ioSetMPState          = 0x4004ae99
)

// Capabilities (KVM_CAP_*) that ember checks.
const (
	CapIRQChip          = 0
	CapHLT              = 1
	CapUserMemory       = 3
	CapSetTSSAddr       = 4
	CapExtCPUID         = 7
	CapNrVCPUs          = 9
	CapNrMemslots       = 10
	CapMPState          = 14
	CapIRQRouting       = 25
	CapIRQFD            = 32
	CapPIT2             = 33
	CapIOEventFD        = 36
	CapSetIdentityMap   = 37
	CapAdjustClock      = 39
	CapVCPUEvents       = 41
	CapXSave            = 55
	CapXCRs             = 56
	CapMaxVCPUs         = 66
	CapTSCDeadlineTimer = 72
	CapKVMClockCtrl     = 76
	CapImmediateExit    = 136
)

// Exit reasons (KVM_EXIT_*).
const (
	exitUnknown       = 0
	exitException     = 1
	exitIO            = 2
	exitHypercall     = 3
	exitDebug         = 4
	exitHLT           = 5
	exitMMIO          = 6
	exitIRQWindowOpen = 7
	exitShutdown      = 8
	exitFailEntry     = 9
	exitIntr          = 10
	exitInternalError = 17
	exitSystemEvent   = 24
)

// kvm_run field offsets (x86-64).
const (
	runImmediateExit = 1
	runExitReason    = 8
	runUnion         = 32 // start of the exit-specific union
	runSize          = 0x930
)

const (
	ioeventfdFlagDatamatch = 1 << 0
	ioeventfdFlagPIO       = 1 << 1
	ioeventfdFlagDeassign  = 1 << 2

	pitSpeakerDummy = 1
)
