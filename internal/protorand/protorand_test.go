package protorand_test

import (
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/doorstep-aid/doorstep/internal/protorand"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

func filled(seed uint64, wild bool) *pb.Volunteer {
	v := &pb.Volunteer{}
	(&protorand.Filler{Rng: rand.New(rand.NewPCG(seed, 1)), Depth: 3, Wild: wild}).Fill(v.ProtoReflect())
	return v
}

// A seed gives the same message every time, so that a fuzzer's finding
// can be replayed; different seeds give different messages.
func TestFillIsAFunctionOfTheSeed(t *testing.T) {
	for _, wild := range []bool{false, true} {
		if a, b := filled(7, wild), filled(7, wild); !proto.Equal(a, b) {
			t.Errorf("wild=%v: seed 7 gave\n%v\nthen\n%v", wild, a, b)
		}
		if a, b := filled(7, wild), filled(8, wild); proto.Equal(a, b) {
			t.Errorf("wild=%v: seeds 7 and 8 gave the same message", wild)
		}
	}
}

// Fill reaches nested messages and lists; Sparse leaves fields out.
func TestFillReachesDeepAndSparseLeavesOut(t *testing.T) {
	v := filled(1, false)
	if v.GetHome().GetLatLng() == nil || v.GetAvailability() == nil || len(v.GetAvailability().GetWeekly()) == 0 {
		t.Errorf("nested fields not filled: %v", v)
	}
	full, sparse := 0, 0
	for seed := range uint64(50) {
		a := &pb.Volunteer{}
		(&protorand.Filler{Rng: rand.New(rand.NewPCG(seed, 1)), Depth: 3}).Fill(a.ProtoReflect())
		b := &pb.Volunteer{}
		(&protorand.Filler{Rng: rand.New(rand.NewPCG(seed, 1)), Depth: 3, Sparse: true}).Fill(b.ProtoReflect())
		full += proto.Size(a)
		sparse += proto.Size(b)
	}
	if sparse*3 > full*2 {
		t.Errorf("sparse messages are %d bytes in all, full ones %d: Sparse left little out", sparse, full)
	}
}

// Mutate changes a valid message in a few places, keeping the rest.
func TestMutateChangesAFew(t *testing.T) {
	changed := 0
	for seed := range uint64(50) {
		base := filled(100+seed, false)
		m := proto.Clone(base).(*pb.Volunteer)
		(&protorand.Filler{Rng: rand.New(rand.NewPCG(seed, 2)), Depth: 3}).Mutate(m.ProtoReflect(), 1)
		if !proto.Equal(base, m) {
			changed++
		}
		if m.GetName() != base.GetName() && m.GetContact().GetPhone() != base.GetContact().GetPhone() && m.GetCapacity() != base.GetCapacity() {
			t.Errorf("seed %d: one mutation changed name, phone and capacity", seed)
		}
	}
	if changed < 35 {
		t.Errorf("one mutation changed %d of 50 messages", changed)
	}
}
