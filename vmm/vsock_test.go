package vmm

import (
	"path/filepath"
	"testing"

	"github.com/embervm/ember/devices/virtio/vsock"
)

// The vsock device's table entry: validated, built listening on its
// socket, saved and loaded with its CID and path, and told to send a
// transport reset on restore.
func TestVsockKind(t *testing.T) {
	k, ok := kindNamed("vsock")
	if !ok {
		t.Fatal("no device kind vsock")
	}
	for _, bad := range []VsockConfig{{CID: 2}, {CID: 1 << 32}, {CID: 3, Path: "/" + string(make([]byte, maxVsockPath))}} {
		if err := (&Devices{Vsock: &bad}).validate(); err == nil {
			t.Errorf("%+v validated", bad)
		}
	}
	want := Devices{Vsock: &VsockConfig{CID: 9, Path: filepath.Join(t.TempDir(), "v.sock")}}
	if err := want.validate(); err != nil {
		t.Fatal(err)
	}
	if plan := want.plan(); len(plan) != 1 || plan[0].name() != "vsock0" {
		t.Fatalf("plan %v", plan)
	}
	dev, err := k.build(&want, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.(*vsock.Device).Close()
	b := savedJSON(t, k, &want, 0, dev)
	var got Devices
	if err := k.load(&got, b); err != nil || got.Vsock == nil || *got.Vsock != *want.Vsock {
		t.Fatalf("load %s: %+v, %v", b, got.Vsock, err)
	}
	if err := k.load(&got, []byte(`{"cid":1}`)); err == nil {
		t.Error("a saved CID 1 loaded")
	}
	if err := k.restore(dev, b); err != nil {
		t.Fatal(err)
	}
	if s, ok := k.stats(&want, 0, dev).(VsockStats); !ok || s.CID != 9 {
		t.Errorf("stats %+v", s)
	}
}
