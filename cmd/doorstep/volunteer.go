package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/doorstep-aid/doorstep/client"
	"github.com/doorstep-aid/doorstep/geo"
	"github.com/doorstep-aid/doorstep/phone"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

func (a *app) volunteerAdd(args []string) error {
	u := usage{
		synopsis: "doorstep volunteer add --name NAME --phone NUMBER --postcode POSTCODE --available WHEN [options]",
		text: `Registers a volunteer. --available takes weekly times in UK time: "tue 10:00-12:00, sat 9-17",
"weekdays 18:00-21:00", "mon-fri 9am-5pm" or "always". A --phone a volunteer of the organisation has is
refused, unless --shared-phone; another organisation's volunteer on it is named, with what their record
holds: to the matcher the two are two people.`,
		examples: []string{
			"doorstep volunteer add --name 'Callum Reid' --phone '07700 900123' --postcode 'AB10 1AF' --street 'Correction Wynd' \\\n" +
				"      --travel car --skills driver --dbs basic --dbs-expires 2028-03-31 --available 'tue 10:00-12:00' --org aberdeen-mutual-aid",
		},
	}
	cmd := a.begin("add", u)
	fs := cmd.fs
	name := fs.String("name", "", "what the volunteer likes to be called")
	typed := fs.String("phone", "", "their phone number")
	postcode := fs.String("postcode", "", "their home postcode")
	street := fs.String("street", "", "their street")
	address := fs.String("address", "", "house number, flat or building; lines separated by ;")
	lat := fs.Float64("lat", 0, "latitude of their home, when the postcode is not known")
	lng := fs.Float64("lng", 0, "longitude of their home")
	travel := fs.String("travel", "walking", "walking, cycling or car")
	maxDist := fs.String("max-distance", "", "how far they will go: 1500, 1500m, 2km or 10 miles (by default 1.5 km walking, 5 km cycling, 15 km by car)")
	skills := fs.String("skills", "", "skill tags, e.g. driver,welsh")
	dbs := fs.String("dbs", "none", "their DBS check: none, basic or enhanced")
	dbsExpires := fs.String("dbs-expires", "", "the last day their check counts, YYYY-MM-DD")
	available := fs.String("available", "", "when they are free each week, e.g. \"tue 10:00-12:00, sat 9-17\" or always")
	capacity := fs.Int("capacity", 1, "how many requests they take at once (1-20)")
	org := fs.String("org", a.cfg.org, "their organisation (env DOORSTEP_ORG)")
	shared := fs.Bool("shared-phone", false, "register them although a volunteer of the organisation has this number already (a household with one phone)")
	if err := cmd.optionsOnly(args, "--name"); err != nil {
		return err
	}
	var missing, bad []string
	need := func(flag, v string) {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, "--"+flag)
		}
	}
	need("name", *name)
	need("phone", *typed)
	need("postcode", *postcode)
	need("available", *available)
	need("org", *org)
	if len(missing) > 0 {
		return usageErrorf("missing %s; see doorstep volunteer add --help", strings.Join(missing, ", "))
	}
	v := &pb.Volunteer{
		Contact:      &pb.Contact{DisplayName: strings.TrimSpace(*name), Phone: *typed},
		Home:         &pb.Location{Postcode: *postcode, Street: *street, AddressLines: splitLines(*address)},
		Skills:       splitList(strings.ToLower(*skills)),
		Capacity:     int32(*capacity),
		Organisation: strings.ToLower(strings.TrimSpace(*org)),
	}
	if _, err := phone.Normalise(*typed); err != nil {
		bad = append(bad, "--phone: "+phoneFault(*typed, err, "", false).Error())
	}
	if _, err := geo.NormalisePostcode(*postcode); err != nil {
		bad = append(bad, fmt.Sprintf("--postcode: %q is not a UK postcode", *postcode))
	}
	if *lat != 0 || *lng != 0 {
		v.Home.LatLng = &pb.LatLng{Latitude: *lat, Longitude: *lng}
	}
	if tm, ok := pb.TravelMode_value["TRAVEL_MODE_"+strings.ToUpper(strings.TrimSpace(*travel))]; ok && tm != 0 {
		v.TravelMode = pb.TravelMode(tm)
	} else {
		bad = append(bad, fmt.Sprintf("--travel: %q is not walking, cycling or car", *travel))
	}
	if *maxDist != "" {
		m, err := parseMetres(*maxDist)
		if err != nil {
			bad = append(bad, "--max-distance: "+err.Error())
		}
		v.MaxDistanceMetres = m
	}
	if lvl, ok := pb.Vetting_DbsLevel_value["DBS_LEVEL_"+strings.ToUpper(strings.TrimSpace(*dbs))]; ok && lvl != 0 {
		v.Vetting = &pb.Vetting{Level: pb.Vetting_DbsLevel(lvl)}
	} else {
		bad = append(bad, fmt.Sprintf("--dbs: %q is not none, basic or enhanced", *dbs))
	}
	if *dbsExpires != "" {
		d, err := time.Parse("2006-01-02", strings.TrimSpace(*dbsExpires))
		if err != nil {
			bad = append(bad, fmt.Sprintf("--dbs-expires: %q is not a date such as 2028-03-31", *dbsExpires))
		} else if v.Vetting != nil {
			v.Vetting.ExpireDate = &pb.Date{Year: int32(d.Year()), Month: int32(d.Month()), Day: int32(d.Day())}
		}
	}
	slots, err := parseAvailability(*available)
	if err != nil {
		bad = append(bad, "--available: "+err.Error())
	}
	v.Availability = &pb.Availability{Weekly: slots, TimeZone: "Europe/London"}
	if len(bad) > 0 {
		return usageErrorf("%s", strings.Join(bad, "; "))
	}
	number, _ := phone.Normalise(*typed)
	if !*shared {
		// One person registered twice is two volunteers to the matcher,
		// each offered a job of its own at one time: a volunteer who
		// rings to sign up again is found, not added again.
		held, _, err := a.listVolunteers(&pb.ListVolunteersRequest{Phone: number, Organisation: v.Organisation}, 1)
		if err != nil {
			return err
		}
		if len(held) > 0 {
			id := idOf(held[0].Name)
			return &cliError{code: exitFailed, msg: fmt.Sprintf("Not registered: %s is registered already with the number %s, as %s: "+
				"to change their details, doorstep volunteer edit %s; to register someone else who shares that phone, add --shared-phone.",
				held[0].GetContact().GetDisplayName(), phoneWords(number), id, id)}
		}
	}
	// Another group's volunteer on the number is no bar (someone may help
	// two groups), but it is named: to the matcher they are two people,
	// each offered a job at one time, and a hold on one stops that record
	// only. --shared-phone says someone of this organisation shares the
	// phone, not that the other group's record is someone else: a couple
	// moving on one landline would leave the second one's old record
	// unnamed.
	elsewhere, _, err := a.listVolunteers(&pb.ListVolunteersRequest{Phone: number}, 10)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	req := &pb.CreateVolunteerRequest{Volunteer: v, RequestId: client.NewRequestID()}
	gone := "The volunteer was registered, then deleted before the answer came (by someone else, or with an erasure of their data): nothing of the record is kept"
	resp, err := askAgainAfterTimeout(a, "the volunteer was registered", gone, func(ctx context.Context) (*pb.CreateVolunteerResponse, error) {
		return c.Volunteers.CreateVolunteer(ctx, req)
	})
	// As for a new request: saved with its answer lost, it would be
	// registered twice, and offered jobs under both records.
	if lost := a.answerLost(err, "The volunteer may have been registered all the same: look for them with doorstep volunteer find --phone "+
		phoneWords(v.GetContact().GetPhone())+" before adding them again."); lost != nil {
		return lost
	}
	if err != nil {
		return err
	}
	created := resp.Volunteer
	if d := created.GetVetting().GetExpireDate(); d != nil && dateExpired(d, a.now()) {
		// Allowed, as a record of the check they had; but it counts for nothing.
		fmt.Fprintf(a.stderr, "Note: their DBS check expired on %s: until it is renewed they count as unchecked (doorstep volunteer edit --dbs-expires).\n", yearDateWords(d))
	}
	if a.cfg.json {
		// The JSON stays the volunteer, as scripts read it; the notes go
		// to stderr.
		otherGroupNotes(a.stderr, created, elsewhere)
		return writeJSON(a.stdout, created)
	}
	fmt.Fprintf(a.stdout, "Registered %s: %s, %s, free %s.\n", created.Name, created.GetContact().GetDisplayName(), created.GetHome().GetPostcode(), freeWords(created.GetAvailability()))
	otherGroupNotes(a.stdout, created, elsewhere)
	return nil
}

