package queue_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/embervm/ember/devices/virtio/queue"
	"github.com/embervm/ember/devices/virtio/queue/queuetest"
	"github.com/embervm/ember/guestmem"
)

func newDriver(t testing.TB, size uint16) *queuetest.Driver {
	t.Helper()
	d, err := queuetest.New(size, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPop(t *testing.T) {
	const size = 8
	tests := []struct {
		name     string
		indirect bool             // negotiate VIRTIO_F_INDIRECT_DESC
		descs    []queuetest.Desc // written at indices 0..n-1
		head     uint16
		want     []queue.Segment // nil: expect a *ChainError wrapping wantErr
		wantErr  error
	}{
		{
			name:  "one readable",
			descs: []queuetest.Desc{{Addr: 0x18000, Len: 100}},
			want:  []queue.Segment{{GPA: 0x18000, Len: 100}},
		},
		{
			name: "readable then writable",
			descs: []queuetest.Desc{
				{Addr: 0x18000, Len: 16, Flags: queuetest.FlagNext, Next: 2},
				{},
				{Addr: 0x19000, Len: 512, Flags: queuetest.FlagWrite},
				{},
			},
			want: []queue.Segment{{GPA: 0x18000, Len: 16}, {GPA: 0x19000, Len: 512, Writable: true}},
		},
		{
			name:  "zero length buffer",
			descs: []queuetest.Desc{{Addr: 0x18000, Len: 0, Flags: queuetest.FlagWrite}},
			want:  []queue.Segment{{GPA: 0x18000, Len: 0, Writable: true}},
		},
		{
			name: "loop",
			descs: []queuetest.Desc{
				{Addr: 0x18000, Len: 1, Flags: queuetest.FlagNext, Next: 1},
				{Addr: 0x18000, Len: 1, Flags: queuetest.FlagNext, Next: 0},
			},
			wantErr: queue.ErrChainTooLong,
		},
		{
			name:    "self loop",
			descs:   []queuetest.Desc{{Addr: 0x18000, Len: 1, Flags: queuetest.FlagNext, Next: 0}},
			wantErr: queue.ErrChainTooLong,
		},
		{
			name:    "next out of range",
			descs:   []queuetest.Desc{{Addr: 0x18000, Len: 1, Flags: queuetest.FlagNext, Next: size}},
			wantErr: queue.ErrDescIndex,
		},
		{
			name:    "head out of range",
			head:    size + 3,
			wantErr: queue.ErrHeadRange,
		},
		{
			name:    "buffer outside memory",
			descs:   []queuetest.Desc{{Addr: 0x1000_0000, Len: 16}},
			wantErr: queue.ErrBufferRange,
		},
		{
			name:    "buffer straddles end of memory",
			descs:   []queuetest.Desc{{Addr: 0x18000, Len: 0x100000}},
			wantErr: queue.ErrBufferRange,
		},
		{
			name:    "address plus length overflows",
			descs:   []queuetest.Desc{{Addr: ^uint64(0) - 7, Len: 16}},
			wantErr: queue.ErrBufferRange,
		},
		{
			name: "indirect",
			descs: []queuetest.Desc{
				{Addr: 0x1a000, Len: 32, Flags: queuetest.FlagIndirect},
			},
			indirect: true,
			want:     []queue.Segment{{GPA: 0x18000, Len: 16}, {GPA: 0x19000, Len: 1, Writable: true}},
		},
		{
			name:    "indirect not negotiated",
			descs:   []queuetest.Desc{{Addr: 0x1a000, Len: 32, Flags: queuetest.FlagIndirect}},
			wantErr: queue.ErrIndirect,
		},
		{
			name:     "indirect with next",
			descs:    []queuetest.Desc{{Addr: 0x1a000, Len: 32, Flags: queuetest.FlagIndirect | queuetest.FlagNext, Next: 1}},
			indirect: true,
			wantErr:  queue.ErrIndirect,
		},
		{
			name:     "indirect length not a multiple of 16",
			descs:    []queuetest.Desc{{Addr: 0x1a000, Len: 24, Flags: queuetest.FlagIndirect}},
			indirect: true,
			wantErr:  queue.ErrIndirect,
		},
		{
			name:     "indirect table larger than the queue",
			descs:    []queuetest.Desc{{Addr: 0x1a000, Len: 16 * (size + 1), Flags: queuetest.FlagIndirect}},
			indirect: true,
			wantErr:  queue.ErrIndirect,
		},
		{
			name:     "nested indirect",
			descs:    []queuetest.Desc{{Addr: 0x1a100, Len: 16, Flags: queuetest.FlagIndirect}},
			indirect: true,
			wantErr:  queue.ErrIndirect,
		},
		{
			name:     "loop inside indirect table",
			descs:    []queuetest.Desc{{Addr: 0x1a200, Len: 32, Flags: queuetest.FlagIndirect}},
			indirect: true,
			wantErr:  queue.ErrChainTooLong,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDriver(t, size)
			d.Queue.SetIndirect(tt.indirect)
			writeTables(t, d)
			for i, dd := range tt.descs {
				if err := d.WriteDesc(uint16(i), dd); err != nil {
					t.Fatal(err)
				}
			}
			if err := d.Publish(tt.head); err != nil {
				t.Fatal(err)
			}
			c, ok, err := d.Queue.Pop(d.Mem)
			if tt.want != nil {
				if err != nil || !ok {
					t.Fatalf("Pop = %v, %v; want a chain", ok, err)
				}
				if c.Head != tt.head || !equalSegs(c.Segments, tt.want) {
					t.Fatalf("Pop = %+v; want head %d %+v", c, tt.head, tt.want)
				}
				return
			}
			var ce *queue.ChainError
			if !errors.As(err, &ce) || !errors.Is(err, tt.wantErr) || ok {
				t.Fatalf("Pop = %v, %v; want a ChainError wrapping %v", ok, err, tt.wantErr)
			}
			if ce.Head != tt.head {
				t.Errorf("ChainError.Head = %d, want %d", ce.Head, tt.head)
			}
			if got := d.Queue.Stats().InvalidChains; got != 1 {
				t.Errorf("InvalidChains = %d, want 1", got)
			}
			// The bad chain was consumed; the queue still works.
			assertWorks(t, d)
		})
	}
}

// writeTables writes the indirect tables the cases above point at:
// 0x1a000 a valid two-entry table, 0x1a100 a table holding an indirect
// descriptor, 0x1a200 a two-entry table looping on itself.
func writeTables(t *testing.T, d *queuetest.Driver) {
	t.Helper()
	tables := map[uint64][]queuetest.Desc{
		0x1a000: {
			{Addr: 0x18000, Len: 16, Flags: queuetest.FlagNext, Next: 1},
			{Addr: 0x19000, Len: 1, Flags: queuetest.FlagWrite},
		},
		0x1a100: {{Addr: 0x1a000, Len: 32, Flags: queuetest.FlagIndirect}},
		0x1a200: {
			{Addr: 0x18000, Len: 1, Flags: queuetest.FlagNext, Next: 1},
			{Addr: 0x18000, Len: 1, Flags: queuetest.FlagNext, Next: 0},
		},
	}
	for base, descs := range tables {
		for i, dd := range descs {
			b := make([]byte, 16)
			putDesc(b, dd)
			if _, err := d.Mem.WriteAt(b, int64(base)+16*int64(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func putDesc(b []byte, dd queuetest.Desc) {
	for i := range 8 {
		b[i] = byte(dd.Addr >> (8 * i))
	}
	for i := range 4 {
		b[8+i] = byte(dd.Len >> (8 * i))
	}
	b[12], b[13] = byte(dd.Flags), byte(dd.Flags>>8)
	b[14], b[15] = byte(dd.Next), byte(dd.Next>>8)
}

func equalSegs(a, b []queue.Segment) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// assertWorks adds a good chain and checks it pops and completes.
func assertWorks(t *testing.T, d *queuetest.Driver) {
	t.Helper()
	req, err := d.Add(queuetest.Readable([]byte("ok")), queuetest.Writable(4))
	if err != nil {
		t.Fatal(err)
	}
	c, ok, err := d.Queue.Pop(d.Mem)
	if err != nil || !ok || c.Head != req.Head || len(c.Segments) != 2 {
		t.Fatalf("Pop after = %+v, %v, %v; want head %d with 2 segments", c, ok, err, req.Head)
	}
	if err := d.Queue.AddUsed(d.Mem, c.Head, 4); err != nil {
		t.Fatal(err)
	}
	used, err := d.Used()
	if err != nil || len(used) == 0 || used[len(used)-1] != (queuetest.UsedElem{ID: uint32(req.Head), Len: 4}) {
		t.Fatalf("used = %v, %v; want last {%d 4}", used, err, req.Head)
	}
}

func TestPopEmptyAndNotReady(t *testing.T) {
	d := newDriver(t, 4)
	if _, ok, err := d.Queue.Pop(d.Mem); ok || err != nil {
		t.Fatalf("Pop on empty ring = %v, %v; want false, nil", ok, err)
	}
	q, err := queue.New(4)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := q.Pop(d.Mem); !errors.Is(err, queue.ErrNotReady) {
		t.Fatalf("Pop on a queue never enabled = %v; want ErrNotReady", err)
	}
	if err := q.AddUsed(d.Mem, 0, 0); !errors.Is(err, queue.ErrNotReady) {
		t.Fatalf("AddUsed on a queue never enabled = %v; want ErrNotReady", err)
	}
}

func TestChainLengthOverflow(t *testing.T) {
	// Two 2 GiB buffers: each fits in guest memory, their sum does not
	// fit in the 32-bit used length. Memory is mapped lazily, so this
	// costs no RAM.
	mem, err := guestmem.New(3 << 30)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	d, err := queuetest.NewAt(mem, 0, 4, 4096)
	if err != nil {
		t.Fatal(err)
	}
	const half = 1 << 31
	descs := []queuetest.Desc{
		{Addr: 1 << 20, Len: half, Flags: queuetest.FlagNext, Next: 1},
		{Addr: 1 << 20, Len: half},
	}
	for i, dd := range descs {
		if err := d.WriteDesc(uint16(i), dd); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Publish(0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Queue.Pop(mem); !errors.Is(err, queue.ErrChainLen) {
		t.Fatalf("Pop = %v; want ErrChainLen", err)
	}
}

func TestEnableValidates(t *testing.T) {
	d := newDriver(t, 8)
	tests := []struct {
		name string
		size uint16
		desc guestmem.GPA
		want error
	}{
		{"size 0", 0, d.DescTable, queue.ErrSize},
		{"size 3", 3, d.DescTable, queue.ErrSize},
		{"size 1024 above max 256", 1024, d.DescTable, queue.ErrSize},
		{"misaligned descriptor table", 8, d.DescTable + 8, queue.ErrAlign},
		{"descriptor table outside memory", 8, 0x4000_0000, queue.ErrRings},
		{"ok", 8, d.DescTable, nil},
	}
	q, err := queue.New(256)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := errors.Join(q.SetSize(tt.size), q.SetDescTable(tt.desc),
				q.SetAvailRing(d.AvailRing), q.SetUsedRing(d.UsedRing)); err != nil {
				t.Fatal(err)
			}
			err := q.Enable(d.Mem)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Enable = %v; want %v", err, tt.want)
			}
			if q.Ready() != (tt.want == nil) {
				t.Fatalf("Ready = %v after Enable = %v", q.Ready(), err)
			}
			if got := q.Stats().BadConfigs; got != uint64(min(i+1, len(tests)-1)) {
				t.Errorf("BadConfigs = %d", got)
			}
			if tt.want == nil {
				if err := q.SetSize(16); !errors.Is(err, queue.ErrLocked) {
					t.Errorf("SetSize while ready = %v; want ErrLocked", err)
				}
			}
		})
	}
	if _, err := queue.New(1000); !errors.Is(err, queue.ErrSize) {
		t.Errorf("New(1000) = %v; want ErrSize", err)
	}
}

func TestAvailIndexJump(t *testing.T) {
	d := newDriver(t, 8)
	if err := d.SetAvailIdx(9); err != nil {
		t.Fatal(err)
	}
	for range 2 { // broken stays broken
		if _, _, err := d.Queue.Pop(d.Mem); !errors.Is(err, queue.ErrBroken) {
			t.Fatalf("Pop with avail idx 9 ahead on a queue of 8 = %v; want ErrBroken", err)
		}
	}
	// A reset (disable, enable) repairs it.
	d.Queue.Disable()
	if err := d.Queue.Enable(d.Mem); err != nil {
		t.Fatal(err)
	}
	if err := d.SetAvailIdx(0); err != nil {
		t.Fatal(err)
	}
	assertWorks(t, d)
}

func TestAvailIndexWraps(t *testing.T) {
	d := newDriver(t, 4)
	const n = 65536 + 10
	for i := range n {
		req, err := d.Add(queuetest.Readable([]byte{byte(i)}))
		if err != nil {
			t.Fatal(err)
		}
		c, ok, err := d.Queue.Pop(d.Mem)
		if err != nil || !ok || c.Head != req.Head {
			t.Fatalf("pop %d = %+v, %v, %v; want head %d", i, c, ok, err, req.Head)
		}
		if err := d.Queue.AddUsed(d.Mem, c.Head, uint32(i)); err != nil {
			t.Fatal(err)
		}
		used, err := d.Used()
		if err != nil || len(used) != 1 || used[0].ID != uint32(req.Head) || used[0].Len != uint32(i) {
			t.Fatalf("used %d = %v, %v", i, used, err)
		}
	}
	if idx, _ := d.UsedIdx(); idx != n%65536 {
		t.Fatalf("used idx = %d, want %d", idx, n%65536)
	}
}

func TestNeedsInterrupt(t *testing.T) {
	d := newDriver(t, 8)
	if d.Queue.NeedsInterrupt(d.Mem) {
		t.Fatal("NeedsInterrupt with nothing used = true")
	}
	complete := func() {
		t.Helper()
		req, err := d.Add(queuetest.Writable(8))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := d.Queue.Pop(d.Mem); err != nil {
			t.Fatal(err)
		}
		if err := d.Queue.AddUsed(d.Mem, req.Head, 8); err != nil {
			t.Fatal(err)
		}
	}
	complete()
	if !d.Queue.NeedsInterrupt(d.Mem) {
		t.Fatal("NeedsInterrupt after AddUsed = false")
	}
	if d.Queue.NeedsInterrupt(d.Mem) {
		t.Fatal("NeedsInterrupt twice for the same buffers = true")
	}
	if err := d.SetAvailFlags(queuetest.AvailFlagNoInterrupt); err != nil {
		t.Fatal(err)
	}
	complete()
	if d.Queue.NeedsInterrupt(d.Mem) {
		t.Fatal("NeedsInterrupt with VIRTQ_AVAIL_F_NO_INTERRUPT = true")
	}
}

func TestEventIdx(t *testing.T) {
	d := newDriver(t, 8)
	d.Queue.SetEventIdx(true)
	// Empty ring: Pop publishes avail_event = next available index.
	if _, ok, err := d.Queue.Pop(d.Mem); ok || err != nil {
		t.Fatal(ok, err)
	}
	if ev, _ := d.AvailEvent(); ev != 0 {
		t.Fatalf("avail_event = %d, want 0", ev)
	}
	var heads []uint16
	for range 3 {
		req, err := d.Add(queuetest.Writable(1))
		if err != nil {
			t.Fatal(err)
		}
		heads = append(heads, req.Head)
	}
	for range 3 {
		if _, ok, err := d.Queue.Pop(d.Mem); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if _, ok, err := d.Queue.Pop(d.Mem); ok || err != nil {
		t.Fatal(ok, err)
	}
	if ev, _ := d.AvailEvent(); ev != 3 {
		t.Fatalf("avail_event after 3 pops = %d, want 3", ev)
	}
	// used_event = 1: the driver wants an interrupt once used idx passes 1.
	if err := d.SetUsedEvent(1); err != nil {
		t.Fatal(err)
	}
	add := func(h uint16) {
		if err := d.Queue.AddUsed(d.Mem, h, 1); err != nil {
			t.Fatal(err)
		}
	}
	add(heads[0]) // used idx 0 -> 1: used_event 1 not in [0, 1)
	if d.Queue.NeedsInterrupt(d.Mem) {
		t.Fatal("NeedsInterrupt before used idx passed used_event = true")
	}
	add(heads[1]) // 1 -> 2: used_event 1 in [1, 2)
	if !d.Queue.NeedsInterrupt(d.Mem) {
		t.Fatal("NeedsInterrupt when used idx passed used_event = false")
	}
	// NO_INTERRUPT is ignored with EVENT_IDX; used_event decides.
	if err := errors.Join(d.SetAvailFlags(queuetest.AvailFlagNoInterrupt), d.SetUsedEvent(2)); err != nil {
		t.Fatal(err)
	}
	add(heads[2])
	if !d.Queue.NeedsInterrupt(d.Mem) {
		t.Fatal("NeedsInterrupt with used_event 2 at used idx 3 = false")
	}
}

func TestIndirectFromDriver(t *testing.T) {
	d := newDriver(t, 8)
	d.Queue.SetIndirect(true)
	req, err := d.AddIndirect(queuetest.Readable([]byte("header")), queuetest.Writable(100), queuetest.Writable(1))
	if err != nil {
		t.Fatal(err)
	}
	c, ok, err := d.Queue.Pop(d.Mem)
	if err != nil || !ok || c.Head != req.Head || len(c.Segments) != 3 {
		t.Fatalf("Pop = %+v, %v, %v", c, ok, err)
	}
	for i, s := range c.Segments {
		p := req.Bufs[i]
		if s.GPA != p.GPA || s.Len != p.Len || s.Writable != p.Writable {
			t.Errorf("segment %d = %+v, want %+v", i, s, p)
		}
	}
	b, err := d.Mem.Slice(c.Segments[0].GPA, uint64(c.Segments[0].Len))
	if err != nil || !bytes.Equal(b, []byte("header")) {
		t.Errorf("segment 0 holds %q, %v", b, err)
	}
}

func TestReset(t *testing.T) {
	d := newDriver(t, 8)
	d.Queue.Reset()
	if d.Queue.Ready() || d.Queue.Size() != 8 || d.Queue.DescTable() != 0 {
		t.Fatalf("after Reset: ready %v size %d desc %#x", d.Queue.Ready(), d.Queue.Size(), d.Queue.DescTable())
	}
}
