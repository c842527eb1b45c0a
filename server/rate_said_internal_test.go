package server

import (
	"fmt"
	"testing"
	"time"
)

// A token's refusals for its rate are logged as the first comes, then
// once a minute at most, each line with how many were refused since the
// last: a loop refused thousands of times a minute is a line a minute.
func TestRateRefusalsSaidOnceAMinute(t *testing.T) {
	l := newLimiter(0.0001, 1) // one call, then nothing for hours
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		after   time.Duration
		key     string
		ok      bool
		wantSay int
	}{
		{0, "tokens/a", true, 0},
		{0, "tokens/a", false, 1},
		{time.Second, "tokens/a", false, 0},
		{30 * time.Second, "tokens/a", false, 0},
		{0, "tokens/b", true, 0}, // another token's bucket and count
		{time.Second, "tokens/b", false, 1},
		{59 * time.Second, "tokens/a", false, 0},
		{rateSaidEvery, "tokens/a", false, 4},
		{rateSaidEvery + time.Second, "tokens/a", false, 0},
	}
	for i, st := range steps {
		ok, say := l.allow(st.key, t0.Add(st.after))
		if ok != st.ok || say != st.wantSay {
			t.Errorf("step %d (%s at +%v): allowed %t, say %d; want %t, %d", i, st.key, st.after, ok, say, st.ok, st.wantSay)
		}
	}
}

// A script refused many times in a burst that then keeps within its rate
// is still told of: the refusals counted after the first line are said
// once the minute is up, by its next call allowed or refused. Before, they
// waited for its next refusal, days later perhaps, and the operator saw
// "refused 1" for a burst of thousands, and then, out of the blue, a count
// that belonged to that other day.
func TestRateRefusalsSaidWhenTheBurstStops(t *testing.T) {
	l := newLimiter(1, 1)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		after   time.Duration
		ok      bool
		wantSay int
	}{
		{0, true, 0},
		{0, false, 1}, // the first refusal, said at once
		{0, false, 0},
		{0, false, 0},
		{0, false, 0},
		{10 * time.Second, true, 0}, // within its rate again, within the minute
		{rateSaidEvery, true, 3},    // the minute is up: the three since
		{rateSaidEvery + 10*time.Second, true, 0},
		{2 * rateSaidEvery, true, 0}, // nothing more to say
	}
	for i, st := range steps {
		ok, say := l.allow("tokens/a", t0.Add(st.after))
		if ok != st.ok || say != st.wantSay {
			t.Errorf("step %d (+%v): allowed %t, say %d; want %t, %d", i, st.after, ok, say, st.ok, st.wantSay)
		}
	}
}

// A server with more tokens calling than the limiter keeps (a volunteer's
// app each) forgot a runaway script's bucket with everyone's: its
// refusals since the last line were never said, and it had a full burst
// again. Only buckets as good as new are let go: full, nothing unsaid.
func TestRateRefusalsKeptAcrossManyTokens(t *testing.T) {
	l := newLimiter(1, 2)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for range 2 {
		l.allow("tokens/script", t0)
	}
	if _, say := l.allow("tokens/script", t0); say != 1 {
		t.Fatalf("first refusal said %d", say)
	}
	for range 3 {
		l.allow("tokens/script", t0)
	}
	// Apps call through the morning, most of them long enough ago to
	// have their bucket full again when the last makes one too many.
	for i := range maxLimited + 1 {
		at := t0.Add(time.Second)
		if i > maxLimited*3/4 {
			at = t0.Add(10 * time.Second)
		}
		l.allow(fmt.Sprintf("tokens/app-%d", i), at)
	}
	if _, say := l.allow("tokens/script", t0.Add(20*time.Second)); say != 0 {
		t.Errorf("the script, within the minute: say %d, want 0", say)
	}
	if _, say := l.allow("tokens/script", t0.Add(rateSaidEvery)); say != 3 {
		t.Errorf("the script, a minute on: say %d, want the 3 refused since the first line", say)
	}
	if n := len(l.byKey); n > maxLimited+1 {
		t.Errorf("the limiter keeps %d buckets, more than %d", n, maxLimited+1)
	}
}

// With more than half the buckets in use (a slow rate, whose buckets take
// minutes to fill, on a busy morning) every bucket was let go, the
// runaway script's with the rest: it had its whole burst again at once,
// and its refusals since its last line were never said. Only those
// within their rate go; the script stays refused, and its count is said.
func TestRateScriptKeptWhenMostBucketsInUse(t *testing.T) {
	l := newLimiter(1, 200) // 200 s to fill
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for range 200 {
		l.allow("tokens/script", t0)
	}
	if ok, say := l.allow("tokens/script", t0); ok || say != 1 {
		t.Fatalf("the script's first refusal: allowed %t, said %d", ok, say)
	}
	for range 3 {
		l.allow("tokens/script", t0)
	}
	// Every app called a few seconds ago: all in use, none full.
	for i := range maxLimited + 1 {
		l.allow(fmt.Sprintf("tokens/app-%d", i), t0)
	}
	at := t0.Add(500 * time.Millisecond)
	if ok, _ := l.allow("tokens/script", at); ok {
		t.Errorf("the script, over its rate, was allowed a call as the limiter let buckets go")
	}
	if _, say := l.allow("tokens/script", t0.Add(rateSaidEvery)); say != 4 {
		t.Errorf("the script, a minute on: say %d, want the 4 refused since the first line", say)
	}
	if n := len(l.byKey); n > maxLimited/2+1 {
		t.Errorf("the limiter keeps %d buckets, more than %d", n, maxLimited/2+1)
	}
}
