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
