package boot

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzLoad from the synthetic kernels")

// fuzzSeeds are the seed corpus files: a valid bzImage and a valid PVH ELF.
func fuzzSeeds() map[string][]byte {
	return map[string][]byte{
		"bzimage": makeBzImage(bzOpts{}),
		"pvh-elf": defaultELF(),
	}
}

// FuzzLoad feeds arbitrary kernel files to Load: it must return an error or
// an entry, never panic or touch memory outside the guest.
func FuzzLoad(f *testing.F) {
	for _, b := range fuzzSeeds() {
		f.Add(b)
	}
	mem := make([]byte, 24<<20)
	path := filepath.Join(f.TempDir(), "kernel")
	f.Fuzz(func(t *testing.T, kernel []byte) {
		m := newMemFrom(t, mem)
		if err := os.WriteFile(path, kernel, 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := Load(m, Config{Kernel: path, Cmdline: "console=ttyS0", CPUs: 2})
		if err == nil && e.RIP == 0 {
			t.Errorf("Load succeeded with RIP 0")
		}
	})
}

// TestFuzzSeeds checks the committed seed corpus matches the synthetic
// kernels (run with -update-seeds to rewrite it) and that each seed loads.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzLoad")
	for name, b := range fuzzSeeds() {
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		path := filepath.Join(dir, name)
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestFuzzSeeds -update-seeds)", err)
		}
		if string(got) != want {
			t.Errorf("%s is stale: run go test -run TestFuzzSeeds -update-seeds", path)
		}
		if _, err := Load(newMemFrom(t, make([]byte, 24<<20)), Config{
			Kernel: writeFile(t, name, b), Cmdline: "console=ttyS0", CPUs: 2,
		}); err != nil {
			t.Errorf("seed %s does not load: %v", name, err)
		}
	}
}
