package kvm

import (
	"encoding/binary"
	"testing"
)

func TestIOAPICPinMasked(t *testing.T) {
	var c IRQChip
	c[0] = IRQChipIOAPIC
	for pin := range 24 {
		binary.LittleEndian.PutUint64(c[32+8*pin:], 1<<16) // every pin masked, as at reset
	}
	binary.LittleEndian.PutUint64(c[32+8*3:], 0x25) // pin 3: vector 0x25, unmasked
	for pin, want := range map[int]bool{0: true, 3: false, 4: true, 23: true, 24: true, -1: true} {
		if got := c.IOAPICPinMasked(pin); got != want {
			t.Errorf("pin %d masked = %v, want %v", pin, got, want)
		}
	}
	c[0] = IRQChipPICMaster
	if !c.IOAPICPinMasked(3) {
		t.Error("a PIC's state read as an I/O APIC's")
	}
}
