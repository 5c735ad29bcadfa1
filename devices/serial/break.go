package serial

import (
	"context"
)

// lsrBI is LSR bit 4, break interrupt: the receiver saw the line held
// low for longer than a character (PC16550D, LSR description).
const lsrBI = 0x10

// SendBreak emulates the host side holding the line in the break state:
// the UART receives a zero byte flagged as a break, as a 16550A in FIFO
// mode does. LSR.BI shows (and, with IER.RLSI, the receiver-line-status
// interrupt, IIR 0x06, is raised) when that byte reaches the top of the
// RX FIFO; reading LSR clears BI and reading RBR then yields the zero.
// Linux's 8250 driver (serial8250_read_char -> uart_handle_break) takes
// such a break as the Magic SysRq prefix on a console port.
//
// Only one break is queued at a time. SendBreak waits while the FIFO is
// full or an earlier break has not been read, and returns ctx.Err() if
// ctx ends first.
func (d *Device) SendBreak(ctx context.Context) error {
	for {
		wait, ok := d.queueBreak()
		if ok {
			return nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// queueBreak queues a break if there is room, else returns a channel
// closed when the guest next reads from the FIFO.
func (d *Device) queueBreak() (<-chan struct{}, bool) {
	d.mu.Lock()
	if d.brk != 0 || !d.rx.pushByte(0) {
		if d.spaceWait == nil {
			d.spaceWait = make(chan struct{})
		}
		wait := d.spaceWait
		d.mu.Unlock()
		return wait, false
	}
	d.brk = d.rx.len()
	if d.brk == 1 {
		d.lsrErr |= lsrBI
	}
	rising := d.updateIntr()
	d.mu.Unlock()
	d.raise(rising)
	return nil, true
}

// breakPopped moves a queued break one place up after the guest read a
// byte from the FIFO, flagging LSR.BI once it is at the top. d.mu must
// be held.
func (d *Device) breakPopped() {
	if d.brk == 0 {
		return
	}
	d.brk--
	if d.brk == 1 {
		d.lsrErr |= lsrBI
	}
}
