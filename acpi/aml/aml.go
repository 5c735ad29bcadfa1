package aml

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Opcodes (ACPI 6.5 §20.3, "AML Byte Stream Byte Values").
const (
	zeroOp      = 0x00
	oneOp       = 0x01
	nameOp      = 0x08
	bytePrefix  = 0x0a
	wordPrefix  = 0x0b
	dwordPrefix = 0x0c
	stringPfx   = 0x0d
	qwordPrefix = 0x0e
	scopeOp     = 0x10
	bufferOp    = 0x11
	packageOp   = 0x12
	methodOp    = 0x14
	dualNamePfx = 0x2e
	multiNamPfx = 0x2f
	rootChar    = '\\'
	extOpPrefix = 0x5b
	deviceOp    = 0x82 // after extOpPrefix
	arg0Op      = 0x68
	lEqualOp    = 0x93
	ifOp        = 0xa0
	notifyOp    = 0x86
	returnOp    = 0xa4
	onesOp      = 0xff
)

// Term is encoded AML: a term, an object or a whole term list.
type Term []byte

// List concatenates terms into one term list.
func List(terms ...Term) Term {
	var b []byte
	for _, t := range terms {
		b = append(b, t...)
	}
	return b
}

// Path encodes a NameString: "\_SB_.PWRB", "PWRB" or "\". Each segment
// is at most four characters of [A-Z0-9_] (the first not a digit) and is
// padded with '_'. It panics on a malformed name: names are constants of
// the VMM, never input.
func Path(name string) Term {
	var b []byte
	if strings.HasPrefix(name, `\`) {
		b = append(b, rootChar)
		name = name[1:]
	}
	if name == "" {
		return append(b, zeroOp) // NullName
	}
	segs := strings.Split(name, ".")
	switch len(segs) {
	case 1:
	case 2:
		b = append(b, dualNamePfx)
	default:
		b = append(b, multiNamPfx, byte(len(segs)))
	}
	for _, s := range segs {
		b = append(b, nameSeg(s)...)
	}
	return b
}

func nameSeg(s string) []byte {
	if len(s) == 0 || len(s) > 4 {
		panic(fmt.Sprintf("aml: name segment %q: 1 to 4 characters", s))
	}
	for i, c := range []byte(s) {
		ok := c == '_' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			panic(fmt.Sprintf("aml: name segment %q: bad character %q", s, c))
		}
	}
	return []byte(s + strings.Repeat("_", 4-len(s)))
}

// Int encodes an integer in the shortest form.
func Int(v uint64) Term {
	switch {
	case v == 0:
		return Term{zeroOp}
	case v == 1:
		return Term{oneOp}
	case v <= 0xff:
		return Term{bytePrefix, byte(v)}
	case v <= 0xffff:
		return binary.LittleEndian.AppendUint16(Term{wordPrefix}, uint16(v))
	case v <= 0xffffffff:
		return binary.LittleEndian.AppendUint32(Term{dwordPrefix}, uint32(v))
	}
	return binary.LittleEndian.AppendUint64(Term{qwordPrefix}, v)
}

// DWord encodes v as a DWordConst whatever its value (EISA IDs are
// conventionally DWords).
func DWord(v uint32) Term { return binary.LittleEndian.AppendUint32(Term{dwordPrefix}, v) }

// Ones is the integer with all bits set.
func Ones() Term { return Term{onesOp} }

// String encodes an ASCII string constant.
func String(s string) Term {
	return append(append(Term{stringPfx}, s...), 0)
}

// EISAID encodes a 7-character PnP ID ("PNP0501") as the compressed
// 32-bit EISA ID (ACPI §19.6.35, EISAID macro).
func EISAID(id string) Term {
	if len(id) != 7 {
		panic(fmt.Sprintf("aml: EISA ID %q: want 7 characters", id))
	}
	for _, c := range []byte(id[:3]) {
		if c < 'A' || c > 'Z' {
			panic(fmt.Sprintf("aml: EISA ID %q: the first three must be capital letters", id))
		}
	}
	var hex uint32
	if _, err := fmt.Sscanf(id[3:], "%04X", &hex); err != nil || len(strings.Trim(id[3:], "0123456789ABCDEF")) != 0 {
		panic(fmt.Sprintf("aml: EISA ID %q: the last four must be hex digits", id))
	}
	c := func(i int) uint32 { return uint32(id[i]-'@') & 0x1f }
	v := c(0)<<26 | c(1)<<21 | c(2)<<16 | hex
	// Stored big-endian: the bytes read in order are the ID's.
	return DWord(v>>24 | v>>8&0xff00 | v<<8&0xff0000 | v<<24)
}

// HID returns the _HID value for id: an EISA ID for 7-character PnP IDs
// ("PNP0C0C"), a string for 8-character ACPI IDs ("ACPI0013").
func HID(id string) Term {
	if len(id) == 7 {
		return EISAID(id)
	}
	return String(id)
}

// pkgLength encodes a PkgLength for a body of n bytes: the encoded length
// counts itself (ACPI §20.2.4).
func pkgLength(n int) []byte {
	for extra := 0; extra <= 3; extra++ {
		total := n + 1 + extra
		if extra == 0 {
			if total < 0x40 {
				return []byte{byte(total)}
			}
			continue
		}
		if total < 1<<(4+8*extra) {
			b := []byte{byte(extra)<<6 | byte(total&0xf)}
			for i := 0; i < extra; i++ {
				b = append(b, byte(total>>(4+8*i)))
			}
			return b
		}
	}
	panic(fmt.Sprintf("aml: package of %d bytes is too long", n))
}

// withLength returns op, a PkgLength and body.
func withLength(op []byte, body ...[]byte) Term {
	var n int
	for _, b := range body {
		n += len(b)
	}
	t := append(append(Term{}, op...), pkgLength(n)...)
	for _, b := range body {
		t = append(t, b...)
	}
	return t
}

// Name defines a named object: Name(NAME, value).
func Name(name string, value Term) Term {
	return List(Term{nameOp}, Path(name), value)
}

// Scope opens an existing scope: Scope(path) { terms }.
func Scope(path string, terms ...Term) Term {
	return withLength([]byte{scopeOp}, Path(path), List(terms...))
}

// Device declares a device: Device(name) { terms }.
func Device(name string, terms ...Term) Term {
	return withLength([]byte{extOpPrefix, deviceOp}, Path(name), List(terms...))
}

// Method declares a not-serialized control method with args arguments.
func Method(name string, args int, terms ...Term) Term {
	if args < 0 || args > 7 {
		panic("aml: a method takes 0 to 7 arguments")
	}
	return withLength([]byte{methodOp}, Path(name), []byte{byte(args)}, List(terms...))
}

// Package encodes Package() { elements } (at most 255 elements).
func Package(elems ...Term) Term {
	if len(elems) > 255 {
		panic("aml: a package holds at most 255 elements")
	}
	return withLength([]byte{packageOp}, []byte{byte(len(elems))}, List(elems...))
}

// Buffer encodes Buffer() { data }.
func Buffer(data []byte) Term {
	return withLength([]byte{bufferOp}, Int(uint64(len(data))), data)
}

// If encodes If (predicate) { terms }.
func If(predicate Term, terms ...Term) Term {
	return withLength([]byte{ifOp}, predicate, List(terms...))
}

// Equal encodes LEqual(a, b).
func Equal(a, b Term) Term { return List(Term{lEqualOp}, a, b) }

// Arg0 is a method's first argument.
func Arg0() Term { return Term{arg0Op} }

// Notify encodes Notify(object, value).
func Notify(object string, value uint64) Term {
	return List(Term{notifyOp}, Path(object), Int(value))
}

// Return encodes Return(value).
func Return(value Term) Term { return List(Term{returnOp}, value) }
