package i8042

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/embervm/ember/devices/bus"
)

// op is one port access: port 'c' (command/status) or 'd' (data);
// reads check want unless it is -1.
type op struct {
	port byte
	read bool
	val  byte
	want int
}

func wc(v byte) op      { return op{port: 'c', val: v} }
func wd(v byte) op      { return op{port: 'd', val: v} }
func rc(want int) op    { return op{port: 'c', read: true, want: want} }
func rdata(want int) op { return op{port: 'd', read: true, want: want} }

// run performs ops on d's ports, checking reads and that the status
// register never reports the input buffer full.
func run(t *testing.T, d *Device, ops []op) {
	t.Helper()
	ports := map[byte]bus.Device{'c': d.CommandPort(), 'd': d.DataPort()}
	for i, o := range ops {
		b := []byte{o.val}
		if !o.read {
			ports[o.port].Write(0, b)
			continue
		}
		ports[o.port].Read(0, b)
		if o.want >= 0 && int(b[0]) != o.want {
			t.Fatalf("op %d: read port %c = %#x, want %#x", i, o.port, b[0], o.want)
		}
		if o.port == 'c' && b[0]&statIBF != 0 {
			t.Fatalf("op %d: status %#x reports the input buffer full", i, b[0])
		}
	}
}

const idle = statUnlock | statSYS // status with nothing queued

func TestCommands(t *testing.T) {
	tests := []struct {
		name string
		ops  []op
	}{
		{"power-on status", []op{rc(idle), rdata(0)}},
		{"self test replies 0x55", []op{
			wc(cmdSelfTest), rc(idle | statCMD | statOBF), rdata(selfTestOK), rc(idle | statCMD),
		}},
		{"read command byte", []op{wc(cmdReadCTR), rdata(ctrInitial), rc(idle | statCMD)}},
		{"write command byte", []op{
			wc(cmdWriteCTR), wd(0x47), rc(idle), wc(cmdReadCTR), rdata(0x47),
		}},
		{"system flag follows the command byte", []op{
			wc(cmdWriteCTR), wd(0x00), rc(statUnlock), wc(cmdSelfTest), rdata(selfTestOK), rc(idle | statCMD),
		}},
		{"disable and enable keyboard", []op{
			wc(cmdDisableKbd), wc(cmdReadCTR), rdata(ctrInitial | ctrKbdDis),
			wc(cmdEnableKbd), wc(cmdReadCTR), rdata(ctrInitial),
		}},
		{"disable and enable aux", []op{
			wc(cmdDisableAux), wc(cmdReadCTR), rdata(ctrInitial | ctrAuxDis),
			wc(cmdEnableAux), wc(cmdReadCTR), rdata(ctrInitial),
		}},
		{"keyboard interface test", []op{wc(cmdKbdTest), rdata(kbdTestOK)}},
		{"read output port", []op{wc(cmdReadOutPort), rdata(outInitial)}},
		{"write output port without reset", []op{
			wc(cmdWriteOutPort), wd(0xdf), wc(cmdReadOutPort), rdata(0xdf),
		}},
		{"write keyboard output buffer", []op{wc(cmdWriteKbdOut), wd(0x1c), rc(idle | statOBF), rdata(0x1c)}},
		{"aux data is swallowed", []op{
			wc(cmdWriteAuxOut), wd(0x5a), rc(idle), wc(cmdWriteAux), wd(0xff), rc(idle),
			wc(cmdReadCTR), rdata(ctrInitial),
		}},
		{"a new command abandons a pending one", []op{
			wc(cmdWriteCTR), wc(cmdReadCTR), rdata(ctrInitial), wd(0x00), wc(cmdReadCTR), rdata(ctrInitial),
		}},
		{"keyboard bytes without a command are dropped", []op{wd(0xff), wd(0xed), rc(idle)}},
		{"responses queue in order", []op{
			wc(cmdSelfTest), wc(cmdReadCTR), wc(cmdKbdTest),
			rdata(selfTestOK), rdata(ctrInitial), rdata(kbdTestOK), rc(idle | statCMD),
		}},
		{"empty data port repeats the last byte", []op{wc(cmdSelfTest), rdata(selfTestOK), rdata(selfTestOK)}},
		{"unknown commands are ignored", []op{wc(0x00), wc(0xa9), wc(0xc0), wc(0xff), rc(idle | statCMD)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resets := 0
			d := New(func() { resets++ })
			run(t, d, tt.ops)
			if resets != 0 {
				t.Fatalf("onReset called %d times", resets)
			}
		})
	}
}

