package vmm

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/embervm/ember/devices/serial"
)

// guestUART reads the UART the way Linux's 8250 driver does (LSR, then
// RBR while DR or BI) and records each byte, marking breaks as '!'.
func guestUART(ctx context.Context, d *serial.Device, got chan<- byte) {
	reg := func(off uint64) byte { b := []byte{0}; d.Read(off, b); return b[0] }
	for ctx.Err() == nil {
		lsr := reg(5)
		if lsr&0x11 == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		b := reg(0)
		if lsr&0x10 != 0 {
			b = '!'
		}
		got <- b
	}
}

func TestRequestShutdownSendsSysRq(t *testing.T) {
	saved := sysrqShutdown
	t.Cleanup(func() { sysrqShutdown = saved })
	sysrqShutdown = append(sysrqShutdown[:0:0], saved...) // a copy: keep the real pauses intact
	for i := range sysrqShutdown {
		sysrqShutdown[i].after = time.Millisecond
	}
	v := &VM{serial: serial.New(nil, nil)}
	if err := v.RequestShutdown(context.Background()); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("RequestShutdown before Run: %v, want ErrNotRunning", err)
	}
	v.running.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan byte, 16)
	go guestUART(ctx, v.serial, got)
	if err := v.RequestShutdown(ctx); err != nil {
		t.Fatal(err)
	}
	var seq []byte
	for len(seq) < 8 {
		select {
		case b := <-got:
			seq = append(seq, b)
		case <-ctx.Done():
			t.Fatalf("guest saw %q, want !e!s!u!b", seq)
		}
	}
	if string(seq) != "!e!s!u!b" {
		t.Fatalf("guest saw %q, want !e!s!u!b (a break before each SysRq key)", seq)
	}
}

func TestRequestShutdownPaused(t *testing.T) {
	v := &VM{serial: serial.New(nil, nil)}
	v.running.Store(true)
	v.pause.paused = true
	if err := v.RequestShutdown(context.Background()); !errors.Is(err, ErrPaused) {
		t.Fatalf("RequestShutdown while paused: %v, want ErrPaused", err)
	}
}
