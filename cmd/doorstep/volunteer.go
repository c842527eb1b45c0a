package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

func (a *app) volunteerAdd(args []string) error {
	u := usage{
		synopsis: "doorstep volunteer add --name NAME --phone NUMBER --postcode POSTCODE --available WHEN [options]",
		text: `Registers a volunteer. --available takes weekly times in UK time: "tue 10:00-12:00, sat 9-17",
"weekdays 18:00-21:00", "mon-fri 9am-5pm" or "always".`,
		examples: []string{
			"doorstep volunteer add --name 'Callum Reid' --phone '07700 900123' --postcode 'AB10 1AF' --street 'Correction Wynd' \\\n" +
				"      --travel car --skills driver --dbs basic --dbs-expires 2028-03-31 --available 'tue 10:00-12:00' --org aberdeen-mutual-aid",
		},
	}
	cmd := a.begin("add", u)
	fs := cmd.fs
	name := fs.String("name", "", "what the volunteer likes to be called")
	phone := fs.String("phone", "", "their phone number")
	postcode := fs.String("postcode", "", "their home postcode")
	street := fs.String("street", "", "their street")
	address := fs.String("address", "", "house number, flat or building; lines separated by ;")
	lat := fs.Float64("lat", 0, "latitude of their home, when the postcode is not known")
	lng := fs.Float64("lng", 0, "longitude of their home")
	travel := fs.String("travel", "walking", "walking, cycling or car")
	maxDist := fs.String("max-distance", "", "how far they will go: 1500, 1500m or 2km (by default 1.5 km walking, 5 km cycling, 15 km by car)")
	skills := fs.String("skills", "", "skill tags, e.g. driver,welsh")
	dbs := fs.String("dbs", "none", "their DBS check: none, basic or enhanced")
	dbsExpires := fs.String("dbs-expires", "", "the last day their check counts, YYYY-MM-DD")
	available := fs.String("available", "", "when they are free each week, e.g. \"tue 10:00-12:00, sat 9-17\" or always")
	capacity := fs.Int("capacity", 1, "how many requests they take at once (1-20)")
	org := fs.String("org", a.cfg.org, "their organisation (env DOORSTEP_ORG)")
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
	need("phone", *phone)
	need("postcode", *postcode)
	need("available", *available)
	need("org", *org)
	if len(missing) > 0 {
		return usageErrorf("missing %s; see doorstep volunteer add --help", strings.Join(missing, ", "))
	}
	v := &pb.Volunteer{
		Contact:      &pb.Contact{DisplayName: strings.TrimSpace(*name), Phone: *phone},
		Home:         &pb.Location{Postcode: *postcode, Street: *street, AddressLines: splitLines(*address)},
		Skills:       splitList(strings.ToLower(*skills)),
		Capacity:     int32(*capacity),
		Organisation: strings.ToLower(strings.TrimSpace(*org)),
	}
	if _, err := server.NormalisePhone(*phone); err != nil {
		bad = append(bad, fmt.Sprintf("--phone: %q is not a phone number", *phone))
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
	c, err := a.client()
	if err != nil {
		return err
	}
	created, err := c.CreateVolunteer(a.ctx, v)
	if err != nil {
		return err
	}
	if a.cfg.json {
		return writeJSON(a.stdout, created)
	}
	fmt.Fprintf(a.stdout, "Registered %s: %s, %s, free %s.\n", created.Name, created.GetContact().GetDisplayName(), created.GetHome().GetPostcode(), slotsWords(created.GetAvailability().GetWeekly()))
	return nil
}

// parseMetres reads "1500", "1500m", "2km", "2.5 km".
func parseMetres(s string) (int32, error) {
	s = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), " ", "")
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "km"):
		s, mult = strings.TrimSuffix(s, "km"), 1000
	case strings.HasSuffix(s, "m"):
		s = strings.TrimSuffix(s, "m")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f*mult < 100 || f*mult > 100000 {
		return 0, errors.New("give a distance from 100m to 100km, such as 1500 or 2km")
	}
	return int32(f * mult), nil
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
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		fields := strings.Fields(strings.ReplaceAll(part, "every ", ""))
		if len(fields) == 0 {
			continue
		}
		days, ok := daysOf(fields[0])
		if !ok {
			return nil, fmt.Errorf("%q: start each part with a day (mon, tue, weekdays, weekends, daily or mon-fri)", strings.TrimSpace(part))
		}
		start, end := 0, 24*60
		if len(fields) > 1 {
			from, to, ok := strings.Cut(strings.Join(fields[1:], ""), "-")
			var okF, okT bool
			start, okF = parseClock(from)
			end, okT = parseClock(to)
			start, end = readRange(from, to, start, end)
			switch {
			case !ok || !okF || !okT:
				return nil, fmt.Errorf("%q: give times as 10:00-12:00", strings.TrimSpace(part))
			case end <= start:
				return nil, fmt.Errorf("%q: the end is not after the start; a night is two parts, such as \"mon 18:00-24:00, tue 00:00-08:00\"", strings.TrimSpace(part))
			}
		}
		for _, d := range days {
			out = append(out, &pb.AvailabilitySlot{Day: d,
				StartTime: &pb.TimeOfDay{Hours: int32(start / 60), Minutes: int32(start % 60)},
				EndTime:   &pb.TimeOfDay{Hours: int32(end / 60), Minutes: int32(end % 60)}})
		}
	}
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
	vet := lowerWords(v.GetVetting().GetLevel().String(), "DBS_LEVEL_")
	if d := v.GetVetting().GetExpireDate(); d != nil {
		vet += fmt.Sprintf(" until %04d-%02d-%02d", d.Year, d.Month, d.Day)
	}
	t := newTable(a.stdout)
	t.row("Volunteer", v.Name)
	t.row("Name", v.GetContact().GetDisplayName())
	t.row("Phone", phoneWords(v.GetContact().GetPhone()))
	t.row("Home", addressOf(v.Home))
	t.row("Travel", fmt.Sprintf("%s, up to %s", lowerWords(v.TravelMode.String(), "TRAVEL_MODE_"), fmtDistance(float64(v.MaxDistanceMetres))))
	t.row("Skills", orDash(strings.Join(v.Skills, ", ")))
	t.row("DBS check", vet)
	t.row("Free", slotsWords(v.GetAvailability().GetWeekly()))
	t.row("Paused", yesNo(v.Paused))
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
	cmd := a.begin(map[bool]string{true: "pause", false: "resume"}[paused], u)
	name, c, err := cmd.connectTo(args, "volunteers", "volunteer")
	if err != nil {
		return err
	}
	resp, err := c.Volunteers.UpdateVolunteer(a.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: name, Paused: paused},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}},
	})
	if err != nil {
		return err
	}
	if a.cfg.json {
		return writeJSON(a.stdout, resp.Volunteer)
	}
	word := "resumed: they can be offered requests again"
	if paused {
		word = "paused: they are offered nothing until resumed"
	}
	fmt.Fprintf(a.stdout, "%s (%s) is %s.\n", resp.Volunteer.Name, resp.Volunteer.GetContact().GetDisplayName(), word)
	return nil
}

