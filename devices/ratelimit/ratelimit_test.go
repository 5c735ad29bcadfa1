package ratelimit

import (
	"math"
	"testing"
	"time"
)

// fakeClock is a Clock the test moves by hand.
type fakeClock struct{ t time.Time }

func newClock() *fakeClock                   { return &fakeClock{t: time.Unix(1000, 0)} }
func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// drain takes requests of size n until total bytes went through, waiting
// (on the fake clock) whenever the limiter says so, and returns the time
// it took.
func drain(t *testing.T, l *Limiter, c *fakeClock, n, total uint64) time.Duration {
	t.Helper()
	start := c.t
	for done := uint64(0); done < total; {
		w := l.Take(n)
		if w == 0 {
			done += n
			continue
		}
		if w < 0 || w > MaxWait {
			t.Fatalf("wait %v out of range", w)
		}
		c.advance(w)
	}
	return c.t.Sub(start)
}

func TestUnlimited(t *testing.T) {
	c := newClock()
	var zero Config
	if !zero.Unlimited() {
		t.Fatal("zero Config is not unlimited")
	}
	l := New(zero, c.now)
	for _, n := range []uint64{0, 1, 1 << 40, math.MaxUint64} {
		if w := l.Take(n); w != 0 {
			t.Fatalf("Take(%d) = %v on an unlimited limiter", n, w)
		}
	}
	l.Charge(math.MaxUint64)
	if w := l.Ready(); w != 0 {
		t.Fatalf("Ready = %v on an unlimited limiter", w)
	}
}

func TestRateOverTime(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        Config
		n, total   uint64
		want, slop time.Duration
	}{
		// 10 MiB/s, burst 1 MiB: 40 MiB in 4 KiB requests takes 3.9 s.
		{"bandwidth", Config{Bandwidth: Limit{Rate: 10 << 20}}, 4096, 40 << 20, 3900 * time.Millisecond, time.Millisecond},
		// A rate that does not divide a second: 3 B/s, burst 1 (the
		// default): 3000 bytes take 999.67 s. Each wait is rounded up to
		// a nanosecond and a full bucket forgets its fraction: at most
		// 2 ns per request.
		{"odd rate", Config{Bandwidth: Limit{Rate: 3}}, 1, 3000, 999*time.Second + 666666667, 6 * time.Microsecond},
		// 1000 ops/s, burst 100: 10000 ops take 9.9 s; bytes unlimited.
		{"ops", Config{Ops: Limit{Rate: 1000}}, 1 << 20, 10000 << 20, 9900 * time.Millisecond, time.Millisecond},
		// Both: 1 MB/s and 100 ops/s with 64 KiB requests: bandwidth
		// binds (15.26 ops/s).
		{"both", Config{Bandwidth: Limit{Rate: 1e6}, Ops: Limit{Rate: 100}}, 65536, 100 * 65536, 6454 * time.Millisecond, 70 * time.Millisecond},
		// An explicit burst of 2 s worth.
		{"burst", Config{Bandwidth: Limit{Rate: 1000, Burst: 2000}}, 100, 12000, 10 * time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			got := drain(t, New(tc.cfg, c.now), c, tc.n, tc.total)
			if d := got - tc.want; d < -tc.slop || d > tc.slop {
				t.Fatalf("took %v, want %v ± %v", got, tc.want, tc.slop)
			}
		})
	}
}

func TestBurst(t *testing.T) {
	c := newClock()
	l := New(Config{Bandwidth: Limit{Rate: 1000}}, c.now) // burst 100
	for i := range 10 {
		if w := l.Take(10); w != 0 {
			t.Fatalf("request %d of the burst waits %v", i, w)
		}
	}
	if w := l.Take(10); w != 10*time.Millisecond {
		t.Fatalf("after the burst: wait %v, want 10ms", w)
	}
	// Idle time refills the bucket only up to the burst.
	c.advance(time.Hour)
	if w := l.Take(100); w != 0 {
		t.Fatalf("full bucket: wait %v", w)
	}
	if w := l.Take(1); w != time.Millisecond {
		t.Fatalf("after a full burst: wait %v, want 1ms", w)
	}
	// A refused request takes nothing.
	for range 3 {
		if w := l.Take(50); w != 50*time.Millisecond {
			t.Fatalf("refused request: wait %v, want 50ms", w)
		}
	}
}

