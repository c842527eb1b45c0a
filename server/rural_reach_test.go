package server_test

import (
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestReachSaysWhichNeedSetsIt: a rural caller wants a lift to the surgery
// in Oakham and their prescription collected there. Taken down as both
// needs, the request reaches 1.5 km, a prescription's walking distance, not
// a lift's 8 km, and the one driver, 3.4 km away in Caldecott, is out of
// reach. Helpline staff, who know that lifts reach 8 km, must be told that
// the prescription is what holds it to 1.5 km, in the summary and when
// they offer it to that driver by hand, or they cannot see that a lift
// alone, the prescription in its details, would find them. A request of one
// need, or of needs that reach alike, is told as before.
//
// Every need that sets the reach is named: told only that the shopping
// holds a lift, shopping and prescription to 1.5 km, staff move the
// shopping into the details and find it held there all the same. And the
// needs are said as staff say them: "other help reaches", "errands reach",
// not "its other reaches".
func TestReachSaysWhichNeedSetsIt(t *testing.T) {
	lyddington := ruralPlace{"LE15 9LS", "Main Street", 52.5630, -0.7080}
	caldecott := ruralPlace{"LE16 8RS", "Main Street", 52.5330, -0.7200} // 3.4 km from Lyddington
	for _, tc := range []struct {
		name         string
		needs        []pb.Need
		summary, why string
	}{
		{"a lift and a prescription", []pb.Need{pb.Need_NEED_TRANSPORT, pb.Need_NEED_PRESCRIPTION_COLLECTION},
			"no volunteer lives within 1.5 km, as far as its prescription collection reaches (transport reaches 8 km)",
			"they live 3.4 km away, beyond the 1.5 km this request's prescription collection reaches (transport reaches 8 km)"},
		{"a lift alone", []pb.Need{pb.Need_NEED_TRANSPORT}, "", ""},
		{"shopping and a prescription", []pb.Need{pb.Need_NEED_GROCERY_SHOPPING, pb.Need_NEED_PRESCRIPTION_COLLECTION},
			"no volunteer lives within 1.5 km", "they live 3.4 km away, beyond the 1.5 km this request reaches"},
		{"a lift, shopping and a prescription", []pb.Need{pb.Need_NEED_TRANSPORT, pb.Need_NEED_GROCERY_SHOPPING, pb.Need_NEED_PRESCRIPTION_COLLECTION},
			"no volunteer lives within 1.5 km, as far as its grocery shopping and prescription collection reach (transport reaches 8 km)",
			"they live 3.4 km away, beyond the 1.5 km this request's grocery shopping and prescription collection reach (transport reaches 8 km)"},
		{"a lift, a hot meal, errands and a prescription", []pb.Need{pb.Need_NEED_HOT_MEAL, pb.Need_NEED_TRANSPORT, pb.Need_NEED_ERRANDS, pb.Need_NEED_PRESCRIPTION_COLLECTION},
			"no volunteer lives within 1.5 km, as far as its prescription collection, hot meal and errands reach (transport reaches 8 km)",
			"they live 3.4 km away, beyond the 1.5 km this request's prescription collection, hot meal and errands reach (transport reaches 8 km)"},
		{"a lift and something else", []pb.Need{pb.Need_NEED_TRANSPORT, pb.Need_NEED_OTHER},
			"no volunteer lives within 1.5 km, as far as its other help reaches (transport reaches 8 km)",
			"they live 3.4 km away, beyond the 1.5 km this request's other help reaches (transport reaches 8 km)"},
		{"a lift and errands", []pb.Need{pb.Need_NEED_TRANSPORT, pb.Need_NEED_ERRANDS},
			"no volunteer lives within 1.5 km, as far as its errands reach (transport reaches 8 km)",
			"they live 3.4 km away, beyond the 1.5 km this request's errands reach (transport reaches 8 km)"},
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
			if r.Details == "" {
				r.Details = "a lift to the surgery, and the form taken to the council" // NEED_OTHER asks for details
			}
			hr := h.createHR(r)
			resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name})
			if err != nil {
				t.Fatal(err)
			}
			if tc.summary == "" {
				if len(resp.Candidates) != 1 || resp.Summary != "nobody else lives within 8 km" {
					t.Errorf("a lift alone: %d candidates, summary %q; want Cal, and \"nobody else lives within 8 km\"", len(resp.Candidates), resp.Summary)
				}
				return
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
