package netdev

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// tunPath is the tun/tap clone device.
const tunPath = "/dev/net/tun"

// tapFlags attach the fd to a tap (Ethernet frames), without the 4-byte
// packet information prefix, with a virtio_net_hdr before each frame.
// IFF_ONE_QUEUE is obsolete (ignored since Linux 3.8) and not set.
const tapFlags = unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR

// tap is a Linux tap interface opened for one device: a non-blocking fd
// on /dev/net/tun attached to the named interface. Each read or write is
// one frame behind a HeaderSize-byte vnet header. Its methods are called
// from the device's worker only; Close after the worker stopped.
type tap struct {
	name string
	fd   int
}

var _ frameIO = (*tap)(nil)

// openTap opens (as root: creates, if missing) the tap called name with a
// 12-byte vnet header and no offloads. Errors name the tap and the fix.
func openTap(name string) (*tap, error) {
	if err := checkTapName(name); err != nil {
		return nil, err
	}
	fd, err := unix.Open(tunPath, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, openTunError(name, err)
	}
	t := &tap{name: name, fd: fd}
	if err := t.setup(); err != nil {
		return nil, errors.Join(err, t.Close())
	}
	return t, nil
}

func (t *tap) setup() error {
	ifr, err := unix.NewIfreq(t.name) // checkTapName bounded the length
	if err != nil {
		return fmt.Errorf("tap %s: %w", t.name, err)
	}
	ifr.SetUint16(tapFlags)
	if err := unix.IoctlIfreq(t.fd, unix.TUNSETIFF, ifr); err != nil {
		return setIffError(t.name, err, interfaceExists(t.name))
	}
	if err := unix.IoctlSetPointerInt(t.fd, unix.TUNSETVNETHDRSZ, HeaderSize); err != nil {
		return fmt.Errorf("tap %s: set the vnet header size (TUNSETVNETHDRSZ %d): %w", t.name, HeaderSize, err)
	}
	if err := unix.IoctlSetInt(t.fd, unix.TUNSETOFFLOAD, 0); err != nil {
		return fmt.Errorf("tap %s: turn offloads off (TUNSETOFFLOAD 0): %w", t.name, err)
	}
	return nil
}

// checkTapName accepts the interface names Linux accepts (dev_valid_name)
// and that TUNSETIFF takes literally: at most IFNAMSIZ-1 bytes, no '/',
// ':', white space or NUL, not "." or "..", and no '%' (a "%d" pattern
// would make the kernel pick a different name).
func checkTapName(name string) error {
	switch {
	case name == "":
		return errors.New("tap: no name given")
	case len(name) > unix.IFNAMSIZ-1:
		return fmt.Errorf("tap %q: name is %d bytes, longer than the %d Linux allows", name, len(name), unix.IFNAMSIZ-1)
	case name == "." || name == "..":
		return fmt.Errorf("tap %q: not a valid interface name", name)
	case strings.ContainsAny(name, "/:%\x00 \t\n\v\f\r"):
		return fmt.Errorf("tap %q: interface names cannot contain '/', ':', '%%', NUL or spaces", name)
	}
	return nil
}

// openTunError explains a failure to open /dev/net/tun.
func openTunError(name string, err error) error {
	hint := ""
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
		hint = " (load the tun module: modprobe tun)"
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		hint = " (" + tunPath + " must be readable and writable by this user, usually mode 0666)"
	}
	return fmt.Errorf("tap %s: open %s: %w%s", name, tunPath, err, hint)
}

// setIffError explains a TUNSETIFF failure. exists says whether an
// interface called name exists in this network namespace.
func setIffError(name string, err error, exists bool) error {
	create := fmt.Sprintf("`ip tuntap add %s mode tap user $USER`", name)
	switch {
	case errors.Is(err, unix.EPERM) && !exists:
		return fmt.Errorf("tap %s does not exist and only root can create it: create it for this user with %s: %w", name, create, err)
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("no permission to use tap %s: create it for this user with %s: %w", name, create, err)
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("tap %s is in use by another process (a single-queue tap takes one user at a time): %w", name, err)
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("tap %s: %s exists but is not a single-queue tap (TUNSETIFF: %w)", name, name, err)
	}
	return fmt.Errorf("tap %s: attach (TUNSETIFF): %w", name, err)
}

// interfaceExists reports whether a network interface called name exists
// in the caller's network namespace (SIOCGIFINDEX). On doubt it answers
// true, which gives the permission message rather than "does not exist".
func interfaceExists(name string) bool {
	s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return true
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return false
	}
	err = unix.IoctlIfreq(s, unix.SIOCGIFINDEX, ifr)
	return !errors.Is(err, unix.ENODEV)
}

// FD returns the tap fd, for epoll.
func (t *tap) FD() int { return t.fd }

// ReadFrame reads the next frame into bufs. A frame longer than bufs is
// truncated silently: tun's read returns min(frame, buffer) bytes.
func (t *tap) ReadFrame(bufs [][]byte) (int, error) { return readv(t.fd, bufs) }

// readv reads into bufs, again when interrupted: one frame from a tap or a
// frame socket.
func readv(fd int, bufs [][]byte) (int, error) {
	return retryEINTR(func() (int, error) { return unix.Readv(fd, bufs) })
}

// WriteFrame writes bufs, concatenated, as one frame.
func (t *tap) WriteFrame(bufs [][]byte) (int, error) {
	return retryEINTR(func() (int, error) { return unix.Writev(t.fd, bufs) })
}

// retryEINTR calls io again for as long as a signal interrupts it.
func retryEINTR(io func() (int, error)) (int, error) {
	for {
		n, err := io()
		if !errors.Is(err, unix.EINTR) {
			return n, err
		}
	}
}

// Close closes the fd. A non-persistent tap (one that TUNSETIFF created)
// disappears with it. Closing twice is a no-op.
func (t *tap) Close() error {
	if t.fd < 0 {
		return nil
	}
	fd := t.fd
	t.fd = -1
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("tap %s: close: %w", t.name, err)
	}
	return nil
}
