package mmio_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/embervm/ember/devices/virtio"
	"github.com/embervm/ember/devices/virtio/mmio"
	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/embervm/ember/guestmem"
	"golang.org/x/sys/unix"
)

// Register offsets, spelled out as a driver would (§4.2.2).
const (
	rMagic        = 0x000
	rVersion      = 0x004
	rDeviceID     = 0x008
	rVendorID     = 0x00c
	rDevFeatures  = 0x010
	rDevFeatSel   = 0x014
	rDrvFeatures  = 0x020
	rDrvFeatSel   = 0x024
	rQueueSel     = 0x030
	rQueueNumMax  = 0x034
	rQueueNum     = 0x038
	rQueueReady   = 0x044
	rQueueNotify  = 0x050
	rIntStatus    = 0x060
	rIntACK       = 0x064
	rStatus       = 0x070
	rDescLow      = 0x080
	rDescHigh     = 0x084
	rDriverLow    = 0x090
	rDriverHigh   = 0x094
	rDeviceLow    = 0x0a0
	rDeviceHigh   = 0x0a4
	rSHMLenLow    = 0x0b0
	rConfigGen    = 0x0fc
	rConfig       = 0x100
	statusACK     = 1
	statusDriver  = 2
	statusDrvOK   = 4
	statusFeatOK  = 8
	statusNeedsRs = 64
	statusFailed  = 128
)

// fakeDevice records what the transport asks of it.
type fakeDevice struct {
	features    uint64
	sizes       []uint16
	config      []byte
	activateErr error

	activations []virtio.Activation
	resets      int
}

func (d *fakeDevice) Type() uint32                       { return virtio.IDEntropy }
func (d *fakeDevice) Features() uint64                   { return d.features }
func (d *fakeDevice) QueueMaxSizes() []uint16            { return d.sizes }
func (d *fakeDevice) ReadConfig(off uint64, data []byte) { virtio.ReadConfigBytes(d.config, off, data) }
func (d *fakeDevice) WriteConfig(off uint64, data []byte) {
	copy(d.config[min(off, uint64(len(d.config))):], data)
}
func (d *fakeDevice) Reset() { d.resets++ }
func (d *fakeDevice) Activate(a virtio.Activation) error {
	if d.activateErr != nil {
		return d.activateErr
	}
	d.activations = append(d.activations, a)
	return nil
}

type env struct {
	t    *testing.T
	tr   *mmio.Transport
	dev  *fakeDevice
	mem  *guestmem.Memory
	irqs chan struct{}
}