func TestOversizeRequestProgresses(t *testing.T) {
	c := newClock()
	l := New(Config{Bandwidth: Limit{Rate: 1000}}, c.now) // burst 100
	if w := l.Take(50); w != 0 {
		t.Fatal(w)
	}
	// 1000 bytes never fit a 100-byte bucket: it waits for a full one...
	w := l.Take(1000)
	if w != 50*time.Millisecond {
		t.Fatalf("oversize request: wait %v, want 50ms (until the bucket is full)", w)
	}
	c.advance(w)
	if w := l.Take(1000); w != 0 {
		t.Fatalf("oversize request on a full bucket: wait %v", w)
	}
	// ...and leaves a debt of 900 bytes: the next byte waits 0.901 s.
	if w := l.Take(1); w != 901*time.Millisecond {
		t.Fatalf("after the oversize request: wait %v, want 901ms", w)
	}
	// Over time, oversize requests still go at the rate.
	if got := drain(t, l, c, 1000, 10000); got < 9*time.Second || got > 10*time.Second {
		t.Fatalf("ten 1000-byte requests at 1000 B/s took %v", got)
	}
}

func TestReadyAndCharge(t *testing.T) {
	c := newClock()
	l := New(Config{Bandwidth: Limit{Rate: 1000}, Ops: Limit{Rate: 10}}, c.now) // bursts 100 B, 1 op
	if w := l.Ready(); w != 0 {
		t.Fatalf("Ready on full buckets: %v", w)
	}
	if w := l.Ready(); w != 0 {
		t.Fatalf("Ready takes nothing, but the second call waits %v", w)
	}
	l.Charge(1500) // a frame bigger than the bucket: 1400 bytes of debt
	// Bytes need 1.401 s to have a token again; the op 0.1 s.
	if w := l.Ready(); w != 1401*time.Millisecond {
		t.Fatalf("after Charge: Ready = %v, want 1.401s", w)
	}
	c.advance(1401 * time.Millisecond)
	if w := l.Ready(); w != 0 {
		t.Fatalf("after paying the debt: Ready = %v", w)
	}
}

func TestHugeValues(t *testing.T) {
	c := newClock()
	// A rate beyond MaxTokens is unlimited in practice, without overflow.
	l := New(Config{Bandwidth: Limit{Rate: math.MaxUint64, Burst: math.MaxUint64}, Ops: Limit{Rate: math.MaxUint64}}, c.now)
	if w := l.Take(math.MaxUint64); w != 0 {
		t.Fatalf("huge rate: wait %v", w)
	}
	for range 3 {
		c.advance(time.Nanosecond) // earns 2^60/1e9 tokens: over 1 GiB
		if w := l.Take(1 << 30); w != 0 {
			t.Fatalf("huge rate: 1 GiB after 1 ns waits %v", w)
		}
	}
	c.advance(100 * 365 * 24 * time.Hour) // a century idle
	if w := l.Take(MaxTokens); w != 0 {
		t.Fatalf("huge rate after a century: wait %v", w)
	}

	// A modest rate and a huge request: admitted on a full bucket, then
	// the debt is reported as MaxWait steps, never a negative or
	// overflowed duration.
	l = New(Config{Bandwidth: Limit{Rate: 1e9}}, c.now)
	if w := l.Take(math.MaxUint64); w != 0 {
		t.Fatalf("huge request on a full bucket: wait %v", w)
	}
	l.Charge(math.MaxUint64) // debt saturates
	if w := l.Take(1); w != MaxWait {
		t.Fatalf("huge debt: wait %v, want MaxWait", w)
	}
	c.advance(math.MaxInt64)
	if w := l.Ready(); w != 0 {
		t.Fatalf("after 292 years at 1 GB/s the debt of 2^60 bytes (36 years) is not paid: wait %v", w)
	}
}

func TestClockBackwards(t *testing.T) {
	c := newClock()
	l := New(Config{Ops: Limit{Rate: 10}}, c.now) // burst 1
	if w := l.Take(0); w != 0 {
		t.Fatal(w)
	}
	c.advance(-time.Hour)
	if w := l.Take(0); w != 100*time.Millisecond {
		t.Fatalf("clock went back: wait %v, want 100ms (nothing earned)", w)
	}
}

func TestDefaultBurst(t *testing.T) {
	for _, tc := range []struct{ rate, want uint64 }{{0, 1}, {1, 1}, {9, 1}, {10, 1}, {1000, 100}, {10 << 20, 1 << 20}} {
		if got := DefaultBurst(tc.rate); got != tc.want {
			t.Errorf("DefaultBurst(%d) = %d, want %d", tc.rate, got, tc.want)
		}
	}
}
