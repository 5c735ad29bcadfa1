package guestmem

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestLayout(t *testing.T) {
	for _, tc := range []struct {
		size uint64
		want []Span
	}{
		{64 << 20, []Span{{0, 64 << 20}}},
		{3 << 30, []Span{{0, 3 << 30}}},
		{4 << 30, []Span{{0, 3 << 30}, {MMIOHoleEnd, 1 << 30}}},
	} {
		got := Layout(tc.size)
		if len(got) != len(tc.want) {
			t.Fatalf("Layout(%#x) = %v, want %v", tc.size, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("Layout(%#x)[%d] = %v, want %v", tc.size, i, got[i], tc.want[i])
			}
		}
	}
}

func TestFromFileIsPrivateAndLazy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "memory")
	const size = 8 << 20
	img := make([]byte, size)
	copy(img[0x1000:], "hello")
	copy(img[size-4:], "tail")
	if err := os.WriteFile(path, img, 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := FromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Size() != size || len(m.Regions()) != 1 {
		t.Fatalf("size %d, %d regions; want %d, 1", m.Size(), len(m.Regions()), size)
	}
	got := make([]byte, 5)
	if _, err := m.ReadAt(got, 0x1000); err != nil || string(got) != "hello" {
		t.Fatalf("ReadAt = %q, %v; want hello", got, err)
	}
	if b, err := m.Slice(size-4, 4); err != nil || string(b) != "tail" {
		t.Fatalf("last bytes = %q, %v; want tail", b, err)
	}
	if _, err := m.WriteAt([]byte("guest"), 0x1000); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ReadAt(got, 0x1000); err != nil || string(got) != "guest" {
		t.Fatalf("after write: %q, %v", got, err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, img) {
		t.Error("a write to the private mapping changed the memory file")
	}
	if _, err := m.Slice(size, 1); err == nil {
		t.Error("access past the end succeeded")
	}
}

func TestFromFileRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	odd := filepath.Join(dir, "odd")
	if err := os.WriteFile(odd, make([]byte, 4097), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{odd, empty, filepath.Join(dir, "missing"), dir} {
		if m, err := FromFile(p); err == nil {
			m.Close()
			t.Errorf("FromFile(%s) succeeded", filepath.Base(p))
		}
	}
}
