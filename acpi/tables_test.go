package acpi

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embervm/ember/acpi/aml"
)

const testBase = 0xe0000

func testMachine(cpus int) Machine {
	return Machine{
		CPUs: cpus, LAPICAddr: 0xfee00000, IOAPICAddr: 0xfec00000, IOAPICID: uint8(cpus),
		SleepControlPort: 0x600, SleepStatusPort: 0x601, ResetPort: 0x602, ResetValue: 1, SleepTypeS5: 5,
		CenturyReg: 0x32, Has8042: true, HasCMOSRTC: true,
		Devices: []aml.Term{
			aml.Device("COM1", aml.Name("_HID", aml.HID("PNP0501")), aml.Name("_UID", aml.Int(0)),
				aml.Name("_CRS", aml.ResourceTemplate(aml.IO(0x3f8, 8), aml.IRQNoFlags(4)))),
			aml.Device("VR00", aml.Name("_HID", aml.HID("LNRO0005")), aml.Name("_UID", aml.Int(0)),
				aml.Name("_CRS", aml.ResourceTemplate(aml.Memory32Fixed(0xd0001000, 0x200), aml.Interrupt(5)))),
			aml.Device("GED_", aml.Name("_HID", aml.HID("ACPI0013")), aml.Name("_UID", aml.Int(0)),
				aml.Name("_CRS", aml.ResourceTemplate(aml.Interrupt(3))),
				aml.Method("_EVT", 1, aml.If(aml.Equal(aml.Arg0(), aml.Int(3)), aml.Notify(`\_SB_.PWRB`, 0x80)))),
			aml.Device("PWRB", aml.Name("_HID", aml.HID("PNP0C0C")), aml.Name("_UID", aml.Int(0))),
		},
	}
}

// tableAt checks the table at off in b (relative to testBase) and returns it.
func tableAt(t *testing.T, b []byte, gpa uint64, sig string) []byte {
	t.Helper()
	off := int(gpa - testBase)
	if gpa < testBase || off+headerSize > len(b) {
		t.Fatalf("%s at %#x: outside the %d bytes built", sig, gpa, len(b))
	}
	n := int(binary.LittleEndian.Uint32(b[off+4:]))
	if off+n > len(b) || n < headerSize {
		t.Fatalf("%s at %#x: length %d runs past the end", sig, gpa, n)
	}
	tb := b[off : off+n]
	if string(tb[:4]) != sig {
		t.Fatalf("table at %#x is %q, want %q", gpa, tb[:4], sig)
	}
	if checksum(tb) != 0 {
		t.Errorf("%s: checksum does not sum to zero", sig)
	}
	return tb
}

func TestBuildWalk(t *testing.T) {
	le := binary.LittleEndian
	b, err := Build(testBase, testMachine(4))
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:8]) != "RSD PTR " || checksum(b[:20]) != 0 || checksum(b[:rsdpSize]) != 0 || b[15] != 2 {
		t.Fatalf("bad RSDP % x", b[:rsdpSize])
	}
	xsdt := tableAt(t, b, le.Uint64(b[24:]), "XSDT")
	if n := len(xsdt) - headerSize; n != 16 {
		t.Fatalf("XSDT has %d bytes of entries, want 2 pointers", n)
	}
	fadt := tableAt(t, b, le.Uint64(xsdt[36:]), "FACP")
	madt := tableAt(t, b, le.Uint64(xsdt[44:]), "APIC")
	if len(fadt) != fadtSize || fadt[8] != fadtRevision {
		t.Errorf("FADT is %d bytes revision %d, want %d revision %d", len(fadt), fadt[8], fadtSize, fadtRevision)
	}
	if le.Uint32(fadt[112:])&fadtHWReduced == 0 {
		t.Error("FADT is not hardware-reduced")
	}
	dsdt := tableAt(t, b, le.Uint64(fadt[140:]), "DSDT")
	if uint64(le.Uint32(fadt[40:])) != le.Uint64(fadt[140:]) {
		t.Error("FADT's DSDT and X_DSDT differ")
	}
	if fadt[244] != spaceSystemIO || le.Uint64(fadt[248:]) != 0x600 || le.Uint64(fadt[260:]) != 0x601 || le.Uint64(fadt[120:]) != 0x602 || fadt[128] != 1 {
		t.Errorf("sleep/reset registers wrong: % x", fadt[116:132])
	}
	// MADT: 4 local APICs with IDs 0-3, one I/O APIC, one local NMI.
	var lapics, ioapics, nmis int
	for e := madt[44:]; len(e) > 0; e = e[e[1]:] {
		if len(e) < 2 || e[1] < 2 || int(e[1]) > len(e) {
			t.Fatalf("MADT entry with length %d", e[1])
		}
		switch e[0] {
		case madtLocalAPIC:
			if e[3] != byte(lapics) || le.Uint32(e[4:]) != localAPICEnable {
				t.Errorf("local APIC %d: % x", lapics, e[:8])
			}
			lapics++
		case madtIOAPIC:
			ioapics++
			if le.Uint32(e[4:]) != 0xfec00000 || e[2] != 4 {
				t.Errorf("I/O APIC entry % x", e[:12])
			}
		case madtLocalNMI:
			nmis++
		}
	}
	if lapics != 4 || ioapics != 1 || nmis != 1 {
		t.Errorf("MADT: %d local APICs, %d I/O APICs, %d NMIs; want 4, 1, 1", lapics, ioapics, nmis)
	}
	if !strings.Contains(string(dsdt), "LNRO0005") || !strings.Contains(string(dsdt), "_S5_") {
		t.Error("DSDT lacks the virtio device or _S5_")
	}
}

