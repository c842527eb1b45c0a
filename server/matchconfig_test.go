package server_test

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doorstep-aid/doorstep/matcher"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

func TestReadMatchingConfig(t *testing.T) {
	def := matcher.DefaultConfig()
	t.Run("empty object keeps every default", func(t *testing.T) {
		cfg, err := server.ReadMatchingConfig(strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.SameStreetMetres != def.SameStreetMetres || cfg.FairnessWindow != def.FairnessWindow || len(cfg.Needs) != len(def.Needs) {
			t.Errorf("got %+v, want the defaults", cfg)
		}
	})
	t.Run("each field over its default", func(t *testing.T) {
		cfg, err := server.ReadMatchingConfig(strings.NewReader(`{
			"needs": {
				"grocery_shopping": {"max_metres": 3000},
				"transport": {"max_metres": 15000, "minutes": 180},
				"befriending_call": {"min_vetting": "enhanced", "skills": ["Befriender"]},
				"dog_walking": {"skills": []}
			},
			"enters_home_vetting": "basic",
			"same_street_metres": 0, "fairness_window": "72h", "continuity_metres": 900
		}`))
		if err != nil {
			t.Fatal(err)
		}
		shop, lift, call := cfg.Needs[pb.Need_NEED_GROCERY_SHOPPING], cfg.Needs[pb.Need_NEED_TRANSPORT], cfg.Needs[pb.Need_NEED_BEFRIENDING_CALL]
		if shop.MaxMetres != 3000 || shop.Minutes != 90 || cfg.Needs[pb.Need_NEED_HOT_MEAL].MaxMetres != 1500 {
			t.Errorf("shopping %v, hot meal %v", shop, cfg.Needs[pb.Need_NEED_HOT_MEAL])
		}
		// A need's other fields keep their defaults.
		if lift.MaxMetres != 15000 || lift.Minutes != 180 || lift.MinVetting != pb.Vetting_DBS_LEVEL_BASIC || !slices.Equal(lift.Skills, []string{"driver"}) {
			t.Errorf("transport %+v", lift)
		}
		if call.MinVetting != pb.Vetting_DBS_LEVEL_ENHANCED || !slices.Equal(call.Skills, []string{"befriender"}) || call.MaxMetres != 1500 {
			t.Errorf("befriending %+v", call)
		}
		if s := cfg.Needs[pb.Need_NEED_DOG_WALKING].Skills; len(s) != 0 {
			t.Errorf("dog walking skills %v, want none", s)
		}
		if cfg.EntersHomeVetting != pb.Vetting_DBS_LEVEL_BASIC || cfg.SameStreetMetres != 0 || cfg.SamePostcodeMetres != def.SamePostcodeMetres ||
			cfg.FairnessWindow != 72*time.Hour || cfg.ContinuityMetres != 900 || cfg.FairnessMetres != def.FairnessMetres {
			t.Errorf("got %+v", cfg)
		}
		// The defaults themselves are untouched.
		if matcher.DefaultConfig().Needs[pb.Need_NEED_GROCERY_SHOPPING].MaxMetres != 1500 {
			t.Error("reading a config changed the defaults")
		}
	})
	for _, tc := range []struct {
		name, file, want string
	}{
		{"unknown need", `{"needs": {"gardening": {"max_metres": 2000}}}`, "needs.gardening: is not a need; the needs are grocery_shopping, "},
		{"need in upper case", `{"needs": {"TRANSPORT": {}}}`, "needs.TRANSPORT: is not a need"},
		{"unknown field", "{\"needs\": {\n  \"transport\": {\"max_km\": 9}}}", `unknown field "max_km" (line 2, column 17)`},
		// The name is a need's field, or a value, earlier in the file: the
		// refusal points at the key that is wrong, not at those.
		{"unknown field named elsewhere", "{\"needs\": {\"transport\": {\"skills\": [\"driver\"]}},\n \"skills\": [\"driver\"]}", `unknown field "skills" (line 2, column 2)`},
		{"unknown field also a value", "{\"needs\": {\"transport\": {\"skills\": [\"max_km\"],\n  \"max_km\": 9}}}", `unknown field "max_km" (line 2, column 3)`},
		{"unknown field after a need", "{\"needs\": {\"transport\": {\"Max_Metres\": 9000}, \"errands\": {}},\n \"Needs2\": {}}", `unknown field "Needs2" (line 2, column 2)`},
		{"reach too short", `{"needs": {"transport": {"max_metres": 10}}}`, "needs.transport.max_metres: must be from 100 to 100000 metres"},
		{"reach too long", `{"needs": {"errands": {"max_metres": 250000}}}`, "needs.errands.max_metres: must be from 100 to 100000 metres"},
		{"job of no time", `{"needs": {"transport": {"minutes": 0}}}`, "needs.transport.minutes: must be from 1 to 1440"},
		{"bad vetting", `{"needs": {"transport": {"min_vetting": "full"}}}`, "needs.transport.min_vetting: must be one of none, basic, enhanced"},
		{"bad home vetting", `{"enters_home_vetting": "DBS_LEVEL_ENHANCED"}`, "enters_home_vetting: must be one of none, basic, enhanced"},
		{"bad skill", `{"needs": {"transport": {"skills": ["has car"]}}}`, "needs.transport.skills[0]: must be 1 to 40"},
		{"negative weight", `{"fairness_metres": -5}`, "fairness_metres: must be from 0 to 100000 metres"},
		{"bad window", `{"fairness_window": "a week"}`, "fairness_window: must be a duration"},
		{"zero window", `{"fairness_window": "0s"}`, "fairness_window: must be a duration"},
		{"window beyond the week kept", `{"fairness_window": "720h"}`, "fairness_window: must be a duration in whole hours such as \"168h\", from 1h to 168h (7 days)"},
		// The candidates' sentences count jobs in hours: "1 job in the last 0 days" of a 30m window.
		{"window under an hour", `{"fairness_window": "30m"}`, "fairness_window: must be a duration in whole hours"},
		{"window not whole hours", `{"fairness_window": "90m"}`, "fairness_window: must be a duration in whole hours"},
		{"two mistakes, both named", `{"same_street_metres": -1, "continuity_metres": 1e9}`, "same_street_metres: must be from 0 to 100000 metres; continuity_metres: must be"},
		{"not JSON", `needs: {}`, "matching config: invalid character"},
		{"empty file", ``, "matching config: EOF"},
		{"two objects", `{} {}`, "more than one JSON object"},
		{"wrong type", `{"needs": {"transport": {"max_metres": "8km"}}}`, "cannot unmarshal string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := server.ReadMatchingConfig(strings.NewReader(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// TestMatchingConfigChangesWhoIsFound serves with a config that lets
// shopping reach 3 km: a volunteer 2 km away, beyond the default 1.5 km, is
// then found, and offered.
func TestMatchingConfigChangesWhoIsFound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string
		found   bool
		reach   float64
		summary string
	}{
		{"default reach", `{}`, false, 1500, "no volunteer lives within 1.5 km"},
		{"shopping within 3 km", `{"needs": {"grocery_shopping": {"max_metres": 3000}, "prescription_collection": {"max_metres": 3000}}}`, true, 3000, "nobody else lives within 3 km"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := server.ReadMatchingConfig(strings.NewReader(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			h := newHarnessWithClock(t, nil, server.WithMatcherConfig(cfg))
			// AB10 7 is about 2 km south-west of AB10 1AB, where the request is.
			far := h.createVol(matchVolunteer("Fiona", "AB10 1AB", func(v *pb.Volunteer) {
				v.Home = &pb.Location{Postcode: "AB10 1AB", LatLng: &pb.LatLng{Latitude: 57.1316, Longitude: -2.1100}}
				v.MaxDistanceMetres = 5000
			}))
			hr := h.createHR(shopping())
			resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(resp.Candidates) == 1 && resp.Candidates[0].Volunteer == far.Name; got != tc.found {
				t.Fatalf("found %v (candidates %v, summary %q), want %v", got, resp.Candidates, resp.Summary, tc.found)
			}
			// Nobody else in reach is explained, with the reach.
			if resp.ReachMetres != tc.reach || resp.Summary != tc.summary {
				t.Errorf("reach %v, summary %q; want %v, %q", resp.ReachMetres, resp.Summary, tc.reach, tc.summary)
			}
			_, err = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: far.Name})
			if tc.found && err != nil {
				t.Errorf("offer within the configured reach: %v", err)
			}
			if !tc.found {
				wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
				if want := "the volunteer cannot take this request: they live 2.2 km away, beyond the 1.5 km this request reaches"; status.Convert(err).Message() != want {
					t.Errorf("refusal %q, want %q", status.Convert(err).Message(), want)
				}
			}
		})
	}
}

// TestMatchingConfigKeyGivenTwice: encoding/json keeps the last of a key
// given twice, so a file that names a need twice (one entry added at the
// end, the first forgotten) silently dropped the first entry's rules: the
// lift reach of 15 km below fell back to 8 km. A key given twice is a
// mistake that stops the start, naming it and its line.
func TestMatchingConfigKeyGivenTwice(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"{\n  \"needs\": {\n    \"transport\": {\"max_metres\": 15000},\n    \"errands\": {},\n    \"transport\": {\"minutes\": 180}\n  }\n}", "needs.transport: given twice (line 5"},
		{`{"fairness_metres": 100, "same_street_metres": 50, "fairness_metres": 300}`, "fairness_metres: given twice (line 1"},
		{`{"needs": {"transport": {"skills": ["driver"], "skills": []}}}`, "needs.transport.skills: given twice"},
		// encoding/json matches a field's name in any case, so these too
		// are one field given twice, the last kept.
		{`{"fairness_metres": 100, "Fairness_Metres": 300}`, "Fairness_Metres: given twice (line 1"},
		{`{"needs": {"transport": {"max_metres": 15000, "MAX_METRES": 3000}}}`, "needs.transport.MAX_METRES: given twice"},
	} {
		_, err := server.ReadMatchingConfig(strings.NewReader(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to say %q", tc.file, err, tc.want)
		}
	}
	// The same key in different objects is no repeat.
	if _, err := server.ReadMatchingConfig(strings.NewReader(`{"needs": {"transport": {"minutes": 90}, "errands": {"minutes": 90, "skills": ["a", "a"]}}}`)); err != nil {
		t.Errorf("a key in two needs: %v", err)
	}
}

