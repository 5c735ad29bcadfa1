package vmm

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/embervm/ember/devices/ratelimit"
	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/blk"
	"github.com/embervm/ember/devices/virtio/netdev"
	"github.com/embervm/ember/devices/virtio/rng"
	"github.com/embervm/ember/devices/virtio/vsock"
)

// The device table: the one place in vmm that knows which virtio device
// kinds exist, how a configuration asks for them, and how each kind is
// built, counted and snapshotted. Everything else (slots, the kernel
// command line, attach, stats, snapshot, restore) walks the plan
// (plan.go) derived from this table. A new kind is a field in Devices and
// an entry in deviceKinds, plus its package under devices/.

// Devices are the virtio devices a VM's configuration asks for.
type Devices struct {
	Disks []DiskConfig
	Nets  []NetConfig
	RNG   bool // a virtio entropy device
	// RNGRate limits the entropy device to this many bytes per second
	// (0: unlimited).
	RNGRate uint64
	// Vsock is the virtio socket device, or nil for none.
	Vsock *VsockConfig
	// Shares are the shared folders (virtio-9p, share.go).
	Shares []ShareConfig
}

// VsockConfig is the virtio socket device (hybrid vsock on unix sockets,
// devices/virtio/vsock).
type VsockConfig struct {
	// CID is the guest's context ID (3 and up). ember start picks one from
	// the VM's name (VsockCID) unless given.
	CID uint64
	// Path is the unix socket host programs connect to (CONNECT <port>);
	// a guest connecting to host port P reaches the socket Path_P. ember
	// start puts it in the VM's state directory (state.VsockSocket).
	// Empty: no host side (the guest's connections are refused).
	Path string
}

// maxVsockPath is the longest vsock socket path: Path_4294967295, the
// socket of the highest port a guest connects to, must fit a unix socket
// address (107 bytes).
const maxVsockPath = 107 - len("_4294967295")

// VsockCID is the CID ember start gives a VM called name unless told
// otherwise: 3 plus the name's 32-bit FNV-1a hash modulo 2^31 - 3, stable
// across restarts of the name. The hybrid backend needs no CID to be
// unique on the host (a guest only ever talks to its own device); the
// hash keeps them apart anyway, for tools that show them.
func VsockCID(name string) uint64 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return 3 + uint64(h.Sum32())%(1<<31-3)
}

func checkVsock(c *VsockConfig) error {
	switch {
	case c.CID < vsock.MinGuestCID || c.CID > vsock.MaxGuestCID:
		return fmt.Errorf("--vsock cid=%d: a guest CID is %d to %d (0, 1 and 2 are reserved: 2 is the host)", c.CID, vsock.MinGuestCID, uint64(vsock.MaxGuestCID))
	case len(c.Path) > maxVsockPath:
		return fmt.Errorf("--vsock path=%s: longer than %d bytes, so PATH_PORT would not fit a unix socket address: use a shorter path", c.Path, maxVsockPath)
	}
	return nil
}

// DiskConfig is one virtio-blk disk backed by a raw image file.
type DiskConfig struct {
	Path     string
	ReadOnly bool
	ID       string // serial number the guest sees (GET_ID), at most 20 bytes
	// Rate limits (0: unlimited): data bytes read and written per second,
	// and requests per second.
	Bandwidth, IOPS uint64
}

// rateConfig is the limiter configuration for a byte rate and an
// operation rate (0: unlimited), with the default bursts.
func rateConfig(bytes, ops uint64) ratelimit.Config {
	return ratelimit.Config{Bandwidth: ratelimit.Limit{Rate: bytes}, Ops: ratelimit.Limit{Rate: ops}}
}

// DiskStats are one virtio-blk disk's request counters.
type DiskStats struct {
	Path string `json:"path"`
	blk.Stats
}

// VsockStats are the virtio socket device's counters.
type VsockStats struct {
	CID uint64 `json:"cid"`
	vsock.Stats
}

// deviceKind is one kind of virtio device. Index i is the device's place
// among those of its kind, in configuration order.
type deviceKind struct {
	name     string // "blk": device names are name + index (blk0, blk1...)
	count    func(d *Devices) int
	validate func(d *Devices, i int) error
	build    func(d *Devices, i int) (virtio.Device, error)
	// stats returns the device's counters for Stats, or nil.
	stats func(d *Devices, i int, dev virtio.Device) any
	// save returns what a snapshot records of the device: enough to add it
	// back to a configuration (load) and to restore its state (restore).
	save    func(d *Devices, i int, dev virtio.Device) (any, error)
	load    func(d *Devices, saved json.RawMessage) error
	restore func(dev virtio.Device, saved json.RawMessage) error
	// sync makes durable what the device wrote to the host (a snapshot
	// calls it, the device quiesced), or is nil.
	sync func(dev virtio.Device) error
	// checkSnapshot says whether the device can be snapshotted now, or is
	// nil (always). Snapshot's save checks again, the device quiesced.
	checkSnapshot func(dev virtio.Device) error
}

