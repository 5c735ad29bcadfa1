package i8042

import (
	"reflect"
	"testing"
)

func TestStateRoundTrip(t *testing.T) {
	d := New(nil)
	d.writeCommand(cmdSelfTest)
	d.writeCommand(cmdDisableKbd)
	d.writeCommand(cmdReadCTR)
	d.writeCommand(cmdWriteCTR) // waits for its data byte
	s := d.State()
	r := New(nil)
	if err := r.Restore(s); err != nil {
		t.Fatal(err)
	}
	if got := r.State(); !reflect.DeepEqual(got, s) {
		t.Fatalf("restored %+v, want %+v", got, s)
	}
	if got := r.readData(); got != selfTestOK {
		t.Errorf("first output byte %#x, want the self-test answer", got)
	}
	if err := r.Restore(State{Queue: make([]byte, outQueueSize+1)}); err == nil {
		t.Error("an oversized output buffer was accepted")
	}
}