// TestMatchingConfigSyntaxErrorLine: a file that is not JSON (a comma left
// out, a reach written "15km") was refused with the decoder's words alone
// ("invalid character '\"' after object key:value pair"), leaving the
// operator to search the file; the refusal now names the line and column.
func TestMatchingConfigSyntaxErrorLine(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"{\n  \"needs\": {\n    \"transport\": {\"max_metres\": 15000}\n    \"errands\": {}\n  }\n}", "invalid character '\"' after object key:value pair (line 4, column 5)"},
		{"{\n  \"needs\": {\n    \"transport\": {\"max_metres\": \"15km\"}\n  }\n}", "cannot unmarshal string into Go struct field needRuleFile.needs.max_metres of type float64 (line 3, column"},
		{"{\n  \"fairness_metres\": 250,\n}", "invalid character '}' looking for beginning of object key string (line 3, column 1)"},
	} {
		_, err := server.ReadMatchingConfig(strings.NewReader(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to say %q", tc.file, err, tc.want)
		}
	}
}

// TestMatchingConfigNotReadWhole: another file named by mistake (the
// gazetteer's gigabyte) is refused without reading it whole.
func TestMatchingConfigNotReadWhole(t *testing.T) {
	big := io.MultiReader(strings.NewReader("{"), strings.NewReader(strings.Repeat(" ", 64<<20)), strings.NewReader("}"))
	var read countingReader
	read.r = big
	_, err := server.ReadMatchingConfig(&read)
	if err == nil || !strings.Contains(err.Error(), "is it the right file") || read.n > 2<<20 {
		t.Errorf("a 64 MB file: %v, after reading %d bytes", err, read.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
