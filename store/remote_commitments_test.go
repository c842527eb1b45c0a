package store

import (
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/geo"
	"github.com/doorstep-aid/doorstep/matcher"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// Builds before schema 12 noted a befriending call from afar on its
// volunteer's record at the caller's street, as a visit: there it shared a
// round with a neighbour's visit at that time, and the volunteer holding
// the call was offered the neighbour's 45-minute prescription in the same
// 45 minutes. The upgrade takes the street off such commitments, as they
// are written now, so that the call takes its own time.
func TestUpgradeTakesTheStreetOffCallsFromAfar(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v11.db")
	clock := newFakeClock()
	s := openAt(t, path, WithClock(clock.now))
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	window := &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(45 * time.Minute))}}
	call := newHelpRequest("org-a", "", "AB10 1AB", "+447700900501")
	call.Needs, call.RemoteOk, call.RequiredSkills, call.Timing = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true, nil, window
	call, err := s.CreateHelpRequest(bg, call, Idempotency{})
	mustOK(t, err, "create the call")
	v := lcVolunteer(t, s, 3)
	v = lcOffer(t, s, call, v).Volunteer
	if len(v.Commitments) != 1 || v.Commitments[0].Location != nil {
		t.Fatalf("commitments %v, want the call's, at no street", v.Commitments)
	}
	want := proto.Clone(v).(*pb.Volunteer)
	mustOK(t, s.Close(), "close")
	// As schema 11 wrote it: at the caller's street.
	writeBoltFile(t, path, func(tx *bolt.Tx) error {
		recs := tx.Bucket(bVolunteers).Bucket(bRecords)
		id, err := idFromName(v.Name, volunteerPrefix)
		if err != nil {
			return err
		}
		r := &pb.Volunteer{}
		if err := proto.Unmarshal(recs.Get(id), r); err != nil {
			return err
		}
		r.Commitments[0].Location = &pb.Location{Street: "Union Street", Postcode: geo.PostcodeSector("AB10 1AB")}
		b, err := proto.Marshal(r)
		if err != nil {
			return err
		}
		if err := recs.Put(id, b); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kSchemaVersion, u64(11))
	})
	s2 := openAt(t, path, WithClock(clock.now))
	got, err := s2.GetVolunteer(bg, idOf(v.Name))
	mustOK(t, err, "get after upgrade")
	if !proto.Equal(&pb.Volunteer{Commitments: got.Commitments}, &pb.Volunteer{Commitments: want.Commitments}) {
		t.Errorf("after upgrade %v\nwant %v", got.Commitments, want.Commitments)
	}
	// What the volunteer met: a neighbour's prescription then, on the
	// caller's street, fitted beside the call as one round.
	pills := newHelpRequest("org-a", "", "AB10 1AB", "+447700900502")
	pills.Name, pills.Needs, pills.Timing = "helpRequests/pills", []pb.Need{pb.Need_NEED_PRESCRIPTION_COLLECTION}, window
	if !matcher.NewEngine(matcher.DefaultConfig()).Clashes(pills, got, start.Add(-time.Hour)) {
		t.Errorf("a 45-minute prescription beside the call in the same 45 minutes is no clash")
	}
	verifyAll(t, s2)
}
