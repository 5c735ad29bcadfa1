// Package bench measures how booting a VM with ember compares with starting
// a container and with other VMMs, and where ember's own time goes. It backs
// `ember bench`.
//
// Every system runs as a child process, timed from just before its exec:
//
//   - ember: `ember run --boot-times FILE`, whose milestones (first KVM_RUN,
//     the guest's init writing 1 then 123 to the boot-timer register) split
//     start-to-ready into VMM set-up, kernel and user space; with the serial
//     console on (piped to the benchmark) and off.
//   - gokvm and QEMU microvm boot the same kernel and initramfs; they cannot
//     see the boot-timer register, so their "ready" is the console line
//     "ember-guest: ready" the same init prints right after its write.
//   - crun and runc run an OCI bundle of the same busybox rootfs whose
//     process prints the same line: "ready" is that line, "exit" the runtime
//     exiting.
//
// Systems run round-robin (one run of each, then the next), after warm-up
// runs, so slow drifts in the machine hit all of them alike. Memory is taken
// in one extra run per system, so that sampling /proc/PID/smaps never
// perturbs a timed run: the peak resident memory of the system's process
// outside its guest-RAM mapping.
//
// A Report holds the environment, the settings and every raw run; it is
// written as JSON, as a text table (Table) and as an SVG chart (SVG).
// Reports from several places (the nested test host and the bare host) can
// be merged into one.
package bench
