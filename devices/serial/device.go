package serial

import (
	"io"
	"sync"
	"sync/atomic"
)

// Interrupt raises the UART's interrupt line. Trigger sends one edge;
// the VMM implements it with an irqfd or a KVM_IRQ_LINE pulse.
type Interrupt interface {
	Trigger() error
}

// Stats counts the device's traffic and failures.
type Stats struct {
	BytesOut     uint64 `json:"bytes_out"`     // THR bytes written to the output writer
	BytesIn      uint64 `json:"bytes_in"`      // host input bytes accepted into the RX FIFO
	OutputErrors uint64 `json:"output_errors"` // THR bytes dropped because the writer failed
	IRQErrors    uint64 `json:"irq_errors"`    // Interrupt.Trigger calls that failed
}

// Device is a 16550A UART. It implements bus.Device; see the package
// documentation for how to register it.
type Device struct {
	irq Interrupt // nil: interrupts are not delivered

	// outMu serialises writes to out. It is never held together with mu.
	outMu  sync.Mutex
	out    io.Writer
	outBuf [1]byte // guarded by outMu; avoids an allocation per byte

	// mu guards the register state below.
	mu          sync.Mutex
	ier         byte
	lcr         byte
	mcr         byte
	scr         byte
	dll, dlm    byte
	lsrErr      byte // sticky LSR error bits, cleared by reading LSR
	msrDelta    byte // MSR delta bits, cleared by reading MSR
	fifoOn      bool // FCR bit 0
	threPending bool // THR-empty interrupt pending (only reported if IER.THRI)
	intr        bool // level of the INTR output, for edge detection
	rx          fifo
	brk         int           // place of a queued break's byte in rx, 1 = top; 0: none (break.go)
	spaceWait   chan struct{} // closed when RX FIFO space frees; nil if no waiter

	bytesOut, bytesIn, outErrs, irqErrs atomic.Uint64
}

// New returns a UART in its power-on state that writes transmitted bytes
// to out (nil means io.Discard) and raises interrupts through irq (nil
// means none are delivered). out should not block for long: it runs on
// the vCPU that wrote THR. Write errors are counted and the byte dropped.
func New(out io.Writer, irq Interrupt) *Device {
	if out == nil {
		out = io.Discard
	}
	return &Device{
		out: out,
		irq: irq,
		dll: 0x0c, // 9600 baud with the standard 1.8432 MHz clock
	}
}

// Stats returns a snapshot of the device's counters.
func (d *Device) Stats() Stats {
	return Stats{
		BytesOut:     d.bytesOut.Load(),
		BytesIn:      d.bytesIn.Load(),
		OutputErrors: d.outErrs.Load(),
		IRQErrors:    d.irqErrs.Load(),
	}
}

// Read handles a guest read of len(data) bytes at register offset off.
// Only 1-byte reads of registers 0-7 are meaningful; any other access
// reads as all-ones and has no side effect.
func (d *Device) Read(off uint64, data []byte) {
	if len(data) != 1 || off >= Size {
		for i := range data {
			data[i] = 0xff
		}
		return
	}
	d.mu.Lock()
	data[0] = d.readReg(off)
	rising := d.updateIntr()
	d.mu.Unlock()
	d.raise(rising)
}

// Write handles a guest write of data at register offset off. Only
// 1-byte writes of registers 0-7 are meaningful; others are ignored,
// as are writes to the read-only LSR and MSR.
func (d *Device) Write(off uint64, data []byte) {
	if len(data) != 1 || off >= Size {
		return
	}
	v := data[0]
	d.mu.Lock()
	if off == regData && d.lcr&lcrDLAB == 0 {
		send := d.transmit(v)
		rising := d.updateIntr()
		d.mu.Unlock()
		if send {
			d.output(v)
		}
		d.raise(rising)
		return
	}
	d.writeReg(off, v)
	rising := d.updateIntr()
	d.mu.Unlock()
	d.raise(rising)
}

// readReg returns the value of register off and applies the read's side
// effects. d.mu must be held.
func (d *Device) readReg(off uint64) byte {
	dlab := d.lcr&lcrDLAB != 0
	switch off {
	case regData:
		if dlab {
			return d.dll
		}
		b, ok := d.rx.pop()
		if ok {
			d.breakPopped()
			d.wakeWriters()
		}
		return b
	case regIER:
		if dlab {
			return d.dlm
		}
		return d.ier
	case regIIR:
		id := d.pending()
		if id == iirTHRE {
			d.threPending = false // reading IIR acknowledges THRE
		}
		if d.fifoOn {
			id |= iirFIFOBits
		}
		return id
	case regLCR:
		return d.lcr
	case regMCR:
		return d.mcr
	case regLSR:
		v := byte(lsrTHRE|lsrTEMT) | d.lsrErr
		if d.rx.len() > 0 {
			v |= lsrDR
		}
		d.lsrErr = 0
		return v
	case regMSR:
		v := d.msrLines() | d.msrDelta
		d.msrDelta = 0
		return v
	default: // regScrat
		return d.scr
	}
}

