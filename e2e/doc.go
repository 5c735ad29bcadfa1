// Package e2e holds ember's end-to-end tests (tier 3): they boot real Linux
// guests from guest-images/out with bin/ember and assert on what the guest
// prints and does. They are built only with the e2e tag (make e2e), and need
// a hardware-backed /dev/kvm: on machines whose /dev/kvm is emulated,
// `make e2e` runs them inside the nested test host (scripts/testhost).
package e2e
