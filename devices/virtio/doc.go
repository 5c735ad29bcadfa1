// Package virtio holds what every virtio device model and transport share:
// the spec constants (device status, reserved feature bits, device IDs), the
// transport-independent Device interface a device model implements, the
// Activation a transport hands it at DRIVER_OK, and the Interrupt and
// Notifier interfaces between the two.
//
// It also provides the one event loop every device uses (Worker): a single
// goroutine per device blocked in epoll_wait on the device's queue
// notification eventfds (the same eventfds the VMM registers with KVM as
// ioeventfds), a stop eventfd, and any device-specific fd such as a tap. No
// polling tickers and no busy loops. A rate-limited queue (Throttle, on
// devices/ratelimit) adds a timer's eventfd to that epoll set: when the budget
// runs out the queue's requests stay in the ring and the timer, armed for
// when they fit, resumes serving.
//
// Scatter and Gather copy bytes into and out of a chain's buffers seen as
// one run of bytes.
//
// Threads and ownership:
//
//   - vCPU goroutines call the transport (bus.Device), which calls
//     Device.ReadConfig/WriteConfig/Activate/Reset under the transport's lock.
//   - Between Activate and Reset, a device's queues are owned by its worker
//     goroutine. Queue configuration is only changed by the transport while
//     no worker runs, so the queues need no lock.
//   - The worker raises interrupts through Activation.IRQ and reports fatal
//     errors through Activation.Fail; both are lock-free in the transport so
//     Reset (which waits for the worker) cannot deadlock with them.
//
// Spec references are to Virtual I/O Device (VIRTIO) Version 1.2.
package virtio
