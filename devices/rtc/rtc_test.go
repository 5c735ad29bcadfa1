package rtc

import (
	"testing"
	"time"
)

// clock is a settable host clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestDevice(t time.Time) (*Device, *clock) {
	c := &clock{t}
	return newDevice(c.now), c
}

func (d *Device) get(reg byte) byte {
	d.Write(0, []byte{reg})
	b := make([]byte, 1)
	d.Read(1, b)
	return b[0]
}

func (d *Device) set(reg, v byte) {
	d.Write(0, []byte{reg})
	d.Write(1, []byte{v})
}

// TestReadsHostTime: the clock registers show the host's time in BCD,
// 24-hour mode, as rtc_cmos expects, and registers C and D read as on a
// healthy chip.
func TestReadsHostTime(t *testing.T) {
	d, _ := newTestDevice(time.Date(2026, 11, 30, 21, 7, 59, 0, time.UTC))
	for _, c := range []struct {
		reg, want byte
	}{
		{regSeconds, 0x59}, {regMinutes, 0x07}, {regHours, 0x21}, {regWeekday, 2}, // a Monday
		{regDay, 0x30}, {regMonth, 0x11}, {regYear, 0x26}, {regCentury, 0x20},
		{regA, aDefault}, {regB, b24Hour}, {regC, 0}, {regD, dVRT},
	} {
		if got := d.get(c.reg); got != c.want {
			t.Errorf("register %#x = %#x, want %#x", c.reg, got, c.want)
		}
	}
}

// TestUIP: update-in-progress reads 1 only in the last 244 µs of a second.
func TestUIP(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		ns  int
		uip bool
	}{{0, false}, {500_000_000, false}, {999_755_000, false}, {999_756_001, true}, {999_999_999, true}} {
		d, _ := newTestDevice(base.Add(time.Duration(c.ns)))
		if got := d.get(regA)&aUIP != 0; got != c.uip {
			t.Errorf("at +%d ns UIP = %v, want %v", c.ns, got, c.uip)
		}
	}
}

// TestSetTime: the guest sets the clock as Linux does (SET, the fields,
// SET off); it runs on from the new time as the host clock advances.
func TestSetTime(t *testing.T) {
	d, c := newTestDevice(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	d.set(regB, d.get(regB)|bSet)
	for _, w := range []struct{ reg, v byte }{
		{regYear, 0x30}, {regMonth, 0x02}, {regDay, 0x28}, {regHours, 0x23}, {regMinutes, 0x59}, {regSeconds, 0x58},
	} {
		d.set(w.reg, w.v)
	}
	c.t = c.t.Add(time.Hour) // frozen while SET is on
	if got := d.get(regMinutes); got != 0x59 {
		t.Errorf("minutes while SET = %#x, want 0x59", got)
	}
	d.set(regB, d.get(regB)&^bSet)
	c.t = c.t.Add(3 * time.Second)
	want := map[byte]byte{regYear: 0x30, regMonth: 0x03, regDay: 0x01, regHours: 0x00, regMinutes: 0x00, regSeconds: 0x01}
	for reg, v := range want {
		if got := d.get(reg); got != v {
			t.Errorf("register %#x = %#x, want %#x (2030-03-01 00:00:01)", reg, got, v)
		}
	}
}

// TestModes: binary and 12-hour modes encode and decode the hours.
func TestModes(t *testing.T) {
	d, _ := newTestDevice(time.Date(2026, 11, 30, 0, 30, 0, 0, time.UTC))
	d.set(regB, bBinary) // binary, 12-hour
	if got := d.get(regHours); got != 12 {
		t.Errorf("00:30 in 12-hour binary = %#x, want 12 (AM)", got)
	}
	d.set(regHours, 0x80|1) // 1 PM
	if got := d.get(regHours); got != 0x81 {
		t.Errorf("after setting 1 PM: %#x", got)
	}
	d.set(regB, b24Hour)
	if got := d.get(regHours); got != 0x13 {
		t.Errorf("1 PM in 24-hour BCD = %#x, want 0x13", got)
	}
}

// TestCMOSRAMAndSnapshot: other registers are RAM; a restored clock keeps
// the registers and the offset.
func TestCMOSRAMAndSnapshot(t *testing.T) {
	d, c := newTestDevice(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	d.set(0x40, 0xab)
	d.set(regYear, 0x27) // a year ahead
	s := d.State()
	r, _ := newTestDevice(c.t)
	if err := r.Restore(s); err != nil {
		t.Fatal(err)
	}
	if r.get(0x40) != 0xab || r.get(regYear) != 0x27 {
		t.Errorf("restored: RAM %#x, year %#x", r.get(0x40), r.get(regYear))
	}
	if err := r.Restore(State{RAM: make([]byte, 3)}); err == nil {
		t.Error("a short register file was accepted")
	}
}
