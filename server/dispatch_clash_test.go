package server_test

import (
	"maps"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestDispatchClashLeavesNoCriticalRequestForALowOne: Bea has room for
// two, Cal for one. Two critical shops at one hour clash for Bea: the
// second (a two-hour window) only she can reach, the first Cal can too,
// and Cal could otherwise take a low one. Dispatch sends Cal to the first
// critical one and Bea to the second, and the low one waits, rather than
// leaving a critical request with nobody for a run, and, Bea then busy,
// for good.
func TestDispatchClashLeavesNoCriticalRequestForALowOne(t *testing.T) {
	const lat, lng = 57.1496, -2.0969 // AB10 1AB
	at := func(north float64, street string) *pb.Location {
		return &pb.Location{Postcode: "AB10 1AB", Street: street, LatLng: &pb.LatLng{Latitude: lat + north/111_200, Longitude: lng}}
	}
	h := newHarness(t)
	bea := h.createVol(matchVolunteer("Bea", "AB10 1AB", func(v *pb.Volunteer) {
		v.Home, v.Capacity, v.MaxDistanceMetres = at(0, "Union Street"), 2, 5000
	}))
	cal := h.createVol(matchVolunteer("Cal", "AB10 1AB", func(v *pb.Volunteer) {
		v.Home, v.Capacity, v.MaxDistanceMetres = at(-1200, "Union Street"), 1, 1100
		v.Contact.Phone = "07700 900222"
	}))
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(48 * time.Hour)
	shop := func(north float64, street, phone string, u pb.Urgency, from, to int) *pb.HelpRequest {
		return h.createHR(shopping(func(r *pb.HelpRequest) {
			r.Needs = []pb.Need{pb.Need_NEED_GROCERY_SHOPPING}
			r.Location, r.Requester.Phone, r.Urgency = at(north, street), phone, u
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{
				StartTime: timestamppb.New(day.Add(time.Duration(from) * time.Hour)),
				EndTime:   timestamppb.New(day.Add(time.Duration(to) * time.Hour)),
			}}
		}))
	}
	crit1 := shop(-200, "Crown Street", "01224 100001", pb.Urgency_URGENCY_CRITICAL, 10, 11)
	crit2 := shop(600, "Bon Accord Street", "01224 100002", pb.Urgency_URGENCY_CRITICAL, 10, 12)
	low := shop(-1900, "Holburn Street", "01224 100003", pb.Urgency_URGENCY_LOW, 10, 11)
	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range []*pb.HelpRequest{crit1, crit2, low} {
		if o := h.getHR(r.Name).Offer; o != "" {
			off, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: o})
			if err != nil {
				t.Fatal(err)
			}
			got[r.Name] = off.Offer.Volunteer
		}
	}
	want := map[string]string{crit1.Name: cal.Name, crit2.Name: bea.Name}
	if !maps.Equal(got, want) || resp.OffersByUrgency["URGENCY_CRITICAL"] != 2 {
		t.Errorf("offers %v (%v), want %v", got, resp, want)
	}
}

// TestDispatchDoorWaitFreesItsVolunteer: Iris asked for shopping and for
// a Welsh speaker at one time; Ann goes to her door for the shopping, so
// the other waits for Ann rather than bring Bob, the only Welsh speaker,
// to the same door. Bob is then free for the critical request, and Dee
// for the low one only she can reach, in the same run: not Dee to the
// critical one with Bob idle and the low one waiting for Dee.
func TestDispatchDoorWaitFreesItsVolunteer(t *testing.T) {
	const lat, lng = 57.1496, -2.0969 // AB10 1AB
	at := func(north float64, street string) *pb.Location {
		return &pb.Location{Postcode: "AB10 1AB", Street: street, LatLng: &pb.LatLng{Latitude: lat + north/111_200, Longitude: lng}}
	}
	h := newHarness(t)
	vol := func(name, phone string, north float64, reach int32, skills ...string) *pb.Volunteer {
		return h.createVol(matchVolunteer(name, "AB10 1AB", func(v *pb.Volunteer) {
			v.Home, v.MaxDistanceMetres, v.Skills, v.Contact.Phone = at(north, "Union Street"), reach, skills, phone
		}))
	}
	ann := vol("Ann", "07700 900111", -300, 400)
	bob := vol("Bob", "07700 900222", 300, 5000, "welsh")
	dee := vol("Dee", "07700 900333", 1600, 5000)
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(48 * time.Hour)
	shop := func(north float64, street, phone string, u pb.Urgency, from, to int, skills ...string) *pb.HelpRequest {
		return h.createHR(shopping(func(r *pb.HelpRequest) {
			r.Needs, r.RequiredSkills = []pb.Need{pb.Need_NEED_GROCERY_SHOPPING}, skills
			r.Location, r.Requester.Phone, r.Urgency = at(north, street), phone, u
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{
				StartTime: timestamppb.New(day.Add(time.Duration(from) * time.Hour)),
				EndTime:   timestamppb.New(day.Add(time.Duration(to) * time.Hour)),
			}}
		}))
	}
	high := shop(0, "Crown Street", "01224 100001", pb.Urgency_URGENCY_HIGH, 10, 12)
	welsh := shop(0, "Crown Street", "01224 100001", pb.Urgency_URGENCY_LOW, 10, 12, "welsh")
	crit := shop(1000, "Bon Accord Street", "01224 100002", pb.Urgency_URGENCY_CRITICAL, 14, 16)
	low := shop(2300, "Holburn Street", "01224 100003", pb.Urgency_URGENCY_LOW, 14, 16)
	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range []*pb.HelpRequest{high, welsh, crit, low} {
		if o := h.getHR(r.Name).Offer; o != "" {
			off, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: o})
			if err != nil {
				t.Fatal(err)
			}
			got[r.Name] = off.Offer.Volunteer
		}
	}
	want := map[string]string{high.Name: ann.Name, crit.Name: bob.Name, low.Name: dee.Name}
	if !maps.Equal(got, want) || resp.SameDoor != 1 {
		t.Errorf("offers %v (%v), want %v and one waiting for the door", got, resp, want)
	}
}
