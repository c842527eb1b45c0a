package main

import (
	"errors"
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/client"
	"github.com/doorstep-aid/doorstep/geo"
	"github.com/doorstep-aid/doorstep/phone"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// givenFlags are the options set on the command line, by name.
func givenFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// editCoords is an edit's --lat and --lng, or nil when neither is given.
// The server refuses a postcode it does not know unless the address's
// coordinates come with it, and its refusal names these options: a move
// to a new build is otherwise impossible from the helpline.
func editCoords(given map[string]bool, lat, lng float64, fail func(string, error)) *pb.LatLng {
	if !given["lat"] && !given["lng"] {
		return nil
	}
	if !given["lat"] || !given["lng"] {
		flag := "lat"
		if !given["lng"] {
			flag = "lng"
		}
		fail(flag, errors.New("give --lat and --lng together"))
	}
	return &pb.LatLng{Latitude: lat, Longitude: lng}
}

// requestEdit changes the details of a request: only those given.
func (a *app) requestEdit(args []string) error {
	u := usage{
		synopsis: "doorstep request edit ID [options]",
		text: `Changes a request: only the details given as options, the rest stay as they are. --when and --needs
are read as for doorstep request new. If the request was offered to a volunteer who cannot take it as
changed, the offer is withdrawn and the request is open again: the answer says so. A new --phone names the
caller's other requests in hand still on the old number, to change there too if it is theirs no more: the
server knows a caller's requests by their number, so that one volunteer goes to their door at a time. A new
address names those still at the old one, with the command that moves each. The organisation cannot be
changed: matching crosses organisations, so the request is offered and handled where it is.`,
		absent: map[string]string{"org": "a request stays with the organisation that took it. Matching crosses organisations, " +
			"and staff see every group's requests, so it is offered and handled as it is; a partner's token reads its own organisation's only."},
		examples: []string{
			"doorstep request edit 01jq3m5x8v2k4c6e9g0h1j2k3m --when 'fri 2pm-4pm'",
			"doorstep request edit 01jq3m5x8v2k4c6e9g0h1j2k3m --needs shopping,prescription --urgency high --details 'Milk, bread'",
			"doorstep request edit 01jq3m5x8v2k4c6e9g0h1j2k3m --phone '07700 900123' --circumstances 'lives alone'",
		},
	}
	cmd := a.begin("edit", u)
	fs := cmd.fs
	when := fs.String("when", "", "when help is needed: \"tomorrow 10:00-12:00\", \"today by 18:00\"")
	needs := fs.String("needs", "", "what is needed (names or numbers, comma-separated)")
	urgency := fs.String("urgency", "", "low, normal, high or critical")
	details := fs.String("details", "", "details for the volunteer")
	postcode := fs.String("postcode", "", "the postcode of the door")
	street := fs.String("street", "", "the street")
	address := fs.String("address", "", "house number, flat or building; lines separated by ;")
	lat := fs.Float64("lat", 0, "latitude of the door, when the postcode is not known or is large (with --lng)")
	lng := fs.Float64("lng", 0, "longitude of the door (with --lat)")
	skills := fs.String("skills", "", "skills the volunteer must have, e.g. driver,welsh (\"\" for none)")
	remote := fs.Bool("remote", false, "help can be given from anywhere (a befriending call); --remote=false to undo")
	fs.BoolVar(remote, "remote-ok", false, "the same as --remote, as request new and the server's errors name it")
	caller := fs.String("name", "", "the caller's name (what they like to be called)")
	phone := fs.String("phone", "", "the caller's phone number")
	circumstances := fs.String("circumstances", "", "1 lives alone, 2 shielding, 3 no internet, 4 reduced mobility (none to clear)")
	enters := fs.Bool("enters-home", false, "the volunteer must go inside the home; --enters-home=false to undo")
	name, err := cmd.edited(args, "helpRequests", "help request")
	if err != nil {
		return err
	}
	given := givenFlags(fs)
	hr := &pb.HelpRequest{Name: name, Location: &pb.Location{}}
	var paths, bad []string
	fail := func(flag string, err error) { bad = append(bad, "--"+flag+": "+err.Error()) }
	if given["when"] {
		t, err := parseWhen(*when, a.now())
		switch {
		case err != nil:
			fail("when", err)
		case t.start.IsZero():
			hr.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(t.deadline)}
			paths = append(paths, "deadline")
		default:
			hr.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(t.start), EndTime: timestamppb.New(t.end)}}
			paths = append(paths, "window")
		}
	}
	if given["needs"] {
		if hr.Needs, err = parseNeeds(*needs); err != nil {
			fail("needs", err)
		}
		paths = append(paths, "needs")
	}
	if given["urgency"] {
		if hr.Urgency, err = parseUrgency(*urgency); err != nil {
			fail("urgency", err)
		}
		paths = append(paths, "urgency")
	}
	if given["details"] {
		hr.Details = strings.TrimSpace(*details)
		paths = append(paths, "details")
	}
	if given["postcode"] {
		pc, err := geo.NormalisePostcode(*postcode)
		if err != nil {
			fail("postcode", fmt.Errorf("%q is not a UK postcode: it looks like AB10 1AB", *postcode))
		}
		hr.Location.Postcode = pc
		paths = append(paths, "location.postcode")
	}
	if given["street"] {
		hr.Location.Street = geo.NormaliseStreet(*street)
		paths = append(paths, "location.street")
	}
	if given["address"] {
		hr.Location.AddressLines = splitLines(*address)
		paths = append(paths, "location.address_lines")
	}
	if ll := editCoords(given, *lat, *lng, fail); ll != nil {
		hr.Location.LatLng = ll
		paths = append(paths, "location.lat_lng")
	}
	if given["skills"] {
		hr.RequiredSkills = splitList(strings.ToLower(*skills))
		paths = append(paths, "required_skills")
	}
	if given["remote"] || given["remote-ok"] {
		hr.RemoteOk = *remote
		paths = append(paths, "remote_ok")
	}
	if given["name"] || given["phone"] {
		hr.Requester, paths = editContact(given, *caller, *phone, "requester", "01224 123456 or 07700 900123", fail, paths)
	}
	if given["circumstances"] {
		if hr.Vulnerability, err = parseCircumstances(*circumstances); err != nil {
			fail("circumstances", err)
		}
		paths = append(paths, "vulnerability")
	}
	if given["enters-home"] {
		hr.EntersHome = *enters
		paths = append(paths, "enters_home")
	}
	if len(bad) > 0 {
		return usageErrorf("%s", strings.Join(bad, "; "))
	}
	if len(paths) == 0 {
		return usageErrorf("say what to change, such as --when or --needs; see doorstep request edit --help")
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	before, err := c.HelpRequests.GetHelpRequest(a.ctx, &pb.GetHelpRequestRequest{Name: name})
	if err != nil {
		return err
	}
	// The etag makes the change fail rather than undo someone else's made
	// since the read, and lets a lost answer be retried safely.
	hr.Etag = before.HelpRequest.Etag
	if given["circumstances"] {
		// Sent whole: those a newer server holds that this build cannot
		// name, which the worker could not see to clear, go back as read.
		if unknown := before.HelpRequest.GetVulnerability().ProtoReflect().GetUnknown(); len(unknown) > 0 {
			if hr.Vulnerability == nil {
				hr.Vulnerability = &pb.Vulnerability{}
			}
			hr.Vulnerability.ProtoReflect().SetUnknown(slices.Clone(unknown))
		}
	}
	resp, err := c.HelpRequests.UpdateHelpRequest(a.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: hr, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
	if client.Reason(err) == server.ReasonEtagMismatch {
		if now, rerr := c.HelpRequests.GetHelpRequest(a.ctx, &pb.GetHelpRequestRequest{Name: name}); rerr == nil && savedAsSent(hr, now.HelpRequest, paths) {
			resp, err = &pb.UpdateHelpRequestResponse{HelpRequest: now.HelpRequest}, nil
		} else if rerr == nil {
			return a.lostTo(name, "request", before.HelpRequest, now.HelpRequest)
		}
	}
	if reason := client.Reason(err); reason == server.ReasonNotEligible {
		// Refused for what the volunteer holding it can do (their other
		// jobs, days away, skills or DBS check): the server names the call
		// that hands a job back, where staff need the command.
		var gs interface{ GRPCStatus() *status.Status }
		if errors.As(err, &gs) {
			msg := strings.Replace(gs.GRPCStatus().Message(), "(ReleaseHelpRequest)", "(doorstep request release "+idOf(name)+")", 1)
			return &cliError{code: exitFailed, msg: "Nothing was changed: " + strings.TrimSuffix(msg, ".") + " (" + reason + ")."}
		}
	}
	if err != nil {
		return err
	}
	after := resp.HelpRequest
	if a.cfg.json {
		if err := writeJSON(a.stdout, after); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stdout, "Changed %s (%s).\n", after.Name, strings.Join(paths, ", "))
		// The volunteer holding it may have no app to hear of the change
		// by: whoever it is, with their number, to ring.
		offer, vol, volRow, err := a.holder(after)
		if err != nil {
			return err
		}
		if err := a.printRequest(a.stdout, after, offer, volRow); err != nil {
			return err
		}
		// A request done or cancelled is no longer theirs to hear of.
		held := map[pb.HelpRequest_State]string{
			pb.HelpRequest_STATE_ASSIGNED: "the request is assigned to them",
			pb.HelpRequest_STATE_OFFERED:  "they are offered the request",
		}[after.State]
		if vol != nil && held != "" && !(len(paths) == 1 && paths[0] == "urgency") {
			fmt.Fprintf(a.stdout, "Tell %s (%s) of the change: %s.\n", vol.GetContact().GetDisplayName(), phoneWords(vol.GetContact().GetPhone()), held)
		}
	}
	if was := before.HelpRequest; was.State == pb.HelpRequest_STATE_OFFERED && after.State == pb.HelpRequest_STATE_OPEN {
		w := a.stdout
		if a.cfg.json {
			w = a.stderr
		}
		who := "the volunteer"
		if o, err := a.readOffer(was.Offer); err == nil && o != nil {
			who, _ = a.volunteerLabel(o.Volunteer, false)
		}
		fmt.Fprintf(w, "The offer of it to %s was withdrawn: they cannot take it as changed. It is open again.\n", who)
	}
	return a.leftBehind(before.HelpRequest, after)
}

