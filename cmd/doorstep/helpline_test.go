package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestVolunteerFind: staff find the volunteer who rings in by their
// number, typed as they say it, and see their name, id and status.
func TestVolunteerFind(t *testing.T) {
	e, callum, _, _ := offeredRequest(t)
	out := e.ok("volunteer", "find", "--phone", "07700", "900123")
	if !regexp.MustCompile(`\n` + idOf(callum) + ` +Callum Reid +active, 1 offer waiting +AB10 1AF +` + org + `\n`).MatchString(out) {
		t.Errorf("volunteer find:\n%s\nwant Callum's row with one offer waiting", out)
	}
	if !strings.HasSuffix(out, "See their offers and assignments with: doorstep volunteer show "+idOf(callum)+"\n") {
		t.Errorf("volunteer find does not say how to see their offers:\n%s", out)
	}
	if strings.Contains(out, "Aileen") {
		t.Errorf("volunteer find shows another volunteer:\n%s", out)
	}
	e.ok("volunteer", "pause", callum)
	if out := e.ok("volunteer", "find", "--phone", "+44 7700 900123"); !regexp.MustCompile(`Callum Reid +paused `).MatchString(out) {
		t.Errorf("volunteer find after a pause:\n%s", out)
	}
	var list []map[string]any
	raw := e.ok("volunteer", "find", "--phone", "07700 900456", "--json")
	if err := json.Unmarshal([]byte(raw), &list); err != nil || len(list) != 1 || list[0]["name"] == callum {
		t.Errorf("volunteer find --json = %s (%v), want Aileen alone", raw, err)
	}
	if out := e.ok("volunteer", "search", "--phone", "07700 900999"); out != "No volunteer has the number 07700 900999.\n" {
		t.Errorf("volunteer find with nobody = %q", out)
	}
	checkFailure(t, e.run("volunteer", "find", "--phone", "12"), true, exitUsage,
		`"12" is not a phone number: give a UK number such as 01224 123456 or 07700 900123, or an international one starting with +.`)
	checkFailure(t, e.run("volunteer", "find"), true, exitUsage, "Give the volunteer's number: doorstep volunteer find --phone NUMBER.")
}

// TestVolunteerShowZoneAwayAndVetting: what decides whether a volunteer
// can be offered a request is shown: a time zone other than the UK's, the
// dates they are away that have not passed, and a DBS check that has run
// out.
func TestVolunteerShowZoneAwayAndVetting(t *testing.T) {
	now := testStart // Tue 10 Mar 2026
	date := func(y, m, d int32) *pb.Date { return &pb.Date{Year: y, Month: m, Day: d} }
	slot := []*pb.AvailabilitySlot{{Day: pb.DayOfWeek_DAY_OF_WEEK_FRIDAY, StartTime: &pb.TimeOfDay{Hours: 10}, EndTime: &pb.TimeOfDay{Hours: 17}}}
	for _, tc := range []struct {
		name             string
		av               *pb.Availability
		vet              *pb.Vetting
		free, away, dbs  string // the rows; away "" for none
		listFree, listAw string
	}{
		{name: "uk, nothing away", av: &pb.Availability{Weekly: slot, TimeZone: "Europe/London"}, vet: &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC, ExpireDate: date(2028, 3, 31)},
			free: "fri 10:00-17:00", dbs: "basic until Fri 31 Mar 2028", listFree: "fri 10:00-17:00", listAw: "-"},
		{name: "new york, away later", av: &pb.Availability{Weekly: slot, TimeZone: "America/New_York",
			Away: []*pb.DateRange{{StartDate: date(2026, 12, 1), EndDate: date(2026, 12, 10)}, {StartDate: date(2026, 4, 3), EndDate: date(2026, 4, 3)}, {StartDate: date(2026, 1, 1), EndDate: date(2026, 1, 5)}}},
			vet:  &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: date(2025, 1, 1)},
			free: "fri 10:00-17:00 New York time", away: "Fri 3 Apr, Tue 1 Dec to Thu 10 Dec", dbs: "enhanced, expired Wed 1 Jan 2025",
			listFree: "fri 10:00-17:00 New York time", listAw: "Fri 3 Apr, Tue 1 Dec to Thu 10 Dec"},
		{name: "away now, check ends today", av: &pb.Availability{Weekly: slot, Away: []*pb.DateRange{{StartDate: date(2026, 3, 9), EndDate: date(2027, 1, 2)}}},
			vet:  &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC, ExpireDate: date(2026, 3, 10)},
			free: "fri 10:00-17:00", away: "now, until Sat 2 Jan 2027", dbs: "basic until Tue 10 Mar 2026", listFree: "fri 10:00-17:00", listAw: "now, until Sat 2 Jan 2027"},
		{name: "no check", av: &pb.Availability{TimeZone: "Asia/Kolkata"}, free: "never", dbs: "none", listFree: "never", listAw: "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			a := &app{ctx: context.Background(), stdout: &out, now: func() time.Time { return now }}
			v := &pb.Volunteer{Name: "volunteers/01kk0000000000000000000000", Contact: &pb.Contact{DisplayName: "Morag Smith", Phone: "+447700900125"},
				Home: &pb.Location{Postcode: "AB10 1AB"}, Availability: tc.av, Vetting: tc.vet, Capacity: 1}
			if err := a.printVolunteer(v); err != nil {
				t.Fatal(err)
			}
			rows := map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if k, v, ok := strings.Cut(line, "  "); ok {
					rows[k] = strings.TrimSpace(v)
				}
			}
			if rows["Free"] != tc.free || rows["Away"] != tc.away || rows["DBS check"] != tc.dbs {
				t.Errorf("volunteer show:\n%s\nwant Free %q, Away %q, DBS check %q", out.String(), tc.free, tc.away, tc.dbs)
			}
			if got := freeWords(tc.av); got != tc.listFree {
				t.Errorf("FREE column %q, want %q", got, tc.listFree)
			}
			if got := orDash(awayWords(tc.av, now)); got != tc.listAw {
				t.Errorf("AWAY column %q, want %q", got, tc.listAw)
			}
		})
	}
}

