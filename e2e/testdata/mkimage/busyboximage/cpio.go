package busyboximage

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strconv"
)

// newc cpio header: "070701" then 13 fields of 8 hex digits (cpio(5)).
const (
	newcMagic   = "070701"
	newcHdrSize = 6 + 13*8
	fieldSize   = 6  // index of c_filesize among the 13 fields
	fieldName   = 11 // index of c_namesize
)

// fileFromInitrd returns the contents of the regular file name in the
// gzip-compressed newc cpio archive at path (the initramfs "make images"
// builds), searching its first archive.
func fileFromInitrd(path, name string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r := bufio.NewReader(z)
	for {
		entry, size, err := nextEntry(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if entry == "TRAILER!!!" {
			return nil, fmt.Errorf("%s: no %s in it: run 'make images'", path, name)
		}
		if entry == name {
			data := make([]byte, size)
			if _, err := io.ReadFull(r, data); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, name, err)
			}
			return data, nil
		}
		if _, err := r.Discard(int(pad4(size))); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
}

// nextEntry reads one entry's header and name, leaving r at its data; it
// returns the name and the data's size.
func nextEntry(r *bufio.Reader) (string, int64, error) {
	hdr := make([]byte, newcHdrSize)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return "", 0, fmt.Errorf("cpio header: %w", err)
	}
	if string(hdr[:6]) != newcMagic {
		return "", 0, fmt.Errorf("not a newc cpio archive (magic %q)", hdr[:6])
	}
	field := func(i int) (int64, error) {
		return strconv.ParseInt(string(hdr[6+i*8:6+(i+1)*8]), 16, 64)
	}
	size, err := field(fieldSize)
	if err != nil {
		return "", 0, fmt.Errorf("cpio file size: %w", err)
	}
	nameSize, err := field(fieldName)
	if err != nil || nameSize < 1 {
		return "", 0, fmt.Errorf("cpio name size: %v", err)
	}
	name := make([]byte, pad4(newcHdrSize+nameSize)-newcHdrSize)
	if _, err := io.ReadFull(r, name); err != nil {
		return "", 0, fmt.Errorf("cpio name: %w", err)
	}
	return string(name[:nameSize-1]), size, nil
}

// pad4 rounds n up to a multiple of 4, newc's alignment.
func pad4(n int64) int64 { return (n + 3) &^ 3 }
