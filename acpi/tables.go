package acpi

import (
	"encoding/binary"
	"fmt"

	"github.com/embervm/ember/acpi/aml"
)

// OEM identity in every table header.
const (
	oemID       = "EMBER "
	oemTableID  = "EMBERVM "
	oemRevision = 1
	creatorID   = "EMBR"
	creatorRev  = 1
)

// Table sizes and revisions.
const (
	rsdpSize     = 36  // ACPI 2.0+ RSDP (§5.2.5.3)
	headerSize   = 36  // system description table header (§5.2.6)
	fadtSize     = 276 // FADT revision 6 (§5.2.9)
	fadtRevision = 6
	fadtMinor    = 5 // ACPI 6.5
	madtRevision = 5
	dsdtRevision = 2 // 64-bit integers in AML
	xsdtRevision = 1
)

// FADT flags (§5.2.9, Table 5.10) and IA-PC boot architecture flags
// (§5.2.9.3).
const (
	fadtWBINVD      = 1 << 0
	fadtPowerButton = 1 << 4 // the power button is a control-method device, not fixed hardware
	fadtSleepButton = 1 << 5 // no sleep button as fixed hardware
	fadtResetReg    = 1 << 10
	fadtHWReduced   = 1 << 20

	bootArch8042      = 1 << 1
	bootArchNoVGA     = 1 << 2
	bootArchNoMSI     = 1 << 3
	bootArchNoASPM    = 1 << 4
	bootArchNoCMOSRTC = 1 << 5
)

// Generic Address Structure address spaces (§5.2.3.2).
const (
	spaceSystemIO = 1
	accessByte    = 1
)

// MADT (§5.2.12).
const (
	madtPCATCompat  = 1 << 0 // dual 8259s are present (KVM's in-kernel PIC)
	madtLocalAPIC   = 0
	madtIOAPIC      = 1
	madtLocalNMI    = 4
	localAPICEnable = 1 << 0
	allProcessors   = 0xff
)

// Machine is what the tables describe.
type Machine struct {
	CPUs       int
	LAPICAddr  uint32
	IOAPICAddr uint32
	IOAPICID   uint8

	// The hardware-reduced sleep and reset registers (I/O ports).
	SleepControlPort uint16 // SLP_TYPx and SLP_EN are written here
	SleepStatusPort  uint16 // WAK_STS is read here
	ResetPort        uint16 // ResetValue is written here
	ResetValue       uint8
	SleepTypeS5      uint8 // the SLP_TYP of \_S5 (soft off) the sleep control register takes
	CenturyReg       uint8 // CMOS register index of the century, 0 for none
	Has8042          bool
	HasCMOSRTC       bool

	// Devices is the DSDT's \_SB_ scope: one aml.Device each.
	Devices []aml.Term
}

// Build lays out the tables from base (16-byte aligned, below 4 GiB): the
// RSDP at base, then the XSDT, FADT, MADT and DSDT. Linux finds the RSDP
// by scanning [0xe0000, 0x100000) or from the boot parameters.
func Build(base uint64, m Machine) ([]byte, error) {
	if base%16 != 0 || base >= 1<<32 {
		return nil, fmt.Errorf("acpi: base %#x: must be 16-byte aligned and below 4 GiB", base)
	}
	if m.CPUs < 1 || m.CPUs > 255 {
		return nil, fmt.Errorf("acpi: %d CPUs: must be 1 to 255", m.CPUs)
	}
	dsdt := table("DSDT", dsdtRevision, dsdtBody(m))
	madt := table("APIC", madtRevision, madtBody(m))
	// Offsets from base; every table 8-byte aligned.
	xsdtOff := align8(rsdpSize)
	fadtOff := align8(xsdtOff + headerSize + 2*8) // the XSDT lists the FADT and MADT
	madtOff := align8(fadtOff + fadtSize)
	dsdtOff := align8(madtOff + len(madt))
	end := dsdtOff + len(dsdt)

	b := make([]byte, end)
	fadt := table("FACP", fadtRevision, fadtBody(m, base+uint64(dsdtOff)))
	xsdt := table("XSDT", xsdtRevision, u64s(base+uint64(fadtOff), base+uint64(madtOff)))
	copy(b[xsdtOff:], xsdt)
	copy(b[fadtOff:], fadt)
	copy(b[madtOff:], madt)
	copy(b[dsdtOff:], dsdt)
	copy(b, rsdp(base+uint64(xsdtOff)))
	return b, nil
}