// deviceKinds, in slot order: every disk, then every network card, then
// the entropy device, then the socket device, then every shared folder
// (last, so that adding one moves no other device's slot). The order is
// part of the guest's view (which /dev/vdX a disk is) and of the snapshot
// format.
var deviceKinds = []deviceKind{
	{
		name:     "blk",
		count:    func(d *Devices) int { return len(d.Disks) },
		validate: func(d *Devices, i int) error { return checkDisk(d.Disks[i]) },
		build: func(d *Devices, i int) (virtio.Device, error) {
			c := d.Disks[i]
			return blk.New(c.Path, blk.Options{ReadOnly: c.ReadOnly, ID: c.ID, Rate: rateConfig(c.Bandwidth, c.IOPS)})
		},
		stats: func(d *Devices, i int, dev virtio.Device) any {
			return DiskStats{Path: d.Disks[i].Path, Stats: dev.(*blk.Device).Stats()}
		},
		save: func(d *Devices, i int, dev virtio.Device) (any, error) {
			st, err := dev.(*blk.Device).State()
			return savedDisk{State: st, Bandwidth: d.Disks[i].Bandwidth, IOPS: d.Disks[i].IOPS}, err
		},
		load: func(d *Devices, saved json.RawMessage) error {
			var s savedDisk
			if err := unmarshalSaved(saved, &s); err != nil {
				return err
			}
			if err := blk.CheckState(s.State); err != nil {
				return err
			}
			d.Disks = append(d.Disks, DiskConfig{Path: s.Path, ReadOnly: s.ReadOnly, ID: s.ID, Bandwidth: s.Bandwidth, IOPS: s.IOPS})
			return nil
		},
		restore: func(dev virtio.Device, saved json.RawMessage) error {
			var s savedDisk
			if err := unmarshalSaved(saved, &s); err != nil {
				return err
			}
			return dev.(*blk.Device).Restore(s.State)
		},
		sync: func(dev virtio.Device) error { return dev.(*blk.Device).Sync() },
	},
	{
		name:     "net",
		count:    func(d *Devices) int { return len(d.Nets) },
		validate: checkNet,
		build:    buildNet,
		stats: func(d *Devices, i int, dev virtio.Device) any {
			return NetStats{Kind: d.Nets[i].Kind(), Tap: d.Nets[i].Tap, Stats: dev.(*netdev.Device).Stats()}
		},
		save: saveNet,
		load: loadNet,
	},
	{
		name:  "rng",
		count: func(d *Devices) int { return btoi(d.RNG) },
		build: func(d *Devices, _ int) (virtio.Device, error) { return rng.NewLimited(nil, rateConfig(d.RNGRate, 0)) },
		save:  func(d *Devices, _ int, _ virtio.Device) (any, error) { return savedRNG{Rate: d.RNGRate}, nil },
		load: func(d *Devices, saved json.RawMessage) error {
			var s savedRNG
			if len(saved) > 0 { // snapshots before rate limits saved nothing
				if err := json.Unmarshal(saved, &s); err != nil {
					return err
				}
			}
			d.RNG, d.RNGRate = true, s.Rate
			return nil
		},
	},
	{
		name:     "vsock",
		count:    func(d *Devices) int { return btoi(d.Vsock != nil) },
		validate: func(d *Devices, _ int) error { return checkVsock(d.Vsock) },
		build: func(d *Devices, _ int) (virtio.Device, error) {
			return vsock.New(vsock.Options{CID: d.Vsock.CID, Path: d.Vsock.Path})
		},
		stats: func(d *Devices, _ int, dev virtio.Device) any {
			return VsockStats{CID: d.Vsock.CID, Stats: dev.(*vsock.Device).Stats()}
		},
		save: func(d *Devices, _ int, _ virtio.Device) (any, error) {
			return savedVsock{CID: d.Vsock.CID, Path: d.Vsock.Path}, nil
		},
		load: func(d *Devices, saved json.RawMessage) error {
			var s savedVsock
			if err := unmarshalSaved(saved, &s); err != nil {
				return err
			}
			d.Vsock = &VsockConfig{CID: s.CID, Path: s.Path}
			return checkVsock(d.Vsock)
		},
		restore: func(dev virtio.Device, _ json.RawMessage) error {
			dev.(*vsock.Device).Restore()
			return nil
		},
	},
	shareKind,
}

// savedVsock is what a snapshot records of the socket device: its CID
// and socket. Connections are not saved: a restored device has none and
// tells the guest with a transport reset event.
type savedVsock struct {
	CID  uint64 `json:"cid"`
	Path string `json:"path,omitempty"`
}

// savedDisk is what a snapshot records of a disk: the image's identity
// and its rate limits (none in snapshots made before there were any).
type savedDisk struct {
	blk.State
	Bandwidth uint64 `json:"bandwidth,omitempty"`
	IOPS      uint64 `json:"iops,omitempty"`
}

// savedRNG is what a snapshot records of the entropy device.
type savedRNG struct {
	Rate uint64 `json:"rate,omitempty"`
}

func unmarshalSaved(saved json.RawMessage, v any) error {
	if len(saved) == 0 {
		return errors.New("no saved device configuration")
	}
	return json.Unmarshal(saved, v)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// kindNamed returns the device kind called name.
func kindNamed(name string) (*deviceKind, bool) {
	for i := range deviceKinds {
		if deviceKinds[i].name == name {
			return &deviceKinds[i], true
		}
	}
	return nil, false
}
