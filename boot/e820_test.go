package boot

import (
	"slices"
	"testing"

	"github.com/embervm/ember/guestmem"
)

func TestMemoryMap(t *testing.T) {
	const (
		mib = 1 << 20
		gib = 1 << 30
	)
	tests := []struct {
		name    string
		regions []guestmem.Region
		want    []e820Entry
		wantErr bool
	}{
		{
			name:    "low RAM only",
			regions: []guestmem.Region{{GPA: 0, Host: make([]byte, 8*mib)}},
			want:    []e820Entry{{0, 0x9fc00, 1}, {0x9fc00, 0x60400, 2}, {mib, 7 * mib, 1}},
		},
		{
			name: "high region",
			regions: []guestmem.Region{
				{GPA: 0, Host: make([]byte, 4*mib)},
				{GPA: guestmem.MMIOHoleEnd, Host: make([]byte, mib)},
			},
			want: []e820Entry{{0, 0x9fc00, 1}, {0x9fc00, 0x60400, 2}, {mib, 3 * mib, 1}, {4 * gib, mib, 1}},
		},
		{
			name: "a region across the MMIO hole is clipped",
			regions: []guestmem.Region{
				{GPA: 0, Host: make([]byte, 2*mib)},
				{GPA: 3*gib - mib, Host: make([]byte, 2*mib)},
			},
			want: []e820Entry{{0, 0x9fc00, 1}, {0x9fc00, 0x60400, 2}, {mib, mib, 1}, {3*gib - mib, mib, 1}},
		},
		{
			name:    "too many regions",
			regions: manyRegions(maxMemmapEntries),
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := guestmem.FromRegions(tt.regions...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := memoryMap(m)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Errorf("memoryMap = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// manyRegions returns low RAM plus n one-page regions above 4 GiB.
func manyRegions(n int) []guestmem.Region {
	r := []guestmem.Region{{GPA: 0, Host: make([]byte, 4<<20)}}
	for i := range n {
		r = append(r, guestmem.Region{GPA: guestmem.MMIOHoleEnd + guestmem.GPA(i)*2*pageSize, Host: make([]byte, pageSize)})
	}
	return r
}