func align8(n int) int { return (n + 7) &^ 7 }

func u64s(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

// checksum returns the byte that makes b sum to zero.
func checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return -s
}

// table returns a system description table: the header, then body.
func table(sig string, rev byte, body []byte) []byte {
	le := binary.LittleEndian
	b := make([]byte, headerSize, headerSize+len(body))
	copy(b[0:4], sig)
	le.PutUint32(b[4:], uint32(headerSize+len(body)))
	b[8] = rev
	copy(b[10:16], oemID)
	copy(b[16:24], oemTableID)
	le.PutUint32(b[24:], oemRevision)
	copy(b[28:32], creatorID)
	le.PutUint32(b[32:], creatorRev)
	b = append(b, body...)
	b[9] = checksum(b)
	return b
}

// rsdp returns the Root System Description Pointer, revision 2 (ACPI 2.0+),
// pointing at the XSDT only.
func rsdp(xsdt uint64) []byte {
	b := make([]byte, rsdpSize)
	copy(b[0:8], "RSD PTR ")
	copy(b[9:15], oemID)
	b[15] = 2
	binary.LittleEndian.PutUint32(b[20:], rsdpSize)
	binary.LittleEndian.PutUint64(b[24:], xsdt)
	b[8] = checksum(b[:20])
	b[32] = checksum(b)
	return b
}

// gas writes a one-byte System I/O Generic Address Structure at b.
func gas(b []byte, port uint16) {
	b[0], b[1], b[2], b[3] = spaceSystemIO, 8, 0, accessByte
	binary.LittleEndian.PutUint64(b[4:], uint64(port))
}

// fadtBody returns the FADT after its header: hardware-reduced ACPI, so
// no PM1 blocks, GPEs, SCI or FACS; the sleep control and status
// registers carry S5 (poweroff) and the reset register reboots.
func fadtBody(m Machine, dsdt uint64) []byte {
	le := binary.LittleEndian
	b := make([]byte, fadtSize)
	le.PutUint32(b[40:], uint32(dsdt)) // DSDT (32-bit)
	b[108] = m.CenturyReg
	var arch uint16 = bootArchNoVGA | bootArchNoMSI | bootArchNoASPM
	if m.Has8042 {
		arch |= bootArch8042
	}
	if !m.HasCMOSRTC {
		arch |= bootArchNoCMOSRTC
	}
	le.PutUint16(b[109:], arch)
	le.PutUint32(b[112:], fadtWBINVD|fadtPowerButton|fadtSleepButton|fadtResetReg|fadtHWReduced)
	gas(b[116:], m.ResetPort)
	b[128] = m.ResetValue
	b[131] = fadtMinor
	le.PutUint64(b[140:], dsdt) // X_DSDT
	gas(b[244:], m.SleepControlPort)
	gas(b[256:], m.SleepStatusPort)
	copy(b[268:276], "EMBERVMM") // hypervisor vendor identity
	return b[headerSize:]
}

// madtBody returns the MADT after its header: a local APIC per vCPU
// (processor UID and APIC ID i), the I/O APIC with GSI base 0, and LINT1
// as NMI on every processor. ISA IRQs need no overrides: KVM's I/O APIC
// pin n is GSI n is ISA IRQ n.
func madtBody(m Machine) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, m.LAPICAddr)
	b = le.AppendUint32(b, madtPCATCompat)
	for i := range m.CPUs {
		b = append(b, madtLocalAPIC, 8, byte(i), byte(i))
		b = le.AppendUint32(b, localAPICEnable)
	}
	b = append(b, madtIOAPIC, 12, m.IOAPICID, 0)
	b = le.AppendUint32(b, m.IOAPICAddr)
	b = le.AppendUint32(b, 0) // GSI base
	// Flags 0: polarity and trigger conform to the bus.
	b = append(b, madtLocalNMI, 6, allProcessors, 0, 0, 1)
	return b
}

// dsdtBody returns the DSDT's AML: the _S5_ sleep state and the \_SB_
// scope with m's devices.
func dsdtBody(m Machine) []byte {
	return aml.List(
		aml.Name(`\_S5_`, aml.Package(aml.Int(uint64(m.SleepTypeS5)), aml.Int(0))),
		aml.Scope(`\_SB_`, m.Devices...),
	)
}
