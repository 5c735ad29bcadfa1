// Package rtc emulates the MC146818 CMOS real-time clock of a PC: an index
// port (0x70) selects one of 128 registers, the data port (0x71) reads or
// writes it. The clock registers (0x00-0x09, and the century at 0x32) read
// the host's clock plus the guest's offset; the guest sets the offset by
// writing them, as hwclock --systohc does. The rest is CMOS RAM.
//
// Registers A-D behave as on hardware, so Linux's rtc_cmos probes at once:
// A reads the divider set for 32.768 kHz and update-in-progress (UIP) only
// in the 244 µs before each second's update; B holds the data mode (BCD or
// binary, 12 or 24 hours) and the SET bit, which freezes the clock while
// the guest writes it; C (interrupt flags) reads 0: no periodic, alarm or
// update interrupt is raised (the device has no IRQ line); D reads 0x80,
// valid RAM and time.
//
// Both ports register as one 2-byte device on the PIO bus:
//
//	pio.Register("rtc", rtc.IndexPort, rtc.PortSize, d)
//
// One mutex guards the state; vCPUs may access the ports concurrently.
package rtc

import (
	"sync"
	"time"
)

// Ports.
const (
	IndexPort = 0x70 // write: register index (bit 7 masks NMIs on a PC; ignored)
	DataPort  = 0x71 // read/write the selected register
	PortSize  = 2

	// CenturyIndex is the CMOS register holding the century (the FADT's
	// CENTURY field names it).
	CenturyIndex = regCentury
)

// Registers (MC146818 datasheet; the century byte is the PC convention).
const (
	regSeconds = 0x00
	regMinutes = 0x02
	regHours   = 0x04
	regWeekday = 0x06
	regDay     = 0x07
	regMonth   = 0x08
	regYear    = 0x09
	regA       = 0x0a
	regB       = 0x0b
	regC       = 0x0c
	regD       = 0x0d
	regCentury = 0x32

	aUIP     = 0x80 // update in progress
	aDefault = 0x26 // 32.768 kHz time base, 1.024 kHz periodic rate
	bSet     = 0x80 // updates stopped while the guest sets the clock
	bBinary  = 0x04 // data mode: binary (else BCD)
	b24Hour  = 0x02 // 24-hour mode (else 12 hours, bit 7 of the hours = PM)
	dVRT     = 0x80 // valid RAM and time

	// uipWindow is how long before each second's update UIP reads 1.
	uipWindow = 244 * time.Microsecond
)

// Device is the clock. The zero value is not ready: use New.
type Device struct {
	now func() time.Time // the host clock (time.Now; tests fix it)

	mu     sync.Mutex
	index  byte
	ram    [128]byte     // registers A, B, alarms, CMOS RAM; the clock fields while B.SET is on
	offset time.Duration // guest time minus host time
}

// clockRegs are the registers that hold the time.
var clockRegs = []byte{regSeconds, regMinutes, regHours, regWeekday, regDay, regMonth, regYear, regCentury}

// New returns a clock showing the host's time (UTC), in BCD and 24-hour
// mode, as a PC's firmware leaves it.
func New() *Device { return newDevice(time.Now) }

func newDevice(now func() time.Time) *Device {
	d := &Device{now: now}
	d.ram[regA] = aDefault
	d.ram[regB] = b24Hour
	return d
}

