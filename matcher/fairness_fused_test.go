package matcher

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestFractionalFairnessScoreIsItsParts: a group's fairness_metres need not
// be whole (33.3, 0.7). The score of a volunteer with three jobs in the
// window must be the sum of the parts the caller is shown, on every
// machine: arm64 (a Raspberry Pi, Graviton, Apple silicon) fuses a
// multiply and an add into one rounding, so there the score took the
// unrounded 3 x fairness_metres while the part shown was rounded, and two
// servers reading one file could rank a tie differently.
func TestFractionalFairnessScoreIsItsParts(t *testing.T) {
	v := vol("busy", 700, 300, func(v *pb.Volunteer) {
		for h := range 3 {
			v.RecentAssignmentTimes = append(v.RecentAssignmentTimes, timestamppb.New(now.Add(-time.Duration(h+1)*time.Hour)))
		}
	})
	var differed []float64
	for k := 1; k <= 500; k++ {
		cfg := DefaultConfig()
		cfg.FairnessMetres = float64(k) / 10
		e := NewEngine(cfg)
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
		res, err := e.FindCandidates(req(), nil, 5, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Candidates) != 1 {
			t.Fatalf("fairness_metres %v: %d candidates, want 1", cfg.FairnessMetres, len(res.Candidates))
		}
		c := res.Candidates[0]
		if want := float64(3 * cfg.FairnessMetres); c.Parts.Fairness != want {
			t.Errorf("fairness_metres %v: fairness part %v, want %v", cfg.FairnessMetres, c.Parts.Fairness, want)
		}
		p := c.Parts
		if sum := p.Distance + p.SameStreet + p.SamePostcode + p.Fairness + p.Continuity; c.Score != sum {
			differed = append(differed, cfg.FairnessMetres)
		}
	}
	if len(differed) > 0 {
		t.Errorf("score not the sum of its parts for %d fairness_metres of 500: %v", len(differed), differed)
	}
}
