package boot

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"

	"github.com/embervm/ember/guestmem"
)

// Setup header and boot_params offsets (Documentation/arch/x86/boot.rst,
// "The Real-Mode Kernel Header"; zero-page.rst). Offsets are from the start
// of the image, which are also the offsets in boot_params.
const (
	hdrStart          = 0x1f1 // setup_sects: first byte of the setup header
	hdrSetupSects     = 0x1f1 // u8
	hdrSysSize        = 0x1f4 // u32, protected-mode code size in 16-byte units
	hdrJump           = 0x200 // 2-byte jump; its second byte is the header length
	hdrMagic          = 0x202 // "HdrS"
	hdrVersion        = 0x206 // u16 boot protocol version
	hdrTypeOfLoader   = 0x210 // u8
	hdrLoadFlags      = 0x211 // u8
	hdrRamdiskImage   = 0x218 // u32
	hdrRamdiskSize    = 0x21c // u32
	hdrHeapEndPtr     = 0x224 // u16
	hdrCmdLinePtr     = 0x228 // u32
	hdrInitrdAddrMax  = 0x22c // u32
	hdrKernelAlign    = 0x230 // u32
	hdrXLoadFlags     = 0x236 // u16
	hdrCmdlineSize    = 0x238 // u32
	hdrPrefAddress    = 0x258 // u64
	hdrInitSize       = 0x260 // u32
	hdrMinEnd         = 0x264 // the header must reach past init_size
	bpExtRamdiskImage = 0x0c0 // u32, boot_params.ext_ramdisk_image
	bpExtRamdiskSize  = 0x0c4 // u32
	bpExtCmdLinePtr   = 0x0c8 // u32
	bpACPIRSDPAddr    = 0x070 // u64, protocol 2.14+; older kernels ignore it
	bpE820Entries     = 0x1e8 // u8
	bpE820Table       = 0x2d0 // 20-byte boot_e820_entry array
	bpSize            = 0x1000

	loadedHigh    = 1 << 0 // loadflags: protected-mode code loads at 1 MiB
	canUseHeap    = 1 << 7 // loadflags: heap_end_ptr is valid
	xlfKernel64   = 1 << 0 // xloadflags: 64-bit entry at load address + 0x200
	loaderUnknown = 0xff   // type_of_loader: no assigned ID
	heapEnd       = 0xfe00 // heap_end_ptr, as boot.rst recommends
	entry64Offset = 0x200  // startup_64 relative to the load address

	minProtocol = 0x020c // 2.12: xloadflags, 64-bit entry
)

// bzImage is what Load needs from a bzImage's setup header.
type bzImage struct {
	header     []byte // bytes [hdrStart, header end) of the image
	pmOffset   int64  // file offset of the protected-mode code
	pmSize     uint64 // bytes of protected-mode code
	end        uint64 // first GPA after all memory the kernel uses before it reads the memory map
	initrdMax  uint64 // exclusive upper bound for the initrd's end
	cmdlineMax uint64 // longest command line, NUL excluded
}

// isBzImage reports whether head (the file's first bytes) has a setup header.
func isBzImage(head []byte) bool {
	return len(head) >= hdrMagic+4 && string(head[hdrMagic:hdrMagic+4]) == "HdrS"
}

// parseBzImage validates the setup header in head; size is the file size.
func parseBzImage(head []byte, size int64) (*bzImage, error) {
	le := binary.LittleEndian
	if len(head) < hdrVersion+2 {
		return nil, fmt.Errorf("truncated setup header")
	}
	if v := le.Uint16(head[hdrVersion:]); v < minProtocol {
		return nil, fmt.Errorf("boot protocol %d.%02d is too old: need 2.12 or later with a 64-bit entry point",
			v>>8, v&0xff)
	}
	hdrEnd := hdrMagic + int(head[hdrJump+1])
	if hdrEnd < hdrMinEnd {
		return nil, fmt.Errorf("setup header is %d bytes: too short for boot protocol 2.12", hdrEnd-hdrStart)
	}
	if len(head) < hdrEnd {
		return nil, fmt.Errorf("truncated setup header")
	}
	if head[hdrLoadFlags]&loadedHigh == 0 {
		return nil, fmt.Errorf("zImage (loaded low) is not supported")
	}
	if le.Uint16(head[hdrXLoadFlags:])&xlfKernel64 == 0 {
		return nil, fmt.Errorf("no 64-bit entry point (XLF_KERNEL_64 not set in xloadflags)")
	}
	setupSects := int64(head[hdrSetupSects])
	if setupSects == 0 {
		setupSects = 4
	}
	k := &bzImage{
		header:     head[hdrStart:hdrEnd:hdrEnd],
		pmOffset:   (setupSects + 1) * 512,
		initrdMax:  uint64(le.Uint32(head[hdrInitrdAddrMax:])) + 1,
		cmdlineMax: uint64(le.Uint32(head[hdrCmdlineSize:])),
	}
	if size <= k.pmOffset {
		return nil, fmt.Errorf("truncated: no protected-mode code after %d setup sectors", setupSects)
	}
	k.pmSize = uint64(size - k.pmOffset)
	if sys := uint64(le.Uint32(head[hdrSysSize:])); (k.pmSize+15)/16 < sys {
		return nil, fmt.Errorf("truncated: protected-mode code is %d bytes, the header says %d", k.pmSize, sys*16)
	}
	end, ok := runtimeEnd(head, k.pmSize)
	if !ok {
		return nil, fmt.Errorf("setup header: pref_address/init_size out of range")
	}
	k.end = end
	return k, nil
}

