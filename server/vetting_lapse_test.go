package server_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A DBS check that lapses within a request's window is good only for the
// days up to its expiry: a volunteer free in the window only after it
// lapsed would go into the home with no check, and is not a candidate.
func TestVettingLapsedBeforeTheOnlyFreeDay(t *testing.T) {
	clock := &testClock{t: time.Date(2027, 1, 4, 8, 0, 0, 0, time.UTC)} // a Monday, GMT
	h := newHarnessWithClock(t, clock)
	day := func(d pb.DayOfWeek) []*pb.AvailabilitySlot {
		return []*pb.AvailabilitySlot{{Day: d, StartTime: &pb.TimeOfDay{Hours: 10}, EndTime: &pb.TimeOfDay{Hours: 12}}}
	}
	checked := func(until int32, free pb.DayOfWeek) func(*pb.Volunteer) {
		return func(v *pb.Volunteer) {
			v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: &pb.Date{Year: 2027, Month: 1, Day: until}}
			v.Availability = &pb.Availability{Weekly: day(free)}
		}
	}
	// Each check runs out on Monday 4 January, the window's first day.
	lapsed := h.createVol(matchVolunteer("Lapsed", "AB10 1AB", checked(4, pb.DayOfWeek_DAY_OF_WEEK_WEDNESDAY)))
	monday := h.createVol(matchVolunteer("Monday", "AB10 1AB", checked(4, pb.DayOfWeek_DAY_OF_WEEK_MONDAY)))
	// A check good all week: free on Wednesday too.
	h.createVol(matchVolunteer("Current", "AB10 1AB", checked(31, pb.DayOfWeek_DAY_OF_WEEK_WEDNESDAY)))
	hr := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.EntersHome = true
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{
			StartTime: timestamppb.New(time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)),
			EndTime:   timestamppb.New(time.Date(2027, 1, 6, 13, 0, 0, 0, time.UTC)),
		}}
	}))
	resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range resp.Candidates {
		got = append(got, c.DisplayName+": "+c.Explanation)
	}
	want := map[string]string{"Monday": "free Mon 10:00-12:00", "Current": "free Wed 10:00-12:00"}
	if len(got) != len(want) {
		t.Errorf("candidates %q, want Monday and Current", got)
	}
	for _, c := range resp.Candidates {
		if w, ok := want[c.DisplayName]; !ok || !strings.Contains(c.Explanation, w) {
			t.Errorf("candidate %s: %q, want one of %v", c.DisplayName, c.Explanation, want)
		}
	}
	if len(resp.Exclusions) != 1 || resp.Exclusions[0].Reason != "VETTING" || resp.Exclusions[0].Count != 1 {
		t.Errorf("exclusions %v, want 1 VETTING", resp.Exclusions)
	}
	_, err = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: lapsed.Name})
	wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
	h.offer(hr.Name, monday.Name)
}
