package i8042

// Standard placement of the controller on a PC.
const (
	DataPortAddr    = 0x60 // data port: responses and keyboard bytes
	CommandPortAddr = 0x64 // status (read) and command (write) port
	PortSize        = 1    // each port is one byte wide
)

// Status register bits (read from the command port).
const (
	statOBF    = 0x01 // output buffer full: the data port has a byte
	statIBF    = 0x02 // input buffer full; never set, commands run at once
	statSYS    = 0x04 // system flag, mirrors CTR bit 2
	statCMD    = 0x08 // last write went to the command port
	statUnlock = 0x10 // keyboard not inhibited by the keylock
)

// Controller commands (written to the command port).
const (
	cmdReadCTR      = 0x20
	cmdWriteCTR     = 0x60
	cmdDisableAux   = 0xa7
	cmdEnableAux    = 0xa8
	cmdSelfTest     = 0xaa
	cmdKbdTest      = 0xab
	cmdDisableKbd   = 0xad
	cmdEnableKbd    = 0xae
	cmdReadOutPort  = 0xd0
	cmdWriteOutPort = 0xd1
	cmdWriteKbdOut  = 0xd2 // next data byte is queued as keyboard data
	cmdWriteAuxOut  = 0xd3 // next data byte would be aux data; dropped
	cmdWriteAux     = 0xd4 // next data byte would go to the aux device; dropped
	cmdPulseBase    = 0xf0 // 0xf0-0xff: pulse output port lines whose bit is 0
)

// Replies.
const (
	selfTestOK = 0x55
	kbdTestOK  = 0x00
)

// Command byte (CTR) bits.
const (
	ctrKbdInt = 0x01 // keyboard interrupt (IRQ 1) enable
	ctrSys    = 0x04 // system flag
	ctrKbdDis = 0x10 // keyboard interface disabled
	ctrAuxDis = 0x20 // aux interface disabled

	// ctrInitial is the command byte at power-on: system flag set,
	// keyboard interrupt enabled, no scancode translation (XLATE, 0x40).
	ctrInitial = ctrSys | ctrKbdInt
)

// Output port bits.
const (
	outResetN = 0x01 // CPU reset line, active low
	outA20    = 0x02 // A20 gate

	outInitial = outResetN | outA20
)

// outQueueSize bounds the output buffer. A real 8042 holds one byte;
// a short queue lets responses and, later, scancode sequences wait in
// order. Bytes beyond it are dropped.
const outQueueSize = 16
