package aml

import "encoding/binary"

// Resource is one resource descriptor of a _CRS buffer (ACPI 6.5 §6.4).
type Resource []byte

// Resource descriptor tags.
const (
	smallIRQ      = 0x22 // IRQ descriptor, 2-byte form (§6.4.2.1)
	smallIO       = 0x47 // I/O port descriptor (§6.4.2.5)
	smallEnd      = 0x79 // end tag (§6.4.2.9)
	largeMem32Fix = 0x86 // 32-bit fixed memory range (§6.4.3.4)
	largeExtIRQ   = 0x89 // extended interrupt (§6.4.3.6)
)

// IO describes length ports at base, 16-bit decoded.
func IO(base, length uint16) Resource {
	r := Resource{smallIO, 1, 0, 0, 0, 0, 1, byte(length)}
	binary.LittleEndian.PutUint16(r[2:], base)
	binary.LittleEndian.PutUint16(r[4:], base)
	return r
}

// IRQNoFlags describes ISA interrupt irq (0-15): edge triggered, active
// high, exclusive.
func IRQNoFlags(irq uint8) Resource {
	if irq > 15 {
		panic("aml: IRQNoFlags takes an ISA IRQ, 0 to 15")
	}
	r := Resource{smallIRQ, 0, 0}
	binary.LittleEndian.PutUint16(r[1:], 1<<irq)
	return r
}

// Memory32Fixed describes a read-write memory range.
func Memory32Fixed(base, length uint32) Resource {
	r := Resource{largeMem32Fix, 9, 0, 1}
	r = binary.LittleEndian.AppendUint32(r, base)
	return binary.LittleEndian.AppendUint32(r, length)
}

// Interrupt describes one edge-triggered, active-high, exclusive GSI the
// device consumes: Interrupt(ResourceConsumer, Edge, ActiveHigh,
// Exclusive) { gsi }.
func Interrupt(gsi uint32) Resource {
	const consumer, edge = 1 << 0, 1 << 1
	r := Resource{largeExtIRQ, 6, 0, consumer | edge, 1}
	return binary.LittleEndian.AppendUint32(r, gsi)
}

// ResourceTemplate encodes a _CRS buffer: the descriptors and an end tag
// (checksum 0: "treat as correct").
func ResourceTemplate(rs ...Resource) Term {
	var b []byte
	for _, r := range rs {
		b = append(b, r...)
	}
	return Buffer(append(b, smallEnd, 0))
}
