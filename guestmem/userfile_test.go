package guestmem

import (
	"testing"

	"github.com/embervm/ember/internal/userfile/userfiletest"
)

// TestFromFileRefusesSpecialFiles: a FIFO, a directory or a character
// device as the memory file is refused at once (a FIFO does not hang).
func TestFromFileRefusesSpecialFiles(t *testing.T) {
	userfiletest.Refuses(t, "guest memory file", func(path string) error {
		m, err := FromFile(path)
		if err == nil {
			m.Close()
		}
		return err
	})
}
