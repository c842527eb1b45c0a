package server

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
	// Time zones are checked on machines without a zoneinfo database too.
	_ "time/tzdata"

	"golang.org/x/text/unicode/norm"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/geo"
	"github.com/doorstep-aid/doorstep/matcher"
	"github.com/doorstep-aid/doorstep/phone"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// Limits written down in the proto comments; change both together.
const (
	maxDetails      = 2000
	maxNameLen      = 100
	maxStreetLen    = 100
	maxAddressLines = 4
	maxAddressLine  = 100
	maxExternalID   = 128
	maxRequestSkill = 20
	maxVolSkills    = 30
	maxWindow       = 90 * 24 * time.Hour
	maxSlots        = 50
	maxAway         = 100
	minDistance     = 100
	maxDistance     = 100000
	maxCapacity     = 20
)

var (
	skillRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)
	orgRE   = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)
	uuidRE  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// cleanText trims s, drops the invisible formatting in it, and checks its
// length and characters. Newlines and tabs are allowed only where
// multiline is; there, every kind of line break is stored as a newline.
func cleanText(v *violations, field, s string, required bool, max int, multiline bool) string {
	valid := utf8.ValidString(s)
	s = asStored(s, multiline)
	switch {
	case !valid:
		v.add(field, "is not valid UTF-8")
	case s == "" && required:
		v.add(field, "is required")
	case utf8.RuneCountInString(s) > max:
		v.add(field, fmt.Sprintf("must be at most %d characters", max))
	default:
		for _, r := range s {
			if multiline && (r == '\n' || r == '\t') {
				continue
			}
			if r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029' {
				// Shown where lines break there, the rest would read
				// as another field ("Phone: ...") under this one.
				v.add(field, "must be one line: it contains a line break")
				break
			}
			if unicode.IsControl(r) {
				v.add(field, "must not contain control characters")
				break
			}
		}
	}
	return s
}

// asStored is s as cleanText stores it, before its checks.
func asStored(s string, multiline bool) string {
	if utf8.ValidString(s) {
		if multiline {
			s = lineBreaks.Replace(s)
		}
		s = strings.Map(phone.DropInvisible, s)
	}
	return strings.TrimSpace(s)
}

// sameText says whether a text sent back is the one stored, as it would be
// stored and in whichever canonical form: an app that edits by the whole
// record may send a name or details back with a trailing space, a
// browser's "\r\n" for a newline, or its marks composed or ordered as its
// platform does, and that is no new text to judge.
func sameText(sent, stored string, multiline bool) bool {
	return norm.NFC.String(asStored(sent, multiline)) == norm.NFC.String(asStored(stored, multiline))
}

// visible says whether s holds a character a person can see: not only
// spaces, format characters (the direction marks and joiners that
// phone.DropInvisible keeps for right-to-left and other scripts, a soft hyphen),
// combining marks with nothing to combine with, and the letters and
// symbol that are drawn as nothing (blankLooking). Every real name has a
// letter of its own beside these.
func visible(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		return !unicode.IsSpace(r) && !unicode.In(r, unicode.Cf, unicode.Mn, unicode.Me) && !blankLooking(r)
	}) >= 0
}

// blankLooking is a character Unicode counts as a letter or a symbol but
// that is drawn as nothing: the Hangul fillers (placeholders inside a
// syllable, never a name alone) and the blank Braille cell, which pass for
// a blank name in forms and chat apps that refuse an empty one.
func blankLooking(r rune) bool {
	switch r {
	case '\u115f', '\u1160', '\u3164', '\uffa0', '\u2800':
		return true
	}
	return false
}

// requireVisible refuses a required text that holds something, but
// nothing to read ("\u200e", a cell of direction marks from a sheet):
// passed as given, it was stored as a name every screen shows blank, and
// the helpline had nobody to ask for. Handlers call it only where the
// call sets the field, so that one stored before the check does not
// refuse an edit of something else. A field already refused is not named
// twice.
func requireVisible(v *violations, field, s string) {
	if s == "" || visible(s) || slices.ContainsFunc(*v, func(fv *errdetails.BadRequest_FieldViolation) bool { return fv.Field == field }) {
		return
	}
	v.add(field, "is required: it holds only invisible characters (direction marks, joiners, combining marks, fillers)")
}

