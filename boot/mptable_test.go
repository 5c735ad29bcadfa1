package boot

import (
	"testing"
)

func sum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return s
}

func TestMPTable(t *testing.T) {
	for _, cpus := range []int{1, 2, 7, MaxCPUs} {
		b := buildMPTable(cpus)
		if len(b) != mpTableSize(cpus) || uint64(mpTableGPA)+uint64(len(b)) > uint64(mpTableEnd) {
			t.Fatalf("%d CPUs: table is %d bytes, does not fit below %#x", cpus, len(b), mpTableEnd)
		}
		f := b[:16]
		if string(f[:4]) != "_MP_" || f[8] != 1 || f[9] != 4 || sum(f) != 0 || f[11] != 0 {
			t.Errorf("%d CPUs: floating pointer % x", cpus, f)
		}
		if ptr := le.Uint32(f[4:]); ptr != uint32(mpTableGPA)+16 {
			t.Errorf("%d CPUs: config table pointer %#x", cpus, ptr)
		}
		h := b[16:]
		length := int(le.Uint16(h[4:]))
		if string(h[:4]) != "PCMP" || h[6] != 4 || length != len(h) || sum(h[:length]) != 0 {
			t.Errorf("%d CPUs: header % x", cpus, h[:44])
		}
		if string(h[8:16]) != "EMBER   " || string(h[16:28]) != "EMBERVM     " || le.Uint32(h[36:]) != 0xfee00000 {
			t.Errorf("%d CPUs: OEM %q product %q LAPIC %#x", cpus, h[8:16], h[16:28], le.Uint32(h[36:]))
		}
		count := int(le.Uint16(h[34:]))
		var n, procs, bsps, buses, ioapics, ioints, lints int
		for e := h[44:length]; len(e) > 0; n++ {
			switch e[0] {
			case mpProcessor:
				if int(e[1]) != procs || e[2] != 0x14 || e[3]&mpCPUEnabled == 0 {
					t.Errorf("%d CPUs: processor entry % x", cpus, e[:20])
				}
				if e[3]&mpCPUBSP != 0 {
					bsps++
					if e[1] != 0 {
						t.Errorf("%d CPUs: BSP flag on APIC %d", cpus, e[1])
					}
				}
				procs++
				e = e[20:]
				continue
			case mpBus:
				if string(e[2:8]) != "ISA   " {
					t.Errorf("bus % x", e[:8])
				}
				buses++
			case mpIOAPIC:
				if int(e[1]) != cpus || e[2] != 0x11 || e[3] != 1 || le.Uint32(e[4:]) != 0xfec00000 {
					t.Errorf("%d CPUs: I/O APIC entry % x", cpus, e[:8])
				}
				ioapics++
			case mpIOIntr:
				if e[1] != mpIntINT || le.Uint16(e[2:]) != 0 || int(e[5]) != ioints || int(e[6]) != cpus || int(e[7]) != ioints {
					t.Errorf("I/O interrupt entry % x", e[:8])
				}
				ioints++
			case mpLocalIntr:
				if e[6] != 0xff || !(e[1] == mpIntExtINT && e[7] == 0 || e[1] == mpIntNMI && e[7] == 1) {
					t.Errorf("local interrupt entry % x", e[:8])
				}
				lints++
			default:
				t.Fatalf("%d CPUs: unknown entry type %d", cpus, e[0])
			}
			e = e[8:]
		}
		if n != count || procs != cpus || bsps != 1 || buses != 1 || ioapics != 1 || ioints != 24 || lints != 2 {
			t.Errorf("%d CPUs: %d entries (header %d): %d CPUs %d BSPs %d buses %d I/O APICs %d I/O ints %d local ints",
				cpus, n, count, procs, bsps, buses, ioapics, ioints, lints)
		}
	}
}
