package matcher

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkMachineStalls measures how often, and for how long, this
// machine takes the CPU away from a running goroutine that neither
// allocates nor blocks: a timer tick or the hypervisor's own work on a
// shared VM. A search of 20 µs that is interrupted once by a 30 µs stall
// takes 50 µs, so stalls set a floor under any p99 whatever the code
// does. Two figures:
//
//   - a clock read in a tight loop, reporting every gap of more than
//     2 µs between two reads (nothing in the loop takes that long);
//   - a fixed piece of work sized to take about 20 µs (the target's own
//     scale), timed 20 times an op: its p99 against its p50 is how much a
//     search of that size loses to the machine at the 99th percentile.
//
// One op of the first is a millisecond of clock reads.
//
//	go test -run '^$' -bench MachineStalls -benchtime 2000x ./matcher/
func BenchmarkMachineStalls(b *testing.B) {
	b.Run("clock", func(b *testing.B) {
		var gaps []time.Duration
		var spun time.Duration
		for b.Loop() {
			start := time.Now()
			last := start
			for {
				t := time.Now()
				if d := t.Sub(last); d > 2*time.Microsecond {
					gaps = append(gaps, d)
				}
				last = t
				if t.Sub(start) >= time.Millisecond {
					break
				}
			}
			spun += last.Sub(start)
		}
		var lost time.Duration
		for _, g := range gaps {
			lost += g
		}
		slices.Sort(gaps)
		b.ReportMetric(float64(len(gaps))/(float64(spun)/float64(time.Millisecond)), "stalls/ms")
		b.ReportMetric(100*float64(lost)/float64(spun), "lost-%")
		if len(gaps) > 0 {
			b.ReportMetric(float64(gaps[len(gaps)/2].Nanoseconds())/1000, "stall-p50-µs")
			b.ReportMetric(float64(gaps[len(gaps)*9/10].Nanoseconds())/1000, "stall-p90-µs")
		}
	})
	b.Run("fixed-work", func(b *testing.B) {
		// The work: passes over a table that fits in the first-level
		// cache, so that it costs the same every time it runs.
		table := make([]uint64, 2048)
		for i := range table {
			table[i] = uint64(i)*0x9e3779b97f4a7c15 + 1
		}
		var sink uint64
		work := func(passes int) {
			h := sink
			for range passes {
				for _, x := range table {
					h = (h ^ x) * 0x100000001b3
				}
			}
			sink = h
		}
		// Calibrate passes to about 20 µs, from the fastest of a few tries.
		passes := 1
		for {
			best := time.Duration(1 << 62)
			for range 20 {
				t := time.Now()
				work(passes)
				best = min(best, time.Since(t))
			}
			if best >= 20*time.Microsecond {
				break
			}
			passes = max(passes+1, int(float64(passes)*float64(20*time.Microsecond)/float64(max(best, time.Nanosecond))))
		}
		took := make([]time.Duration, 0, 20_000)
		for b.Loop() {
			for range 20 {
				t := time.Now()
				work(passes)
				took = append(took, time.Since(t))
			}
		}
		slices.Sort(took)
		p50 := took[len(took)/2]
		b.ReportMetric(float64(p50.Nanoseconds())/1000, "p50-µs")
		b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds())/1000, "p99-µs")
		b.ReportMetric(100*float64(countOver(took, 2*p50))/float64(len(took)), "over-2x-p50-%")
		if sink == 42 {
			b.Log(sink) // keeps the work from being optimised away
		}
	})
}

// countOver is how many of sorted are above limit.
func countOver(sorted []time.Duration, limit time.Duration) int {
	i, _ := slices.BinarySearch(sorted, limit+1)
	return len(sorted) - i
}