// Read implements bus.Device.
func (d *Device) Read(off uint64, data []byte) {
	for i := range data {
		data[i] = 0xff
	}
	if off != 1 || len(data) != 1 {
		return // the index port is write-only
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	data[0] = d.read(d.index)
}

// Write implements bus.Device.
func (d *Device) Write(off uint64, data []byte) {
	if len(data) != 1 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch off {
	case 0:
		d.index = data[0] & 0x7f
	case 1:
		d.write(d.index, data[0])
	}
}

// guestTime is the time the clock shows: while B.SET is on, what the
// guest has written into the clock registers so far.
func (d *Device) guestTime() time.Time {
	if d.ram[regB]&bSet == 0 {
		return d.now().Add(d.offset).UTC()
	}
	return time.Date(d.decode(d.ram[regCentury])*100+d.decode(d.ram[regYear]), time.Month(d.decode(d.ram[regMonth])),
		d.decode(d.ram[regDay]), d.decodeHours(d.ram[regHours]), d.decode(d.ram[regMinutes]), d.decode(d.ram[regSeconds]), 0, time.UTC)
}

func (d *Device) read(reg byte) byte {
	switch reg {
	case regA:
		a := d.ram[regA] &^ aUIP
		if t := d.guestTime(); d.ram[regB]&bSet == 0 && time.Second-time.Duration(t.Nanosecond()) <= uipWindow {
			a |= aUIP
		}
		return a
	case regC:
		return 0
	case regD:
		return dVRT
	}
	if v, ok := d.clockField(reg, d.guestTime()); ok {
		return v
	}
	return d.ram[reg]
}

func (d *Device) write(reg, v byte) {
	switch reg {
	case regA:
		d.ram[regA] = v &^ aUIP
	case regB:
		was := d.ram[regB]
		if was&bSet == 0 && v&bSet != 0 {
			// The guest starts setting the clock: it stops, its registers
			// hold the time (in the new data mode), and writes go there.
			t := d.guestTime()
			d.ram[regB] = v &^ bSet // encode in the new mode, from the running clock
			for _, r := range clockRegs {
				d.ram[r], _ = d.clockField(r, t)
			}
			d.ram[regB] = v
			return
		}
		if was&bSet != 0 && v&bSet == 0 {
			t := d.guestTime() // decoded in the mode the guest wrote it
			d.ram[regB] = v
			d.offset = t.Sub(d.now()) // the clock runs on from there
			return
		}
		d.ram[regB] = v
	case regC, regD:
		// read-only
	default:
		if !d.setClockField(reg, v) {
			d.ram[reg] = v
		}
	}
}

// clockField encodes reg's part of t in the data mode of register B.
func (d *Device) clockField(reg byte, t time.Time) (byte, bool) {
	var n int
	if d.ram[regB]&bSet != 0 && isClockReg(reg) {
		return d.ram[reg], true // stopped: what the guest wrote
	}
	switch reg {
	case regSeconds:
		n = t.Second()
	case regMinutes:
		n = t.Minute()
	case regHours:
		return d.encodeHours(t.Hour()), true
	case regWeekday:
		n = int(t.Weekday()) + 1 // Sunday is 1
	case regDay:
		n = t.Day()
	case regMonth:
		n = int(t.Month())
	case regYear:
		n = t.Year() % 100
	case regCentury:
		n = t.Year() / 100
	default:
		return 0, false
	}
	return d.encode(n), true
}

// setClockField changes reg's part of the clock. Outside SET mode the
// change applies at once, moving the offset.
func (d *Device) setClockField(reg, v byte) bool {
	if !isClockReg(reg) {
		return false
	}
	if d.ram[regB]&bSet != 0 {
		d.ram[reg] = v // applied when SET goes off
		return true
	}
	t := d.guestTime()
	y, mo, day := t.Date()
	h, mi, s := t.Clock()
	n := d.decode(v)
	switch reg {
	case regSeconds:
		s = n
	case regMinutes:
		mi = n
	case regHours:
		h = d.decodeHours(v)
	case regWeekday:
		return true // follows from the date
	case regDay:
		day = n
	case regMonth:
		mo = time.Month(n)
	case regYear:
		y = y/100*100 + n
	case regCentury:
		y = n*100 + y%100
	default:
		return false
	}
	d.offset = time.Date(y, mo, day, h, mi, s, t.Nanosecond(), time.UTC).Sub(d.now())
	return true
}

func isClockReg(reg byte) bool {
	for _, r := range clockRegs {
		if r == reg {
			return true
		}
	}
	return false
}

func (d *Device) encode(n int) byte {
	if d.ram[regB]&bBinary != 0 {
		return byte(n)
	}
	return byte(n/10%10<<4 | n%10)
}

func (d *Device) decode(v byte) int {
	if d.ram[regB]&bBinary != 0 {
		return int(v)
	}
	return int(v>>4)*10 + int(v&0xf)
}

// encodeHours: in 12-hour mode 12 AM is 12, and bit 7 marks PM.
func (d *Device) encodeHours(h int) byte {
	if d.ram[regB]&b24Hour != 0 {
		return d.encode(h)
	}
	pm := byte(0)
	if h >= 12 {
		pm, h = 0x80, h-12
	}
	if h == 0 {
		h = 12
	}
	return d.encode(h) | pm
}

func (d *Device) decodeHours(v byte) int {
	if d.ram[regB]&b24Hour != 0 {
		return d.decode(v)
	}
	h := d.decode(v&0x7f) % 12
	if v&0x80 != 0 {
		h += 12
	}
	return h
}
