// Package i8042 emulates the PS/2 (8042) keyboard controller, as much
// of it as a guest needs to reset the machine: Linux's reboot=k writes
// command 0xFE to port 0x64, which pulses the CPU reset line, and the
// VMM ends the VM.
//
// # Registration
//
// The controller decodes two ports that are not adjacent, and port 0x61
// between them belongs to KVM's in-kernel PIT (the speaker gate), so a
// Device registers as two one-port bus devices on the PIO bus:
//
//	pio.Register("i8042-data", i8042.DataPortAddr, i8042.PortSize, d.DataPort())
//	pio.Register("i8042-cmd", i8042.CommandPortAddr, i8042.PortSize, d.CommandPort())
//
// Only 1-byte accesses at offset 0 are meaningful; others read as 0xff
// and are otherwise ignored.
//
// # Model
//
// Commands complete at once, so the status register never reports the
// input buffer full, and responses queue in the output buffer (status
// bit 0) to be read from the data port. Supported controller commands:
// 0x20 read and 0x60 write the command byte (CTR); 0xAA self-test
// (replies 0x55); 0xAB keyboard interface test (replies 0x00); 0xAD and
// 0xAE disable and enable the keyboard; 0xA7 and 0xA8 do the same for
// the (absent) aux port; 0xD0 read and 0xD1 write the output port; 0xD2
// write the keyboard output buffer; 0xF0-0xFF pulse output port lines,
// where an even command (0xFE in practice) pulses CPU reset. Writing
// the output port with bit 0 clear also asserts reset. The first reset
// calls the onReset callback; later ones are ignored.
//
// There is no keyboard and no aux (mouse) port: bytes for the keyboard
// and aux commands 0xA9, 0xD3 and 0xD4 get no reply, so Linux's i8042
// driver waits out its timeouts while probing. Boot Linux with
// "i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd", as Firecracker
// does; reboot=k does not need the driver at all.
//
// # Keyboard input (planned)
//
// A VMM-initiated Ctrl-Alt-Del will send scancodes to the guest on
// IRQ 1. The output queue already carries bytes in order; the hook will
// add an interrupt the VMM passes in (a setter or an option to New; New
// keeps its signature) and a method such as SendKeys(codes []byte) that
// queues keyboard bytes and raises IRQ 1 while CTR.KBDINT is set and
// bytes remain. The CTR starts without XLATE, so Linux (with dumbkbd)
// expects untranslated scancode set 2: Ctrl 0x14, Alt 0x11, Del 0xE0
// 0x71, each released with an 0xF0 prefix.
//
// # Concurrency
//
// One mutex guards the controller state; vCPUs may access both ports
// concurrently. onReset runs without it held, on the vCPU goroutine
// that issued the reset.
package i8042
