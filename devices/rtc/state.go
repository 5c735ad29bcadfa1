package rtc

import (
	"fmt"
	"time"
)

// State is the clock's state in a snapshot. The guest's offset from the
// host clock is kept, not the time it showed: a restored guest's clock goes
// on from the host's time now, as after a suspend.
type State struct {
	Index    byte   `json:"index"`
	RAM      []byte `json:"ram"` // the 128 registers as stored (the clock's own only while B.SET is on)
	OffsetNS int64  `json:"offset_ns"`
}

// State returns the clock's state.
func (d *Device) State() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return State{Index: d.index, RAM: append([]byte{}, d.ram[:]...), OffsetNS: int64(d.offset)}
}

// Restore puts the clock in state s (from a file: checked first).
func (d *Device) Restore(s State) error {
	if len(s.RAM) != len(d.ram) || s.Index >= 0x80 {
		return fmt.Errorf("rtc: %d bytes of registers (want %d), index %#x", len(s.RAM), len(d.ram), s.Index)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.index = s.Index
	copy(d.ram[:], s.RAM)
	d.offset = time.Duration(s.OffsetNS)
	return nil
}