// otherGroupNotes names, one line each, the records of other
// organisations on the number of v, just registered: a volunteer who moved
// from a group on the same server is registered again (an organisation
// cannot be changed), and the old record goes on being offered jobs, and
// keeps any hold, apart from the new one.
func otherGroupNotes(w io.Writer, v *pb.Volunteer, others []*pb.Volunteer) {
	for _, o := range others {
		if o.Name == v.Name || o.Organisation == v.Organisation {
			continue
		}
		then := fmt.Sprintf("the matcher takes the two records for two people, and may send one person to two places at once. If they have moved to %s, end that record: doorstep volunteer delete %s",
			v.Organisation, idOf(o.Name))
		if o.Held {
			then = "the hold stops that record only. If it is the same person, hold this one too until the concern is settled: doorstep volunteer hold " + idOf(v.Name)
		}
		fmt.Fprintf(w, "Note: %s, with %s, has this number too, as %s (%s): %s\n",
			o.GetContact().GetDisplayName(), o.Organisation, idOf(o.Name), volunteerStatus(o), then)
	}
}

// parseMetres reads "1500", "1500m", "2km", "2.5 km", and "10 miles" (or
// "mile", "mi"): a volunteer in the country says how far they will drive
// as the road signs do, in miles, and staff type what they hear.
func parseMetres(s string) (int32, error) {
	// Every kind of space (a no-break one pasted from an e-mail, a tab
	// from a spreadsheet) is left out, as a plain one is.
	s = strings.Join(strings.Fields(strings.ToLower(s)), "")
	mult := 1.0
	for _, u := range []struct {
		suffix string
		metres float64
	}{{"km", 1000}, {"miles", 1609.344}, {"mile", 1609.344}, {"mi", 1609.344}, {"m", 1}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = n, u.metres
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	// To the micrometre first: 2.01 × 1000 is 2009.9999999999998 in
	// floating point, and cut to the metre below it would store 2009 for
	// the 2010 typed. Miles still go to the metre below.
	m := math.Round(f*mult*1e6) / 1e6
	if err != nil || !(m >= 100 && m <= 100000) {
		return 0, errors.New("give a distance from 100m to 100km, such as 1500, 2km or 10 miles")
	}
	return int32(m), nil
}

var dayNames = []pb.DayOfWeek{
	pb.DayOfWeek_DAY_OF_WEEK_MONDAY, pb.DayOfWeek_DAY_OF_WEEK_TUESDAY, pb.DayOfWeek_DAY_OF_WEEK_WEDNESDAY, pb.DayOfWeek_DAY_OF_WEEK_THURSDAY,
	pb.DayOfWeek_DAY_OF_WEEK_FRIDAY, pb.DayOfWeek_DAY_OF_WEEK_SATURDAY, pb.DayOfWeek_DAY_OF_WEEK_SUNDAY,
}

// daysOf reads "tue", "tuesdays", "weekdays", "weekends", "daily",
// "mon-fri" as days of the week.
func daysOf(s string) ([]pb.DayOfWeek, bool) {
	switch s {
	case "weekdays", "weekday":
		return dayNames[:5], true
	case "weekends", "weekend":
		return dayNames[5:], true
	case "daily", "everyday", "any", "all":
		return dayNames, true
	}
	if from, to, ok := strings.Cut(s, "-"); ok {
		f, ok1 := oneDay(from)
		t, ok2 := oneDay(to)
		if !ok1 || !ok2 || t < f {
			return nil, false
		}
		return dayNames[f-1 : t], true
	}
	d, ok := oneDay(s)
	if !ok {
		return nil, false
	}
	return []pb.DayOfWeek{d}, true
}

func oneDay(s string) (pb.DayOfWeek, bool) {
	if len(s) < 3 {
		return 0, false
	}
	wd, ok := weekdays[s[:3]]
	if !ok {
		return 0, false
	}
	return dayNames[(int(wd)+6)%7], true
}

// parseAvailability reads weekly slots: "tue 10:00-12:00, sat 9-17",
// "weekdays 18-21", "sun" (all day) or "always".
func parseAvailability(s string) ([]*pb.AvailabilitySlot, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "always" || s == "any time" || s == "anytime" {
		s = "daily"
	}
	var out []*pb.AvailabilitySlot
	// Days listed without hours take the hours of the next part that has
	// them, as people say it: "tue, thu 10-12" is both days 10-12. Days
	// with no hours after them are free all day.
	var bare []pb.DayOfWeek
	slot := func(days []pb.DayOfWeek, start, end int) {
		for _, d := range days {
			out = append(out, &pb.AvailabilitySlot{Day: d,
				StartTime: &pb.TimeOfDay{Hours: int32(start / 60), Minutes: int32(start % 60)},
				EndTime:   &pb.TimeOfDay{Hours: int32(end / 60), Minutes: int32(end % 60)}})
		}
	}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		fields := strings.Fields(strings.ReplaceAll(part, "every ", ""))
		if len(fields) == 0 {
			continue
		}
		days, ok := daysOf(fields[0])
		if !ok {
			return nil, fmt.Errorf("%q: start each part with a day (mon, tue, weekdays, weekends, daily or mon-fri)", strings.TrimSpace(part))
		}
		if len(fields) == 1 {
			bare = append(bare, days...)
			continue
		}
		from, to, ok := strings.Cut(strings.Join(fields[1:], ""), "-")
		start, okF := parseClock(from)
		end, okT := parseClock(to)
		start, end = readRange(from, to, start, end)
		switch {
		case !ok || !okF || !okT:
			return nil, fmt.Errorf("%q: give times as 10:00-12:00", strings.TrimSpace(part))
		case twelveAM(to) && end < 60 && start < end+12*60: // as readWhen: "9-12am", "11:30-12:30am"
			return nil, fmt.Errorf("%q: the end is not after the start: 12am is midnight; for noon, give 12pm", strings.TrimSpace(part))
		case end <= start:
			return nil, fmt.Errorf("%q: the end is not after the start; a night is two parts, such as \"mon 18:00-24:00, tue 00:00-08:00\"", strings.TrimSpace(part))
		}
		slot(append(bare, days...), start, end)
		bare = nil
	}
	slot(bare, 0, 24*60)
	if len(out) == 0 {
		return nil, errors.New(`say when they are free, e.g. "tue 10:00-12:00, sat 9-17" or always`)
	}
	return out, nil
}

