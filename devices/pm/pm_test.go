package pm

import "testing"

func TestWrites(t *testing.T) {
	for _, c := range []struct {
		name               string
		off                uint64
		data               []byte
		wantOff, wantReset int
	}{
		{"S5 with SLP_EN", SleepControl, []byte{SleepS5<<2 | sleepEnable}, 1, 0},
		{"S5 without SLP_EN", SleepControl, []byte{SleepS5 << 2}, 0, 0},
		{"S3", SleepControl, []byte{3<<2 | sleepEnable}, 0, 0},
		{"S5 as a word", SleepControl, []byte{SleepS5<<2 | sleepEnable, 0}, 0, 0},
		{"reset", Reset, []byte{ResetValue}, 0, 1},
		{"reset, other value", Reset, []byte{2}, 0, 0},
		{"status", SleepStatus, []byte{0xff}, 0, 0},
		{"past the end", Size, []byte{ResetValue}, 0, 0},
	} {
		var offs, resets int
		d := New(func() { offs++ }, func() { resets++ })
		d.Write(c.off, c.data)
		if offs != c.wantOff || resets != c.wantReset {
			t.Errorf("%s: %d poweroffs, %d resets; want %d, %d", c.name, offs, resets, c.wantOff, c.wantReset)
		}
	}
}

func TestReadsZero(t *testing.T) {
	d := New(func() {}, func() {})
	p := []byte{0xff, 0xff}
	d.Read(SleepStatus, p)
	if p[0] != 0 || p[1] != 0 {
		t.Errorf("read % x, want zeros", p)
	}
}

// TestEveryWrite tries every byte value at every offset with every width:
// only SLP_TYP=S5|SLP_EN at SleepControl powers off and only ResetValue
// at Reset resets, whatever else a guest writes.
func TestEveryWrite(t *testing.T) {
	for off := uint64(0); off < 8; off++ {
		for width := 1; width <= 4; width++ {
			for v := 0; v < 256; v++ {
				var offs, resets int
				d := New(func() { offs++ }, func() { resets++ })
				p := make([]byte, width)
				p[0] = byte(v)
				d.Write(off, p)
				one := width == 1
				wantOff := one && off == SleepControl && v&sleepEnable != 0 && v>>2&7 == SleepS5
				wantReset := one && off == Reset && v == ResetValue
				if (offs == 1) != wantOff || (resets == 1) != wantReset || offs > 1 || resets > 1 {
					t.Fatalf("write %#x (%d bytes) at %d: %d poweroffs, %d resets", v, width, off, offs, resets)
				}
			}
		}
	}
}
