package blk

import (
	"testing"

	"github.com/embervm/ember/internal/userfile/userfiletest"
)

// TestNewRefusesSpecialFiles: a FIFO, a directory or a character device
// as a disk image is refused at once, read-write or read-only (a FIFO
// does not hang).
func TestNewRefusesSpecialFiles(t *testing.T) {
	for _, ro := range []bool{false, true} {
		userfiletest.Refuses(t, "disk", func(path string) error {
			d, err := New(path, Options{ReadOnly: ro})
			if err == nil {
				d.Close()
			}
			return err
		})
	}
}