// leftBehind names the caller's other requests still in hand that keep
// the number, or the address, this edit took off one of them. The server
// knows a caller's requests by their number alone: one left on the old
// number is no longer held for the volunteer going to the door for the
// other, nor named as the same need taken twice, and a second volunteer
// could be sent to the door at the same time; one left at the old
// address sends its volunteer to a door the caller has left. A number or
// address corrected (a digit mistyped) may have been someone else's, so
// each is named, not changed.
func (a *app) leftBehind(before, after *pb.HelpRequest) error {
	was, now := before.GetRequester().GetPhone(), after.GetRequester().GetPhone()
	// A number an older version stored with the zero after its country
	// code (+3530871234567) is stored as given today by any edit: the
	// same number, which the caller did not change.
	today, err := phone.Normalise(was)
	newNumber := was != "" && was != now && (err != nil || today != now)
	moved := !sameAddress(before.GetLocation(), after.GetLocation())
	if was == "" || !newNumber && !moved {
		return nil
	}
	// A few are enough to say; the rest are a find away.
	const named = 10
	others, more, err := a.listRequests(&pb.ListHelpRequestsRequest{RequesterPhone: was, States: client.InHand()}, named)
	if err != nil {
		// The edit is stored: failing the command for the look-up after
		// it would have the worker tell the caller nothing changed.
		msg, _ := a.describe(err)
		fmt.Fprintf(a.stderr, "Note: the change is made, but the caller's other requests on %s, the number before, could not be looked up: %s To look again: doorstep request find --phone '%s'\n",
			phoneWords(was), strings.TrimSpace(msg), phoneWords(was))
		return nil
	}
	w := a.stdout
	if a.cfg.json {
		w = a.stderr
	}
	for _, o := range others {
		// A server older than states lists every state.
		if o.Name == after.Name || !slices.Contains(client.InHand(), o.State) {
			continue
		}
		// A number is shared (a couple's landline): a request someone
		// else asked for on it says whose, or read to the caller it is
		// theirs, and the command moves it to a number not its asker's.
		whose, asker := "", "the caller's"
		if n := o.GetRequester().GetDisplayName(); n != "" && !strings.EqualFold(strings.TrimSpace(n), strings.TrimSpace(after.GetRequester().GetDisplayName())) {
			whose, asker = "asked for by "+n+", ", n+"'s"
		}
		what := fmt.Sprintf("%s (%s%s, %s, %s)", idOf(o.Name), whose, requestStateWords(o, a.now()), needsWords(o.Needs), fmtTiming(o, a.now()))
		if newNumber {
			fmt.Fprintf(w, "Note: %s, the number before, is still on %s. If it is not %s any more, change it there too: doorstep request edit %s --phone '%s'\n",
				phoneWords(was), what, asker, idOf(o.Name), phoneWords(now))
		}
		if moved && sameAddress(o.GetLocation(), before.GetLocation()) {
			fmt.Fprintf(w, "Note: %s is still at the address before, %s. If the caller has moved, change it there too: doorstep request edit %s %s\n",
				what, addressOf(o.GetLocation()), idOf(o.Name), addressArgs(after.GetLocation()))
		}
	}
	if more {
		fmt.Fprintf(w, "Note: more of the caller's requests are in hand: doorstep request find --phone %s\n", phoneWords(was))
	}
	return nil
}

