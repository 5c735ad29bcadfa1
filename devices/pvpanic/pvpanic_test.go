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