// TestVolunteerAddExpiredCheck: a check that has run out is registered, as
// the record of the check they had, with a warning; show says it expired.
func TestVolunteerAddExpiredCheck(t *testing.T) {
	e := newTestEnv(t)
	r := e.run("volunteer", "add", "--name", "Morag Smith", "--phone", "07700 900125", "--postcode", "AB10 1AB",
		"--dbs", "enhanced", "--dbs-expires", "2025-01-01", "--available", "fri 10-17", "--org", org)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Registered volunteers/") {
		t.Fatalf("volunteer add with an expired check: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if want := "Note: their DBS check expired on Wed 1 Jan 2025: until it is renewed they count as unchecked (doorstep volunteer edit --dbs-expires).\n"; r.stderr != want {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
	out := e.ok("volunteer", "show", firstName(t, r.stdout, "volunteers"))
	if !regexp.MustCompile(`\nDBS check +enhanced, expired Wed 1 Jan 2025\n`).MatchString(out) {
		t.Errorf("volunteer show:\n%s\nwant the check shown expired", out)
	}
	// A check that still counts gets no warning.
	if r := e.run("volunteer", "add", "--name", "Ian Gray", "--phone", "07700 900126", "--postcode", "AB10 1AB",
		"--dbs", "basic", "--dbs-expires", "2026-03-10", "--available", "fri 10-17", "--org", org); r.code != 0 || r.stderr != "" {
		t.Errorf("volunteer add with a check that ends today: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestRequestCandidatesByState: candidates reads the request first: a
// closed one is refused, an assigned one names its volunteer, an offered
// one names who holds it until when and lists the others.
func TestRequestCandidatesByState(t *testing.T) {
	e, callum, offered, _ := offeredRequest(t)
	assigned := e.newRequest()
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", assigned, callum), "offers"))
	cancelled := e.newRequest()
	e.ok("request", "cancel", cancelled)
	// Callum is full: Aileen helps with one, and is free again.
	aileen := "volunteers/" + idRE.FindString(e.ok("volunteer", "find", "--phone", "07700 900456"))
	fulfilled := e.newRequest("--phone", "01224 765432") // another caller: one door gets one volunteer
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", fulfilled, aileen), "offers"))
	e.ok("request", "fulfil", fulfilled)

	for _, tc := range []struct {
		name, req string
		code      int
		stdout    *regexp.Regexp
		stderr    string
	}{
		{name: "offered", req: offered, stdout: regexp.MustCompile(`^` + offered + ` is offered to Callum Reid \(` + callum + `\) until 09:30\. If they decline, these could help:\n\n` +
			`#  VOLUNTEER +NAME +DISTANCE +WHY\n1  [0-9a-z]{26}  Aileen Watt  .*\n`)},
		{name: "assigned", req: assigned, stdout: regexp.MustCompile(`^` + assigned + ` is assigned to Callum Reid \(` + callum + `\): nobody else is needed\. If they cannot go, hand it back with doorstep request release ` + strings.TrimPrefix(assigned, "helpRequests/") + `\.\n$`)},
		{name: "cancelled", req: cancelled, code: exitFailed, stderr: cancelled + " is cancelled: it is closed, so nobody can be offered it. Take a new request if the caller still needs help."},
		{name: "fulfilled", req: fulfilled, code: exitFailed, stderr: fulfilled + " is fulfilled: it is closed, so nobody can be offered it. Take a new request if the caller still needs help."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run("request", "candidates", tc.req)
			if tc.code != 0 {
				checkFailure(t, r, true, tc.code, tc.stderr)
				return
			}
			if r.code != 0 || r.stderr != "" || !tc.stdout.MatchString(r.stdout) {
				t.Errorf("request candidates: exit %d, stderr %q, stdout:\n%s\nwant it to match %s", r.code, r.stderr, r.stdout, tc.stdout)
			}
			if tc.name == "offered" && strings.Count(r.stdout, "Callum") != 1 {
				t.Errorf("the volunteer holding the offer is listed as another who could help:\n%s", r.stdout)
			}
		})
	}
}

// TestListsSayWhenCutOff: a list stopped by --limit says that more match,
// after the table, or on stderr under --json; one that is complete does
// not.
func TestListsSayWhenCutOff(t *testing.T) {
	e := newTestEnv(t)
	callum, aileen := e.addVolunteers()
	r1 := e.newRequest()
	r2 := e.newRequest("--phone", "01224 765432") // another caller: one door gets one volunteer
	e.newRequest()
	e.ok("offer", "make", r1, callum)
	e.ok("offer", "make", r2, aileen)
	for _, tc := range []struct {
		list []string
		all  int
	}{
		{[]string{"request", "list", "--near", "AB10", "--state", "all"}, 3},
		{[]string{"volunteer", "list"}, 2},
		{[]string{"offer", "list"}, 2},
	} {
		t.Run(strings.Join(tc.list[:2], " "), func(t *testing.T) {
			limit := func(n int) []string { return append(append([]string(nil), tc.list...), "--limit", strconv.Itoa(n)) }
			out := e.ok(limit(tc.all - 1)...)
			want := "Showing " + strconv.Itoa(tc.all-1) + "; more match: give a larger --limit or narrow the search.\n"
			if !strings.HasSuffix(out, "\n"+want) || strings.Count(out, "\n") != tc.all+1 {
				t.Errorf("cut off at --limit %d:\n%s\nwant %d rows and %q", tc.all-1, out, tc.all-1, want)
			}
			if out := e.ok(limit(tc.all)...); strings.Contains(out, "more match") || strings.Count(out, "\n") != tc.all+1 {
				t.Errorf("all of them at --limit %d:\n%s", tc.all, out)
			}
			r := e.run(append(limit(tc.all-1), "--json")...)
			var items []any
			if err := json.Unmarshal([]byte(r.stdout), &items); err != nil || len(items) != tc.all-1 || r.stderr != want || r.code != 0 {
				t.Errorf("--json cut off: exit %d, %d items (%v), stderr %q", r.code, len(items), err, r.stderr)
			}
		})
	}
}

// TestVolunteerPauseReportsWithdrawnOffers: pausing a volunteer withdraws
// the offers waiting for their answer; staff are told which requests are
// open again.
func TestVolunteerPauseReportsWithdrawnOffers(t *testing.T) {
	e, callum, req, _ := offeredRequest(t)
	out := e.ok("volunteer", "pause", callum)
	want := callum + " (Callum Reid) is paused: they are offered nothing until resumed.\nOffer of " + req + " withdrawn: that request is open again.\n"
	if out != want {
		t.Errorf("volunteer pause with an offer waiting:\n%s\nwant\n%s", out, want)
	}
	if out := e.ok("request", "show", req); !regexp.MustCompile(`\nState +open\n`).MatchString(out) {
		t.Errorf("the request after the pause:\n%s\nwant it open", out)
	}
	// Nothing waiting: nothing more said.
	if out := e.ok("volunteer", "resume", callum); strings.Contains(out, "withdrawn") {
		t.Errorf("volunteer resume = %q", out)
	}
}

// TestFlagValueWording: a value an option cannot take is named with the
// kind of value it takes, not in the flag package's words.
func TestFlagValueWording(t *testing.T) {
	e := newTestEnv(t)
	e.env["DOORSTEP_ADDR"] = "127.0.0.1:1" // a call would fail with exit 4
	req, vol := "01kk0000000000000000000000", "01kk0000000000000000000001"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"offer", "make", req, vol, "--lease", "2"}, `--lease takes a length such as 30m or 2h, not "2"; see doorstep offer make --help.`},
		{[]string{"request", "list", "--limit", "lots"}, `--limit takes a whole number, not "lots"; see doorstep request list --help.`},
		{[]string{"request", "list", "--limit", "99999999999999999999"}, `--limit takes a whole number, not "99999999999999999999"; see doorstep request list --help.`},
		{[]string{"watch", "--from", "1.5"}, `--from takes a whole number, not "1.5"; see doorstep watch --help.`},
		{[]string{"volunteer", "add", "--lat", "north"}, `--lat takes a number such as 57.14, not "north"; see doorstep volunteer add --help.`},
		{[]string{"request", "list", "--tls=maybe"}, `--tls is a switch: give it alone, or as --tls=true or --tls=false, not "maybe"; see doorstep request list --help.`},
		{[]string{"--timeout", "5", "request", "list"}, `--timeout takes a length such as 30m or 2h, not "5"; see doorstep help.`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			checkFailure(t, e.run(tc.args...), true, exitUsage, tc.want)
		})
	}
}

