package server_test

import (
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestReachNamesEveryNeedThatSetsIt: a caller wants a lift to the surgery,
// their prescription collected and a little shopping done on the way, all
// taken down as one request. The prescription and the shopping each hold
// it to 1.5 km. Told only that the shopping does, staff move the shopping
// into the details and find the request held to 1.5 km all the same, by
// the prescription nobody named. Every need that sets the reach is named.
func TestReachNamesEveryNeedThatSetsIt(t *testing.T) {
	lyddington := ruralPlace{"LE15 9LS", "Main Street", 52.5630, -0.7080}
	caldecott := ruralPlace{"LE16 8RS", "Main Street", 52.5330, -0.7200} // 3.4 km from Lyddington
	for _, tc := range []struct {
		name         string
		needs        []pb.Need
		summary, why string
	}{
		{"a lift, shopping and a prescription", []pb.Need{pb.Need_NEED_TRANSPORT, pb.Need_NEED_GROCERY_SHOPPING, pb.Need_NEED_PRESCRIPTION_COLLECTION},
			"no volunteer lives within 1.5 km, as far as its grocery shopping and prescription collection reach (transport reaches 8 km)",
			"they live 3.4 km away, beyond the 1.5 km this request's grocery shopping and prescription collection reach (transport reaches 8 km)"},
		{"a lift, a hot meal, errands and a prescription", []pb.Need{pb.Need_NEED_HOT_MEAL, pb.Need_NEED_TRANSPORT, pb.Need_NEED_ERRANDS, pb.Need_NEED_PRESCRIPTION_COLLECTION},
			"no volunteer lives within 1.5 km, as far as its prescription collection, hot meal and errands reach (transport reaches 8 km)",
			"they live 3.4 km away, beyond the 1.5 km this request's prescription collection, hot meal and errands reach (transport reaches 8 km)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			cal := h.createVol(matchVolunteer("Cal", caldecott.postcode, func(v *pb.Volunteer) {
				v.Home = caldecott.location()
				v.Organisation = "rutland-aid"
				v.TravelMode = pb.TravelMode_TRAVEL_MODE_CAR
				v.Skills = []string{"driver"}
				v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC, ExpireDate: &pb.Date{Year: 2040, Month: 1, Day: 1}}
			}))
			r := ruralLift(lyddington, "01572 822111")
			r.Needs = tc.needs
			hr := h.createHR(r)
			resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Summary != tc.summary {
				t.Errorf("summary\n %q\nwant\n %q", resp.Summary, tc.summary)
			}
			_, err = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: cal.Name})
			if err == nil || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("offer by hand to Cal: %v\nwant it to say %q", err, tc.why)
			}
		})
	}
}
