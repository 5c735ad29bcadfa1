package bench

import (
	"strings"
	"testing"
)

const smapsSample = `00400000-0079d000 r-xp 00000000 fe:00 10269930                           /work/main/bin/ember
Size:               3700 kB
KernelPageSize:        4 kB
Rss:                3052 kB
Pss:                3052 kB
VmFlags: rd ex mr mw me sd
7f9b51200000-7f9b61200000 rw-p 00000000 00:00 0 
Size:             262144 kB
Rss:                3908 kB
Anonymous:          3908 kB
AnonHugePages:      2048 kB
VmFlags: rd wr mr mw me ac sd mg
38792d400000-38792d800000 rw-p 00000000 00:00 0 
Size:               4096 kB
Rss:                1108 kB
AnonHugePages:      1024 kB
7ffc95342000-7ffc95363000 rw-p 00000000 00:00 0                          [stack]
Size:                132 kB
Rss:                  16 kB
7f5103afd000-7f5113afd000 rw-s 00000000 00:01 3                          /dev/zero (deleted)
Size:             264192 kB
Rss:                 100 kB
`

func TestParseSmaps(t *testing.T) {
	for _, tc := range []struct {
		name     string
		guestKiB int64
		want     RSS
	}{
		// The private 256 MiB mapping and the /dev/zero one (2 MiB larger:
		// within the slack) are guest RAM; /dev/zero has inode 3 but is
		// not counted as file-backed since it is guest RAM.
		{"guest 256 MiB", 256 << 10, RSS{OtherKiB: 3052 + 1108 + 16, FileKiB: 3052, GuestKiB: 3908 + 100, OtherHugeKiB: 1024, GuestHugeKiB: 2048}},
		{"no guest", 0, RSS{OtherKiB: 3052 + 3908 + 1108 + 16 + 100, FileKiB: 3052 + 100, OtherHugeKiB: 2048 + 1024}},
		{"guest larger than any mapping", 1 << 20, RSS{OtherKiB: 3052 + 3908 + 1108 + 16 + 100, FileKiB: 3052 + 100, OtherHugeKiB: 2048 + 1024}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSmaps(strings.NewReader(smapsSample), tc.guestKiB)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ParseSmaps = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseSmapsBadNumber(t *testing.T) {
	_, err := ParseSmaps(strings.NewReader("00400000-0079d000 r-xp 00000000 fe:00 1 /x\nRss: lots kB\n"), 0)
	if err == nil {
		t.Fatal("no error for a malformed Rss line")
	}
}
