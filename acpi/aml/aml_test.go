package aml

import (
	"bytes"
	"testing"
)

func TestPkgLength(t *testing.T) {
	for _, c := range []struct {
		body int
		want []byte
	}{
		{0, []byte{0x01}},
		{62, []byte{0x3f}},               // 63 with itself: the last one-byte length
		{63, []byte{0x41, 0x04}},         // 65 = 0x41: two bytes
		{4093, []byte{0x4f, 0xff}},       // 4095: the last two-byte length
		{4094, []byte{0x81, 0x00, 0x01}}, // 4097 = 0x1001
	} {
		if got := pkgLength(c.body); !bytes.Equal(got, c.want) {
			t.Errorf("pkgLength(%d) = % x, want % x", c.body, got, c.want)
		}
	}
}

func TestEncodings(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want Term
	}{
		{"EISAID PNP0501", EISAID("PNP0501"), Term{0x0c, 0x41, 0xd0, 0x05, 0x01}},
		{"Int 0", Int(0), Term{0x00}},
		{"Int 1", Int(1), Term{0x01}},
		{"Int 0x80", Int(0x80), Term{0x0a, 0x80}},
		{"Int 0x1234", Int(0x1234), Term{0x0b, 0x34, 0x12}},
		{"Int 1<<32", Int(1 << 32), Term{0x0e, 0, 0, 0, 0, 1, 0, 0, 0}},
		{"root path", Path(`\_SB_.PWRB`), Term(`\` + "\x2e_SB_PWRB")},
		{"short name", Path("GED"), Term("GED_")},
		{"three segments", Path(`A.B.C`), Term("\x2f\x03A___B___C___")},
		{"string", String("ab"), Term{0x0d, 'a', 'b', 0}},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s: % x, want % x", c.name, c.got, c.want)
		}
	}
}

func TestBadNamesPanic(t *testing.T) {
	for _, f := range []func(){
		func() { Path("TOOLONG") },
		func() { Path("1ABC") },
		func() { Path("ab") },
		func() { EISAID("PNP05") },
		func() { EISAID("pnp0501") },
		func() { EISAID("PNP05G1") },
		func() { IRQNoFlags(16) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		}()
	}
}
