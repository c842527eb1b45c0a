package server_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestEditOfAssignedWhileItsVolunteerIsOnTheirRound: Ann is assigned two
// hour-long errands, both 10:00-12:00 tomorrow on two streets: an hour
// for each. At 10:30 the rule, which cannot know what she has done,
// finds the two no longer fit (10:30-11:30, then 11:30-12:30). The caller
// of the first rings then: the volunteer cannot find the house, it is on
// Union Terrace, not Union Street; or the errand is only a prescription.
// Neither edit brings her a clash she did not have: each must stand, not
// be refused as putting her at two places at once. Moving it to 14:00-15:00,
// when she has a third errand, does bring one, and is refused.
func TestEditOfAssignedWhileItsVolunteerIsOnTheirRound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		path    string
		edit    *pb.HelpRequest
		refused bool
	}{
		{"street", "location.street", &pb.HelpRequest{Location: &pb.Location{Postcode: "AB10 1AB", Street: "Union Terrace"}}, false},
		{"needs", "needs", &pb.HelpRequest{Needs: []pb.Need{pb.Need_NEED_PRESCRIPTION_COLLECTION}}, false},
		{"to the third's time", "window", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			round := annsRound(t, morningRound, errandAt{"Holburn Street", "01224 700003", 14 * time.Hour, 15 * time.Hour})
			h := round.h
			edit := tc.edit
			if edit == nil {
				edit = &pb.HelpRequest{Timing: round.window(14*time.Hour, 15*time.Hour)}
			}
			edit.Name = round.rs[0].Name
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: edit, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{tc.path}}})
			switch {
			case tc.refused:
				wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
			case err != nil:
				t.Errorf("the edit at 10:30: %v", err)
			}
		})
	}
}

// errandAt is an hour-long errand tomorrow, from..to after midnight UTC,
// on street for the caller with phone.
type errandAt struct {
	street, phone string
	from, to      time.Duration
}

// morningRound is Ann's morning: two hour-long errands, both 10:00-12:00
// on two streets, an hour for each.
var morningRound = []errandAt{
	{"Union Street", "01224 700001", 10 * time.Hour, 12 * time.Hour},
	{"Crown Street", "01224 700002", 10 * time.Hour, 12 * time.Hour},
}

// round is a clock on which Ann is assigned errands tomorrow, standing at
// 10:30 tomorrow, her morning under way.
type round struct {
	h        *harness
	clock    *testClock
	ann      *pb.Volunteer
	tomorrow time.Time
	rs       []*pb.HelpRequest // the errands, in the order given
}

// annsRound assigns Ann, free all day, the morning round and then the
// errands more, and moves the clock on to 10:30 tomorrow.
func annsRound(t *testing.T, morning []errandAt, more ...errandAt) round {
	t.Helper()
	clock := &testClock{t: time.Now()}
	rd := round{h: newHarnessWithClock(t, clock), clock: clock}
	all := append(slices.Clip(morning), more...)
	rd.ann = rd.h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = int32(len(all)) }))
	rd.tomorrow = clock.now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	for _, e := range all {
		r := rd.h.createHR(shopping(func(r *pb.HelpRequest) {
			r.Needs = []pb.Need{pb.Need_NEED_ERRANDS} // an hour
			r.Location = &pb.Location{Postcode: "AB10 1AB", Street: e.street}
			r.Requester.Phone = e.phone
			r.Timing = rd.window(e.from, e.to)
		}))
		rd.h.invAssign(r.Name, rd.ann.Name)
		rd.rs = append(rd.rs, r)
	}
	clock.advance(rd.tomorrow.Add(10*time.Hour + 30*time.Minute).Sub(clock.now()))
	return rd
}

// window is from..to after midnight UTC tomorrow.
func (rd round) window(from, to time.Duration) *pb.HelpRequest_Window {
	return &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(rd.tomorrow.Add(from)), EndTime: timestamppb.New(rd.tomorrow.Add(to))}}
}