// TestParseCircumstances: circumstances are read as needs are, numbers
// and names separated by commas or spaces.
func TestParseCircumstances(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "1 3", want: "lives alone, no internet"},
		{in: "1,3", want: "lives alone, no internet"},
		{in: "1, 3", want: "lives alone, no internet"},
		{in: "2 4 1", want: "lives alone, shielding, reduced mobility"},
		{in: "lives alone and shielding", want: "lives alone, shielding"},
		{in: "no internet, reduced mobility", want: "no internet, reduced mobility"},
		{in: "lives_alone", want: "lives alone"},
		{in: "shield 3", want: "shielding, no internet"},
		{in: "none", want: "-"},
		{in: "", want: "-"},
		{in: "1 5", err: `"5" is not one of: lives alone, shielding, no internet, reduced mobility (or their numbers 1-4)`},
		{in: "alone", err: `"alone" is not one of: lives alone, shielding, no internet, reduced mobility (or their numbers 1-4)`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			v, err := parseCircumstances(tc.in)
			switch {
			case tc.err != "":
				if err == nil || err.Error() != tc.err {
					t.Errorf("error %v, want %s", err, tc.err)
				}
			case err != nil:
				t.Errorf("error %v", err)
			case circumstanceWords(v) != tc.want:
				t.Errorf("read as %q, want %q", circumstanceWords(v), tc.want)
			}
		})
	}
}

