package server_test

import (
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestReachNeedsSaidAsStaffSayThem: the need that holds a lift to a
// walker's reach is read out on a call. "As far as its other reaches" is
// no English for NEED_OTHER, and "its errands reaches" stumbles; they are
// said as "other help" and "errands reach".
func TestReachNeedsSaidAsStaffSayThem(t *testing.T) {
	lyddington := ruralPlace{"LE15 9LS", "Main Street", 52.5630, -0.7080}
	caldecott := ruralPlace{"LE16 8RS", "Main Street", 52.5330, -0.7200} // 3.4 km from Lyddington
	for _, tc := range []struct {
		name         string
		needs        []pb.Need
		summary, why string
	}{
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
				r.Details = "a lift to the surgery, and the form taken to the council"
			}
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