// slotsWords shows weekly slots compactly: days with the same hours are
// grouped ("weekdays 09:00-17:00, sat 10:00-12:00").
func slotsWords(slots []*pb.AvailabilitySlot) string {
	if len(slots) == 0 {
		return "never"
	}
	var order []string
	days := map[string][]pb.DayOfWeek{}
	for _, s := range slots {
		hours := fmt.Sprintf("%02d:%02d-%02d:%02d", s.StartTime.GetHours(), s.StartTime.GetMinutes(), s.EndTime.GetHours(), s.EndTime.GetMinutes())
		if _, ok := days[hours]; !ok {
			order = append(order, hours)
		}
		days[hours] = append(days[hours], s.Day)
	}
	var out []string
	for _, hours := range order {
		out = append(out, dayWords(days[hours])+" "+hours)
	}
	return strings.Join(out, ", ")
}

func dayWords(ds []pb.DayOfWeek) string {
	var set [8]bool
	for _, d := range ds {
		if d >= 1 && d <= 7 {
			set[d] = true
		}
	}
	all := func(from, to int) bool {
		for i := 1; i <= 7; i++ {
			if set[i] != (i >= from && i <= to) {
				return false
			}
		}
		return true
	}
	switch {
	case all(1, 7):
		return "daily"
	case all(1, 5):
		return "weekdays"
	case all(6, 7):
		return "weekends"
	}
	var names []string
	for i := 1; i <= 7; i++ {
		if set[i] {
			names = append(names, lowerWords(pb.DayOfWeek(i).String(), "DAY_OF_WEEK_")[:3])
		}
	}
	return strings.Join(names, " ")
}

