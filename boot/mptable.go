package boot

import (
	"encoding/binary"
	"fmt"

	"github.com/embervm/ember/guestmem"
)

// Intel MultiProcessor Specification 1.4, chapter 4 ("MP Configuration
// Table"). The floating pointer sits at the start of the last KiB of base
// memory (§4: "within the first kilobyte of the EBDA" / "the last kilobyte
// of system base memory"), where Linux's smp_scan_config looks; the
// configuration table follows it directly.
const (
	mpFloatSize  = 16 // §4.1, MP Floating Pointer Structure
	mpHeaderSize = 44 // §4.2, MP Configuration Table Header
	mpCPUSize    = 20 // §4.3.1, Processor Entry
	mpEntrySize  = 8  // §4.3.2-4.3.5: bus, I/O APIC, I/O and local interrupt entries
	mpSpecRev    = 4  // spec revision 1.4

	// Entry types (Table 4-3).
	mpProcessor = 0
	mpBus       = 1
	mpIOAPIC    = 2
	mpIOIntr    = 3
	mpLocalIntr = 4

	// Interrupt types (Table 4-10).
	mpIntINT    = 0
	mpIntNMI    = 1
	mpIntExtINT = 3

	mpCPUEnabled = 1 << 0 // CPU flags EN
	mpCPUBSP     = 1 << 1 // CPU flags BP

	apicVersion   = 0x14 // integrated local xAPIC
	ioapicVersion = 0x11
	ioapicEnabled = 1
	isaBusID      = 0
	ioapicPins    = 24 // KVM's in-kernel IOAPIC: GSI n is pin n

	// CPU signature (family 6) and feature flags (FPU, APIC: CPUID.1:EDX)
	// for the processor entries; Linux only logs them.
	cpuSignature = 6 << 8
	cpuFeatures  = 1<<0 | 1<<9
)

// Where the local APICs and the I/O APIC are (the MP table and the ACPI
// MADT say so).
const (
	LAPICAddr  = 0xfee00000
	IOAPICAddr = 0xfec00000
)

// mpTableSize returns the bytes the floating pointer plus the configuration
// table take for cpus processors.
func mpTableSize(cpus int) int {
	return mpFloatSize + mpHeaderSize + cpus*mpCPUSize +
		mpEntrySize*(1+1+ioapicPins+2) // bus, I/O APIC, pins, 2 local interrupts
}

// mpTableSizeMax is mpTableSize(MaxCPUs) as a constant, for the layout
// check in layout.go.
const mpTableSizeMax = mpFloatSize + mpHeaderSize + MaxCPUs*mpCPUSize + mpEntrySize*(1+1+ioapicPins+2)

// checksum returns the byte that makes b sum to zero.
func checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return -s
}

// buildMPTable returns the MP table for cpus processors, to be placed at
// mpTableGPA.
func buildMPTable(cpus int) []byte {
	le := binary.LittleEndian
	b := make([]byte, mpTableSize(cpus))
	cfgGPA := uint32(mpTableGPA) + mpFloatSize

	// Configuration table entries.
	e := b[mpFloatSize+mpHeaderSize:]
	for i := range cpus {
		flags := byte(mpCPUEnabled)
		if i == 0 {
			flags |= mpCPUBSP
		}
		e[0], e[1], e[2], e[3] = mpProcessor, byte(i), apicVersion, flags
		le.PutUint32(e[4:], cpuSignature)
		le.PutUint32(e[8:], cpuFeatures)
		e = e[mpCPUSize:]
	}
	e[0], e[1] = mpBus, isaBusID
	copy(e[2:8], "ISA   ")
	e = e[mpEntrySize:]
	ioapicID := IOAPICID(cpus)
	e[0], e[1], e[2], e[3] = mpIOAPIC, ioapicID, ioapicVersion, ioapicEnabled
	le.PutUint32(e[4:], IOAPICAddr)
	e = e[mpEntrySize:]
	for pin := range ioapicPins {
		// Flags 0: polarity and trigger conform to the bus (ISA: active
		// high, edge).
		e[0], e[1] = mpIOIntr, mpIntINT
		e[4], e[5], e[6], e[7] = isaBusID, byte(pin), ioapicID, byte(pin)
		e = e[mpEntrySize:]
	}
	// ExtINT to LINT0 and NMI to LINT1 of every local APIC (0xff).
	e[0], e[1], e[4], e[5], e[6], e[7] = mpLocalIntr, mpIntExtINT, isaBusID, 0, 0xff, 0
	e = e[mpEntrySize:]
	e[0], e[1], e[4], e[5], e[6], e[7] = mpLocalIntr, mpIntNMI, isaBusID, 0, 0xff, 1

	// Configuration table header (§4.2).
	h := b[mpFloatSize:]
	copy(h[0:4], "PCMP")
	le.PutUint16(h[4:], uint16(len(h)))
	h[6] = mpSpecRev
	copy(h[8:16], "EMBER   ")
	copy(h[16:28], "EMBERVM     ")
	le.PutUint16(h[34:], uint16(cpus+1+1+ioapicPins+2))
	le.PutUint32(h[36:], LAPICAddr)
	h[7] = checksum(h)

	// Floating pointer (§4.1). Feature bytes 0: a configuration table is
	// present, no IMCR (virtual wire mode).
	f := b[:mpFloatSize]
	copy(f[0:4], "_MP_")
	le.PutUint32(f[4:], cfgGPA)
	f[8] = 1 // length in 16-byte units
	f[9] = mpSpecRev
	f[10] = checksum(f)
	return b
}

// IOAPICID is the I/O APIC's ID on a machine with cpus processors: the
// first after the local APICs' IDs 0 to cpus-1.
func IOAPICID(cpus int) uint8 { return uint8(cpus) }

// writeMPTable writes the MP table for cpus processors.
func writeMPTable(mem *guestmem.Memory, cpus int) error {
	if _, err := mem.WriteAt(buildMPTable(cpus), int64(mpTableGPA)); err != nil {
		return fmt.Errorf("write MP table at %#x: %w", mpTableGPA, err)
	}
	return nil
}