// runtimeEnd returns the first GPA after the memory the kernel needs.
// The decompressor (arch/x86/boot/compressed/head_64.S) runs the kernel at
// max(load address rounded up to kernel_alignment, LOAD_PHYSICAL_ADDR) -
// pref_address holds LOAD_PHYSICAL_ADDR - and needs init_size bytes from
// there (boot.rst, init_size); the compressed image itself sits at 1 MiB.
func runtimeEnd(head []byte, pmSize uint64) (uint64, bool) {
	le := binary.LittleEndian
	start := max(uint64(highMemGPA), le.Uint64(head[hdrPrefAddress:]))
	if a := uint64(le.Uint32(head[hdrKernelAlign:])); a != 0 && a&(a-1) == 0 {
		start = max(start, (uint64(highMemGPA)+a-1)&^(a-1))
	}
	end, c1 := bits.Add64(start, uint64(le.Uint32(head[hdrInitSize:])), 0)
	loaded, c2 := bits.Add64(uint64(highMemGPA), pmSize, 0)
	return max(end, loaded), c1 == 0 && c2 == 0
}

// load copies the protected-mode code to 1 MiB. The caller has checked
// that k.end lies in RAM.
func (k *bzImage) load(mem *guestmem.Memory, r io.ReaderAt) error {
	dst, err := mem.Slice(highMemGPA, k.pmSize)
	if err != nil {
		return err
	}
	if _, err := io.ReadFull(io.NewSectionReader(r, k.pmOffset, int64(k.pmSize)), dst); err != nil {
		return fmt.Errorf("read protected-mode code: %w", err)
	}
	return nil
}

// writeZeroPage builds boot_params: the image's setup header plus the
// fields a boot loader fills in (boot.rst, "Details of Header Fields").
func (k *bzImage) writeZeroPage(mem *guestmem.Memory, bi bootInfo) error {
	initrd, initrdSize, e820 := bi.initrd, bi.initrdSize, bi.e820
	le := binary.LittleEndian
	bp := make([]byte, bpSize)
	copy(bp[hdrStart:], k.header)
	bp[hdrTypeOfLoader] = loaderUnknown
	bp[hdrLoadFlags] |= canUseHeap
	le.PutUint16(bp[hdrHeapEndPtr:], heapEnd)
	le.PutUint32(bp[hdrCmdLinePtr:], uint32(cmdlineGPA))
	le.PutUint32(bp[bpExtCmdLinePtr:], uint32(uint64(cmdlineGPA)>>32))
	le.PutUint32(bp[hdrRamdiskImage:], uint32(initrd))
	le.PutUint32(bp[bpExtRamdiskImage:], uint32(initrd>>32))
	le.PutUint32(bp[hdrRamdiskSize:], uint32(initrdSize))
	le.PutUint32(bp[bpExtRamdiskSize:], uint32(initrdSize>>32))
	le.PutUint64(bp[bpACPIRSDPAddr:], bi.rsdp)
	bp[bpE820Entries] = byte(len(e820))
	for i, e := range e820 {
		p := bp[bpE820Table+20*i:]
		le.PutUint64(p, e.Addr)
		le.PutUint64(p[8:], e.Size)
		le.PutUint32(p[16:], e.Type)
	}
	if _, err := mem.WriteAt(bp, int64(zeroPageGPA)); err != nil {
		return fmt.Errorf("write zero page at %#x: %w", zeroPageGPA, err)
	}
	return nil
}