func newEnv(t *testing.T, dev *fakeDevice) *env {
	t.Helper()
	mem, err := guestmem.FromRegions(guestmem.Region{GPA: queuetest.Base, Host: make([]byte, 1<<20)})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dev: dev, mem: mem, irqs: make(chan struct{}, 100)}
	e.tr, err = mmio.New(dev, mem, func() error { e.irqs <- struct{}{}; return nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.tr.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

func (e *env) read(off uint64) uint32 {
	var b [4]byte
	e.tr.Read(off, b[:])
	return binary.LittleEndian.Uint32(b[:])
}

func (e *env) write(off uint64, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	e.tr.Write(off, b[:])
}

func (e *env) status() uint32 { return e.read(rStatus) }

func (e *env) addStatus(bit uint32) { e.write(rStatus, e.status()|bit) }

// negotiate does what Linux's virtio_dev_probe does up to FEATURES_OK and
// reports whether the device accepted the features.
func (e *env) negotiate(want uint64) bool {
	e.write(rStatus, 0)
	if s := e.status(); s != 0 {
		e.t.Fatalf("status after reset = %#x", s)
	}
	e.addStatus(statusACK)
	e.addStatus(statusDriver)
	e.write(rDevFeatSel, 1)
	offered := uint64(e.read(rDevFeatures)) << 32
	e.write(rDevFeatSel, 0)
	offered |= uint64(e.read(rDevFeatures))
	if offered&virtio.FeatureVersion1 == 0 {
		e.t.Fatalf("device offers %#x: no VERSION_1", offered)
	}
	e.write(rDrvFeatSel, 1)
	e.write(rDrvFeatures, uint32(want>>32))
	e.write(rDrvFeatSel, 0)
	e.write(rDrvFeatures, uint32(want))
	e.addStatus(statusFeatOK)
	return e.status()&statusFeatOK != 0
}

// setupQueue is Linux's vm_setup_vq for queue i with a mock driver layout.
func (e *env) setupQueue(i uint32, size uint16, base guestmem.GPA) *queuetest.Driver {
	e.t.Helper()
	d, err := queuetest.NewAt(e.mem, base, size, 64<<10)
	if err != nil {
		e.t.Fatal(err)
	}
	e.write(rQueueSel, i)
	if e.read(rQueueReady) != 0 {
		e.t.Fatalf("queue %d ready before setup", i)
	}
	if max := e.read(rQueueNumMax); max < uint32(size) {
		e.t.Fatalf("queue %d: QueueNumMax %d < %d", i, max, size)
	}
	e.write(rQueueNum, uint32(size))
	for _, r := range []struct {
		low uint64
		gpa guestmem.GPA
	}{{rDescLow, d.DescTable}, {rDriverLow, d.AvailRing}, {rDeviceLow, d.UsedRing}} {
		e.write(r.low, uint32(r.gpa))
		e.write(r.low+4, uint32(r.gpa>>32))
	}
	e.write(rQueueReady, 1)
	if e.read(rQueueReady) != 1 {
		e.t.Fatalf("queue %d not ready after setup", i)
	}
	return d
}

func TestIdentification(t *testing.T) {
	e := newEnv(t, &fakeDevice{sizes: []uint16{16}})
	for _, r := range []struct {
		off  uint64
		want uint32
	}{
		{rMagic, 0x74726976}, {rVersion, 2}, {rDeviceID, virtio.IDEntropy}, {rVendorID, mmio.VendorID},
		{rSHMLenLow, 0xffffffff}, {rConfigGen, 0},
	} {
		if got := e.read(r.off); got != r.want {
			t.Errorf("register %#x = %#x, want %#x", r.off, got, r.want)
		}
	}
}

func TestInitSequenceActivates(t *testing.T) {
	dev := &fakeDevice{features: 1 << 5, sizes: []uint16{256, 64}}
	e := newEnv(t, dev)
	want := virtio.FeatureVersion1 | virtio.FeatureEventIdx | 1<<5
	if !e.negotiate(want) {
		t.Fatal("FEATURES_OK refused")
	}
	e.setupQueue(0, 128, queuetest.Base)
	e.setupQueue(1, 64, queuetest.Base+0x40000)
	// Queue registers are read-only once the queue is ready.
	e.write(rQueueSel, 0)
	e.write(rQueueNum, 16)
	e.addStatus(statusDrvOK)
	if len(dev.activations) != 1 {
		t.Fatalf("%d activations, want 1", len(dev.activations))
	}
	a := dev.activations[0]
	if a.Features != want || len(a.Queues) != 2 || len(a.Notify) != 2 || a.Mem != e.mem || a.IRQ == nil || a.Fail == nil {
		t.Fatalf("activation = %+v", a)
	}
	if a.Queues[0].Size() != 128 || !a.Queues[0].Ready() || !a.Queues[1].Ready() {
		t.Fatalf("queue 0 size %d ready %v", a.Queues[0].Size(), a.Queues[0].Ready())
	}
	if got := e.status(); got != statusACK|statusDriver|statusFeatOK|statusDrvOK {
		t.Fatalf("status = %#x", got)
	}
	// After DRIVER_OK, queue setup is ignored.
	e.write(rQueueSel, 1)
	e.write(rQueueReady, 0)
	if e.read(rQueueReady) != 1 {
		t.Fatal("QueueReady cleared after DRIVER_OK")
	}
	if s := e.tr.Stats(); s.IgnoredWrites != 2 || s.BadAccesses != 0 {
		t.Fatalf("stats = %+v, want 2 ignored writes", s)
	}
	// Features cannot change after FEATURES_OK.
	e.write(rDrvFeatures, 0)
	if s := e.tr.Stats(); s.IgnoredWrites != 3 {
		t.Fatalf("feature write after FEATURES_OK not ignored: %+v", s)
	}
}

func TestFeatureRefusal(t *testing.T) {
	tests := []struct {
		name string
		want uint64
	}{
		{"no VERSION_1", virtio.FeatureEventIdx},
		{"not offered", virtio.FeatureVersion1 | 1<<7},
		{"ACCESS_PLATFORM not offered", virtio.FeatureVersion1 | virtio.FeatureAccessPlatform},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := &fakeDevice{features: 1 << 5, sizes: []uint16{16}}
			e := newEnv(t, dev)
			if e.negotiate(tt.want) {
				t.Fatal("FEATURES_OK accepted")
			}
			// DRIVER_OK without FEATURES_OK is ignored; Linux sets FAILED.
			e.addStatus(statusDrvOK)
			e.addStatus(statusFailed)
			if len(dev.activations) != 0 {
				t.Fatal("device activated")
			}
			if s := e.tr.Stats(); s.RefusedFeatures != 1 {
				t.Fatalf("stats = %+v", s)
			}
			if got := e.status(); got != statusACK|statusDriver|statusFailed {
				t.Fatalf("status = %#x", got)
			}
		})
	}
	// Bits above 63 are never offered.
	e := newEnv(t, &fakeDevice{sizes: []uint16{16}})
	e.addStatus(statusACK)
	e.addStatus(statusDriver)
	e.write(rDrvFeatSel, 1)
	e.write(rDrvFeatures, 1)
	e.write(rDrvFeatSel, 2)
	e.write(rDrvFeatures, 1)
	e.addStatus(statusFeatOK)
	if e.status()&statusFeatOK != 0 {
		t.Fatal("FEATURES_OK accepted with feature bit 64 set")
	}
}

