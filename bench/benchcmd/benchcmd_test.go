package benchcmd

import (
	"strings"
	"testing"
)

func TestAddVmlinux(t *testing.T) {
	got := strings.Join(addVmlinux([]string{"ember", "ember-console-off", "gokvm", "qemu", "qemu-setup", "crun"}), ",")
	if want := "ember,ember-vmlinux,ember-console-off,gokvm,qemu,qemu-vmlinux,qemu-setup,crun"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
