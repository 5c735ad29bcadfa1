package boot

import (
	"testing"

	"github.com/embervm/ember/guestmem"
)

// decode is the inverse of descriptor, as a CPU loading a selector reads it.
func decode(lo, hi uint64, sel uint16) Segment {
	s := Segment{
		Base:     lo>>16&0xffffff | (lo>>56&0xff)<<24,
		Limit:    uint32(lo&0xffff | (lo>>48&0xf)<<16),
		Selector: sel,
		Type:     uint8(lo >> 40 & 0xf),
		S:        uint8(lo >> 44 & 1),
		DPL:      uint8(lo >> 45 & 3),
		Present:  uint8(lo >> 47 & 1),
		AVL:      uint8(lo >> 52 & 1),
		L:        uint8(lo >> 53 & 1),
		DB:       uint8(lo >> 54 & 1),
		G:        uint8(lo >> 55 & 1),
	}
	if s.G != 0 {
		s.Limit = s.Limit<<12 | 0xfff
	}
	if s.S == 0 {
		s.Base |= (hi & 0xffffffff) << 32
	}
	return s
}

// checkGDT checks the entry's segments match their descriptors in guest
// memory and the GDT/IDT registers.
func checkGDT(t *testing.T, m *guestmem.Memory, e *Entry) {
	t.Helper()
	if e.GDTBase != uint64(gdtGPA) || e.GDTLimit != gdtEntries*8-1 || e.IDTBase != uint64(idtGPA) || e.IDTLimit != 0 {
		t.Errorf("GDT %#x/%#x IDT %#x/%#x", e.GDTBase, e.GDTLimit, e.IDTBase, e.IDTLimit)
	}
	if g, _ := m.Uint64(guestmem.GPA(e.GDTBase)); g != 0 {
		t.Errorf("GDT[0] = %#x, want null", g)
	}
	for _, s := range []Segment{e.CS, e.DS, e.TR, e.LDT} {
		gpa := guestmem.GPA(e.GDTBase) + guestmem.GPA(s.Selector)
		lo, _ := m.Uint64(gpa)
		hi, _ := m.Uint64(gpa + 8)
		if got := decode(lo, hi, s.Selector); got != s {
			t.Errorf("selector %#x: descriptor %+v, entry %+v", s.Selector, got, s)
		}
		if uint64(s.Selector)+7 > uint64(e.GDTLimit) {
			t.Errorf("selector %#x beyond the GDT limit", s.Selector)
		}
	}
	if e.TR.Type != 11 || e.TR.S != 0 || e.TR.Present != 1 || e.LDT.Type != 2 || e.LDT.S != 0 || e.LDT.Present != 1 {
		t.Errorf("TR %+v LDT %+v", e.TR, e.LDT)
	}
	if e.DS.Type != 3 || e.DS.Limit != 0xffffffff || e.DS.G != 1 || e.DS.S != 1 {
		t.Errorf("DS %+v", e.DS)
	}
}

func TestDescriptor(t *testing.T) {
	tests := []struct {
		seg  Segment
		want uint64
	}{
		{segCode64, 0x00af9b000000ffff},
		{segCode32, 0x00cf9b000000ffff},
		{segData, 0x00cf93000000ffff},
		{Segment{Base: 0x12345678, Limit: 0x67, Type: 0xb, Present: 1}, 0x12008b345678_0067},
	}
	for _, tt := range tests {
		if got := descriptor(tt.seg); got != tt.want {
			t.Errorf("descriptor(%+v) = %#016x, want %#016x", tt.seg, got, tt.want)
		}
	}
}
