// Package state manages the state directories of detached VMs (ember
// start): one directory per VM, named after it, under a base directory.
//
// # Layout
//
// The base directory is, in order of precedence: --state-dir, the
// EMBER_STATE_DIR environment variable, /run/ember for root,
// $XDG_RUNTIME_DIR/ember otherwise, and as a last resort
// $TMPDIR/ember-UID. A VM's directory BASE/NAME (mode 0700) holds:
//
//	lock         held (flock) by the VM's process for its whole life
//	pid          the VM process's pid
//	config.json  the VM's vmm.Config and name
//	api.sock     the API (HTTP+JSON, see docs/api.md), mode 0600
//	console.sock the serial console (raw bytes both ways)
//	console.log  the console scrollback (the last 1 MiB or so)
//	ember.log    the VM process's own diagnostics (stdout and stderr)
//	exit.json    once the VM has ended: when, why, exit status, last error
//
// # Liveness
//
// A directory appears only with its lock file already locked: Create
// builds it under a temporary name and renames it into place with
// RENAME_NOREPLACE, so two starts with one name race safely and exactly
// one wins. The creator hands the locked file to the VM process, which
// holds it until it exits; the kernel drops the lock when the process
// dies, however it dies. So "the lock is held" is the liveness test, and
// pid reuse cannot fool it. Before signalling the pid, callers also
// check that /proc/PID/cmdline is that VM's ember process (IsVMProcess).
// A directory whose lock is free belongs to an exited VM, kept (with its
// logs and exit.json) until removed: Create refuses its name (ErrExited),
// Replace removes it first. Remove deletes it while holding the lock,
// once it has checked that the name still holds the file it locked, and
// by renaming it to a fresh name first; so it never deletes a live VM's
// directory, nor one that took the dead one's place meanwhile (remove.go
// argues this). A VM process started with --rm removes its own directory
// at exit the same way (RemoveIfLocked).
package state