// writeReg stores v into register off (any register but THR). d.mu must
// be held.
func (d *Device) writeReg(off uint64, v byte) {
	dlab := d.lcr&lcrDLAB != 0
	switch off {
	case regData: // only reached with DLAB set
		d.dll = v
	case regIER:
		if dlab {
			d.dlm = v
			return
		}
		d.setIER(v & ierValid)
	case regIIR: // FCR, whatever DLAB says
		// The other FCR bits act only together with FCR0 (PC16550D,
		// FCR description). Clearing FCR0 alone keeps received bytes,
		// unlike the chip: losing typed input helps no guest.
		d.fifoOn = v&fcrEnable != 0
		if v&(fcrEnable|fcrClearRX) == fcrEnable|fcrClearRX && d.rx.len() > 0 {
			d.rx.reset()
			d.brk, d.lsrErr = 0, d.lsrErr&^lsrBI
			d.wakeWriters()
		}
	case regLCR:
		d.lcr = v
	case regMCR:
		d.setMCR(v & mcrValid)
	case regScrat:
		d.scr = v
	}
	// LSR and MSR are read-only.
}

// transmit handles a THR write: it reports whether v goes to the output
// writer. The byte leaves THR at once, so THR empties again and raises
// a fresh THRE interrupt, as on real hardware. d.mu must be held.
func (d *Device) transmit(v byte) (send bool) {
	d.threPending = false
	d.updateIntr() // INTR drops if THRE was its only source
	d.threPending = true
	if d.mcr&mcrLoop == 0 {
		return true
	}
	if !d.rx.pushByte(v) {
		d.lsrErr |= lsrOE // FIFO full: the looped-back byte is lost
	}
	return false
}

// setIER writes IER. Enabling THRI while THR is empty (always, here)
// raises a THRE interrupt: Linux's 8250 driver depends on this both in
// its start-up "THRE test" and to start transmission. d.mu must be held.
func (d *Device) setIER(v byte) {
	switch old := d.ier; {
	case v&ierTHRI != 0 && old&ierTHRI == 0:
		d.threPending = true
	case v&ierTHRI == 0:
		d.threPending = false
	}
	d.ier = v
}

// setMCR writes MCR and records MSR deltas when loopback mode changes
// the modem status lines. d.mu must be held.
func (d *Device) setMCR(v byte) {
	before := d.msrLines()
	d.mcr = v
	after := d.msrLines()
	changed := before ^ after
	if changed&msrCTS != 0 {
		d.msrDelta |= msrDCTS
	}
	if changed&msrDSR != 0 {
		d.msrDelta |= msrDDSR
	}
	if changed&msrDCD != 0 {
		d.msrDelta |= msrDDCD
	}
	if before&msrRI != 0 && after&msrRI == 0 {
		d.msrDelta |= msrTERI
	}
}

// msrLines returns the modem status lines (MSR bits 4-7). In loopback
// mode they mirror the modem control outputs. d.mu must be held.
func (d *Device) msrLines() byte {
	if d.mcr&mcrLoop == 0 {
		return msrIdle
	}
	var v byte
	if d.mcr&mcrRTS != 0 {
		v |= msrCTS
	}
	if d.mcr&mcrDTR != 0 {
		v |= msrDSR
	}
	if d.mcr&mcrOUT1 != 0 {
		v |= msrRI
	}
	if d.mcr&mcrOUT2 != 0 {
		v |= msrDCD
	}
	return v
}

// pending returns the highest-priority enabled interrupt as an IIR
// value (iirNone if none). d.mu must be held.
func (d *Device) pending() byte {
	switch {
	case d.ier&ierRLSI != 0 && d.lsrErr != 0:
		return iirRLS
	case d.ier&ierRDI != 0 && d.rx.len() > 0:
		return iirRDA
	case d.ier&ierTHRI != 0 && d.threPending:
		return iirTHRE
	case d.ier&ierMSI != 0 && d.msrDelta != 0:
		return iirMS
	}
	return iirNone
}

// updateIntr recomputes the INTR level and reports a rising edge.
// d.mu must be held.
func (d *Device) updateIntr() (rising bool) {
	level := d.pending() != iirNone
	rising = level && !d.intr
	d.intr = level
	return rising
}

// raise sends an edge if rising. It runs without d.mu held.
func (d *Device) raise(rising bool) {
	if !rising || d.irq == nil {
		return
	}
	if err := d.irq.Trigger(); err != nil {
		d.irqErrs.Add(1)
	}
}

// output writes one transmitted byte to the output writer. It runs
// without d.mu held.
func (d *Device) output(v byte) {
	d.outMu.Lock()
	defer d.outMu.Unlock()
	d.outBuf[0] = v
	if n, err := d.out.Write(d.outBuf[:]); err != nil || n != 1 {
		d.outErrs.Add(1)
		return
	}
	d.bytesOut.Add(1)
}
