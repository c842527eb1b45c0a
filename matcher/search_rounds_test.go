package matcher

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestFindCandidatesReadsAboutWhatItNeeds: with seven volunteers in a
// hundred carrying a recent assignment (the fairness term adds 250 m to
// their score), a search for 20 reads not much more than the 21 nearest
// it needs to be sure, in one round for most requests. A search that
// read the 21 nearest and, finding one of them with a recent assignment
// among the 20, ran again from the request's point for twice as many
// read 46 a search on average, in two rounds for three in five.
func TestFindCandidatesReadsAboutWhatItNeeds(t *testing.T) {
	const n, reqs, k = 30_000, 2000, 20
	pts := syntheticPoints(n, 1)
	e := NewEngine(DefaultConfig())
	rng := rand.New(rand.NewPCG(1, 2))
	recent := 0
	for i, p := range pts {
		v := benchVolunteer(i, p, rng)
		if len(v.RecentAssignmentTimes) > 0 {
			recent++
		}
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
	}
	e.Compact()
	if recent*100/n != 7 {
		t.Fatalf("%d of %d volunteers have a recent assignment, want 7%%", recent, n)
	}
	var rounds, read int
	defer func(f func(int)) { searchRound = f }(searchRound)
	searchRound = func(r int) { rounds, read = rounds+1, read+r }
	rng = rand.New(rand.NewPCG(3, 4))
	var full, fullRounds, fullRead, penalised int
	for i := range reqs {
		p := pts[rng.IntN(len(pts))]
		r := benchRequest(i, [2]float64{p[0] + (rng.Float64()-0.5)*0.002, p[1] + (rng.Float64()-0.5)*0.003}, rng)
		rounds, read = 0, 0
		res, err := e.FindCandidates(r, nil, k, now)
		if err != nil {
			t.Fatal(err)
		}
		if res.Short {
			continue
		}
		full++
		fullRounds += rounds
		fullRead += read
		for _, c := range res.Candidates {
			if c.Parts.Fairness > 0 {
				penalised++
				break
			}
		}
	}
	// The fixture means something only if most requests find k, and many
	// of those rank someone the fairness term held back.
	if full < reqs/2 || penalised < full/5 {
		t.Fatalf("only %d of %d requests found %d, %d of them with a recent assignment among them", full, reqs, k, penalised)
	}
	perSearch := float64(fullRead) / float64(full)
	retried := fullRounds - full
	t.Logf("%d requests found %d: %.1f neighbours read a search, %d rounds past the first", full, k, perSearch, retried)
	if perSearch > 1.3*(k+1) || retried > full/10 {
		t.Errorf("%s neighbours read a search and %d rounds past the first over %d searches; want at most %.1f and %d",
			fmt.Sprintf("%.1f", perSearch), retried, full, 1.3*(k+1), full/10)
	}
}

// TestFairnessMarginFollowsWrites: the share of volunteers with a recent
// assignment that sets a search's first fetch follows every write, so
// that an engine where nobody carries one any more searches as one
// where nobody ever did.
func TestFairnessMarginFollowsWrites(t *testing.T) {
	recent := func(etag string) func(*pb.Volunteer) {
		return func(v *pb.Volunteer) {
			v.Etag = etag
			v.RecentAssignmentTimes = []*timestamppb.Timestamp{timestamppb.New(now.Add(-time.Hour))}
		}
	}
	plain := func(etag string) func(*pb.Volunteer) { return func(v *pb.Volunteer) { v.Etag = etag } }
	e := NewEngine(DefaultConfig())
	steps := []struct {
		name   string
		write  func() error
		margin int // for k=20
	}{
		{"nobody yet", func() error { return nil }, 0},
		{"ten without", func() error {
			for i := range 10 {
				if err := e.UpsertVolunteer(vol(fmt.Sprintf("p%d", i), float64(i*10), 0, plain("1"))); err != nil {
					return err
				}
			}
			return nil
		}, 0},
		{"one of eleven with", func() error { return e.UpsertVolunteer(vol("r", 0, 50, recent("1"))) }, 2 + 1},
		{"rewritten with", func() error { return e.UpsertVolunteer(vol("r", 0, 60, recent("2"))) }, 2 + 1},
		{"an older write without", func() error { return e.UpsertVolunteer(vol("r", 0, 60, plain("1"))) }, 2 + 1},
		{"rewritten without", func() error { return e.UpsertVolunteer(vol("r", 0, 60, plain("3"))) }, 0},
		{"again with", func() error { return e.UpsertVolunteer(vol("r", 0, 60, recent("4"))) }, 2 + 1},
		{"removed", func() error { e.RemoveVolunteer("volunteers/r"); return nil }, 0},
		{"back with, compacted", func() error {
			err := e.UpsertVolunteer(vol("r", 0, 60, recent("5")))
			e.Compact()
			return err
		}, 2 + 1},
	}
	for _, st := range steps {
		if err := st.write(); err != nil {
			t.Fatal(st.name, err)
		}
		e.rlock()
		got := e.fairnessMargin(20)
		e.mu.RUnlock()
		if got != st.margin {
			t.Errorf("%s: margin %d, want %d", st.name, got, st.margin)
		}
	}
}
