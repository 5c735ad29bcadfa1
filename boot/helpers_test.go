package boot

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/embervm/ember/guestmem"
)

var le = binary.LittleEndian

// newMem returns size bytes of RAM at GPA 0, filled with fill so tests see
// what Load clears.
func newMem(t testing.TB, size int, fill byte) *guestmem.Memory {
	t.Helper()
	b := make([]byte, size)
	if fill != 0 {
		b = bytes.Repeat([]byte{fill}, size)
	}
	return newMemFrom(t, b)
}

// newMemFrom wraps b as RAM at GPA 0.
func newMemFrom(t testing.TB, b []byte) *guestmem.Memory {
	t.Helper()
	m, err := guestmem.FromRegions(guestmem.Region{GPA: 0, Host: b})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// writeFile writes b to a new file in a temporary directory.
func writeFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// bzOpts describes a synthetic bzImage; zero fields take the defaults of
// a typical x86-64 kernel.
type bzOpts struct {
	version       uint16
	xloadflags    uint16
	loadflags     byte
	setupSects    byte // 0 means 4, as in the protocol
	initSize      uint32
	prefAddress   uint64
	align         uint32
	cmdlineSize   uint32
	initrdAddrMax uint32
	payload       []byte
	hdrLen        byte // byte 0x201; default reaches 0x270
}

// makeBzImage builds a bzImage: setup sectors with a setup header, then
// the payload as protected-mode code.
func makeBzImage(o bzOpts) []byte {
	if o.version == 0 {
		o.version = 0x020f
	}
	if o.xloadflags == 0 {
		o.xloadflags = xlfKernel64
	}
	if o.loadflags == 0 {
		o.loadflags = loadedHigh
	}
	if o.initSize == 0 {
		o.initSize = 4 << 20
	}
	if o.prefAddress == 0 {
		o.prefAddress = 16 << 20
	}
	if o.align == 0 {
		o.align = 2 << 20
	}
	if o.cmdlineSize == 0 {
		o.cmdlineSize = 2047
	}
	if o.initrdAddrMax == 0 {
		o.initrdAddrMax = 0x7fffffff
	}
	if o.payload == nil {
		o.payload = make([]byte, 8192)
		for i := range o.payload {
			o.payload[i] = byte(i*7 + 1)
		}
	}
	if o.hdrLen == 0 {
		o.hdrLen = 0x270 - 0x202
	}
	sects := int(o.setupSects)
	if sects == 0 {
		sects = 4
	}
	b := make([]byte, (sects+1)*512, (sects+1)*512+len(o.payload))
	b[0x1f1] = o.setupSects
	le.PutUint32(b[0x1f4:], uint32((len(o.payload)+15)/16))
	le.PutUint16(b[0x1fa:], 0xffff) // vid_mode: checks the header is copied
	le.PutUint16(b[0x1fe:], 0xaa55)
	b[0x200], b[0x201] = 0xeb, o.hdrLen
	copy(b[0x202:], "HdrS")
	le.PutUint16(b[0x206:], o.version)
	b[0x211] = o.loadflags
	le.PutUint32(b[0x214:], 0x100000)
	le.PutUint32(b[0x22c:], o.initrdAddrMax)
	le.PutUint32(b[0x230:], o.align)
	b[0x234] = 1
	le.PutUint16(b[0x236:], o.xloadflags)
	le.PutUint32(b[0x238:], o.cmdlineSize)
	le.PutUint64(b[0x258:], o.prefAddress)
	le.PutUint32(b[0x260:], o.initSize)
	le.PutUint32(b[0x264:], 0x12345678) // handover_offset: a marker
	return append(b, o.payload...)
}

// elfSeg is one PT_LOAD segment of a synthetic ELF.
type elfSeg struct {
	paddr uint64
	data  []byte
	memsz uint64 // >= len(data); the rest is bss
}

// elfOpts describes a synthetic ELF64 vmlinux.
type elfOpts struct {
	machine       elf.Machine // default EM_X86_64
	segs          []elfSeg
	note          []byte // raw note bytes; nil for none
	noteInSection bool   // put the note in a SHT_NOTE section, not a PT_NOTE
}

// pvhNote returns a Xen PHYS32_ENTRY note with a desc of n bytes.
func pvhNote(entry uint64, n int) []byte {
	desc := make([]byte, n)
	if n == 4 {
		le.PutUint32(desc, uint32(entry))
	} else {
		le.PutUint64(desc, entry)
	}
	return elfNote("Xen", xenElfnotePhys32Entry, desc)
}

// elfNote encodes one ELF note.
func elfNote(name string, typ uint32, desc []byte) []byte {
	b := le.AppendUint32(nil, uint32(len(name)+1))
	b = le.AppendUint32(b, uint32(len(desc)))
	b = le.AppendUint32(b, typ)
	b = append(b, name...)
	b = append(b, 0)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	b = append(b, desc...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// makeELF builds an ELF64 little-endian executable.
func makeELF(o elfOpts) []byte {
	if o.machine == 0 {
		o.machine = elf.EM_X86_64
	}
	type phdr struct {
		typ           elf.ProgType
		off, paddr    uint64
		filesz, memsz uint64
	}
	var phdrs []phdr
	nph := len(o.segs)
	if o.note != nil && !o.noteInSection {
		nph++
	}
	body := make([]byte, 64+56*nph)
	appendData := func(d []byte) uint64 {
		for len(body)%16 != 0 {
			body = append(body, 0)
		}
		off := uint64(len(body))
		body = append(body, d...)
		return off
	}
	for _, s := range o.segs {
		off := appendData(s.data)
		phdrs = append(phdrs, phdr{elf.PT_LOAD, off, s.paddr, uint64(len(s.data)), max(s.memsz, uint64(len(s.data)))})
	}
	var noteOff uint64
	if o.note != nil {
		noteOff = appendData(o.note)
		if !o.noteInSection {
			phdrs = append(phdrs, phdr{elf.PT_NOTE, noteOff, 0, uint64(len(o.note)), uint64(len(o.note))})
		}
	}
	var shoff uint64
	var shnum, shstrndx uint16
	if o.noteInSection {
		strtab := []byte("\x00.note.Xen\x00.shstrtab\x00")
		strOff := appendData(strtab)
		shoff = appendData(nil)
		shdr := func(name, typ uint32, off, size uint64) {
			s := make([]byte, 64)
			le.PutUint32(s, name)
			le.PutUint32(s[4:], typ)
			le.PutUint64(s[24:], off)
			le.PutUint64(s[32:], size)
			le.PutUint64(s[48:], 4)
			body = append(body, s...)
		}
		shdr(0, 0, 0, 0)
		shdr(1, uint32(elf.SHT_NOTE), noteOff, uint64(len(o.note)))
		shdr(11, uint32(elf.SHT_STRTAB), strOff, uint64(len(strtab)))
		shnum, shstrndx = 3, 2
	}
	h := body[:64]
	copy(h, elf.ELFMAG)
	h[4], h[5], h[6] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	le.PutUint16(h[16:], uint16(elf.ET_EXEC))
	le.PutUint16(h[18:], uint16(o.machine))
	le.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	le.PutUint64(h[32:], 64)
	le.PutUint64(h[40:], shoff)
	le.PutUint16(h[52:], 64)
	le.PutUint16(h[54:], 56)
	le.PutUint16(h[56:], uint16(nph))
	le.PutUint16(h[58:], 64)
	le.PutUint16(h[60:], shnum)
	le.PutUint16(h[62:], shstrndx)
	for i, p := range phdrs {
		ph := body[64+56*i:]
		le.PutUint32(ph, uint32(p.typ))
		le.PutUint32(ph[4:], uint32(elf.PF_R|elf.PF_X))
		le.PutUint64(ph[8:], p.off)
		le.PutUint64(ph[16:], p.paddr+0xffffffff80000000)
		le.PutUint64(ph[24:], p.paddr)
		le.PutUint64(ph[32:], p.filesz)
		le.PutUint64(ph[40:], p.memsz)
		le.PutUint64(ph[48:], 16)
	}
	return body
}

// defaultELF is a PVH vmlinux: text at 16 MiB with the entry 0x40 in, and
// a data segment with 4 KiB of bss.
func defaultELF() []byte {
	text := bytes.Repeat([]byte{0x90}, 0x1000)
	data := bytes.Repeat([]byte{0x5a}, 0x800)
	return makeELF(elfOpts{
		segs: []elfSeg{
			{paddr: 16 << 20, data: text},
			{paddr: 16<<20 + 0x2000, data: data, memsz: 0x1800},
		},
		note: append(elfNote("GNU", 3, []byte{1, 2, 3, 4}), pvhNote(16<<20+0x40, 4)...),
	})
}

// read returns n bytes of guest memory at gpa.
func read(t testing.TB, m *guestmem.Memory, gpa guestmem.GPA, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := m.ReadAt(b, int64(gpa)); err != nil {
		t.Fatalf("read %#x+%d: %v", gpa, n, err)
	}
	return b
}