func TestBuildRejects(t *testing.T) {
	if _, err := Build(testBase+4, testMachine(1)); err == nil {
		t.Error("unaligned base accepted")
	}
	if _, err := Build(testBase, testMachine(0)); err == nil {
		t.Error("0 CPUs accepted")
	}
}

// TestDisassemble has ACPICA's iasl (the reference AML compiler,
// scripts/deps installs acpica-tools) disassemble every table ember
// builds, and checks the DSDT reads back as the devices it describes.
func TestDisassemble(t *testing.T) {
	iasl, err := exec.LookPath("iasl")
	if err != nil {
		t.Skip("iasl not installed (apt-get install acpica-tools; scripts/deps does)")
	}
	le := binary.LittleEndian
	b, err := Build(testBase, testMachine(2))
	if err != nil {
		t.Fatal(err)
	}
	xsdt := tableAt(t, b, le.Uint64(b[24:]), "XSDT")
	fadt := tableAt(t, b, le.Uint64(xsdt[36:]), "FACP")
	tables := map[string][]byte{
		"xsdt": xsdt, "facp": fadt, "apic": tableAt(t, b, le.Uint64(xsdt[44:]), "APIC"),
		"dsdt": tableAt(t, b, le.Uint64(fadt[140:]), "DSDT"),
	}
	dir := t.TempDir()
	for name, tb := range tables {
		f := filepath.Join(dir, name+".dat")
		if err := os.WriteFile(f, tb, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(iasl, "-d", f).CombinedOutput()
		if err != nil || strings.Contains(string(out), "Error") {
			t.Fatalf("iasl -d %s: %v\n%s", name, err, out)
		}
	}
	dsl, err := os.ReadFile(filepath.Join(dir, "dsdt.dsl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`Name (\_S5, Package (0x02)`,
		`Device (COM1)`, `EisaId ("PNP0501")`, `IO (Decode16,`, `0x03F8,`, `IRQNoFlags ()`, `{4}`,
		`Device (VR00)`, `Name (_HID, "LNRO0005")`, `Memory32Fixed (ReadWrite,`, `0xD0001000,`,
		`Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )`, `0x00000005,`,
		`Device (GED)`, `Name (_HID, "ACPI0013" /* Generic Event Device */)`, `Method (_EVT, 1, NotSerialized)`,
		`If ((Arg0 == 0x03))`, `Notify (\_SB.PWRB, 0x80)`, `EisaId ("PNP0C0C")`,
	} {
		if !strings.Contains(string(dsl), want) {
			t.Errorf("disassembled DSDT lacks %q:\n%s", want, dsl)
		}
	}
	facp, _ := os.ReadFile(filepath.Join(dir, "facp.dsl"))
	for _, want := range []string{"Hardware Reduced (V5) : 1", "Century Index : 32", "8042 Present on ports 60/64 (V2) : 1"} {
		if !strings.Contains(strings.Join(strings.Fields(string(facp)), " "), want) {
			t.Errorf("disassembled FADT lacks %q:\n%s", want, facp)
		}
	}
}