// TestMatchingResultsNamePeople: offers and cancellations name the
// volunteer, so that staff know whom to ring; a token that may not read
// volunteers gets the result without the name.
func TestMatchingResultsNamePeople(t *testing.T) {
	e, callum, req, offer := offeredRequest(t)
	if out := e.ok("offer", "decline", offer); out != offer+" is declined: "+req+", Callum Reid ("+callum+").\n" {
		t.Errorf("offer decline = %q", out)
	}
	aileen := "volunteers/" + idRE.FindString(e.ok("volunteer", "find", "--phone", "07700 900456"))
	out := e.ok("offer", "make", req, aileen)
	if !strings.HasPrefix(out, "Offered "+req+" to Aileen Watt ("+aileen+") until ") {
		t.Errorf("offer make = %q", out)
	}
	e.ok("offer", "accept", firstName(t, out, "offers"))
	out = e.ok("request", "cancel", req)
	if want := req + " is now cancelled.\nTell Aileen Watt (07700 900456) not to come: they are free for other requests.\n"; out != want {
		t.Errorf("request cancel of an assigned request = %q, want %q", out, want)
	}

	// A partner may cancel its organisation's requests, not read volunteers.
	other := e.newRequest()
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", other, callum), "offers"))
	e.env["DOORSTEP_TOKEN"] = e.token(&pb.Token{DisplayName: "test partner", Role: pb.Role_ROLE_PARTNER, Organisation: org})
	if out := e.ok("request", "cancel", other); out != other+" is now cancelled.\n" {
		t.Errorf("request cancel with a partner's token = %q", out)
	}
}

