package serial

// Standard placement of COM1 on a PC.
const (
	COM1Port = 0x3f8 // COM1 base I/O port
	COM1IRQ  = 4     // COM1's ISA interrupt line
	Size     = 8     // number of I/O ports a UART decodes
)

// RXFIFOSize is the receive FIFO depth. A real 16550A has 16 bytes; a
// deeper FIFO costs nothing here and means fewer interrupts per input
// burst. Linux's driver drains the FIFO while LSR.DR is set, so the
// depth is invisible to it, except to its size_fifo probe (256 bytes
// looped back, then counted), which runs only in kernels built with
// CONFIG_SERIAL_8250_16550A_VARIANTS (off in Debian's and ours): such a
// kernel counts 64 and names the port a U6_16550A, which differs from a
// 16550A in its 64-byte transmit load and its auto flow control (MCR
// bit 5, ignored here), both harmless for an emulated port.
const RXFIFOSize = 64

// Register offsets from the base port (PC16550D datasheet, Table II).
const (
	regData  = 0 // RBR (read) / THR (write); DLL when LCR.DLAB
	regIER   = 1 // interrupt enable; DLM when LCR.DLAB
	regIIR   = 2 // interrupt identification (read) / FCR (write)
	regLCR   = 3 // line control
	regMCR   = 4 // modem control
	regLSR   = 5 // line status
	regMSR   = 6 // modem status
	regScrat = 7 // scratch
)

// IER bits.
const (
	ierRDI   = 0x01 // received data available
	ierTHRI  = 0x02 // transmitter holding register empty
	ierRLSI  = 0x04 // receiver line status
	ierMSI   = 0x08 // modem status
	ierValid = 0x0f // bits a 16550A implements; Linux probes this
)

// IIR values, in priority order, and flag bits.
const (
	iirNone     = 0x01 // no interrupt pending
	iirRLS      = 0x06 // receiver line status
	iirRDA      = 0x04 // received data available
	iirTHRE     = 0x02 // THR empty
	iirMS       = 0x00 // modem status
	iirFIFOBits = 0xc0 // FIFOs enabled (FCR bit 0)
)

// FCR bits.
const (
	fcrEnable  = 0x01
	fcrClearRX = 0x02
)

// LCR bits.
const lcrDLAB = 0x80 // divisor latch access

// MCR bits.
const (
	mcrDTR   = 0x01
	mcrRTS   = 0x02
	mcrOUT1  = 0x04
	mcrOUT2  = 0x08
	mcrLoop  = 0x10
	mcrValid = 0x1f // bits a 16550A implements
)

// LSR bits.
const (
	lsrDR   = 0x01 // data ready
	lsrOE   = 0x02 // overrun error
	lsrTHRE = 0x20 // THR empty
	lsrTEMT = 0x40 // transmitter empty
)

// MSR bits: deltas in the low nibble, line states in the high one.
const (
	msrDCTS   = 0x01
	msrDDSR   = 0x02
	msrTERI   = 0x04 // trailing edge of RI
	msrDDCD   = 0x08
	msrDeltas = 0x0f
	msrCTS    = 0x10
	msrDSR    = 0x20
	msrRI     = 0x40
	msrDCD    = 0x80

	// msrIdle is what a connected host line reports: carrier, data set
	// ready and clear to send.
	msrIdle = msrDCD | msrDSR | msrCTS
)
