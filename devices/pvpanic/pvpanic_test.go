package pvpanic

import "testing"

func TestEvents(t *testing.T) {
	for _, c := range []struct {
		data            []byte
		panics, crashes int
	}{
		{[]byte{Panicked}, 1, 0},
		{[]byte{Panicked | CrashLoaded}, 1, 0},
		{[]byte{CrashLoaded}, 0, 1},
		{[]byte{0}, 0, 0},
		{[]byte{0xfc}, 0, 0},
		{[]byte{Panicked, 0}, 0, 0}, // a word write is not the protocol
	} {
		var panics, crashes int
		d := New(func() { panics++ }, func() { crashes++ })
		d.Write(0, c.data)
		if panics != c.panics || crashes != c.crashes {
			t.Errorf("write % x: %d panics, %d crash-loaded; want %d, %d", c.data, panics, crashes, c.panics, c.crashes)
		}
	}
	p := make([]byte, 1)
	New(nil, nil).Read(0, p)
	if p[0] != Panicked|CrashLoaded {
		t.Errorf("read %#x, want the two supported events", p[0])
	}
}

// TestEveryByte: a one-byte write reports a panic exactly when bit 0 is
// set, a crash kernel exactly when only bit 1 is.
func TestEveryByte(t *testing.T) {
	for v := 0; v < 256; v++ {
		var panics, crashes int
		New(func() { panics++ }, func() { crashes++ }).Write(0, []byte{byte(v)})
		if panics != v&Panicked || crashes != (v>>1&1)*(1-v&Panicked) {
			t.Fatalf("write %#x: %d panics, %d crash-loaded", v, panics, crashes)
		}
	}
}