// TestVolunteerEdit changes only what is given, keeps the rest of what is
// changed whole (availability, vetting), and says which waiting offers the
// change withdrew.
func TestVolunteerEdit(t *testing.T) {
	e, callum, req, _ := offeredRequest(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string // lines of the output, as regular expressions
		not  []string
	}{
		{"away", []string{"--away", "1 dec-10 dec, 25 dec"},
			[]string{`^Changed ` + callum + ` \(availability\)\.$`, `^Free +daily 08:00-20:00$`, `^Away +Tue 1 Dec to Thu 10 Dec, Fri 25 Dec$`,
				`^Skills +driver, dog-friendly$`, `^DBS check +basic until Fri 31 Mar 2028$`, `^Workload +0 assigned, 1 offer waiting, capacity 2$`},
			[]string{"withdrawn"}},
		// 08:00-20:00 in New York is 13:00-01:00 in the UK: not free for the
		// request's 10:00-12:00.
		{"moved to New York", []string{"--timezone", "America/New_York"},
			[]string{`^Free +daily 08:00-20:00 New York time$`, `^Away +Tue 1 Dec to Thu 10 Dec, Fri 25 Dec$`,
				`^Workload +0 assigned, no offers waiting, capacity 2$`, `^Offer of ` + req + ` withdrawn: that request is open again\.$`}, nil},
		{"back to UK time, home for good", []string{"--timezone", "Europe/London", "--away", "none", "--capacity", "3"},
			[]string{`^Changed ` + callum + ` \(availability, capacity\)\.$`, `^Free +daily 08:00-20:00$`, `^Workload +0 assigned, no offers waiting, capacity 3$`},
			[]string{"Away", "withdrawn"}},
		{"check renewed", []string{"--dbs", "enhanced", "--dbs-expires", "2029-06-30", "--skills", "driver", "--max-distance", "2km"},
			[]string{`^Changed ` + callum + ` \(vetting, skills, max_distance_metres\)\.$`, `^DBS check +enhanced until Sat 30 Jun 2029$`, `^Skills +driver$`, `^Travel +car, up to 2.0 km$`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := e.ok(append([]string{"volunteer", "edit", callum}, tc.args...)...)
			for _, w := range tc.want {
				if !regexp.MustCompile(`(?m)` + w).MatchString(out) {
					t.Errorf("volunteer edit %s:\n%s\nwant a line matching %s", strings.Join(tc.args, " "), out, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("volunteer edit %s:\n%s\nwant no %q", strings.Join(tc.args, " "), out, n)
				}
			}
		})
	}
	r := e.run("volunteer", "edit", callum, "--dbs-expires", "2025-01-01")
	if r.code != 0 || !strings.Contains(r.stdout, "enhanced, expired Wed 1 Jan 2025") || !strings.HasPrefix(r.stderr, "Note: their DBS check expired on Wed 1 Jan 2025") {
		t.Errorf("volunteer edit with an expired check: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "Say what to change, such as --available or --away; see doorstep volunteer edit --help."},
		{[]string{"--away", "someday"}, `--away: cannot read "someday" as days away: give days such as "1 dec-10 dec", "25 dec" or "2026-12-01 to 2026-12-10".`},
		{[]string{"--away", "10 dec-1 dec 2026"}, `--away: "10 dec-1 dec 2026" ends before it starts.`},
		{[]string{"--timezone", "Mars/Olympus", "--capacity", "0"}, `--timezone: "Mars/Olympus" is not a time zone: give a name such as Europe/London or America/New_York; --capacity: give a number from 1 to 20.`},
		{[]string{"--dbs", "none", "--dbs-expires", "2029-06-30"}, `--dbs-expires: they have no DBS check to expire: give --dbs basic or --dbs enhanced with it.`},
		// A level or date mistyped is named alone: "they have no DBS check" of
		// Callum, who has one, would send the worker after the wrong mistake.
		{[]string{"--dbs", "enhnaced", "--dbs-expires", "2029-06-30"}, `--dbs: "enhnaced" is not none, basic or enhanced.`},
		{[]string{"--dbs", "none", "--dbs-expires", "2029-13-30"}, `--dbs-expires: "2029-13-30" is not a date such as 2028-03-31.`},
	} {
		checkFailure(t, e.run(append([]string{"volunteer", "edit", callum}, tc.args...)...), true, exitUsage, tc.want)
	}
}

// TestRequestEdit changes only what is given and says when the change
// withdrew the request's offer.
func TestRequestEdit(t *testing.T) {
	e, _, req, _ := offeredRequest(t)
	out := e.ok("request", "edit", req, "--urgency", "low", "--details", "Just bread")
	for _, w := range []string{`^Changed ` + req + ` \(urgency, details\)\.$`, `^State +offered$`, `^Urgency +low$`, `^Details +Just bread$`,
		`^Needs +grocery shopping, prescription collection$`, `^Address +Flat 2, 12 Union Street, Union Street, AB10 1AB$`} {
		if !regexp.MustCompile(`(?m)` + w).MatchString(out) {
			t.Errorf("request edit:\n%s\nwant a line matching %s", out, w)
		}
	}
	if strings.Contains(out, "withdrawn") {
		t.Errorf("request edit that the volunteer can still take:\n%s", out)
	}
	out = e.ok("request", "edit", req, "--skills", "welsh", "--when", "thu 14:00-16:00")
	for _, w := range []string{`^Changed ` + req + ` \(window, required_skills\)\.$`, `^State +open$`, `^Skills +welsh$`, `^When +Thu 12 Mar 14:00-16:00$`,
		`^The offer of it to Callum Reid \(volunteers/[0-9a-z]{26}\) was withdrawn: they cannot take it as changed\. It is open again\.$`} {
		if !regexp.MustCompile(`(?m)` + w).MatchString(out) {
			t.Errorf("request edit:\n%s\nwant a line matching %s", out, w)
		}
	}
	checkFailure(t, e.run("request", "edit", req), true, exitUsage, "Say what to change, such as --when or --needs; see doorstep request edit --help.")
	checkFailure(t, e.run("request", "edit", req, "--needs", "juggling"), true, exitUsage, `--needs: "juggling" is not a need: *`)
}

// TestWhyBeyondDistance: the WHY column does not read the distance out a
// second time, and keeps a sentence that does not open with it whole.
func TestWhyBeyondDistance(t *testing.T) {
	for _, tc := range []struct{ explanation, dist, want string }{
		{"0.3 km, same street, has driver", "0.3 km", "same street, has driver"},
		{"under 10 m, free Wed 08:00-20:00", "under 10 m", "free Wed 08:00-20:00"},
		{"120 m", "120 m", "-"},
		{"1.2 km, has car", "1.20 km", "1.2 km, has car"}, // another format: left whole
		{"120 mph", "120 m", "120 mph"},                   // not the distance clause
		{"same street", "0 m", "same street"},
	} {
		if got := whyBeyond(tc.explanation, tc.dist); got != tc.want {
			t.Errorf("whyBeyond(%q, %q) = %q, want %q", tc.explanation, tc.dist, got, tc.want)
		}
	}
}

// TestVolunteerHold: a coordinator's hold reads as one, withdraws the
// offers waiting, and a resume does not get past it.
func TestVolunteerHold(t *testing.T) {
	e, callum, req, _ := offeredRequest(t)
	out := e.ok("volunteer", "hold", callum)
	want := callum + " (Callum Reid) is on hold: they are offered nothing until a coordinator lifts it (doorstep volunteer unhold " + strings.TrimPrefix(callum, "volunteers/") + ").\nOffer of " + req + " withdrawn: that request is open again.\n"
	if out != want {
		t.Errorf("volunteer hold:\n%s\nwant\n%s", out, want)
	}
	// The helpline's token set the hold: the record does not say who did,
	// and "by a coordinator" sent staff taking over a shift to ask the
	// wrong people.
	if out := e.ok("volunteer", "show", callum); !regexp.MustCompile(`\nOn hold +yes: offered nothing until a coordinator lifts it\n`).MatchString(out) ||
		strings.Contains(out, "by a coordinator") {
		t.Errorf("volunteer show of a volunteer the helpline held:\n%s", out)
	}
	if out := e.ok("volunteer", "resume", callum); !strings.Contains(out, "a coordinator's hold still stands") {
		t.Errorf("volunteer resume while held = %q", out)
	}
	// Staff on the helpline may hold; the coordinator lifts it.
	if r := e.run("volunteer", "unhold", callum); r.code != 5 || !strings.Contains(r.stderr, "the helpline cannot lift a coordinator's hold") {
		t.Errorf("volunteer unhold by the helpline: exit %d, %q", r.code, r.stderr)
	}
	if out := e.ok("--token="+e.coordinator, "volunteer", "unhold", callum); !strings.Contains(out, "is no longer on hold: they can be offered requests again.") {
		t.Errorf("volunteer unhold = %q", out)
	}
	if out := e.ok("volunteer", "show", callum); strings.Contains(out, "On hold") {
		t.Errorf("volunteer show after unhold:\n%s", out)
	}
}

// TestVolunteerAwayOverTheirJob: dates away that leave no day for a job
// they are assigned are refused, and staff are told how to hand it back.
func TestVolunteerAwayOverTheirJob(t *testing.T) {
	e, callum, req, offer := offeredRequest(t)
	e.ok("offer", "accept", offer)
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	tomorrow := e.clock.now().In(london).AddDate(0, 0, 1).Format("2006-01-02")
	r := e.run("volunteer", "edit", callum, "--away", tomorrow)
	want := "Hand it back first (doorstep request release " + strings.TrimPrefix(req, "helpRequests/") + ")"
	if r.code != 1 || !strings.Contains(r.stderr, "is assigned "+req) || !strings.Contains(r.stderr, want) {
		t.Errorf("away over the job: exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr, want)
	}
	e.ok("request", "release", req)
	e.ok("volunteer", "edit", callum, "--away", tomorrow)
}

// TestVolunteerEditLeavesTheirLift: Callum is assigned a lift tomorrow.
// Taking off his driver skill, or his DBS check, or bringing its expiry
// before the day, is refused: staff read what the lift needs and how to
// hand it back, not a word about dates away. Handed back, the edit
// stands.
func TestVolunteerEditLeavesTheirLift(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(e *testEnv) []string
		want string
	}{
		{"driver taken off", func(*testEnv) []string { return []string{"--skills", "dog-friendly"} },
			"which needs the skill driver, and they would lack it. Hand it back first (doorstep request release %s), so that someone who has it can go, then change their skills (HAS_COMMITMENTS)."},
		{"DBS check revoked", func(*testEnv) []string { return []string{"--dbs", "none"} },
			"which needs a basic DBS check valid on the day, and they would have none. Hand it back first (doorstep request release %s), so that someone who has one can go, then change their check (HAS_COMMITMENTS)."},
		{"DBS check expires today", func(e *testEnv) []string {
			return []string{"--dbs-expires", e.clock.now().In(london).Format("2006-01-02")}
		}, "which needs a basic DBS check valid on the day, and they would have none. Hand it back first (doorstep request release %s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			callum, _ := e.addVolunteers()
			req := e.newRequest("--needs", "transport")
			e.ok("offer", "accept", firstName(t, e.ok("offer", "make", req, callum), "offers"))
			args := append([]string{"volunteer", "edit", callum}, tc.edit(e)...)
			r := e.run(args...)
			want := "Nothing was changed: " + callum + " is assigned " + req + ", " + fmt.Sprintf(tc.want, strings.TrimPrefix(req, "helpRequests/"))
			if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "away") {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr, want)
			}
			e.ok("request", "release", req)
			e.ok(args...)
		})
	}
}