func TestStatusOrder(t *testing.T) {
	dev := &fakeDevice{sizes: []uint16{16}}
	e := newEnv(t, dev)
	e.write(rStatus, statusDriver) // DRIVER before ACKNOWLEDGE
	e.write(rStatus, statusACK|statusDriver|statusFeatOK|statusDrvOK)
	if e.status() != 0 || len(dev.activations) != 0 {
		t.Fatalf("status = %#x after out-of-order writes", e.status())
	}
	if e.negotiate(virtio.FeatureVersion1) != true {
		t.Fatal("refused")
	}
	e.write(rStatus, statusACK) // clearing bits without reset
	if e.status() != statusACK|statusDriver|statusFeatOK {
		t.Fatalf("status = %#x after clearing write", e.status())
	}
	if s := e.tr.Stats(); s.IgnoredWrites != 3 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestActivateFailureNeedsReset(t *testing.T) {
	dev := &fakeDevice{sizes: []uint16{16}, activateErr: errors.New("no queue")}
	e := newEnv(t, dev)
	if !e.negotiate(virtio.FeatureVersion1) {
		t.Fatal("refused")
	}
	e.addStatus(statusDrvOK)
	if got := e.status(); got&statusNeedsRs == 0 {
		t.Fatalf("status = %#x, want DEVICE_NEEDS_RESET", got)
	}
	if got := e.read(rIntStatus); got != uint32(virtio.ConfigChange) {
		t.Fatalf("InterruptStatus = %#x, want config change", got)
	}
	if len(e.irqs) != 1 {
		t.Fatalf("%d interrupts, want 1", len(e.irqs))
	}
	if err := e.tr.Err(); err == nil || !errors.Is(err, dev.activateErr) {
		t.Fatalf("Err = %v", err)
	}
	// Writing back the status with NEEDS_RESET set is harmless.
	e.write(rStatus, e.status()|statusFailed)
	e.write(rIntACK, uint32(virtio.ConfigChange))
	if got := e.read(rIntStatus); got != 0 {
		t.Fatalf("InterruptStatus after ACK = %#x", got)
	}
	e.write(rStatus, 0)
	if got := e.status(); got != 0 {
		t.Fatalf("status after reset = %#x", got)
	}
}

func TestReset(t *testing.T) {
	dev := &fakeDevice{sizes: []uint16{16}}
	e := newEnv(t, dev)
	if !e.negotiate(virtio.FeatureVersion1 | virtio.FeatureEventIdx) {
		t.Fatal("refused")
	}
	e.setupQueue(0, 16, queuetest.Base)
	e.addStatus(statusDrvOK)
	a := dev.activations[0]
	if err := a.IRQ.Signal(virtio.UsedBuffer); err != nil {
		t.Fatal(err)
	}
	resets := dev.resets
	e.write(rStatus, 0)
	if dev.resets != resets+1 {
		t.Fatal("device not reset")
	}
	if e.status() != 0 || e.read(rIntStatus) != 0 || e.read(rQueueReady) != 0 || a.Queues[0].Ready() {
		t.Fatalf("after reset: status %#x, int %#x, ready %d", e.status(), e.read(rIntStatus), e.read(rQueueReady))
	}
	// The whole sequence works again.
	if !e.negotiate(virtio.FeatureVersion1) {
		t.Fatal("refused after reset")
	}
	e.setupQueue(0, 8, queuetest.Base)
	e.addStatus(statusDrvOK)
	if len(dev.activations) != 2 || dev.activations[1].Queues[0].Size() != 8 {
		t.Fatalf("second activation: %d", len(dev.activations))
	}
}

func TestBadQueueConfig(t *testing.T) {
	e := newEnv(t, &fakeDevice{sizes: []uint16{256}})
	if !e.negotiate(virtio.FeatureVersion1) {
		t.Fatal("refused")
	}
	d, err := queuetest.NewAt(e.mem, queuetest.Base, 16, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []uint32{0, 3, 512, 1 << 16} {
		e.write(rQueueNum, size)
		e.write(rDescLow, uint32(d.DescTable))
		e.write(rDriverLow, uint32(d.AvailRing))
		e.write(rDeviceLow, uint32(d.UsedRing))
		e.write(rQueueReady, 1)
		if e.read(rQueueReady) != 0 {
			t.Fatalf("queue ready with size %d", size)
		}
	}
	e.write(rQueueNum, 16)
	e.write(rDescHigh, 1) // above guest memory
	e.write(rQueueReady, 1)
	if e.read(rQueueReady) != 0 {
		t.Fatal("queue ready with rings outside memory")
	}
	if s := e.tr.Stats(); s.BadQueueConfigs != 5 {
		t.Fatalf("stats = %+v", s)
	}
	e.write(rQueueSel, 7) // no such queue
	if e.read(rQueueNumMax) != 0 {
		t.Fatal("QueueNumMax of a missing queue != 0")
	}
	e.write(rQueueNum, 16)
	if s := e.tr.Stats(); s.IgnoredWrites != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestBadAccesses(t *testing.T) {
	e := newEnv(t, &fakeDevice{sizes: []uint16{16}, config: []byte{1, 2, 3, 4, 5, 6, 7, 8}})
	for _, a := range []struct {
		off uint64
		n   int
	}{
		{rMagic, 1}, {rMagic, 2}, {rMagic, 8}, {rMagic + 1, 4}, {rMagic + 2, 4}, {0x0fe, 4},
		{0x1f0, 32}, {mmio.Size, 4}, {^uint64(0) - 1, 4},
	} {
		data := []byte{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}[:a.n]
		e.tr.Read(a.off, data)
		for _, b := range data {
			if b != 0 {
				t.Errorf("read %#x/%d = %v, want zeros", a.off, a.n, data)
				break
			}
		}
		e.tr.Write(a.off, data)
	}
	if s := e.tr.Stats(); s.BadAccesses != 18 {
		t.Errorf("BadAccesses = %d, want 18", s.BadAccesses)
	}
	// Write-only and unknown registers read as zero; read-only ones ignore writes.
	e.read(rQueueNotify)
	e.write(rMagic, 0)
	if s := e.tr.Stats(); s.BadAccesses != 20 {
		t.Errorf("BadAccesses = %d, want 20", s.BadAccesses)
	}
	// Config space: any width.
	var b [2]byte
	e.tr.Read(rConfig+3, b[:])
	if b != [2]byte{4, 5} {
		t.Errorf("config read = %v", b)
	}
	var q [8]byte
	e.tr.Read(rConfig+4, q[:])
	if q != [8]byte{5, 6, 7, 8} {
		t.Errorf("config read past the end = %v", q)
	}
}

func TestQueueNotifySignalsEventFD(t *testing.T) {
	e := newEnv(t, &fakeDevice{sizes: []uint16{16, 16}})
	fds := e.tr.QueueEventFDs()
	if len(fds) != 2 {
		t.Fatalf("%d eventfds", len(fds))
	}
	for i, f := range fds {
		if f.Index != i || f.Offset != 0x50 || f.FD < 0 {
			t.Fatalf("QueueEventFDs[%d] = %+v", i, f)
		}
	}
	e.write(rQueueNotify, 1)
	if !readable(t, fds[1].FD) || readable(t, fds[0].FD) {
		t.Fatal("QueueNotify 1 did not make only queue 1's eventfd readable")
	}
	e.write(rQueueNotify, 2)
	if s := e.tr.Stats(); s.BadNotifies != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func readable(t *testing.T, fd int) bool {
	t.Helper()
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(p, 0)
	if err != nil {
		t.Fatal(err)
	}
	return n == 1 && p[0].Revents&unix.POLLIN != 0
}

func TestNewRejects(t *testing.T) {
	mem, _ := guestmem.FromRegions(guestmem.Region{GPA: 0, Host: make([]byte, 4096)})
	irq := func() error { return nil }
	for _, dev := range []*fakeDevice{
		{sizes: nil},
		{sizes: []uint16{100}},
		{sizes: []uint16{16}, features: virtio.FeatureVersion1},
	} {
		if tr, err := mmio.New(dev, mem, irq); err == nil {
			tr.Close()
			t.Errorf("New accepted %+v", dev)
		}
	}
	if _, err := mmio.New(&fakeDevice{sizes: []uint16{16}}, mem, nil); err == nil {
		t.Error("New accepted a nil irq")
	}
}