func (a *app) volunteerShow(args []string) error {
	u := usage{
		synopsis: "doorstep volunteer show ID",
		text:     "Shows a volunteer: contact, home, how they travel, skills, vetting, when they are free, their workload,\nthe requests assigned to them now and each offer waiting for their answer (to accept or decline for them\nwhen they ring).",
		examples: []string{"doorstep volunteer show 01jq3m7a1b2c3d4e5f6g7h8j9k"},
	}
	name, c, err := a.begin("show", u).connectTo(args, "volunteers", "volunteer")
	if err != nil {
		return err
	}
	v, err := c.GetVolunteer(a.ctx, name)
	if err != nil {
		return err
	}
	var live []*pb.Offer
	if v.PendingOffers+v.ActiveAssignments > 0 && !a.cfg.json {
		for o, err := range c.AllOffers(a.ctx, &pb.ListOffersRequest{Volunteer: v.Name, Live: true}) {
			if err != nil {
				return err
			}
			live = append(live, o)
		}
	}
	return a.printVolunteer(v, live...)
}

// printVolunteer prints v, then the offers in force for them that the
// caller looked up: assignments, and offers waiting for their answer.
func (a *app) printVolunteer(v *pb.Volunteer, live ...*pb.Offer) error {
	if a.cfg.json {
		return writeJSON(a.stdout, v)
	}
	now := a.now()
	t := a.newFields(a.stdout)
	t.row("Volunteer", v.Name)
	t.row("Name", v.GetContact().GetDisplayName())
	t.row("Phone", phoneWords(v.GetContact().GetPhone()))
	t.row("Home", addressOf(v.Home))
	t.row("Travel", fmt.Sprintf("%s, up to %s", enumWords(v.TravelMode, "TRAVEL_MODE_"), fmtDistance(float64(v.MaxDistanceMetres))))
	t.row("Skills", orDash(strings.Join(v.Skills, ", ")))
	t.row("DBS check", vettingWords(v.GetVetting(), now))
	t.row("Free", freeWords(v.GetAvailability()))
	if away := awayWords(v.GetAvailability(), now); away != "" {
		t.row("Away", away)
	}
	switch {
	case v.Paused && v.UnansweredOffers > 0:
		// Paused by the server, not by them: staff ringing them should
		// know why, and that resuming is all it takes.
		t.row("Paused", fmt.Sprintf("yes, after %s%s: resume them when they can answer offers again (doorstep volunteer resume %s)",
			unansweredWords(v.UnansweredOffers), lastUnanswered(v, now), idOf(v.Name)))
	default:
		t.row("Paused", yesNo(v.Paused))
		if v.UnansweredOffers > 0 {
			t.row("Unanswered", unansweredWords(v.UnansweredOffers)+lastUnanswered(v, now))
		}
	}
	if v.Held {
		// Helpline staff may set a hold too, and the record does not say
		// who did: only who may lift it.
		t.row("On hold", "yes: offered nothing until a coordinator lifts it")
	}
	t.row("Workload", fmt.Sprintf("%d assigned, %s waiting, capacity %d", v.ActiveAssignments, count(int(v.PendingOffers), "offer"), v.Capacity))
	for _, o := range live {
		if o.State == pb.Offer_STATE_ACCEPTED {
			t.row("Assigned", fmt.Sprintf("request %s, %s (offer %s)", idOf(o.HelpRequest), offerAway(o), idOf(o.Name)))
		}
	}
	for _, o := range live {
		if o.State == pb.Offer_STATE_PENDING {
			t.row("Waiting", fmt.Sprintf("offer %s: request %s, %s, answer by %s",
				idOf(o.Name), idOf(o.HelpRequest), offerAway(o), fmtTS(o.ExpireTime, now)))
		}
	}
	t.row("Organisation", v.Organisation)
	t.row("Registered", fmtTS(v.CreateTime, now))
	if hasUnknown(v.ProtoReflect()) {
		t.row("Not shown", notShown)
	}
	return t.flush()
}

func (a *app) volunteerPause(args []string) error {
	return a.setPaused(args, true, usage{
		synopsis: "doorstep volunteer pause ID",
		text:     "Pauses a volunteer: they are offered nothing until resumed. Their current assignments stay.",
		examples: []string{"doorstep volunteer pause 01jq3m7a1b2c3d4e5f6g7h8j9k"},
	})
}

func (a *app) volunteerResume(args []string) error {
	return a.setPaused(args, false, usage{
		synopsis: "doorstep volunteer resume ID",
		text:     "Resumes a paused volunteer: they can be offered requests again.",
		examples: []string{"doorstep volunteer resume 01jq3m7a1b2c3d4e5f6g7h8j9k"},
	})
}

func (a *app) setPaused(args []string, paused bool, u usage) error {
	return a.setStopped(args, "paused", paused, u)
}

func (a *app) volunteerHold(args []string) error {
	return a.setStopped(args, "held", true, usage{
		synopsis: "doorstep volunteer hold ID",
		text: "Puts a volunteer on hold, as while a concern about them is looked into: like a pause, they are\n" +
			"offered nothing and their waiting offers are withdrawn, but only a coordinator can lift it; the\n" +
			"volunteer cannot resume past it. Their current assignments stay: hand them back with\n" +
			"doorstep request release if they should not go. A record of theirs with another group (on the\n" +
			"same number) is not held with it, and is named: hold that one too if it is the same person.",
		examples: []string{"doorstep volunteer hold 01jq3m7a1b2c3d4e5f6g7h8j9k"},
	})
}

func (a *app) volunteerUnhold(args []string) error {
	return a.setStopped(args, "held", false, usage{
		synopsis: "doorstep volunteer unhold ID",
		text:     "Lifts a coordinator's hold: the volunteer can be offered requests again, unless they have paused.",
		examples: []string{"doorstep volunteer unhold 01jq3m7a1b2c3d4e5f6g7h8j9k"},
	})
}

