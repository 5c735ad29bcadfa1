package serial

import (
	"context"
	"reflect"
	"testing"
)

func TestStateRoundTrip(t *testing.T) {
	d := New(nil, nil)
	wr(d, regLCR, lcrDLAB)
	wr(d, regData, 0x01) // 115200 baud
	wr(d, regIER, 0x00)
	wr(d, regLCR, 0x03) // 8n1
	wr(d, regIIR, fcrEnable)
	wr(d, regMCR, mcrDTR|mcrRTS|mcrOUT2)
	wr(d, regIER, ierRDI|ierTHRI)
	wr(d, regScrat, 0x5a)
	d.EnqueueInput([]byte("abc"))
	if err := d.SendBreak(context.Background()); err != nil {
		t.Fatal(err)
	}
	rd(d, regData) // the guest took "a"
	s := d.State()
	if string(s.RX) != "bc\x00" || s.Break != 3 {
		t.Fatalf("state RX %q break %d, want \"bc\\x00\" 3", s.RX, s.Break)
	}

	r := New(nil, nil)
	if err := r.Restore(s); err != nil {
		t.Fatal(err)
	}
	if got := r.State(); !reflect.DeepEqual(got, s) {
		t.Fatalf("restored %+v, want %+v", got, s)
	}
	for _, want := range []byte("bc") {
		if got := rd(r, regData); got != want {
			t.Fatalf("restored UART read %q, want %q", got, want)
		}
	}
	if lsr := rd(r, regLSR); lsr&lsrBI == 0 {
		t.Errorf("LSR %#x: the queued break was lost", lsr)
	}
	if got := rd(r, regScrat); got != 0x5a {
		t.Errorf("scratch %#x", got)
	}
}

func TestRestoreRefusesImpossibleState(t *testing.T) {
	for _, s := range []State{
		{RX: make([]byte, RXFIFOSize+1)},
		{RX: []byte("a"), Break: 2},
		{Break: -1},
		{IER: 0xf0},
		{MCR: 0x80},
	} {
		d := New(nil, nil)
		d.EnqueueInput([]byte("keep"))
		if err := d.Restore(s); err == nil {
			t.Errorf("Restore(%+v) accepted", s)
		}
		if got := d.State(); string(got.RX) != "keep" {
			t.Errorf("a refused restore changed the device: RX %q", got.RX)
		}
	}
}
