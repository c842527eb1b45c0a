package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// ruralPlace is a door in Rutland, where one postcode district (LE15)
// holds Oakham, Uppingham and some forty villages, most with a Main
// Street of their own. None of its postcodes is in the test gazetteer, so
// each is given with its coordinates.
type ruralPlace struct {
	postcode, street string
	lat, lng         float64
}

var (
	oakhamHigh      = ruralPlace{"LE15 6AA", "High Street", 52.6706, -0.7273}
	cottesmoreMain  = ruralPlace{"LE15 7DH", "Main Street", 52.7140, -0.6660} // 6.4 km from Oakham
	cottesmoreMain2 = ruralPlace{"LE15 7DL", "Main Street", 52.7146, -0.6671} // a few doors along
	egletonMain     = ruralPlace{"LE15 8AD", "Main Street", 52.6570, -0.7010} // 2.3 km from Oakham, 6.8 km from Cottesmore
)

func (p ruralPlace) location() *pb.Location {
	return &pb.Location{Postcode: p.postcode, Street: p.street, LatLng: &pb.LatLng{Latitude: p.lat, Longitude: p.lng}}
}

// ruralLift is a lift (two hours by default) from p tomorrow 10:00-12:00,
// the whole of its window, for the caller on phone.
func ruralLift(p ruralPlace, phone string) *pb.HelpRequest {
	start := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
	return shopping(func(r *pb.HelpRequest) {
		r.Needs = []pb.Need{pb.Need_NEED_TRANSPORT}
		r.Location = p.location()
		r.Requester.Phone = phone
		r.Organisation = "rutland-aid"
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(2 * time.Hour))}}
	})
}

// TestLiftsOnMainStreetInTwoVillagesAreTwoPlaces: a rural partnership's
// one driver, in Oakham, room for two jobs, and two lifts at the same two
// hours from the Main Streets of Cottesmore and Egleton, villages 6.8 km
// apart in one postcode district (LE15) but not one sector. They are two
// places: the driver can give one lift, and dispatch must not offer them
// both, nor may staff offer the second by hand. Two lifts from one
// village's Main Street at that time are one round, as before.
func TestLiftsOnMainStreetInTwoVillagesAreTwoPlaces(t *testing.T) {
	for _, tc := range []struct {
		name       string
		first, sec ruralPlace
		oneRound   bool
	}{
		{"Cottesmore and Egleton", cottesmoreMain, egletonMain, false},
		{"two doors on Cottesmore's Main Street", cottesmoreMain, cottesmoreMain2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			olive := h.createVol(matchVolunteer("Olive", oakhamHigh.postcode, func(v *pb.Volunteer) {
				v.Home = oakhamHigh.location()
				v.Organisation = "rutland-aid"
				v.TravelMode = pb.TravelMode_TRAVEL_MODE_CAR
				v.Skills = []string{"driver"}
				v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC, ExpireDate: &pb.Date{Year: 2040, Month: 1, Day: 1}}
				v.Capacity = 2
			}))
			first := h.createHR(ruralLift(tc.first, "01572 812001"))
			second := h.createHR(ruralLift(tc.sec, "01572 812002"))

			d, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
			if err != nil {
				t.Fatal(err)
			}
			want := int32(1)
			if tc.oneRound {
				want = 2
			}
			if d.OffersMade != want {
				t.Errorf("dispatch made %d offers to Olive for lifts at 10:00-12:00 on %s, %s and %s, %s; want %d",
					d.OffersMade, tc.first.street, tc.first.postcode, tc.sec.street, tc.sec.postcode, want)
			}
			if tc.oneRound {
				return
			}
			// By hand: with the first lift hers, the second is refused.
			for _, hr := range []*pb.HelpRequest{first, second} {
				if got := h.getHR(hr.Name); got.State == pb.HelpRequest_STATE_OFFERED {
					if _, err := h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: hr.Name}); err != nil {
						t.Fatal(err)
					}
				}
			}
			a := h.createHR(ruralLift(tc.first, "01572 812003"))
			b := h.createHR(ruralLift(tc.sec, "01572 812004"))
			h.offer(a.Name, olive.Name)
			if got := h.candidates(b.Name); len(got) != 0 {
				t.Errorf("with a lift from %s at 10:00-12:00, Olive is still a candidate for one from %s then: %v", tc.first.postcode, tc.sec.postcode, got)
			}
			_, err = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: b.Name, Volunteer: olive.Name})
			wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
		})
	}
}
