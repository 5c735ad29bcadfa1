// Package shim is containerd-shim-ember-v2's task service (containerd's
// runtime v2 task API, served with containerd's own shim library): each
// shim runs one container in one ember VM.
//
// Create mounts containerd's rootfs mounts on BUNDLE/rootfs, reads
// BUNDLE/config.json and starts the VM with the ember binary beside the
// shim's own (ember start --share BUNDLE/rootfs:rootfs --cmdline
// ember.rootfs=rootfs, memory and vCPUs from the spec's limits), its state
// under the shim's own directory (EnvStateDir), and waits for the guest's
// ember-agent. Start and Exec run processes through the agent
// (internal/agentclient), chrooted into the rootfs (GuestRoot) with the
// spec's args, env, cwd, user and terminal, their stdio copied to and from
// containerd's FIFOs. Kill sends signals through the agent; when the init
// process ends the VM is killed, as a container's processes end with its
// init. Delete removes the VM and its state and unmounts the rootfs.
//
// Pids reports the VM process (the container's processes are in its
// guest); Stats the VM process's CPU time and resident memory.
package shim