// setStopped sets a volunteer's pause or a coordinator's hold (field), on
// or off.
func (a *app) setStopped(args []string, field string, on bool, u usage) error {
	verbs := map[string][2]string{"paused": {"resume", "pause"}, "held": {"unhold", "hold"}}[field]
	cmd := a.begin(verbs[map[bool]int{false: 0, true: 1}[on]], u)
	name, c, err := cmd.connectTo(args, "volunteers", "volunteer")
	if err != nil {
		return err
	}
	// A pause or a hold withdraws the offers waiting for their answer: the
	// server does not say which, so compare before and after.
	var before []*pb.Offer
	if on {
		if before, err = a.pendingOffers(name); err != nil {
			return err
		}
	}
	v := &pb.Volunteer{Name: name}
	if field == "paused" {
		v.Paused = on
	} else {
		v.Held = on
	}
	resp, err := c.Volunteers.UpdateVolunteer(a.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  v,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{field}},
	})
	if err != nil {
		return err
	}
	got := resp.Volunteer
	if a.cfg.json {
		if err := writeJSON(a.stdout, got); err != nil {
			return err
		}
	} else {
		var word string
		switch {
		case on && field == "paused":
			word = "paused: they are offered nothing until resumed"
		case on:
			word = "on hold: they are offered nothing until a coordinator lifts it (doorstep volunteer unhold " + idOf(got.Name) + ")"
		case got.Held:
			word = "resumed, but a coordinator's hold still stands: they are offered nothing until it is lifted"
		case got.Paused && got.UnansweredOffers > 0:
			// The server paused them, not they themselves.
			word = fmt.Sprintf("no longer on hold, but they were paused after %s: resume them when they can answer offers again (doorstep volunteer resume %s)",
				unansweredWords(got.UnansweredOffers), idOf(got.Name))
		case got.Paused:
			word = "no longer on hold, but they have paused: they are offered nothing until they resume"
		case field == "paused":
			word = "resumed: they can be offered requests again"
		default:
			word = "no longer on hold: they can be offered requests again"
		}
		fmt.Fprintf(a.stdout, "%s (%s) is %s.\n", got.Name, got.GetContact().GetDisplayName(), word)
	}
	if err := a.reportWithdrawn(before, got.PendingOffers); err != nil {
		return err
	}
	if on {
		a.reportStillAssigned(c, got)
	}
	if on && field == "held" {
		a.reportOtherRecords(got)
	}
	return nil
}

// reportOtherRecords names, one line each, the records of other
// organisations on the number of v, just put on hold, that are not held
// themselves: a person who helps two groups is two records to the
// matcher, which crosses organisations, and a hold raised over a concern
// stops only the record it names. Under --json the sentences go to
// stderr, as reportStillAssigned's.
func (a *app) reportOtherRecords(v *pb.Volunteer) {
	number := v.GetContact().GetPhone()
	if number == "" {
		return
	}
	w := a.stdout
	if a.cfg.json {
		w = a.stderr
	}
	others, _, err := a.listVolunteers(&pb.ListVolunteersRequest{Phone: number}, maxPageSize)
	if err != nil {
		// The hold is made; only the account of it is short.
		fmt.Fprintf(w, "Whether another group has this number too could not be read: see doorstep volunteer find --phone '%s', and hold any record of theirs there.\n",
			phoneWords(number))
		return
	}
	for _, o := range others {
		if o.Name == v.Name || o.Organisation == v.Organisation || o.Held {
			continue // the same organisation's is someone sharing the phone
		}
		fmt.Fprintf(w, "Note: %s, with %s, has this number too, as %s (%s): the hold stops this record only, and matching, which crosses "+
			"organisations, can still offer that one jobs. If it is the same person, hold it too: doorstep volunteer hold %s\n",
			o.GetContact().GetDisplayName(), o.Organisation, idOf(o.Name), volunteerStatus(o), idOf(o.Name))
	}
}

// reportStillAssigned names the requests a volunteer just paused, put on
// hold or edited is still assigned: none of these stops the visits already
// agreed, and whoever took the call (a volunteer ringing in ill) or raised
// the concern decides whether those go ahead. Under --json
// the sentences go to stderr, as reportWithdrawn's.
func (a *app) reportStillAssigned(c *client.Client, v *pb.Volunteer) {
	if v.ActiveAssignments == 0 {
		return
	}
	w := a.stdout
	if a.cfg.json {
		w = a.stderr
	}
	var jobs []string
	for o, err := range c.AllOffers(a.ctx, &pb.ListOffersRequest{Volunteer: v.Name, State: pb.Offer_STATE_ACCEPTED, Live: true}) {
		if err != nil {
			// The hold is made; only the account of it is short.
			fmt.Fprintf(w, "They are still assigned %s: see doorstep volunteer show %s, and hand back any they should not go to.\n",
				count(int(v.ActiveAssignments), "request"), idOf(v.Name))
			return
		}
		jobs = append(jobs, o.HelpRequest)
	}
	for _, job := range jobs {
		fmt.Fprintf(w, "They are still assigned %s: hand it back with doorstep request release %s if they should not go.\n", job, idOf(job))
	}
}

