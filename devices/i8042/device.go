package i8042

import "sync"

// Device is an i8042 controller. Register its two ports as the package
// documentation shows.
type Device struct {
	onReset   func()
	resetOnce sync.Once

	// mu guards the controller state below.
	mu      sync.Mutex
	ctr     byte // command byte
	outPort byte
	lastCmd bool   // last write went to the command port (status bit 3)
	pending byte   // command waiting for its data byte; 0 if none
	queue   []byte // output buffer, oldest first; at most outQueueSize
	last    byte   // last byte read from the data port
}

// New returns a controller in its power-on state. onReset (may be nil)
// is called once, the first time the guest pulses the CPU reset line;
// it runs on the calling vCPU's goroutine and should only signal the
// VMM (for example cancel the VM's context), not wait for the vCPUs.
func New(onReset func()) *Device {
	return &Device{
		onReset: onReset,
		ctr:     ctrInitial,
		outPort: outInitial,
		queue:   make([]byte, 0, outQueueSize),
	}
}

// status returns the status register. d.mu must be held.
func (d *Device) status() byte {
	s := byte(statUnlock)
	if len(d.queue) > 0 {
		s |= statOBF
	}
	if d.ctr&ctrSys != 0 {
		s |= statSYS
	}
	if d.lastCmd {
		s |= statCMD
	}
	return s
}

// push queues a byte for the data port. d.mu must be held.
func (d *Device) push(b byte) {
	if len(d.queue) < outQueueSize {
		d.queue = append(d.queue, b)
	}
}

// readData pops the output buffer. With nothing queued it returns the
// last byte again, as the chip does.
func (d *Device) readData() byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.queue) > 0 {
		d.last = d.queue[0]
		d.queue = append(d.queue[:0], d.queue[1:]...)
	}
	return d.last
}

func (d *Device) readStatus() byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status()
}

// writeCommand runs a controller command.
func (d *Device) writeCommand(cmd byte) {
	d.mu.Lock()
	d.lastCmd = true
	d.pending = 0 // a new command abandons one still waiting for data
	reset := false
	switch cmd {
	case cmdReadCTR:
		d.push(d.ctr)
	case cmdWriteCTR, cmdWriteOutPort, cmdWriteKbdOut, cmdWriteAuxOut, cmdWriteAux:
		d.pending = cmd
	case cmdDisableAux:
		d.ctr |= ctrAuxDis
	case cmdEnableAux:
		d.ctr &^= ctrAuxDis
	case cmdSelfTest:
		d.ctr |= ctrSys
		d.push(selfTestOK)
	case cmdKbdTest:
		d.push(kbdTestOK)
	case cmdDisableKbd:
		d.ctr |= ctrKbdDis
	case cmdEnableKbd:
		d.ctr &^= ctrKbdDis
	case cmdReadOutPort:
		d.push(d.outPort)
	default:
		// 0xf0-0xff pulse the output port lines whose bit is clear in
		// the low nibble; bit 0 is CPU reset. Other commands are not
		// implemented and ignored.
		reset = cmd&0xf0 == cmdPulseBase && cmd&outResetN == 0
	}
	d.mu.Unlock()
	if reset {
		d.reset()
	}
}

// writeData takes a byte for a pending command, or for the keyboard.
func (d *Device) writeData(v byte) {
	d.mu.Lock()
	d.lastCmd = false
	cmd := d.pending
	d.pending = 0
	reset := false
	switch cmd {
	case cmdWriteCTR:
		d.ctr = v
	case cmdWriteOutPort:
		d.outPort = v
		reset = v&outResetN == 0
	case cmdWriteKbdOut:
		d.push(v)
	}
	// cmdWriteAuxOut, cmdWriteAux: there is no aux port. No command:
	// the byte is for the keyboard, and there is no keyboard.
	d.mu.Unlock()
	if reset {
		d.reset()
	}
}

// reset reports a CPU reset to the VMM, the first time only.
func (d *Device) reset() {
	d.resetOnce.Do(func() {
		if d.onReset != nil {
			d.onReset()
		}
	})
}