// TestVolunteerListShowsHold: a held volunteer does not read as free to
// ask in the list staff scan for someone to ring.
func TestVolunteerListShowsHold(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	e.ok("volunteer", "hold", callum)
	out := e.ok("volunteer", "list", "--near", "AB10")
	for _, row := range strings.Split(out, "\n") {
		if strings.HasPrefix(row, strings.TrimPrefix(callum, "volunteers/")) {
			if !strings.Contains(row, "on hold") || regexp.MustCompile(`\sno\s`).MatchString(row) {
				t.Errorf("a held volunteer's row: %q, want it on hold", row)
			}
			return
		}
	}
	t.Errorf("volunteer list:\n%s\nwant a row for %s", out, callum)
}

// TestVolunteerHoldNamesTheirJobs: a hold or a pause stops offers, not
// the visits already agreed: staff putting someone on hold, or pausing a
// volunteer who has rung in ill, are told which requests they are still
// going to, and how to hand each back.
func TestVolunteerHoldNamesTheirJobs(t *testing.T) {
	for _, verb := range []string{"hold", "pause"} {
		t.Run(verb, func(t *testing.T) {
			e, callum, req, offer := offeredRequest(t)
			e.ok("offer", "accept", offer)
			out := e.ok("volunteer", verb, callum)
			want := "still assigned " + req + ": hand it back with doorstep request release " + strings.TrimPrefix(req, "helpRequests/")
			if !strings.Contains(out, want) {
				t.Errorf("volunteer %s of a volunteer with a job:\n%s\nwant %q", verb, out, want)
			}
			r := e.run("--json", "volunteer", verb, callum)
			if r.code != 0 || !json.Valid([]byte(r.stdout)) || !strings.Contains(r.stderr, want) {
				t.Errorf("volunteer %s --json: exit %d, stdout %q, stderr %q", verb, r.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestVolunteerZoneWordsFixedOffsets: a fixed zone's POSIX name has its
// sign the other way round (Etc/GMT+5 is five hours behind), so the Free
// row says the offset as people read it, as the candidates' sentences do;
// the UK's own zone under any of its names is not named.
func TestVolunteerZoneWordsFixedOffsets(t *testing.T) {
	slot := []*pb.AvailabilitySlot{{Day: pb.DayOfWeek_DAY_OF_WEEK_FRIDAY, StartTime: &pb.TimeOfDay{Hours: 10}, EndTime: &pb.TimeOfDay{Hours: 17}}}
	for zone, want := range map[string]string{
		"Etc/GMT+5":        "fri 10:00-17:00 UTC-5 time",
		"Etc/GMT-10":       "fri 10:00-17:00 UTC+10 time",
		"America/New_York": "fri 10:00-17:00 New York time",
		"Etc/UTC":          "fri 10:00-17:00 UTC time",
		"Europe/London":    "fri 10:00-17:00",
	} {
		if got := freeWords(&pb.Availability{Weekly: slot, TimeZone: zone}); got != want {
			t.Errorf("%s: Free %q, want %q", zone, got, want)
		}
	}
}

// TestCandidatesOfAnOfferedRequestCountOnlyOthers: the volunteer holding a
// request's offer, full with it, is not another volunteer nearby who is
// fully booked; and with nobody else near, staff hear that nobody else
// lives there, not that no volunteer does.
func TestCandidatesOfAnOfferedRequestCountOnlyOthers(t *testing.T) {
	e := newTestEnv(t)
	callum := firstName(t, e.ok("volunteer", "add", "--name", "Callum Reid", "--phone", "07700 900123", "--postcode", "ab10 1af", "--street", "Correction Wynd",
		"--available", "daily 08:00-20:00", "--capacity", "1", "--org", org), "volunteers")
	req := e.newRequest()
	e.ok("offer", "make", req, callum)
	out := e.ok("request", "candidates", req)
	if !strings.Contains(out, "Nobody else can take this request now.\n\nWhy nobody else: Nobody else lives within 1.5 km.\n") || strings.Contains(out, "fully booked") || strings.Contains(out, "at capacity") {
		t.Errorf("request candidates of a request offered to the only volunteer near:\n%s", out)
	}
	// Another volunteer near who is fully booked is counted, and only they.
	aileen := firstName(t, e.ok("volunteer", "add", "--name", "Aileen Watt", "--phone", "07700 900456", "--postcode", "AB10 1AB",
		"--available", "daily 08:00-20:00", "--org", org), "volunteers")
	e.clock.advance(time.Second)
	other := e.newRequest("--phone", "01224 765432", "--when", "thu 10:00-12:00")
	e.ok("offer", "make", other, aileen)
	out = e.ok("request", "candidates", req)
	if !strings.Contains(out, "Why nobody else: 1 is fully booked.\n") {
		t.Errorf("request candidates with one other volunteer near, fully booked:\n%s", out)
	}
}

// TestRequestEditAskingWhatTheVolunteerHasNot: Callum drives and is
// assigned a lift; staff adding a skill he lacks, or a visit inside the
// home he has no enhanced DBS check for, are told nothing was changed and
// the command that hands the job back, not the name of an API call.
func TestRequestEditAskingWhatTheVolunteerHasNot(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		why  string
	}{
		{"a skill he lacks", []string{"--skills", "driver,welsh"}, "they lack welsh"},
		{"inside the home", []string{"--enters-home"}, "DBS check valid then"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			callum, _ := e.addVolunteers()
			req := e.newRequest("--needs", "transport")
			e.ok("offer", "accept", firstName(t, e.ok("offer", "make", req, callum), "offers"))
			r := e.run(append([]string{"request", "edit", req}, tc.args...)...)
			id := strings.TrimPrefix(req, "helpRequests/")
			if r.code != 1 || !strings.HasPrefix(r.stderr, "Nothing was changed: ") || !strings.Contains(r.stderr, tc.why) ||
				!strings.Contains(r.stderr, "hand it back first (doorstep request release "+id+")") || strings.Contains(r.stderr, "ReleaseHelpRequest") {
				t.Errorf("exit %d, stderr %q; want exit 1, nothing changed, %q, and doorstep request release %s", r.code, r.stderr, tc.why, id)
			}
		})
	}
}
