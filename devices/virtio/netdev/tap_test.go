package netdev

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCheckTapName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"tap0", true},
		{"ember-vm_1.net", true},
		{"abcdefghijklmno", true}, // 15 bytes: IFNAMSIZ-1
		{"abcdefghijklmnop", false},
		{"", false},
		{".", false},
		{"..", false},
		{"tap/0", false},
		{"tap:0", false},
		{"tap%d", false},
		{"tap 0", false},
		{"tap\x000", false},
	} {
		err := checkTapName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("checkTapName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	// New refuses a long name before touching /dev/net/tun.
	_, err := New(Options{Tap: "abcdefghijklmnop"})
	if err == nil || err.Error() != `tap "abcdefghijklmnop": name is 16 bytes, longer than the 15 Linux allows` {
		t.Fatalf("New with a 16-byte name: %v", err)
	}
}

// TestTapErrorMessages checks the messages for failures that cannot all
// be provoked here (no permission, missing module).
func TestTapErrorMessages(t *testing.T) {
	for _, tt := range []struct {
		err    error
		exists bool
		want   string
	}{
		{unix.EPERM, true, "no permission to use tap tap0: create it for this user with `ip tuntap add tap0 mode tap user $USER`: operation not permitted"},
		{unix.EPERM, false, "tap tap0 does not exist and only root can create it: create it for this user with `ip tuntap add tap0 mode tap user $USER`: operation not permitted"},
		{unix.EBUSY, true, "tap tap0 is in use by another process (a single-queue tap takes one user at a time): device or resource busy"},
		{unix.EINVAL, true, "tap tap0: tap0 exists but is not a single-queue tap (TUNSETIFF: invalid argument)"},
		{unix.ENOMEM, true, "tap tap0: attach (TUNSETIFF): cannot allocate memory"},
	} {
		got := setIffError("tap0", tt.err, tt.exists)
		if got.Error() != tt.want || !errors.Is(got, tt.err) {
			t.Errorf("setIffError(%v, exists %v) = %q, want %q", tt.err, tt.exists, got, tt.want)
		}
	}
	for _, tt := range []struct {
		err  error
		want string
	}{
		{unix.ENOENT, "tap tap0: open /dev/net/tun: no such file or directory (load the tun module: modprobe tun)"},
		{unix.ENODEV, "tap tap0: open /dev/net/tun: no such device (load the tun module: modprobe tun)"},
		{unix.EACCES, "tap tap0: open /dev/net/tun: permission denied (/dev/net/tun must be readable and writable by this user, usually mode 0666)"},
	} {
		got := openTunError("tap0", tt.err)
		if got.Error() != tt.want || !errors.Is(got, tt.err) {
			t.Errorf("openTunError(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	if interfaceExists("no-such-if0") {
		t.Error("interfaceExists(no-such-if0) = true")
	}
	if !interfaceExists("lo") {
		t.Error("interfaceExists(lo) = false")
	}
}
