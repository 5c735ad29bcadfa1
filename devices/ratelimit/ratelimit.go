package ratelimit

import (
	"math/bits"
	"time"
)

// MaxTokens bounds rates, bursts and costs: larger values are taken as
// MaxTokens (about 10^18 bytes per second, unlimited in practice). It
// leaves the signed token count room for a full bucket plus a refill, and
// for a debt of one maximal cost, without overflow.
const MaxTokens = 1 << 60

// MaxWait is the longest wait the limiter reports. Waiting is only a
// time to ask again, so a longer debt is simply waited out in several
// steps.
const MaxWait = time.Hour

const nsPerSecond = uint64(time.Second)

// Limit configures one bucket.
type Limit struct {
	Rate  uint64 // tokens per second; 0 is unlimited
	Burst uint64 // bucket size; 0 is DefaultBurst(Rate)
}

// Config configures a limiter: a bucket of bytes and a bucket of
// operations. The zero Config is unlimited.
type Config struct {
	Bandwidth Limit // bytes per second
	Ops       Limit // operations (requests, frames) per second
}

// Unlimited reports whether c limits nothing.
func (c Config) Unlimited() bool { return c.Bandwidth.Rate == 0 && c.Ops.Rate == 0 }

// DefaultBurst is the bucket size for a rate when none is given: a tenth
// of a second's worth, at least one token.
func DefaultBurst(rate uint64) uint64 { return max(rate/10, 1) }

// Clock returns the current time; only differences between its values
// are used (time.Now's are monotonic).
type Clock func() time.Time

// Limiter is a pair of token buckets. It is not safe for concurrent use:
// a device's worker owns it.
type Limiter struct {
	now        Clock
	bytes, ops bucket
}

// New returns a limiter for c, both buckets full, reading time from now
// (time.Now when nil).
func New(c Config, now Clock) *Limiter {
	if now == nil {
		now = time.Now
	}
	t := now()
	return &Limiter{now: now, bytes: newBucket(c.Bandwidth, t), ops: newBucket(c.Ops, t)}
}

// Take admits an operation of n bytes if both buckets allow it now, and
// takes its tokens: it returns 0. Otherwise it takes nothing and returns
// how long to wait before the same request would be admitted (when
// nothing else is taken meanwhile). A request larger than the byte
// bucket is admitted once the bucket is full, leaving it in debt.
func (l *Limiter) Take(n uint64) time.Duration {
	now := l.now()
	l.bytes.refill(now)
	l.ops.refill(now)
	n = min(n, MaxTokens)
	wait := max(l.bytes.wait(min(n, l.bytes.burst)), l.ops.wait(1))
	if wait == 0 {
		l.bytes.take(n)
		l.ops.take(1)
	}
	return wait
}

// Ready returns 0 if an operation of a size not yet known may start now
// (each bucket holds a token, so neither is in debt), or how long to wait
// until it may. It takes nothing: Charge the operation once its size is
// known.
func (l *Limiter) Ready() time.Duration {
	now := l.now()
	l.bytes.refill(now)
	l.ops.refill(now)
	return max(l.bytes.wait(1), l.ops.wait(1))
}

// Charge takes one operation of n bytes without asking, possibly leaving
// the buckets in debt (paid back before the next Take or Ready succeeds).
func (l *Limiter) Charge(n uint64) {
	now := l.now()
	l.bytes.refill(now)
	l.ops.refill(now)
	l.bytes.take(min(n, MaxTokens))
	l.ops.take(1)
}

// bucket is one token bucket. tokens is negative while the bucket is in
// debt; it stays within [-MaxTokens, MaxTokens].
type bucket struct {
	rate   uint64 // tokens per second; 0: unlimited (the bucket is ignored)
	burst  uint64 // capacity, 1 to MaxTokens
	tokens int64
	frac   uint64 // token-nanoseconds of refill not yet a whole token (< 1e9)
	last   time.Time
}

func newBucket(l Limit, now time.Time) bucket {
	if l.Rate == 0 {
		return bucket{}
	}
	burst := l.Burst
	if burst == 0 {
		burst = DefaultBurst(l.Rate)
	}
	burst = min(burst, MaxTokens)
	return bucket{rate: min(l.Rate, MaxTokens), burst: burst, tokens: int64(burst), last: now}
}

// refill adds the tokens earned since the last refill, up to the burst.
// A clock that went backwards earns nothing.
func (b *bucket) refill(now time.Time) {
	if b.rate == 0 {
		return
	}
	elapsed := now.Sub(b.last)
	if elapsed <= 0 {
		return
	}
	b.last = now
	// tokens = (elapsed·rate + frac) / 1e9, in 128 bits.
	hi, lo := bits.Mul64(uint64(elapsed), b.rate)
	lo, carry := bits.Add64(lo, b.frac, 0)
	hi += carry
	// At most 2·MaxTokens: enough to pay the largest debt and fill the
	// bucket.
	add := uint64(2 * MaxTokens)
	if hi < nsPerSecond { // otherwise the quotient overflows 64 bits: more than enough anyway
		q, r := bits.Div64(hi, lo, nsPerSecond)
		add, b.frac = min(q, 2*MaxTokens), r
	}
	// tokens <= MaxTokens and add <= 2·MaxTokens: no overflow.
	b.tokens += int64(add)
	if b.tokens >= int64(b.burst) {
		b.tokens, b.frac = int64(b.burst), 0
	}
}

// wait returns how long until the bucket holds need tokens (0: now).
func (b *bucket) wait(need uint64) time.Duration {
	if b.rate == 0 || b.tokens >= int64(need) {
		return 0
	}
	short := uint64(int64(need) - b.tokens) // need <= MaxTokens, tokens >= -MaxTokens: fits
	// ns = ceil((short·1e9 - frac) / rate); short >= 1, so short·1e9 > frac.
	hi, lo := bits.Mul64(short, nsPerSecond)
	lo, borrow := bits.Sub64(lo, b.frac, 0)
	hi -= borrow
	if hi >= b.rate {
		return MaxWait
	}
	q, r := bits.Div64(hi, lo, b.rate)
	if r != 0 {
		q++
	}
	if q > uint64(MaxWait) {
		return MaxWait
	}
	return time.Duration(q)
}

// take removes n tokens (n <= MaxTokens), going into debt if need be,
// but never below -MaxTokens.
func (b *bucket) take(n uint64) {
	if b.rate == 0 {
		return
	}
	b.tokens = max(b.tokens-int64(n), -MaxTokens)
}
