package vmm

import (
	"encoding/json"
	"fmt"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/ninep"
)

// ShareConfig is one shared folder: a host directory the guest mounts
// with mount -t 9p -o trans=virtio TAG /mnt (devices/virtio/ninep).
type ShareConfig struct {
	Dir      string // the host directory; the guest sees nothing outside it
	Tag      string // the mount tag, unique in the VM
	ReadOnly bool   // every change refused (EROFS) by the VMM, whatever the guest mounts
}

// String returns the share as --share writes it: DIR:TAG[,ro].
func (s ShareConfig) String() string {
	if s.ReadOnly {
		return s.Dir + ":" + s.Tag + ",ro"
	}
	return s.Dir + ":" + s.Tag
}

func (s ShareConfig) options() ninep.Options {
	return ninep.Options{Dir: s.Dir, Tag: s.Tag, ReadOnly: s.ReadOnly}
}

// checkShare checks shared folder i of d without opening it: its
// directory exists (a stat) and its tag is valid and not taken by an
// earlier share.
func checkShare(d *Devices, i int) error {
	s := d.Shares[i]
	if err := ninep.CheckOptions(s.options()); err != nil {
		return fmt.Errorf("--share %s: %w", s, err)
	}
	for j, o := range d.Shares[:i] {
		if o.Tag == s.Tag {
			return fmt.Errorf("--share %s: tag %s is also 9p%d's (%s): give each share its own tag", s, s.Tag, j, o.Dir)
		}
	}
	return nil
}

// ShareStats are one shared folder's counters.
type ShareStats struct {
	Dir string `json:"dir"`
	Tag string `json:"tag"`
	ninep.Stats
}

// savedShare is what a snapshot records of a shared folder: the
// directory, reopened on restore, its tag and whether it is read-only.
// The guest's open files are not saved: a snapshot is refused while it
// holds any (ninep.Device.CheckSnapshot).
type savedShare struct {
	Dir      string `json:"dir"`
	Tag      string `json:"tag"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// shareKind is the device table's entry for shared folders (9p0, 9p1...).
var shareKind = deviceKind{
	name:     "9p",
	count:    func(d *Devices) int { return len(d.Shares) },
	validate: checkShare,
	build: func(d *Devices, i int) (virtio.Device, error) {
		return ninep.New(d.Shares[i].options())
	},
	stats: func(d *Devices, i int, dev virtio.Device) any {
		return ShareStats{Dir: d.Shares[i].Dir, Tag: d.Shares[i].Tag, Stats: dev.(*ninep.Device).Stats()}
	},
	checkSnapshot: func(dev virtio.Device) error { return dev.(*ninep.Device).CheckSnapshot() },
	save: func(d *Devices, i int, dev virtio.Device) (any, error) {
		// Again, quiesced: the guest may have mounted it since the API's
		// check (VM.CheckSnapshot).
		if err := dev.(*ninep.Device).CheckSnapshot(); err != nil {
			return nil, err
		}
		return savedShare(d.Shares[i]), nil
	},
	load: func(d *Devices, saved json.RawMessage) error {
		var s savedShare
		if err := unmarshalSaved(saved, &s); err != nil {
			return err
		}
		d.Shares = append(d.Shares, ShareConfig(s))
		return nil
	},
}
