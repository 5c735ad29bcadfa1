package boot

import (
	"testing"

	"github.com/embervm/ember/internal/userfile/userfiletest"
)

// TestLoadRefusesSpecialFiles: a FIFO, a directory or a character device
// as the kernel or the initrd is refused at once (a FIFO does not hang).
func TestLoadRefusesSpecialFiles(t *testing.T) {
	mem := newMem(t, 64<<20, 0)
	userfiletest.Refuses(t, "kernel", func(path string) error {
		_, err := Load(mem, Config{Kernel: path, CPUs: 1})
		return err
	})
	kernel := writeFile(t, "bzImage", makeBzImage(bzOpts{}))
	userfiletest.Refuses(t, "initrd", func(path string) error {
		_, err := Load(mem, Config{Kernel: kernel, Initrd: path, CPUs: 1})
		return err
	})
}
