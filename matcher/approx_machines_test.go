package matcher

import (
	"math"
	"testing"
)

// TestApproxMetresSameOnEveryMachine pins ApproxMetres to the bit for
// pairs of UK points where a fused multiply-add (which the compiler emits
// on arm64, ppc64le, s390x and riscv64, not on amd64 or 386) would change
// the last bit: the distance decides who is within reach, ranks and breaks
// ties, so an arm64 server (a Raspberry Pi, Graviton) must find what an
// amd64 one does from the same file. Run it under emulation too (README,
// "Run the tests"): on amd64 it cannot fail.
func TestApproxMetresSameOnEveryMachine(t *testing.T) {
	for _, tt := range []struct {
		lat1, lng1, lat2, lng2 float64
		bits                   uint64
	}{
		{57.734434, -4.495033, 57.718802, -4.472363, 0x40a12cd89f50a393}, // 2198.423090476959; fused 2198.4230904769584
		{54.915033, -3.101593, 54.908404, -3.125125, 0x409a2c31b95639e5}, // 1675.048558566364; fused 1675.0485585663637
		{51.975638, -5.183373, 51.983306, -5.203366, 0x40993454b1798851}, // 1613.0827082623912; fused 1613.0827082623914
		{53.96215, 1.313711, 53.972006, 1.343448, 0x40a17137db4bbcfd},    // 2232.6090949695777; fused 2232.609094969577
		{54.477284, 0.004224, 54.476916, 0.027916, 0x4097ece8ebc10806},   // 1531.2274618302486; fused 1531.2274618302483
		{51.507875, -1.65421, 51.527634, -1.629298, 0x40a5d1301f9e56f5},  // 2792.5939912301205; fused 2792.59399123012
		{56.099935, -4.759558, 56.103647, -4.776308, 0x4091770d13ca8aef}, // 1117.7627708098696; fused 1117.7627708098694
		{54.731374, -4.970868, 54.717279, -4.96678, 0x4098d482f9cb1dc9},  // 1589.1279060112886; fused 1589.1279060112888
	} {
		want := math.Float64frombits(tt.bits)
		if got := ApproxMetres(tt.lat1, tt.lng1, tt.lat2, tt.lng2); got != want {
			t.Errorf("ApproxMetres(%v, %v, %v, %v) = %v, want %v (as on amd64)", tt.lat1, tt.lng1, tt.lat2, tt.lng2, got, want)
		}
		// Symmetric, as its doc says: the same sum, the other way round.
		if got := ApproxMetres(tt.lat2, tt.lng2, tt.lat1, tt.lng1); got != want {
			t.Errorf("ApproxMetres(%v, %v, %v, %v) = %v, want %v (as on amd64)", tt.lat2, tt.lng2, tt.lat1, tt.lng1, got, want)
		}
	}
}