func TestOutputQueueBounded(t *testing.T) {
	d := New(nil)
	var ops []op
	for i := 0; i < 3*outQueueSize; i++ {
		ops = append(ops, wc(cmdSelfTest))
	}
	for i := 0; i < outQueueSize; i++ {
		ops = append(ops, rc(idle|statCMD|statOBF), rdata(selfTestOK))
	}
	ops = append(ops, rc(idle|statCMD))
	run(t, d, ops)
}

func TestReset(t *testing.T) {
	// kbWait is Linux's kb_wait(): poll status until the input buffer
	// is empty, which it always is here.
	kbWait := rc(-1)
	var linuxReboot []op
	for i := 0; i < 10; i++ { // native_machine_emergency_restart, BOOT_KBD
		linuxReboot = append(linuxReboot, kbWait, wc(0xfe))
	}
	tests := []struct {
		name string
		ops  []op
		want int
	}{
		{"0xFE pulses reset", []op{kbWait, wc(0xfe)}, 1},
		{"Linux reboot=k loop resets once", linuxReboot, 1},
		{"0xF0 pulses every line", []op{wc(0xf0)}, 1},
		{"0xFF pulses nothing", []op{wc(0xff)}, 0},
		{"0xFD pulses only A20", []op{wc(0xfd)}, 0},
		{"output port bit 0 cleared", []op{wc(cmdWriteOutPort), wd(0xde)}, 1},
		{"output port bit 0 set", []op{wc(cmdWriteOutPort), wd(0xdf)}, 0},
		{"0xFE as data is not a reset", []op{wd(0xfe), wc(cmdWriteCTR), wd(0xfe)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resets := 0
			d := New(func() { resets++ })
			run(t, d, tt.ops)
			if resets != tt.want {
				t.Fatalf("onReset called %d times, want %d", resets, tt.want)
			}
		})
	}
}

func TestResetNilCallback(t *testing.T) {
	d := New(nil)
	d.CommandPort().Write(0, []byte{0xfe})
}

func TestResetOnceAcrossVCPUs(t *testing.T) {
	var resets atomic.Int32
	d := New(func() { resets.Add(1) })
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := []byte{0}
			for range 100 {
				d.CommandPort().Read(0, b)
				d.DataPort().Read(0, b)
				d.CommandPort().Write(0, []byte{cmdSelfTest})
				d.CommandPort().Write(0, []byte{0xfe})
			}
		}()
	}
	wg.Wait()
	if n := resets.Load(); n != 1 {
		t.Fatalf("onReset called %d times, want 1", n)
	}
}

func TestOddAccesses(t *testing.T) {
	resets := 0
	d := New(func() { resets++ })
	for _, p := range []bus.Device{d.DataPort(), d.CommandPort()} {
		for _, off := range []uint64{0, 1, 4, ^uint64(0)} {
			for _, width := range []int{0, 1, 2, 4, 8} {
				if off == 0 && width == 1 {
					continue
				}
				p.Write(off, bytes.Repeat([]byte{0xfe}, width))
				p.Write(off, bytes.Repeat([]byte{cmdSelfTest}, width))
				r := make([]byte, width)
				p.Read(off, r)
				if !bytes.Equal(r, bytes.Repeat([]byte{0xff}, width)) {
					t.Fatalf("read off %d width %d = %x, want all 0xff", off, width, r)
				}
			}
		}
	}
	if resets != 0 {
		t.Fatalf("an ignored access reset the CPU")
	}
	run(t, d, []op{rc(idle), wc(cmdReadCTR), rdata(ctrInitial)})
}
