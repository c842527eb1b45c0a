package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// A phone call takes the volunteer's time wherever they are: jobs on one
// street at one time are one round of visits, but a befriending call from
// afar is no visit: two calls of half an hour, or a call and a
// prescription of 45 minutes, to neighbours within one 45 minutes are two
// jobs that do not fit, not one round that does.
func TestCallsFromAfarAreNoRound(t *testing.T) {
	tomorrow := time.Now().UTC().Truncate(24 * time.Hour).Add(34 * time.Hour) // 10:00 tomorrow
	then := func() *pb.HelpRequest_Window {
		return &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(tomorrow), EndTime: timestamppb.New(tomorrow.Add(45 * time.Minute))}}
	}
	call := func(phone string) func(*pb.HelpRequest) {
		return func(r *pb.HelpRequest) {
			r.Needs, r.RemoteOk, r.Requester.Phone, r.Timing = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true, phone, then()
		}
	}
	shop := func(phone string) func(*pb.HelpRequest) {
		return func(r *pb.HelpRequest) {
			r.Needs, r.Requester.Phone, r.Timing = []pb.Need{pb.Need_NEED_PRESCRIPTION_COLLECTION}, phone, then() // 45 minutes
		}
	}
	for _, tt := range []struct {
		name          string
		first, second func(string) func(*pb.HelpRequest)
	}{
		{"call, call", call, call},
		{"visit, call", shop, call},
		{"call, visit", call, shop},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) {
				v.Capacity = 3
				v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC, ExpireDate: &pb.Date{Year: int32(time.Now().Year() + 2), Month: 1, Day: 1}}
			}))
			first := h.createHR(shopping(tt.first("01224 400101")))
			second := h.createHR(shopping(tt.second("01224 400102"))) // a neighbour on Union Street
			h.offer(first.Name, ann.Name)
			_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: second.Name, Volunteer: ann.Name})
			wantFailure(t, err, codes.FailedPrecondition, server.ReasonNotEligible)
		})
	}

	// A befriending visit beside a neighbour's prescription is one round;
	// made a call from afar, it is a job of its own that no longer fits,
	// and the edit of the assigned request is refused as any other that
	// leaves its volunteer no room.
	t.Run("assigned visit made a call", func(t *testing.T) {
		h := newHarness(t)
		ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) {
			v.Capacity = 3
			v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC, ExpireDate: &pb.Date{Year: int32(time.Now().Year() + 2), Month: 1, Day: 1}}
		}))
		pills := h.createHR(shopping(shop("01224 400101")))
		visit := h.createHR(shopping(call("01224 400102"), func(r *pb.HelpRequest) { r.RemoteOk = false }))
		for _, r := range []*pb.HelpRequest{pills, visit} {
			if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(r.Name, ann.Name).Name}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
			HelpRequest: &pb.HelpRequest{Name: visit.Name, RemoteOk: true},
			UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"remote_ok"}},
		})
		wantFailure(t, err, codes.FailedPrecondition, server.ReasonNotEligible)
	})
}