// sameAddress says whether a and b are one door as a volunteer reads it:
// postcode, street and house. Coordinates follow the postcode.
func sameAddress(a, b *pb.Location) bool {
	return a.GetPostcode() == b.GetPostcode() && a.GetStreet() == b.GetStreet() && slices.Equal(a.GetAddressLines(), b.GetAddressLines())
}

// shellQuote quotes s as one word for a shell, so that a command given to
// copy holds "St Mary's Road" whole.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// addressArgs are the options of request edit that give l's address.
func addressArgs(l *pb.Location) string {
	args := "--postcode " + shellQuote(l.GetPostcode()) + " --street " + shellQuote(l.GetStreet()) + " --address " + shellQuote(strings.Join(l.GetAddressLines(), "; "))
	if ll := l.GetLatLng(); l.GetCoordinatesSource() == pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN && ll != nil {
		args += fmt.Sprintf(" --lat %g --lng %g", ll.GetLatitude(), ll.GetLongitude())
	}
	return args
}

// volunteerEdit changes a volunteer's details: only those given.
func (a *app) volunteerEdit(args []string) error {
	u := usage{
		synopsis: "doorstep volunteer edit ID [options]",
		text: `Changes a volunteer: only the details given as options, the rest stay as they are. --available is read
as for volunteer add, in their time zone (--timezone, an IANA name such as America/New_York; UK time
unless set). --away lists the dates they are away, replacing those held: "1 dec-10 dec, 25 dec", or
none; dates held with days after today that a list given leaves out are named, with how to keep
them. A new --postcode is a move: give --street and --address with it, or they are cleared. A --phone
another volunteer of the organisation has is refused, as volunteer add refuses it, unless --shared-phone.
Offers waiting for them that they can no longer take are withdrawn: the answer lists them. A job they
are assigned is not: dates away that leave no day for it, or --skills, --dbs or --dbs-expires that leave
them without what it needs (driver, for a lift; a DBS check valid on the day), are refused until it is
handed back (doorstep request release), unless its window has begun. Nor does a move, a new way of
travelling, reach or hours hand a job back: after any of these, or a skill or check given up, the answer
names each job still theirs, to hand back if they cannot go. A lift asks only the skill driver: --travel
walking or cycling for someone who keeps it says so. The organisation cannot be changed (matching crosses
organisations, so they are offered every group's requests as they are): to list them with another group,
register them there and delete this record; the new one carries none of this one's history.`,
		absent: map[string]string{"org": "a volunteer stays with the organisation they were registered with. Matching crosses organisations, " +
			"so they are offered any group's requests in reach as they are. To list them with another group, register them there " +
			"(doorstep volunteer add --org ORG) and end this record (doorstep volunteer delete ID): the new record starts afresh, " +
			"without whom they have helped, their jobs this week, the offers they declined, their dates away or their app's token."},
		examples: []string{
			"doorstep volunteer edit 01jq3m7a1b2c3d4e5f6g7h8j9k --away '1 dec-10 dec'",
			"doorstep volunteer edit 01jq3m7a1b2c3d4e5f6g7h8j9k --available 'weekdays 18-21' --capacity 2",
			"doorstep volunteer edit 01jq3m7a1b2c3d4e5f6g7h8j9k --dbs enhanced --dbs-expires 2029-06-30",
			"doorstep volunteer edit 01jq3m7a1b2c3d4e5f6g7h8j9k --phone '07700 900999' --travel cycling",
		},
	}
	cmd := a.begin("edit", u)
	fs := cmd.fs
	available := fs.String("available", "", "when they are free each week, e.g. \"tue 10:00-12:00, sat 9-17\" or always")
	away := fs.String("away", "", "the dates they are away, e.g. \"1 dec-10 dec, 25 dec\", or none")
	tz := fs.String("timezone", "", "the time zone of --available and --away, e.g. America/New_York")
	dbs := fs.String("dbs", "", "their DBS check: none, basic or enhanced")
	dbsExpires := fs.String("dbs-expires", "", "the last day their check counts, YYYY-MM-DD, or none")
	skills := fs.String("skills", "", "skill tags, e.g. driver,welsh (\"\" for none)")
	capacity := fs.Int("capacity", 0, "how many requests they take at once (1-20)")
	maxDist := fs.String("max-distance", "", "how far they will go: 1500, 1500m, 2km or 10 miles")
	display := fs.String("name", "", "what the volunteer likes to be called")
	phone := fs.String("phone", "", "their phone number")
	postcode := fs.String("postcode", "", "their home postcode, when they move")
	street := fs.String("street", "", "their street")
	address := fs.String("address", "", "house number, flat or building; lines separated by ;")
	lat := fs.Float64("lat", 0, "latitude of their home, when the postcode is not known (with --lng)")
	lng := fs.Float64("lng", 0, "longitude of their home (with --lat)")
	travel := fs.String("travel", "", "walking, cycling or car")
	shared := fs.Bool("shared-phone", false, "take --phone although another volunteer of the organisation has it (a household with one phone)")
	name, err := cmd.edited(args, "volunteers", "volunteer")
	if err != nil {
		return err
	}
	given := givenFlags(fs)
	changes := 0
	for f := range given {
		if !globalFlags[f] {
			changes++
		}
	}
	if changes == 0 {
		return usageErrorf("say what to change, such as --available or --away; see doorstep volunteer edit --help")
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	// Availability and vetting are changed whole: what is not given is
	// kept from the record as read.
	got, err := c.Volunteers.GetVolunteer(a.ctx, &pb.GetVolunteerRequest{Name: name})
	if err != nil {
		return err
	}
	cur := got.Volunteer
	v := &pb.Volunteer{Name: name, Etag: cur.Etag}
	var paths, bad []string
	fail := func(flag string, err error) { bad = append(bad, "--"+flag+": "+err.Error()) }
	if given["available"] || given["away"] || given["timezone"] {
		// A copy of the record's, so that what a newer server keeps in it,
		// which this build cannot name, goes back as it came.
		av := &pb.Availability{}
		if cur.GetAvailability() != nil {
			av = proto.Clone(cur.GetAvailability()).(*pb.Availability)
		}
		if given["timezone"] {
			av.TimeZone = strings.TrimSpace(*tz)
			if _, err := time.LoadLocation(av.TimeZone); err != nil || av.TimeZone == "" || av.TimeZone == "Local" {
				fail("timezone", fmt.Errorf("%q is not a time zone: give a name such as Europe/London or America/New_York", *tz))
			}
		}
		if given["available"] {
			if av.Weekly, err = parseAvailability(*available); err != nil {
				fail("available", err)
			}
		}
		if given["away"] {
			if av.Away, err = parseAway(*away, theirToday(a.now(), av.TimeZone)); err != nil {
				fail("away", err)
			}
		}
		v.Availability = av
		paths = append(paths, "availability")
	}
	if given["dbs"] || given["dbs-expires"] {
		vet := &pb.Vetting{} // a copy, as availability's
		if cur.GetVetting() != nil {
			vet = proto.Clone(cur.GetVetting()).(*pb.Vetting)
		}
		misread := false // a level or date that could not be read says all
		if given["dbs"] {
			lvl, ok := pb.Vetting_DbsLevel_value["DBS_LEVEL_"+strings.ToUpper(strings.TrimSpace(*dbs))]
			if !ok || lvl == 0 {
				fail("dbs", fmt.Errorf("%q is not none, basic or enhanced", *dbs))
				misread = true
			}
			vet.Level = pb.Vetting_DbsLevel(lvl)
			if !given["dbs-expires"] && vet.Level != cur.GetVetting().GetLevel() {
				vet.ExpireDate = nil // a new check: its own expiry, if any
			}
		}
		if given["dbs-expires"] {
			switch s := strings.ToLower(strings.TrimSpace(*dbsExpires)); s {
			case "", "none", "never":
				vet.ExpireDate = nil
			default:
				d, err := time.Parse("2006-01-02", s)
				if err != nil {
					fail("dbs-expires", fmt.Errorf("%q is not a date such as 2028-03-31", *dbsExpires))
					misread = true
				}
				vet.ExpireDate = pbDate(d)
			}
		}
		if vet.Level == pb.Vetting_DBS_LEVEL_NONE || vet.Level == pb.Vetting_DBS_LEVEL_UNSPECIFIED {
			if vet.ExpireDate != nil && given["dbs-expires"] && !misread {
				// Dropped without a word, the worker would think it kept.
				fail("dbs-expires", errors.New("they have no DBS check to expire: give --dbs basic or --dbs enhanced with it"))
			}
			vet.ExpireDate = nil
		}
		v.Vetting = vet
		paths = append(paths, "vetting")
	}
	if given["skills"] {
		v.Skills = splitList(strings.ToLower(*skills))
		paths = append(paths, "skills")
	}
	if given["capacity"] {
		if *capacity < 1 || *capacity > 20 {
			fail("capacity", errors.New("give a number from 1 to 20"))
		}
		v.Capacity = int32(*capacity)
		paths = append(paths, "capacity")
	}
	if given["max-distance"] {
		if v.MaxDistanceMetres, err = parseMetres(*maxDist); err != nil {
			fail("max-distance", err)
		}
		paths = append(paths, "max_distance_metres")
	}
	if given["name"] || given["phone"] {
		v.Contact, paths = editContact(given, *display, *phone, "contact", "07700 900123", fail, paths)
	}
	if given["postcode"] || given["street"] || given["address"] || given["lat"] || given["lng"] {
		v.Home = &pb.Location{}
	}
	if given["postcode"] {
		pc, err := geo.NormalisePostcode(*postcode)
		if err != nil {
			fail("postcode", fmt.Errorf("%q is not a UK postcode: it looks like AB10 1AB", *postcode))
		}
		v.Home.Postcode = pc
		paths = append(paths, "home.postcode")
	}
	// A new postcode is a move: the old street and house go with it,
	// unless given again.
	if given["street"] || given["postcode"] {
		v.Home.Street = geo.NormaliseStreet(*street)
		paths = append(paths, "home.street")
	}
	if given["address"] || given["postcode"] {
		v.Home.AddressLines = splitLines(*address)
		paths = append(paths, "home.address_lines")
	}
	if ll := editCoords(given, *lat, *lng, fail); ll != nil {
		v.Home.LatLng = ll
		paths = append(paths, "home.lat_lng")
	}
	if given["travel"] {
		tm, ok := pb.TravelMode_value["TRAVEL_MODE_"+strings.ToUpper(strings.TrimSpace(*travel))]
		if !ok || tm == 0 {
			fail("travel", fmt.Errorf("%q is not walking, cycling or car", *travel))
		}
		v.TravelMode = pb.TravelMode(tm)
		paths = append(paths, "travel_mode")
	}
	if len(bad) > 0 {
		return usageErrorf("%s", strings.Join(bad, "; "))
	}
	if given["phone"] && !*shared {
		// As volunteer add refuses it: a number another record has makes
		// one person two volunteers to the matcher, or, mistyped, puts two
		// people under one number, which an erasure by number reaches both.
		if err := a.refuseRegisteredPhone(name, cur, *phone); err != nil {
			return err
		}
	}
	var pending []*pb.Offer
	if cur.PendingOffers > 0 {
		if pending, err = a.pendingOffers(name); err != nil {
			return err
		}
	}
	resp, err := c.Volunteers.UpdateVolunteer(a.ctx, &pb.UpdateVolunteerRequest{Volunteer: v, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
	if client.Reason(err) == server.ReasonEtagMismatch {
		if now, rerr := c.Volunteers.GetVolunteer(a.ctx, &pb.GetVolunteerRequest{Name: name}); rerr == nil && savedAsSent(v, now.Volunteer, paths) {
			resp, err = &pb.UpdateVolunteerResponse{Volunteer: now.Volunteer}, nil
		} else if rerr == nil {
			return a.lostTo(name, "volunteer", cur, now.Volunteer)
		}
	}
	if job := client.Metadata(err, "help_request"); client.Reason(err) == server.ReasonHasCommitments && job != "" {
		if e := assignedInTheWay(name, job, client.Metadata(err, "rule"), client.Metadata(err, "detail")); e != nil {
			return e
		}
	}
	if err != nil {
		return err
	}
	if !a.cfg.json {
		fmt.Fprintf(a.stdout, "Changed %s (%s).\n", resp.Volunteer.Name, strings.Join(paths, ", "))
	}
	if err := a.printVolunteer(resp.Volunteer); err != nil {
		return err
	}
	if d := resp.Volunteer.GetVetting().GetExpireDate(); given["dbs-expires"] && d != nil && dateExpired(d, a.now()) {
		fmt.Fprintf(a.stderr, "Note: their DBS check expired on %s: until it is renewed they count as unchecked.\n", yearDateWords(d))
	}
	// A lift is matched by the skill driver alone: a volunteer who goes on
	// foot now (their car off the road) keeps being offered lifts near
	// home unless the skill goes too.
	if got := resp.Volunteer; got.TravelMode != cur.TravelMode && got.TravelMode != pb.TravelMode_TRAVEL_MODE_CAR && slices.Contains(got.Skills, "driver") {
		others := strings.Join(slices.DeleteFunc(slices.Clone(got.Skills), func(s string) bool { return s == "driver" }), ",")
		fmt.Fprintf(a.stderr, "Note: they keep the skill driver, so they can still be offered lifts: if they have no car to drive now, doorstep volunteer edit %s --skills '%s'.\n",
			idOf(name), others)
	}
	// "none" clears every date on purpose (a trip called off); dates given
	// are more often meant as well as those held.
	if given["away"] && len(resp.Volunteer.GetAvailability().GetAway()) > 0 {
		if gone := awayDropped(cur.GetAvailability(), resp.Volunteer.GetAvailability(), a.now()); gone != nil {
			keep := *away
			for _, r := range gone.Away {
				days := isoDate(r.StartDate)
				if dateKey(r.EndDate) != dateKey(r.StartDate) {
					days += " to " + isoDate(r.EndDate)
				}
				keep = strings.TrimPrefix(keep+", "+days, ", ")
			}
			fmt.Fprintf(a.stderr, "Note: they are no longer away %s, as --away replaces the dates held: if those still stand, give them again (doorstep volunteer edit %s --away '%s').\n",
				awayWords(gone, a.now()), idOf(name), keep)
		}
	}
	if err := a.reportWithdrawn(pending, resp.Volunteer.PendingOffers); err != nil {
		return err
	}
	// The server does not judge an assigned job again by where they live,
	// how they travel, how far they go or when they are free: taking it
	// set those aside. Nor by a skill or check given up once its window
	// has begun (they may be at the door), though a window of days may
	// have begun with nobody there yet. A change of any (a move, a car off
	// the road, only evenings now) is often the very reason they rang, so
	// whoever took the call is told which jobs are still theirs, as after
	// a pause.
	// Only a change that can keep them from a job: a street's spelling
	// mended, or a car gained, is no news to ring anyone about.
	after := resp.Volunteer
	if cur.GetHome().GetPostcode() != after.GetHome().GetPostcode() || !proto.Equal(cur.GetHome().GetLatLng(), after.GetHome().GetLatLng()) ||
		(cur.TravelMode != after.TravelMode && after.TravelMode != pb.TravelMode_TRAVEL_MODE_CAR) ||
		after.MaxDistanceMetres < cur.MaxDistanceMetres || !proto.Equal(cur.GetAvailability(), after.GetAvailability()) ||
		slices.ContainsFunc(cur.Skills, func(s string) bool { return !slices.Contains(after.Skills, s) }) ||
		vettingLowered(cur.GetVetting(), after.GetVetting()) {
		a.reportStillAssigned(c, resp.Volunteer)
	}
	return nil
}

// awayDropped is the dates away of before, not yet over, that after holds
// not one day of from today on (nil when none), in before's time zone:
// --away replaces the dates held, and staff giving a snow day ("today")
// would wipe a holiday booked for next month, or one under way, without
// seeing it go, and the volunteer be offered jobs while away. A range
// shortened, or one that ends today (they are back early), is what the
// edit meant.
func awayDropped(before, after *pb.Availability, now time.Time) *pb.Availability {
	today := awayToday(before, now)
	var gone []*pb.DateRange
	for _, r := range before.GetAway() {
		from, to := r.GetStartDate(), r.GetEndDate()
		if from == nil || to == nil || !dateBefore(today, to) {
			continue
		}
		if dateBefore(from, today) {
			from = today // the days gone by are not in question
		}
		kept := slices.ContainsFunc(after.GetAway(), func(a *pb.DateRange) bool {
			return !dateBefore(a.GetEndDate(), from) && !dateBefore(to, a.GetStartDate())
		})
		if !kept {
			gone = append(gone, r)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	return &pb.Availability{TimeZone: before.GetTimeZone(), Away: gone}
}

// vettingLowered reports whether after is a lower DBS check than before,
// or one that runs out sooner. Without a check before there is none to
// lower: a first one recorded with the last day it counts gives nothing
// up, and naming their jobs then read as if they could no longer go.
func vettingLowered(before, after *pb.Vetting) bool {
	switch b, a := before.GetExpireDate(), after.GetExpireDate(); {
	case before.GetLevel() <= pb.Vetting_DBS_LEVEL_NONE:
		return false
	case after.GetLevel() < before.GetLevel():
		return true
	case a != nil && (b == nil || dateBefore(a, b)):
		return true
	}
	return false
}

// isoDate is d as --away reads it back whatever the year: 2026-04-01.
func isoDate(d *pb.Date) string {
	return fmt.Sprintf("%04d-%02d-%02d", d.GetYear(), d.GetMonth(), d.GetDay())
}

// assignedInTheWay is what staff are told when an edit of volunteer name
// is refused for job, which they are assigned: the dates away leave no day
// for it (rule AWAY, or none from a server that did not say), or they
// would lack a skill or DBS check it needs. Nil for a rule it does not
// know, whose refusal then reads as the server gives it.
func assignedInTheWay(name, job, rule, detail string) error {
	var why, then string
	switch rule {
	case "", "AWAY":
		why, then = "and those dates away leave no day to do it", "so that someone else can go, or choose other dates"
	case "MISSING_SKILL":
		why, then = "which needs a skill they would lack", "so that someone who has it can go, then change their skills"
		if detail != "" {
			why = "which needs the skill " + detail + ", and they would lack it"
		}
	case "VETTING":
		why, then = "which needs a DBS check valid on the day, and they would have none", "so that someone who has one can go, then change their check"
		if detail != "" {
			a := "a" // "basic", or "an" for "enhanced"
			if strings.ContainsRune("aeiou", rune(detail[0])) {
				a = "an"
			}
			why = "which needs " + a + " " + detail + " DBS check valid on the day, and they would have none"
		}
	default:
		return nil
	}
	return &cliError{code: exitFailed, msg: fmt.Sprintf("Nothing was changed: %s is assigned %s, %s. Hand it back first (doorstep request release %s), %s (%s).",
		name, job, why, idOf(job), then, server.ReasonHasCommitments)}
}

// refuseRegisteredPhone refuses phone for the volunteer name (cur as read)
// when another volunteer of its organisation has that number already.
func (a *app) refuseRegisteredPhone(name string, cur *pb.Volunteer, typed string) error {
	number, _ := phone.Normalise(typed)
	if number == cur.GetContact().GetPhone() {
		return nil
	}
	held, _, err := a.listVolunteers(&pb.ListVolunteersRequest{Phone: number, Organisation: cur.Organisation}, 2)
	switch {
	case status.Code(err) == codes.PermissionDenied:
		// A volunteer's own token, changing their number: it may not
		// list others, nor learn who has a number; staff's edits check.
		return nil
	case err != nil:
		return err
	}
	for _, h := range held {
		if h.Name == name {
			continue
		}
		id := idOf(h.Name)
		return &cliError{code: exitFailed, msg: fmt.Sprintf("Not changed: %s is registered already with the number %s, as %s: "+
			"to change their details, doorstep volunteer edit %s; if %s shares that phone, add --shared-phone.",
			h.GetContact().GetDisplayName(), phoneWords(number), id, id, cur.GetContact().GetDisplayName())}
	}
	return nil
}

// theirToday is noon, UK time, on the date it is at now in the volunteer's
// time zone (the UK's when unknown), for parseAway: "tomorrow" and "mon"
// are their days, which an evening in New York puts a day behind the UK's.
func theirToday(now time.Time, zone string) time.Time {
	if loc, err := time.LoadLocation(zone); err == nil && zone != "" {
		now = now.In(loc)
	} else {
		now = now.In(london)
	}
	return time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, london)
}

// parseAway reads the dates a volunteer is away: "1 dec-10 dec, 25 dec",
// "2026-12-01 to 2026-12-10"; "none" or empty is none. Each day is read as
// request new reads one, so a date without a year is the next one.
func parseAway(s string, now time.Time) ([]*pb.DateRange, error) {
	s = strings.Join(strings.Fields(strings.ToLower(s)), " ")
	if s == "" || s == "none" || s == "no" {
		return nil, nil
	}
	now = now.In(london)
	var out []*pb.DateRange
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		part = strings.TrimSpace(part)
		start, end, err := awayRange(part, now)
		if err != nil {
			return nil, err
		}
		if end.Before(start) {
			return nil, fmt.Errorf("%q ends before it starts", part)
		}
		out = append(out, &pb.DateRange{StartDate: pbDate(start), EndDate: pbDate(end)})
	}
	return out, nil
}

// awayRange reads one day or one range of days.
func awayRange(s string, now time.Time) (time.Time, time.Time, error) {
	d, err := parseDay(s, now)
	if err == nil {
		return d, d, nil
	}
	var bad *badDate
	errors.As(err, &bad)
	for _, sep := range []string{" to ", " until ", " - ", "-"} {
		for i := strings.Index(s, sep); i >= 0; {
			a, errA := parseDay(s[:i], now)
			b, errB := parseDay(s[i+len(sep):], now)
			for _, err := range []error{errA, errB} {
				if bad == nil {
					errors.As(err, &bad)
				}
			}
			// A 29 February years off may yet be the start of a range
			// begun on the one gone ('29 feb-5 mar' on 2 March): read
			// below as such, or refused as it was.
			var far *badDate
			if errors.As(errA, &far) && !far.next.IsZero() && errB == nil {
				a, errA = far.next, nil
			} else {
				far = nil
			}
			if errA != nil && errB == nil {
				a, errA = dayOfMonthOf(s[:i], s[i+len(sep):], b)
			}
			if errA == nil && errB == nil {
				// A date without a year is read as its next coming; as the
				// start of a range that ends before it, it is the last one
				// (the volunteer is away already: '20 nov-30 nov' on the
				// 26th, '28 dec-3 jan' on the 2nd). Not when that makes
				// the range run most of a year: '24 nov-2 nov' is a slip,
				// not eleven months away.
				if last := lastComing(a); b.Before(a) && yearless(s[:i]) && !last.After(b) && b.Before(last.AddDate(0, 6, 0)) {
					a = last
				}
				if far != nil && a.Equal(far.next) {
					return time.Time{}, time.Time{}, far
				}
				// So too an end without a year read as its next coming: past
				// the new year, '24 dec-2 jan' is a fortnight, but '20 dec-5
				// dec' said on the 15th ran to next December, a slip that
				// kept them from every job for most of a year. Given with
				// its years, a long absence stands.
				if end := s[i+len(sep):]; yearless(end) && b.Year() > a.Year() && !b.Before(a.AddDate(0, 6, 0)) {
					return time.Time{}, time.Time{}, fmt.Errorf("%q reads as away from %s to %s, over six months: if that is meant, give the years (\"%s to %s\")",
						s, dateWords(pbDate(a), now), dateWords(pbDate(b), now), a.Format("2006-01-02"), b.Format("2006-01-02"))
				}
				return a, b, nil
			}
			j := strings.Index(s[i+1:], sep)
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	if bad != nil {
		return time.Time{}, time.Time{}, bad
	}
	return time.Time{}, time.Time{}, fmt.Errorf("cannot read %q as days away: give days such as \"1 dec-10 dec\", \"25 dec\" or \"2026-12-01 to 2026-12-10\"", s)
}

// lastComing is the coming of a yearless date before a's: a year back,
// or for a 29 February the one before, where a year back would be a 1
// March nobody gave.
func lastComing(a time.Time) time.Time {
	if a.Month() != time.February || a.Day() != 29 {
		return a.AddDate(-1, 0, 0)
	}
	for y := a.Year() - 1; ; y-- {
		if t := time.Date(y, time.February, 29, 0, 0, 0, 0, london); t.Month() == time.February {
			return t
		}
	}
}

var bareDay = regexp.MustCompile(`^(\d{1,2})(?:st|nd|rd|th)?$`)

// dayOfMonthOf reads the first day of a range written with its month once,
// at the end ("24-31 dec", "28th-3rd jan"): the day s of end's month, read
// from endText, or of the month before when that day would come after end.
func dayOfMonthOf(s, endText string, end time.Time) (time.Time, error) {
	m := bareDay.FindStringSubmatch(strings.TrimSpace(s))
	endText = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(endText), ","))
	_, notISO := time.Parse("2006-01-02", endText)
	if m == nil || notISO != nil && !slashDate.MatchString(endText) && !wordDate.MatchString(endText) {
		return time.Time{}, fmt.Errorf("cannot read %q as a day", s) // the end is a weekday or "tomorrow": no month to take
	}
	day, _ := strconv.Atoi(m[1])
	for _, mon := range []time.Month{end.Month(), end.Month() - 1} {
		t := time.Date(end.Year(), mon, day, 0, 0, 0, 0, london)
		if t.Day() == day && !t.After(end) {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a day of that month", s)
}

// yearless reports whether a day as parseDay reads it is a date given
// without its year ("20 nov", "20/11").
func yearless(s string) bool {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ","))
	if m := slashDate.FindStringSubmatch(s); m != nil {
		return m[3] == ""
	}
	m := wordDate.FindStringSubmatch(s)
	return m != nil && m[3] == ""
}

// editContact is the contact an edit sends, from --name and --phone as
// given, and the update mask's paths for them under field ("requester",
// "contact"); a phone that is not one is a failure named by example.
func editContact(given map[string]bool, name, typed, field, example string, fail func(string, error), paths []string) (*pb.Contact, []string) {
	c := &pb.Contact{}
	if given["name"] {
		if c.DisplayName = strings.TrimSpace(name); c.DisplayName == "" {
			fail("name", errors.New("a name is needed, even a first name"))
		}
		paths = append(paths, field+".display_name")
	}
	if given["phone"] {
		// Sent as the server stores it, so that after a lost answer the
		// number reads as sent (savedAsSent).
		number, err := phone.Normalise(typed)
		if err != nil {
			fail("phone", phoneFault(strings.TrimSpace(typed), err, example, field == "requester"))
		}
		c.Phone = number
		paths = append(paths, field+".phone")
	}
	return c, paths
}

// lostTo is what a worker is told whose edit of name (a "request" or a
// "volunteer") lost to a change someone else made after this command read
// it (before) and before its write landed (now): what changed, and to look
// before editing again. The API's "read it again and retry" is no advice
// here: the same command run again reads afresh and writes over that
// change unseen, which the worker can only weigh knowing what it was.
func (a *app) lostTo(name, kind string, before, now proto.Message) error {
	var changed []string
	seen := map[string]bool{}
	b, n := before.ProtoReflect(), now.ProtoReflect()
	fields := b.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if sameAt(b, n, []string{string(fd.Name())}) {
			continue
		}
		what := a.changedWords(fd.Name(), now)
		if what != "" && !seen[what] {
			seen[what] = true
			changed = append(changed, what)
		}
	}
	who := "it"
	if kind == "volunteer" {
		who = "them"
	}
	msg := fmt.Sprintf("Nothing was changed: someone else changed %s while this edit was on its way", name)
	if len(changed) > 0 {
		msg += ": " + andWords(changed)
	}
	return &cliError{code: exitFailed, msg: fmt.Sprintf("%s. Look at %s again (doorstep %s show %s), then edit again if your change is still needed (%s).",
		msg, who, kind, idOf(name), server.ReasonEtagMismatch)}
}

// changedWords says in words that field of a request or volunteer changed,
// as now reads; "" for a field that is bookkeeping (its etag, times, the
// volunteers who declined) and says nothing a worker would weigh.
func (a *app) changedWords(field protoreflect.Name, now proto.Message) string {
	if hr, ok := now.(*pb.HelpRequest); ok {
		switch field {
		case "state", "offer", "assigned_volunteer":
			// Who holds it now is what a worker editing it must know.
			switch hr.State {
			case pb.HelpRequest_STATE_OFFERED:
				if o, err := a.readOffer(hr.Offer); err == nil && o != nil {
					who, _ := a.volunteerLabel(o.Volunteer, false)
					return "it is now offered to " + who
				}
			case pb.HelpRequest_STATE_ASSIGNED:
				who, _ := a.volunteerLabel(hr.AssignedVolunteer, false)
				return "it is now assigned to " + who
			}
			return "it is now " + stateWord(hr.State)
		case "window", "deadline":
			return "its time changed"
		case "location":
			return "its address changed"
		case "requester":
			return "the caller's name or phone changed"
		case "vulnerability":
			return "the caller's circumstances changed"
		case "required_skills":
			return "the skills it needs changed"
		case "remote_ok":
			return "whether it can be helped from afar changed"
		case "enters_home":
			return "whether the volunteer goes inside changed"
		case "personal_data_removed_time":
			return "its personal data was erased"
		case "needs", "details", "urgency":
			return "its " + string(field) + " changed"
		}
		return ""
	}
	v, ok := now.(*pb.Volunteer)
	if !ok {
		return ""
	}
	switch field {
	case "paused":
		if v.Paused && v.UnansweredOffers > 0 {
			// The server's pause, not theirs: nobody is to ask them why.
			return "they were paused, offers to them having gone unanswered"
		}
		if v.Paused {
			return "they paused"
		}
		return "they resumed"
	case "held":
		if v.Held {
			return "they were put on hold"
		}
		return "their hold was lifted"
	case "pending_offers", "active_assignments", "commitments", "unanswered_offers":
		return "their offers or jobs changed"
	case "contact":
		return "their name or phone changed"
	case "home":
		return "their home changed"
	case "availability":
		return "when they are free or away changed"
	case "vetting":
		return "their DBS check changed"
	case "max_distance_metres":
		return "how far they go changed"
	case "travel_mode":
		return "how they travel changed"
	case "capacity":
		return "how many jobs they take changed"
	case "skills":
		return "their skills changed"
	}
	return ""
}

// savedAsSent says whether every field that paths names reads in got as
// it was sent in sent. An edit refused as ETAG_MISMATCH may be this
// command's own, saved once already: the client sends an update with an
// etag again when its answer was lost, and the repeat finds the etag
// stale. Telling the worker that someone else changed it first would have
// them believe their change was not saved. A field the server stores in
// another form than it was sent does not read as sent, and the refusal
// stands: so the edits send phone numbers and streets in the form the
// server stores them (E.164, "Union Street"), not as typed.
func savedAsSent(sent, got proto.Message, paths []string) bool {
	for _, p := range paths {
		if !sameAt(sent.ProtoReflect(), got.ProtoReflect(), strings.Split(p, ".")) {
			return false
		}
	}
	return len(paths) > 0
}

// sameAt compares the field at path in a and b, messages of one type.
func sameAt(a, b protoreflect.Message, path []string) bool {
	fd := a.Descriptor().Fields().ByName(protoreflect.Name(path[0]))
	switch {
	case fd == nil:
		return false
	case len(path) > 1:
		if fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() {
			return false
		}
		return sameAt(a.Get(fd).Message(), b.Get(fd).Message(), path[1:])
	}
	// The field alone, on otherwise empty messages, so that proto.Equal
	// compares it whatever its kind.
	x, y := a.Type().New(), b.Type().New()
	if a.Has(fd) {
		x.Set(fd, a.Get(fd))
	}
	if b.Has(fd) {
		y.Set(fd, b.Get(fd))
	}
	return proto.Equal(x.Interface(), y.Interface())
}