// pendingOffers are the offers waiting for a volunteer's answer.
func (a *app) pendingOffers(volunteer string) ([]*pb.Offer, error) {
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	var out []*pb.Offer
	for o, err := range c.AllOffers(a.ctx, &pb.ListOffersRequest{Volunteer: volunteer, State: pb.Offer_STATE_PENDING, PageSize: maxPageSize}) {
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// reportWithdrawn says which of the offers pending before a change to a
// volunteer the change withdrew (the server withdraws those it makes
// impossible), so that staff know those requests need someone else. It
// reads the offers again only when fewer are pending than before. Under
// --json the sentences go to stderr, so that the JSON stays whole.
func (a *app) reportWithdrawn(before []*pb.Offer, pendingNow int32) error {
	if len(before) == 0 || int(pendingNow) >= len(before) {
		return nil
	}
	w := a.stdout
	if a.cfg.json {
		w = a.stderr
	}
	for _, o := range before {
		now, err := a.readOffer(o.Name)
		if err != nil {
			// The change is made; only the account of it is short.
			fmt.Fprintf(w, "Some offers to them may have been withdrawn: see doorstep offer list --volunteer %s --state withdrawn.\n", idOf(o.Volunteer))
			return nil
		}
		if now != nil && now.State == pb.Offer_STATE_WITHDRAWN {
			fmt.Fprintf(w, "Offer of %s withdrawn: that request is open again.\n", o.HelpRequest)
		}
	}
	return nil
}

func (a *app) volunteerList(args []string) error {
	u := usage{
		synopsis: "doorstep volunteer list [--near POSTCODE] [--skill TAG]",
		text:     "Lists volunteers living at a postcode, in a sector (AB10 1) or a district (AB10), by postcode then age.\nTo find the volunteer on the phone, use doorstep volunteer find --phone NUMBER.",
		examples: []string{"doorstep volunteer list --near AB10 1AF", "doorstep volunteer list --near AB10 --skill driver --json"},
	}
	cmd := a.begin("list", u)
	near := cmd.fs.String("near", "", "a postcode, sector or district")
	skill := cmd.fs.String("skill", "", "only volunteers with this skill tag")
	org := cmd.fs.String("org", "", "only this organisation's volunteers")
	limit := cmd.fs.Int("limit", 200, "at most this many")
	pos, err := cmd.parse(args)
	if err != nil {
		return err
	}
	place := joinArgs(*near, pos)
	if *limit < 1 {
		return usageErrorf("--limit must be at least 1")
	}
	vols, more, err := a.listVolunteers(&pb.ListVolunteersRequest{Postcode: place, Skill: strings.ToLower(*skill), Organisation: *org}, *limit)
	if err != nil {
		return err
	}
	now := a.now()
	return printLimited(a, vols, more, "No volunteers found.", "Volunteer", []string{"ID", "NAME", "POSTCODE", "TRAVEL", "SKILLS", "FREE", "AWAY", "PAUSED", "LOAD"}, func(v *pb.Volunteer) []string {
		return []string{idOf(v.Name), v.GetContact().GetDisplayName(), v.GetHome().GetPostcode(), enumWords(v.TravelMode, "TRAVEL_MODE_"),
			orDash(strings.Join(v.Skills, skillsSep(a))), freeWords(v.GetAvailability()), orDash(awayWords(v.GetAvailability(), now)), pausedWord(v),
			loadWords(a, v)}
	})
}

// skillsSep is "," between skills in a table, kept narrow, and ", " under
// --linear, as volunteer show has them.
func skillsSep(a *app) string {
	if a.cfg.linear {
		return ", "
	}
	return ","
}

// loadWords is a volunteer's jobs and offers against their capacity:
// "1/2" in a table, and under --linear "1 of 2", which a screen reader
// does not read as a fraction or a date.
func loadWords(a *app, v *pb.Volunteer) string {
	if a.cfg.linear {
		return fmt.Sprintf("%d of %d", v.ActiveAssignments+v.PendingOffers, v.Capacity)
	}
	return fmt.Sprintf("%d/%d", v.ActiveAssignments+v.PendingOffers, v.Capacity)
}

// listVolunteers reads up to limit volunteers, and reports whether more
// match.
func (a *app) listVolunteers(req *pb.ListVolunteersRequest, limit int) ([]*pb.Volunteer, bool, error) {
	c, err := a.client()
	if err != nil {
		return nil, false, err
	}
	// One more than limit, to know whether there are more.
	req.PageSize = int32(min(limit+1, maxPageSize))
	var vols []*pb.Volunteer
	for v, err := range c.AllVolunteers(a.ctx, req) {
		if err != nil {
			return nil, false, err
		}
		if len(vols) == limit {
			return vols, true, nil
		}
		vols = append(vols, v)
	}
	return vols, false, nil
}

// volunteerFind finds the volunteer who rang, by their phone number.
func (a *app) volunteerFind(args []string) error {
	u := usage{
		synopsis: "doorstep volunteer find --phone NUMBER",
		text:     "Finds a volunteer by phone number: how to find the volunteer who rang in. The number may be typed as\npeople say it, spaces and all. Then doorstep volunteer show ID has the rest, and the offers waiting for them.",
		examples: []string{"doorstep volunteer find --phone 07700 900123", "doorstep volunteer find --phone '+44 7700 900123' --json"},
	}
	cmd := a.begin("find", u)
	phone := cmd.fs.String("phone", "", "the volunteer's phone number, in any usual form")
	pos, err := cmd.parse(args)
	if err != nil {
		return err
	}
	number, err := personPhone(*phone, pos, u.synopsis, "the volunteer's number")
	if err != nil {
		return err
	}
	vols, more, err := a.listVolunteers(&pb.ListVolunteersRequest{Phone: number}, maxPageSize)
	if err != nil {
		return err
	}
	err = printLimited(a, vols, more, fmt.Sprintf("No volunteer has the number %s.", number), "Volunteer", []string{"ID", "NAME", "STATUS", "POSTCODE", "ORGANISATION"}, func(v *pb.Volunteer) []string {
		return []string{idOf(v.Name), v.GetContact().GetDisplayName(), volunteerStatus(v), v.GetHome().GetPostcode(), v.Organisation}
	})
	if err == nil && !a.cfg.json && len(vols) > 0 {
		fmt.Fprintf(a.stdout, "See their offers and assignments with: doorstep volunteer show %s\n", idOf(vols[0].Name))
	}
	return err
}

// pausedWord is a volunteer list's PAUSED column: a coordinator's hold
// stops offers as a pause does, and staff looking for someone to ring
// must not read a held volunteer as free to ask; nor a volunteer the
// server paused (offers to them went unanswered) as one who chose to
// stop, when a resume once they answer again is all it takes.
func pausedWord(v *pb.Volunteer) string {
	switch {
	case v.Held:
		return "on hold"
	case v.Paused && v.UnansweredOffers > 0:
		return "yes (offers unanswered)"
	}
	return yesNo(v.Paused)
}

// volunteerStatus is whether they can be offered requests, and what they
// have now: "active, 1 assigned, 1 offer waiting", "paused".
func volunteerStatus(v *pb.Volunteer) string {
	s := "active"
	if v.Paused {
		s = "paused"
		if v.UnansweredOffers > 0 {
			s += " (offers unanswered)"
		}
	}
	if v.Held {
		s = "on hold"
	}
	if v.ActiveAssignments > 0 {
		s += fmt.Sprintf(", %d assigned", v.ActiveAssignments)
	}
	if v.PendingOffers > 0 {
		s += ", " + count(int(v.PendingOffers), "offer") + " waiting"
	}
	return s
}

// freeWords is a volunteer's weekly times, with their time zone when it
// is not the UK's: "fri 10:00-17:00 New York time".
func freeWords(av *pb.Availability) string {
	s := slotsWords(av.GetWeekly())
	if z := zoneWords(av.GetTimeZone()); z != "" && len(av.GetWeekly()) > 0 {
		s += " " + z
	}
	return s
}

// zoneWords names a time zone other than the UK's as people say it:
// "America/New_York" is "New York time"; the UK's is "". A fixed zone's
// POSIX name has its sign the other way round: Etc/GMT+5 is five hours
// behind, "UTC-5 time", as the candidates' sentences say it.
func zoneWords(tz string) string {
	tz = strings.TrimSpace(tz)
	if tz == "" || tz == "Europe/London" || tz == "GB" {
		return ""
	}
	if off, ok := strings.CutPrefix(tz, "Etc/GMT"); ok && len(off) > 1 && (off[0] == '+' || off[0] == '-') {
		sign := "-"
		if off[0] == '-' {
			sign = "+"
		}
		return "UTC" + sign + off[1:] + " time"
	}
	if i := strings.LastIndexByte(tz, '/'); i >= 0 {
		tz = tz[i+1:]
	}
	return strings.ReplaceAll(tz, "_", " ") + " time"
}

// awayToday is the date it is at now where av's volunteer lives (UK time
// unless their time zone is set and known), the day their dates away are
// told from.
func awayToday(av *pb.Availability, now time.Time) *pb.Date {
	loc := london
	if l, err := time.LoadLocation(av.GetTimeZone()); err == nil && av.GetTimeZone() != "" {
		loc = l
	}
	return pbDate(now.In(loc))
}

// awayWords lists the dates a volunteer is away that have not all passed,
// soonest first: "Tue 1 Dec to Thu 10 Dec, Fri 25 Dec"; "" when none.
func awayWords(av *pb.Availability, now time.Time) string {
	today := awayToday(av, now)
	var ranges []*pb.DateRange
	for _, r := range av.GetAway() {
		if r.GetEndDate() != nil && !dateBefore(r.GetEndDate(), today) {
			ranges = append(ranges, r)
		}
	}
	sort.SliceStable(ranges, func(i, j int) bool { return dateBefore(ranges[i].GetStartDate(), ranges[j].GetStartDate()) })
	var out []string
	for _, r := range ranges {
		start, end := r.GetStartDate(), r.GetEndDate()
		switch {
		case !dateBefore(today, start): // started already
			out = append(out, "now, until "+dateWords(end, now))
		case dateKey(start) == dateKey(end):
			out = append(out, dateWords(start, now))
		default:
			out = append(out, dateWords(start, now)+" to "+dateWords(end, now))
		}
	}
	return strings.Join(out, ", ")
}

// vettingWords is a DBS check with the last day it counts, or that it
// has expired: "basic until Fri 31 Mar 2028", "enhanced, expired Wed 1
// Jan 2025".
func vettingWords(vet *pb.Vetting, now time.Time) string {
	s := enumWords(vet.GetLevel(), "DBS_LEVEL_")
	if vet.GetLevel() == pb.Vetting_DBS_LEVEL_UNSPECIFIED {
		s = "none"
	}
	if d := vet.GetExpireDate(); d != nil {
		if dateExpired(d, now) {
			return s + ", expired " + yearDateWords(d)
		}
		s += " until " + yearDateWords(d)
	}
	return s
}

// dateExpired reports whether the last day d that something counts was
// before today, in UK time.
func dateExpired(d *pb.Date, now time.Time) bool {
	return dateBefore(d, pbDate(now.In(london)))
}

func pbDate(t time.Time) *pb.Date {
	return &pb.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
}

func dateKey(d *pb.Date) int32 { return d.GetYear()*10000 + d.GetMonth()*100 + d.GetDay() }

func dateBefore(a, b *pb.Date) bool { return dateKey(a) < dateKey(b) }

// yearDateWords is a date in words with its year, "Fri 31 Mar 2028", as
// the other dates are shown: a DBS check's last day was "2028-03-31",
// which a screen reader reads as "2028 minus 03 minus 31". The year is
// always said, since a check runs for years.
func yearDateWords(d *pb.Date) string {
	return time.Date(int(d.GetYear()), time.Month(d.GetMonth()), int(d.GetDay()), 12, 0, 0, 0, time.UTC).Format("Mon 2 Jan 2006")
}

// dateWords shows a date as fmtTime does, without a time: "Tue 1 Dec",
// with the year only when it is not this year.
func dateWords(d *pb.Date, now time.Time) string {
	t := time.Date(int(d.GetYear()), time.Month(d.GetMonth()), int(d.GetDay()), 12, 0, 0, 0, time.UTC)
	if t.Year() != now.In(london).Year() {
		return t.Format("Mon 2 Jan 2006")
	}
	return t.Format("Mon 2 Jan")
}

// errDeleteStopped is a delete the coordinator did not confirm.
var errDeleteStopped = &cliError{code: exitUsage, msg: "Stopped: nothing was deleted."}

func (a *app) volunteerDelete(args []string) error {
	u := usage{
		synopsis: "doorstep volunteer delete ID [--yes]",
		text: `Removes a volunteer who has left: their record goes, with their name, phone and home, and their own
tokens stop working at once. It cannot be undone. Their past offers and jobs stay on the requests' records,
naming them by id only. On a terminal it shows whom it would remove and asks you to type yes; scripts give
--yes. A volunteer with an offer waiting or a job assigned is not deleted, and you are told how to end
those first: hold them (doorstep volunteer hold ID), which withdraws their waiting offers, and hand back
their jobs (doorstep request release ID). To stop someone at once while a concern is looked into, hold them
instead: a hold can be lifted. For a person who asks for their data to be erased, an admin uses
doorstep admin erase, which also reaches requests they made.`,
		examples: []string{"doorstep volunteer delete 01jq3m7a1b2c3d4e5f6g7h8j9k", "doorstep volunteer delete 01jq3m7a1b2c3d4e5f6g7h8j9k --yes"},
	}
	cmd := a.begin("delete", u)
	yes := cmd.fs.Bool("yes", false, "delete without asking to confirm")
	name, c, err := cmd.connectTo(args, "volunteers", "volunteer")
	if err != nil {
		return err
	}
	if !*yes && a.prompt == nil {
		return usageErrorf("deleting cannot be undone: give --yes to confirm (not on a terminal, so nothing is asked)")
	}
	// The record as read here is the one confirmed: deleted with its etag,
	// so that an edit landing meanwhile (a new phone, a new job) stops it.
	v, err := c.GetVolunteer(a.ctx, name)
	if err != nil {
		return err
	}
	who := v.GetContact().GetDisplayName()
	if !*yes {
		a.prompt.say("This deletes %s (%s, %s) and stops their tokens; it cannot be undone.\n", v.Name, orDash(who), volunteerStatus(v))
		answer, err := a.prompt.line("Type yes to delete (Enter to stop): ")
		if errors.Is(err, errAborted) {
			return errDeleteStopped
		}
		if err != nil {
			return err
		}
		if !strings.EqualFold(strings.TrimSpace(answer), "yes") {
			return errDeleteStopped
		}
	}
	_, err = c.Volunteers.DeleteVolunteer(a.ctx, &pb.DeleteVolunteerRequest{Name: v.Name, Etag: v.Etag})
	switch code := status.Code(err); {
	case client.Reason(err) == server.ReasonHasCommitments:
		return &cliError{code: exitFailed, msg: fmt.Sprintf("Nothing was deleted: %s has an offer waiting or a job assigned%s, so %s, and delete again (%s).",
			v.Name, a.liveJobs(c, v.Name), commitmentsAdvice(v.Name), server.ReasonHasCommitments)}
	case code == codes.Aborted:
		return &cliError{code: exitFailed, msg: fmt.Sprintf("Nothing was deleted: %s changed since it was read. Look again (doorstep volunteer show %s) and delete again if it is still right.", v.Name, idOf(v.Name))}
	}
	if lost := a.answerLost(err, "The volunteer may have been deleted all the same: doorstep volunteer show "+idOf(v.Name)+" says whether the record is still there."); lost != nil {
		return lost
	}
	if err != nil {
		return err
	}
	if a.cfg.json {
		return writeJSON(a.stdout, &pb.DeleteVolunteerResponse{})
	}
	fmt.Fprintf(a.stdout, "Deleted %s (%s): their record is gone and their tokens no longer work.\n", v.Name, orDash(who))
	return nil
}

// lastUnanswered is when the last offer counted against v ran out
// (", the last at 14:30 today"), or "" from a server that does not say.
func lastUnanswered(v *pb.Volunteer, now time.Time) string {
	if v.LastUnansweredTime == nil {
		return ""
	}
	if v.UnansweredOffers == 1 {
		return " at " + fmtTS(v.LastUnansweredTime, now) // one miss has no "last"
	}
	return ", the last at " + fmtTS(v.LastUnansweredTime, now)
}

// unansweredWords is Volunteer.unanswered_offers in words: times, not
// offers, as offers out at once count once ("offers to them went
// unanswered 3 times in a row").
func unansweredWords(n int32) string {
	switch n {
	case 1:
		return "an offer to them went unanswered"
	case 2:
		return "offers to them went unanswered twice in a row"
	}
	return fmt.Sprintf("offers to them went unanswered %d times in a row", n)
}

// liveJobs names the requests a volunteer holds an offer or a job for
// (" (assigned request ID, offered request ID)"), for staff told to hand
// them back; "" if they cannot be read, the advice standing without them.
func (a *app) liveJobs(c *client.Client, volunteer string) string {
	var jobs []string
	for o, err := range c.AllOffers(a.ctx, &pb.ListOffersRequest{Volunteer: volunteer, Live: true}) {
		if err != nil {
			return ""
		}
		what := "offered"
		if o.State == pb.Offer_STATE_ACCEPTED {
			what = "assigned"
		}
		jobs = append(jobs, what+" request "+idOf(o.HelpRequest))
	}
	if len(jobs) == 0 {
		return ""
	}
	return " (" + strings.Join(jobs, ", ") + ")"
}
