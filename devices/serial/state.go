package serial

import "fmt"

// State is the UART's register state and unread input, for snapshots.
// The JSON names are part of the snapshot format (docs/design.md).
type State struct {
	IER         byte   `json:"ier"`
	LCR         byte   `json:"lcr"`
	MCR         byte   `json:"mcr"`
	SCR         byte   `json:"scr"`
	DLL         byte   `json:"dll"`
	DLM         byte   `json:"dlm"`
	LSRErr      byte   `json:"lsr_errors"`
	MSRDelta    byte   `json:"msr_delta"`
	FIFOOn      bool   `json:"fifo_enabled"`
	THREPending bool   `json:"thre_pending"`
	Intr        bool   `json:"intr"`
	RX          []byte `json:"rx"`              // unread input, oldest first
	Break       int    `json:"break,omitempty"` // place of a queued break in RX, 1 = first; 0: none
}

// State returns the UART's state.
func (d *Device) State() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := State{
		IER: d.ier, LCR: d.lcr, MCR: d.mcr, SCR: d.scr, DLL: d.dll, DLM: d.dlm,
		LSRErr: d.lsrErr, MSRDelta: d.msrDelta, FIFOOn: d.fifoOn,
		THREPending: d.threPending, Intr: d.intr, RX: make([]byte, 0, d.rx.len()),
		Break: d.brk,
	}
	for i := 0; i < d.rx.n; i++ {
		s.RX = append(s.RX, d.rx.buf[(d.rx.head+i)%len(d.rx.buf)])
	}
	return s
}

// Restore puts the UART in state s. s comes from a file: values that no
// guest could have produced are refused and the device is left as it was.
// The interrupt line is not raised: the interrupt controllers' own restored
// state holds any edge that was pending.
func (d *Device) Restore(s State) error {
	switch {
	case len(s.RX) > RXFIFOSize:
		return fmt.Errorf("serial: restore: %d bytes of input, the FIFO holds %d", len(s.RX), RXFIFOSize)
	case s.Break < 0 || s.Break > len(s.RX):
		return fmt.Errorf("serial: restore: break at %d of %d input bytes", s.Break, len(s.RX))
	case s.IER&^ierValid != 0 || s.MCR&^mcrValid != 0:
		return fmt.Errorf("serial: restore: IER %#x or MCR %#x has unimplemented bits", s.IER, s.MCR)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ier, d.lcr, d.mcr, d.scr, d.dll, d.dlm = s.IER, s.LCR, s.MCR, s.SCR, s.DLL, s.DLM
	d.lsrErr, d.msrDelta, d.fifoOn = s.LSRErr, s.MSRDelta, s.FIFOOn
	d.threPending, d.intr = s.THREPending, s.Intr
	d.rx.reset()
	d.rx.push(s.RX)
	d.brk = s.Break
	d.wakeWriters()
	return nil
}
