// Package serial emulates a 16550A-compatible 8250 UART, enough for
// Linux's 8250 driver to use it as an interrupt-driven console for both
// output and input.
//
// # Registration
//
// A Device is a bus.Device covering the UART's eight registers. The
// VMM registers COM1 on the PIO bus at COM1Port (0x3f8) with size Size (8)
// and wires its Interrupt to COM1IRQ (4), an edge-triggered ISA interrupt
// (an irqfd on GSI 4, or a KVM_IRQ_LINE pulse). Accesses wider than one
// byte are ignored (reads return 0xff), as are offsets past the last
// register; nothing a guest does can panic the device.
//
// # Model
//
// Transmission is instant: the transmitter holding register is always
// empty (LSR.THRE and LSR.TEMT are always set) and each byte written to
// THR goes straight to the output writer, so console output survives a
// guest crash. The receive FIFO holds RXFIFOSize bytes; host input
// enters it through EnqueueInput (non-blocking) or FeedInput (blocks
// while the FIFO is full, so no typed byte is lost). The divisor latch,
// line control and scratch registers are stored but have no effect.
// In loopback mode (MCR.LOOP) transmitted bytes are received instead
// of output, and MSR reflects MCR as on the real chip.
//
// Interrupts follow the 16550A datasheet's priorities: receiver line
// status, received data available, THR empty, modem status. The
// device models the UART's INTR output as a level and calls
// Interrupt.Trigger on each rising edge. Like QEMU and Firecracker it
// does not gate INTR with MCR.OUT2.
//
// # Concurrency
//
// vCPU goroutines call Read and Write concurrently with the host
// goroutines that call EnqueueInput, FeedInput and Stats; one mutex
// guards the registers. Output and interrupt delivery happen outside
// it, so a slow output writer delays only the vCPU that wrote THR.
package serial