func (a *app) volunteerList(args []string) error {
	u := usage{
		synopsis: "doorstep volunteer list [--near POSTCODE] [--skill TAG]",
		text:     "Lists volunteers living at a postcode, in a sector (AB10 1) or a district (AB10), by postcode then age.",
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
	c, err := a.client()
	if err != nil {
		return err
	}
	var vols []*pb.Volunteer
	for v, err := range c.AllVolunteers(a.ctx, &pb.ListVolunteersRequest{Postcode: place, Skill: strings.ToLower(*skill), Organisation: *org, PageSize: int32(min(*limit, 1000))}) {
		if err != nil {
			return err
		}
		if vols = append(vols, v); len(vols) >= *limit {
			break
		}
	}
	return printList(a, vols, "No volunteers found.", []string{"ID", "NAME", "POSTCODE", "TRAVEL", "SKILLS", "FREE", "PAUSED", "LOAD"}, func(v *pb.Volunteer) []string {
		return []string{idOf(v.Name), v.GetContact().GetDisplayName(), v.GetHome().GetPostcode(), lowerWords(v.TravelMode.String(), "TRAVEL_MODE_"),
			orDash(strings.Join(v.Skills, ",")), slotsWords(v.GetAvailability().GetWeekly()), yesNo(v.Paused),
			fmt.Sprintf("%d/%d", v.ActiveAssignments+v.PendingOffers, v.Capacity)}
	})
}