// keptOnOneLine spaces out the line and paragraph separators in the
// one-line fields of a contact and a location that an update leaves as
// stored (those not in paths, under prefixes contact and location).
// Records stored before such separators were refused may hold them; an
// edit of something else (the details, a volunteer pausing) is no place to
// refuse a name the caller did not send, and could not mend.
func keptOnOneLine(paths []string, contact string, c *pb.Contact, location string, loc *pb.Location) {
	if c != nil && !touches(paths, contact+".display_name") {
		c.DisplayName = oneLine.Replace(c.DisplayName)
	}
	if loc == nil {
		return
	}
	if !touches(paths, location+".street") {
		loc.Street = oneLine.Replace(loc.Street)
	}
	if !touches(paths, location+".address_lines") {
		for i, l := range loc.AddressLines {
			loc.AddressLines[i] = oneLine.Replace(l)
		}
	}
}

var oneLine = strings.NewReplacer("\u2028", " ", "\u2029", " ")

// lineBreaks are a multiline field's line breaks other than the newline:
// Windows' carriage return and newline, a carriage return alone (which on
// a terminal overwrites the line before), and the line and paragraph
// separators, which some readers break at and others do not.
var lineBreaks = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u2028", "\n", "\u2029", "\n")

// cleanSkills lower-cases, checks and de-duplicates skill tags in place.
func cleanSkills(v *violations, field string, skills []string, max int) []string {
	// Counted once tidied ("Driver" and "driver" are one tag), but a list
	// far over the limit is refused before any is read.
	if len(skills) > 4*max {
		v.add(field, fmt.Sprintf("has more than %d tags", max))
		return skills
	}

	out := skills[:0]
	seen := map[string]bool{}
	for i, s := range skills {
		s = strings.ToLower(strings.TrimSpace(s))
		if !skillRE.MatchString(s) {
			v.add(fmt.Sprintf("%s[%d]", field, i), "must be 1 to 40 lower-case letters, digits and hyphens, starting with a letter or digit")
			continue
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if len(out) > max {
		v.add(field, fmt.Sprintf("has %d different tags, more than %d", len(out), max))
	}
	return out
}

// echoMax is how much of a value an error quotes back.
const echoMax = 40

// echo quotes a value the caller sent back to them in an error: enough to
// recognise it, never the whole of a value of any length, which would
// come back as large as it went.
func echo(s string) string {
	if utf8.RuneCountInString(s) <= echoMax {
		return strconv.Quote(s)
	}
	r := []rune(s)
	return strconv.Quote(string(r[:echoMax])) + "…"
}

func checkOrganisation(v *violations, field, org string) string {
	org = strings.ToLower(strings.TrimSpace(org))
	switch {
	case org == "":
		v.add(field, "is required")
	case !orgRE.MatchString(org):
		v.add(field, "must be 2 to 63 lower-case letters, digits and hyphens, starting with a letter")
	}
	return org
}

func enumKnown(e protoreflect.Enum) bool {
	return e.Descriptor().Values().ByNumber(e.Number()) != nil
}

// cleanLocation normalises a location's text fields. Coordinates are
// checked here for range only; resolveLocation ties them to the postcode.
func cleanLocation(v *violations, field string, loc *pb.Location) {
	if loc == nil {
		v.add(field, "is required")
		return
	}
	pc, err := geo.NormalisePostcode(loc.Postcode)
	switch {
	case strings.TrimSpace(loc.Postcode) == "":
		v.add(field+".postcode", "is required")
	case err != nil:
		v.add(field+".postcode", echo(loc.Postcode)+` is not a UK postcode (expected something like "AB10 1AB")`)
	default:
		loc.Postcode = pc
	}
	street := cleanText(v, field+".street", loc.Street, false, maxStreetLen, false)
	loc.Street = geo.NormaliseStreet(street)
	// Spelled out ("St" to "Street"), a street accepted as typed could
	// outgrow the limit it is stored under, and every later update of the
	// record would then be refused over a field it did not touch.
	if utf8.RuneCountInString(street) <= maxStreetLen && utf8.RuneCountInString(loc.Street) > maxStreetLen {
		v.add(field+".street", fmt.Sprintf("is longer than %d characters once abbreviations are spelled out", maxStreetLen))
	}
	if len(loc.AddressLines) > maxAddressLines {
		v.add(field+".address_lines", fmt.Sprintf("has more than %d lines", maxAddressLines))
	} else {
		lines := loc.AddressLines[:0]
		for i, l := range loc.AddressLines {
			if l = cleanText(v, fmt.Sprintf("%s.address_lines[%d]", field, i), l, false, maxAddressLine, false); l != "" {
				lines = append(lines, l)
			}
		}
		loc.AddressLines = lines
	}
	if ll := loc.LatLng; ll != nil && !geo.ValidLatLng(ll.Latitude, ll.Longitude) {
		v.add(field+".lat_lng", "must have latitude from -90 to 90 and longitude from -180 to 180")
	}
	loc.CoordinatesSource = pb.CoordinatesSource_COORDINATES_SOURCE_UNSPECIFIED
}

// cleanContact normalises c in place and reports its bad fields under
// field. kept is the number the record holds (an edit's), or "".
func cleanContact(v *violations, field string, c *pb.Contact, kept string) {
	if c == nil {
		v.add(field, "is required")
		return
	}
	c.DisplayName = cleanText(v, field+".display_name", c.DisplayName, true, maxNameLen, false)
	switch p, err := phone.Normalise(c.Phone); {
	case err != nil && kept != "" && c.Phone == kept:
		// Stored by an older version before the rule refused it (two
		// zeros after the country code, which schema 14 keeps as stored)
		// and sent back as read: not set by this edit, it must not refuse
		// an edit of something else, as a name stored so does not.
	case strings.TrimSpace(c.Phone) == "":
		v.add(field+".phone", "is required")
	case errors.Is(err, phone.ErrExtension) && strings.HasSuffix(field, "requester"):
		v.add(field+".phone", "has an extension, which cannot be stored: give the number without it, and put the extension in the details")
	case errors.Is(err, phone.ErrExtension):
		v.add(field+".phone", "has an extension, which cannot be stored: give a number that reaches them without one")
	case errors.Is(err, phone.ErrRelay) && strings.HasSuffix(field, "requester"):
		v.add(field+".phone", "starts with a Relay UK prefix (18001 or 18002), which cannot be stored: give the number without it, "+
			"and put in the details that the caller is reached through Relay UK, dialling 18002 before the number")
	case errors.Is(err, phone.ErrRelay):
		v.add(field+".phone", "starts with a Relay UK prefix (18001 or 18002), which cannot be stored: give their number without it")
	case err != nil:
		v.add(field+".phone", "is not a phone number: give a UK number such as 01224 123456 or 07700 900123, or an international one starting with +")
	default:
		c.Phone = p
	}
}

func checkTimestamp(v *violations, field string, ts *timestamppb.Timestamp) (time.Time, bool) {
	if ts == nil {
		v.add(field, "is required")
		return time.Time{}, false
	}
	if err := ts.CheckValid(); err != nil {
		// Clients in other languages build Timestamps by hand, and
		// JavaScript's clock counts milliseconds: say which part is wrong.
		switch {
		case ts.Nanos < 0 || ts.Nanos > 999_999_999:
			v.add(field, "is not a valid timestamp: nanos must be from 0 to 999999999")
		default:
			v.add(field, "is not a valid timestamp: seconds must be whole seconds since 1970-01-01T00:00:00Z (not milliseconds), in the years 1 to 9999")
		}
		return time.Time{}, false
	}
	return ts.AsTime(), true
}

// helpRequestCheck says what a help request is checked against.
type helpRequestCheck struct {
	now time.Time
	// timingChanged: the window or deadline is new, so it must lie ahead.
	timingChanged bool
	// remoteChanged: remote_ok, needs or enters_home is new, so their mix
	// is judged; a request stored before it was is left to be edited.
	remoteChanged bool
	// nameSet, detailsSet: the requester's name, or the details or needs,
	// are new, so that a name or a NEED_OTHER's details with nothing to
	// read is refused (requireVisible); one stored before it was is left
	// to be corrected.
	nameSet, detailsSet bool
	// keptPhone: the requester's number as stored, for an edit
	// (cleanContact's kept).
	keptPhone string
}

// cleanHelpRequest normalises hr in place and reports every bad field under
// prefix (such as "help_request"). It does not touch the store.
func cleanHelpRequest(v *violations, prefix string, hr *pb.HelpRequest, c helpRequestCheck) {
	f := func(name string) string { return prefix + "." + name }
	if len(hr.Needs) == 0 {
		v.add(f("needs"), "give at least one need")
	}
	seen := map[pb.Need]bool{}
	hasOther := false
	for i, n := range hr.Needs {
		if v.full() {
			break
		}
		switch {
		case n == pb.Need_NEED_UNSPECIFIED || !enumKnown(n):
			v.add(fmt.Sprintf("%s[%d]", f("needs"), i), "is not a known need")
		case seen[n]:
			v.add(fmt.Sprintf("%s[%d]", f("needs"), i), "repeats "+n.String())
		}
		seen[n] = true
		hasOther = hasOther || n == pb.Need_NEED_OTHER
	}
	if hr.RemoteOk && c.remoteChanged {
		// Left to the matcher, a call and the shopping with remote_ok
		// would have the shopping done by a volunteer at any distance.
		for _, n := range hr.Needs {
			if !matcher.FromAfar(n) && enumKnown(n) && n != pb.Need_NEED_UNSPECIFIED {
				v.add(f("remote_ok"), "cannot be given with "+n.String()+": that help is given in person, and remote_ok is for help from afar, such as a befriending call")
				break
			}
		}
		if hr.EntersHome {
			v.add(f("remote_ok"), "cannot be given with enters_home: a volunteer who goes inside is not remote")
		}
	}
	hr.Details = cleanText(v, f("details"), hr.Details, false, maxDetails, true)
	if hasOther && (hr.Details == "" || c.detailsSet && !visible(hr.Details)) {
		v.add(f("details"), "say what is needed when needs includes NEED_OTHER")
	}
	hr.RequiredSkills = cleanSkills(v, f("required_skills"), hr.RequiredSkills, maxRequestSkill)
	switch {
	case hr.Urgency == pb.Urgency_URGENCY_UNSPECIFIED:
		hr.Urgency = pb.Urgency_URGENCY_NORMAL
	case !enumKnown(hr.Urgency):
		v.add(f("urgency"), "is not a known urgency")
	}
	switch t := hr.Timing.(type) {
	case *pb.HelpRequest_Window:
		start, okS := checkTimestamp(v, f("window.start_time"), t.Window.GetStartTime())
		end, okE := checkTimestamp(v, f("window.end_time"), t.Window.GetEndTime())
		switch {
		case !okS || !okE:
		case !end.After(start):
			v.add(f("window.end_time"), "must be after start_time")
		case end.Sub(start) > maxWindow:
			v.add(f("window.end_time"), "must be at most 90 days after start_time")
		case c.timingChanged && !end.After(c.now):
			v.add(f("window.end_time"), "is in the past")
		case c.timingChanged && start.Sub(c.now) > maxWindow:
			// As for a deadline: a slip of the year would keep a request
			// open, offered, and its caller's data held, for years.
			v.add(f("window.start_time"), "is more than 90 days away")
		}
	case *pb.HelpRequest_Deadline:
		d, ok := checkTimestamp(v, f("deadline"), t.Deadline)
		switch {
		case !ok:
		case c.timingChanged && !d.After(c.now):
			v.add(f("deadline"), "is in the past")
		case c.timingChanged && d.Sub(c.now) > maxWindow:
			v.add(f("deadline"), "is more than 90 days away")
		}
	default:
		v.add(f("window"), "give a window (start_time and end_time) or a deadline")
	}
	cleanLocation(v, f("location"), hr.Location)
	cleanContact(v, f("requester"), hr.Requester, c.keptPhone)
	if c.nameSet {
		requireVisible(v, f("requester.display_name"), hr.GetRequester().GetDisplayName())
	}
	if hr.ExternalId != "" {
		hr.ExternalId = strings.TrimSpace(hr.ExternalId)
		if utf8.RuneCountInString(hr.ExternalId) > maxExternalID || !printable(hr.ExternalId) {
			v.add(f("external_id"), fmt.Sprintf("must be at most %d printable characters", maxExternalID))
		}
	}
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return utf8.ValidString(s)
}

func checkDate(v *violations, field string, d *pb.Date) (time.Time, bool) {
	if d == nil {
		v.add(field, "is required")
		return time.Time{}, false
	}
	t := time.Date(int(d.Year), time.Month(d.Month), int(d.Day), 0, 0, 0, 0, time.UTC)
	if d.Year < 2000 || d.Year > 2100 || d.Month < 1 || d.Month > 12 || d.Day < 1 || t.Day() != int(d.Day) {
		v.add(field, "is not a real date between 2000 and 2100")
		return time.Time{}, false
	}
	return t, true
}

func minutesOf(t *pb.TimeOfDay) (int, bool) {
	if t == nil || t.Hours < 0 || t.Hours > 24 || t.Minutes < 0 || t.Minutes > 59 || (t.Hours == 24 && t.Minutes != 0) {
		return 0, false
	}
	return int(t.Hours*60 + t.Minutes), true
}

// defaultDistance is how far a volunteer goes when they do not say.
var defaultDistance = map[pb.TravelMode]int32{
	pb.TravelMode_TRAVEL_MODE_WALKING: 1500,
	pb.TravelMode_TRAVEL_MODE_CYCLING: 5000,
	pb.TravelMode_TRAVEL_MODE_CAR:     15000,
}

// cleanVolunteer normalises a volunteer in place, as cleanHelpRequest;
// keptPhone is the number an edited volunteer's record holds, or "".
func cleanVolunteer(v *violations, prefix string, vol *pb.Volunteer, keptPhone string) {
	f := func(name string) string { return prefix + "." + name }
	cleanContact(v, f("contact"), vol.Contact, keptPhone)
	cleanLocation(v, f("home"), vol.Home)
	switch {
	case vol.TravelMode == pb.TravelMode_TRAVEL_MODE_UNSPECIFIED:
		vol.TravelMode = pb.TravelMode_TRAVEL_MODE_WALKING
	case !enumKnown(vol.TravelMode):
		v.add(f("travel_mode"), "is not a known travel mode")
	}
	switch {
	case vol.MaxDistanceMetres == 0:
		vol.MaxDistanceMetres = defaultDistance[vol.TravelMode]
	case vol.MaxDistanceMetres < minDistance || vol.MaxDistanceMetres > maxDistance:
		v.add(f("max_distance_metres"), fmt.Sprintf("must be from %d to %d", minDistance, maxDistance))
	}
	vol.Skills = cleanSkills(v, f("skills"), vol.Skills, maxVolSkills)
	if vol.Vetting == nil {
		vol.Vetting = &pb.Vetting{}
	}
	switch lvl := vol.Vetting.Level; {
	case lvl == pb.Vetting_DBS_LEVEL_UNSPECIFIED:
		vol.Vetting.Level = pb.Vetting_DBS_LEVEL_NONE
	case !enumKnown(lvl):
		v.add(f("vetting.level"), "is not a known DBS level")
	}
	if vol.Vetting.ExpireDate != nil {
		if vol.Vetting.Level == pb.Vetting_DBS_LEVEL_NONE {
			v.add(f("vetting.expire_date"), "is only for a basic or enhanced check")
		} else {
			checkDate(v, f("vetting.expire_date"), vol.Vetting.ExpireDate)
		}
	}
	cleanAvailability(v, f("availability"), vol)
	switch {
	case vol.Capacity == 0:
		vol.Capacity = 1
	case vol.Capacity < 1 || vol.Capacity > maxCapacity:
		v.add(f("capacity"), fmt.Sprintf("must be from 1 to %d", maxCapacity))
	}
}

func cleanAvailability(v *violations, field string, vol *pb.Volunteer) {
	if vol.Availability == nil {
		vol.Availability = &pb.Availability{}
	}
	a := vol.Availability
	a.TimeZone = strings.TrimSpace(a.TimeZone)
	if a.TimeZone == "" {
		a.TimeZone = "Europe/London"
	} else if _, err := time.LoadLocation(a.TimeZone); err != nil || a.TimeZone == "Local" {
		v.add(field+".time_zone", echo(a.TimeZone)+" is not an IANA time zone such as Europe/London")
	}
	if len(a.Weekly) > maxSlots {
		v.add(field+".weekly", fmt.Sprintf("has more than %d slots", maxSlots))
	}
	for i, s := range a.Weekly {
		if v.full() {
			break
		}
		sf := fmt.Sprintf("%s.weekly[%d]", field, i)
		if s.Day == pb.DayOfWeek_DAY_OF_WEEK_UNSPECIFIED || !enumKnown(s.Day) {
			v.add(sf+".day", "is not a day of the week")
		}
		start, okS := minutesOf(s.StartTime)
		end, okE := minutesOf(s.EndTime)
		switch {
		case !okS:
			v.add(sf+".start_time", "must be a time from 00:00 to 24:00")
		case !okE:
			v.add(sf+".end_time", "must be a time from 00:00 to 24:00")
		case end <= start:
			v.add(sf+".end_time", "must be after start_time on the same day")
		}
	}
	if len(a.Away) > maxAway {
		v.add(field+".away", fmt.Sprintf("has more than %d ranges", maxAway))
	}
	for i, r := range a.Away {
		if v.full() {
			break
		}
		rf := fmt.Sprintf("%s.away[%d]", field, i)
		start, okS := checkDate(v, rf+".start_date", r.GetStartDate())
		end, okE := checkDate(v, rf+".end_date", r.GetEndDate())
		if okS && okE && end.Before(start) {
			v.add(rf+".end_date", "is before start_date")
		}
	}
}

// houseOutOfStreet moves a flat or house number typed into the street
// ("Flat 2, 12 Union St") to the address lines: the street is shown to a
// volunteer before they accept, survives erasure, and keys the
// same-street bonus and the door. Handlers call it on a create, and on an
// update that sets the street, never on a street already stored: that
// was split when it was set. A first line that is a bare house number
// (one an earlier split made) gives way to a bare number, so that a
// corrected number or a repeated update leaves one house, not two; a
// flat the caller wrote there ("Flat 2") stays. With the lines full, the
// house joins the shortest line it fits; if none has room, the street is
// refused, naming field, rather than keep the house.
func houseOutOfStreet(v *violations, field string, loc *pb.Location) {
	if loc == nil {
		return
	}
	house, name := splitHouse(norm.NFKC.String(loc.Street))
	if house == "" {
		return
	}
	lines := loc.AddressLines
	switch {
	case len(lines) > 0 && bareNumberRE.MatchString(lines[0]) && bareNumberRE.MatchString(house):
		// A bare number where a bare number was: the corrected house.
		lines[0] = house
	case slices.Contains(lines, house):
	case len(lines) < maxAddressLines:
		lines = append([]string{house}, lines...)
	default:
		at := -1
		for i, l := range lines {
			if utf8.RuneCountInString(house+", "+l) <= maxAddressLine && (at < 0 || len(l) < len(lines[at])) {
				at = i
			}
		}
		if at < 0 {
			v.add(field+".street", "names a house or flat ("+house+"), and the address lines have no room for it: put it in them")
			return
		}
		lines[at] = house + ", " + strings.TrimSpace(lines[at])
	}
	loc.Street, loc.AddressLines = name, lines
}

// splitHouse splits what leads a street typed as an address: parts
// before a comma that hold a digit ("Flat 2, 12 Union St"), then leading
// house numbers ("12", "12a", "2/1", "10-12", "12 - 14") and flats ("Flat
// 2", "Unit 3"), however many ("2/1 45 Main St", "Flat 2 12 Union St"),
// but not an ordinal ("2nd Avenue" is a street) nor the street's last
// word. Digits of any script count (the caller normalises full-width ones).
func splitHouse(street string) (house, name string) {
	parts := strings.Split(street, ",")
	var lead []string
	for len(parts) > 1 && strings.IndexFunc(parts[0], unicode.IsDigit) >= 0 {
		lead = append(lead, strings.TrimSpace(parts[0]))
		parts = parts[1:]
	}
	w := strings.Fields(strings.Join(parts, ","))
	for len(w) > 1 {
		switch {
		case len(w) > 3 && houseNumberRE.MatchString(w[0]) && dashes[w[1]] && houseNumberRE.MatchString(w[2]):
			lead = append(lead, w[0]+"-"+w[2])
			w = w[3:]
		case houseNumberRE.MatchString(w[0]):
			lead = append(lead, w[0])
			w = w[1:]
		case len(w) > 2 && flatWords[strings.ToLower(strings.TrimSuffix(w[0], "."))] && houseNumberRE.MatchString(w[1]):
			lead = append(lead, w[0]+" "+w[1])
			w = w[2:]
		default:
			if len(lead) == 0 {
				return "", street
			}
			return strings.Join(lead, ", "), strings.Join(w, " ")
		}
	}
	if len(lead) == 0 {
		return "", street
	}
	return strings.Join(lead, ", "), strings.Join(w, " ")
}

var houseNumberRE = regexp.MustCompile(`^\p{Nd}+\pL?([/-]\p{Nd}+\pL?)?$`)

// bareNumberRE is a house number alone ("12", "12a"): not a tenement flat
// ("2/1") nor a range, which the caller may have written as a line.
var bareNumberRE = regexp.MustCompile(`^\p{Nd}+\pL?$`)

// dashes join a range of house numbers written with spaces ("12 - 14").
var dashes = map[string]bool{"-": true, "–": true, "—": true}

// flatWords name a flat within a building.
var flatWords = map[string]bool{"flat": true, "unit": true, "apartment": true, "apt": true, "room": true, "suite": true}
