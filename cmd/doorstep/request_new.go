package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/client"
	"github.com/doorstep-aid/doorstep/geo"
	"github.com/doorstep-aid/doorstep/phone"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// field is one thing `request new` needs: set by a flag or asked for.
type field struct {
	key      string // typed at the confirmation to change it
	flag     string
	question string
	required bool
	value    string
	given    bool
	askIf    func() bool // nil: always asked when not given
	apply    func(string) error
	show     func() string
}

func (a *app) requestNew(args []string) error {
	u := usage{
		synopsis: "doorstep request new [options]",
		text: `Takes a request for help. On a terminal it asks for each detail the options did not give, checks the
postcode and phone number as you go, reads the request back and asks before saving. Without a terminal
(scripts) it never asks: missing options are an error. The command's own retries of a lost answer never
make a duplicate, but running it again does: if it says the request may have been saved, look for it
with doorstep request find --phone first. Once saved, it names the caller's other requests for the
same time at the same postcode (one number may be a care worker's for several homes), and any volunteer registered on the number (the caller volunteers, or shares the number
with one) who could still be sent to others or holds a job, with how to pause them and hand jobs back.

When (--when) is read in UK time: "tomorrow 10:00-12:00", "today by 18:00", "fri 2pm-4pm", "in 3 hours",
"12/03 9-11", "2026-03-12 10:00" (a single time is a deadline; a day alone is the whole day).
Needs: ` + needNames() + `.`,
		examples: []string{
			"doorstep request new",
			"doorstep request new --postcode 'AB10 1AB' --street 'Union St' --address 'Flat 2; 12 Union Street' \\\n" +
				"      --needs grocery_shopping,prescription_collection --when 'tomorrow 10:00-12:00' --urgency high \\\n" +
				"      --name Margaret --phone '01224 123456' --org aberdeen-mutual-aid",
			"doorstep request new ... --deadline 2026-03-12T18:00 --details 'Milk and bread' --json",
		},
	}
	cmd := a.begin("new", u)
	fs := cmd.fs
	hr := &pb.HelpRequest{Location: &pb.Location{}, Requester: &pb.Contact{}, Urgency: pb.Urgency_URGENCY_NORMAL}
	var when timing
	var lat, lng float64
	fs.Float64Var(&lat, "lat", 0, "latitude of the door, when the postcode is not known or is large")
	fs.Float64Var(&lng, "lng", 0, "longitude of the door")
	external := fs.String("external-id", "", "your organisation's own id for this request")
	remote := fs.Bool("remote-ok", false, "help can be given from anywhere (a befriending call)")
	enters := fs.Bool("enters-home", false, "the volunteer must go inside the home")
	yes := fs.Bool("yes", false, "save without asking to confirm")
	winStart := fs.String("window-start", "", "start of the window: \"tomorrow 10:00\" or 2026-03-12T10:00")
	winEnd := fs.String("window-end", "", "end of the window (a time alone is on the start's day)")
	deadline := fs.String("deadline", "", "help by this time: \"today 18:00\" or 2026-03-12T18:00")

	fields := []*field{
		{key: "postcode", flag: "postcode", question: "Postcode", required: true,
			apply: func(s string) error {
				pc, err := geo.NormalisePostcode(s)
				if err != nil {
					return fmt.Errorf("%q is not a UK postcode: it looks like AB10 1AB", s)
				}
				hr.Location.Postcode = pc
				if a.prompt != nil && lat == 0 && lng == 0 {
					// At the prompt, catch an unknown postcode while the caller is still there.
					if err := a.checkPostcode(pc); err != nil {
						return err
					}
				}
				return nil
			},
			show: func() string { return hr.Location.Postcode }},
		{key: "street", flag: "street", question: "Street (Enter to skip)",
			apply: func(s string) error { hr.Location.Street = s; return nil },
			show:  func() string { return orDash(hr.Location.Street) }},
		{key: "address", flag: "address", question: "House number, flat or building (put a semicolon between lines; Enter to skip)",
			apply: func(s string) error {
				hr.Location.AddressLines = splitLines(s)
				if len(hr.Location.AddressLines) > 4 {
					return errors.New("at most 4 address lines")
				}
				return nil
			},
			show: func() string { return orDash(strings.Join(hr.Location.AddressLines, "; ")) }},
		{key: "needs", flag: "needs", question: "Needs (numbers or names, e.g. 1 2)", required: true,
			apply: func(s string) (err error) { hr.Needs, err = parseNeeds(s); return err },
			show:  func() string { return needsWords(hr.Needs) }},
		{key: "when", flag: "when", question: "When (e.g. tomorrow 10:00-12:00, today by 18:00, in 3 hours)", required: true,
			apply: func(s string) (err error) { when, err = parseWhen(s, a.now()); return err },
			show:  func() string { return when.show(a.now()) }},
		{key: "urgency", flag: "urgency", question: "Urgency: low, normal, high or critical (Enter for normal)",
			apply: func(s string) (err error) { hr.Urgency, err = parseUrgency(s); return err },
			show:  func() string { return urgencyWord(hr.Urgency) }},
		{key: "details", flag: "details", question: "Details for the volunteer (Enter to skip)",
			apply: func(s string) error {
				hr.Details = s
				if s == "" && hasNeed(hr.Needs, pb.Need_NEED_OTHER) {
					return errors.New("say what is needed: the needs include other")
				}
				return nil
			},
			show: func() string { return orDash(hr.Details) }},
		{key: "remote", question: "Can it be done by phone, from anywhere? Yes or no (Enter for yes)",
			// Asked only for a call (a shopping trip is not done from afar,
			// and the server refuses remote_ok with it) that nobody goes
			// inside for (--enters-home: nor with that), but shown while
			// set, so that a read-back can undo it after the needs change.
			askIf: func() bool {
				return hr.RemoteOk || !hr.EntersHome && hasNeed(hr.Needs, pb.Need_NEED_BEFRIENDING_CALL) && fromAfar(hr.Needs)
			},
			apply: func(s string) (err error) { hr.RemoteOk, err = parseYesNo(s, true); return err },
			show:  func() string { return yesNo(hr.RemoteOk) }},
		{key: "inside", question: "Must the volunteer go inside the home? Yes or no (Enter for no)",
			askIf: func() bool { return !hr.RemoteOk || hr.EntersHome },
			apply: func(s string) (err error) { hr.EntersHome, err = parseYesNo(s, false); return err },
			show:  func() string { return yesNo(hr.EntersHome) }},
		{key: "skills", flag: "skills", question: "Skills the volunteer must have, e.g. driver, welsh (Enter for none)",
			apply: func(s string) error { hr.RequiredSkills = splitList(strings.ToLower(s)); return nil },
			show:  func() string { return orDash(strings.Join(hr.RequiredSkills, ", ")) }},
		{key: "circumstances", flag: "circumstances", question: "Circumstances: 1 lives alone, 2 shielding, 3 no internet, 4 reduced mobility (Enter for none)",
			apply: func(s string) (err error) { hr.Vulnerability, err = parseCircumstances(s); return err },
			show:  func() string { return circumstanceWords(hr.Vulnerability) }},
		{key: "name", flag: "name", question: "Caller's name (what they like to be called)", required: true,
			apply: func(s string) error {
				if s == "" {
					return errors.New("a name is needed, even a first name")
				}
				hr.Requester.DisplayName = s
				return nil
			},
			show: func() string { return hr.Requester.DisplayName }},
		{key: "phone", flag: "phone", question: "Caller's phone number", required: true,
			apply: func(s string) error {
				if _, err := phone.Normalise(s); err != nil {
					return phoneFault(s, err, "01224 123456 or 07700 900123", true)
				}
				hr.Requester.Phone = s
				return nil
			},
			show: func() string { return hr.Requester.Phone }},
		{key: "org", flag: "org", question: "Organisation (e.g. aberdeen-mutual-aid)", required: true,
			apply: func(s string) error {
				s = strings.ToLower(strings.TrimSpace(s))
				if !orgPattern(s) {
					return fmt.Errorf("%q is not an organisation id: 2 to 63 lower-case letters, digits and hyphens", s)
				}
				hr.Organisation = s
				return nil
			},
			show: func() string { return hr.Organisation }},
	}
	byFlag := map[string]*field{}
	for _, f := range fields {
		if f.flag == "" {
			continue
		}
		byFlag[f.flag] = f
		help := strings.NewReplacer(" (Enter to skip)", "", " (Enter for none)", "", " (Enter for normal)", " (default normal)", "; Enter to skip", "", "(numbers or names, e.g. 1 2)", "(names or numbers, comma-separated)").Replace(f.question)
		fs.Func(f.flag, help, func(s string) error {
			f.value, f.given = s, true
			return nil
		})
	}
	if err := cmd.optionsOnly(args, "--postcode"); err != nil {
		return err
	}
	if f := byFlag["org"]; !f.given && a.cfg.org != "" {
		f.value, f.given = a.cfg.org, true
	}
	setFlags := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { setFlags[f.Name] = true })
	// --window-start/--window-end and --deadline are the scripted forms of
	// --when; a mistake in one is reported under the options given.
	whenFlags := "--when"
	if w := byFlag["when"]; !w.given {
		switch {
		case *deadline != "" && (*winStart != "" || *winEnd != ""):
			return usageErrorf("give a window (--window-start and --window-end) or a --deadline, not both")
		case *deadline != "":
			w.value, w.given = "by "+*deadline, true
			whenFlags = "--deadline"
		case *winStart != "" && *winEnd != "":
			w.value, w.given = *winStart+" to "+*winEnd, true
			whenFlags = "--window-start/--window-end"
		case *winStart != "" || *winEnd != "":
			return usageErrorf("a window needs both --window-start and --window-end")
		}
	}
	if setFlags["remote-ok"] || setFlags["enters-home"] {
		hr.RemoteOk, hr.EntersHome = *remote, *enters
	}
	for _, f := range fields {
		if (f.key == "remote" && setFlags["remote-ok"]) || (f.key == "inside" && setFlags["enters-home"]) {
			f.given = true
		}
	}

	// Options first, so that the questions see their values.
	var bad []string
	for _, f := range fields {
		if f.given && f.flag != "" {
			if err := f.apply(strings.TrimSpace(f.value)); err != nil {
				var ce *cliError
				if errors.As(err, &ce) {
					return err
				}
				name := "--" + f.flag
				if f.key == "when" {
					name = whenFlags
				}
				bad = append(bad, name+": "+err.Error())
			}
		}
	}
	if len(bad) > 0 {
		return usageErrorf("%s", strings.Join(bad, "; "))
	}
	var missing []string
	for _, f := range fields {
		if f.required && !f.given {
			missing = append(missing, "--"+f.flag)
		}
	}
	interactive := a.prompt != nil && (len(missing) > 0 || !*yes)
	if len(missing) > 0 && a.prompt == nil {
		return usageErrorf("missing %s (not on a terminal, so nothing is asked); see doorstep request new --help", strings.Join(missing, ", "))
	}
	if interactive {
		if len(missing) > 0 {
			p := a.prompt
			p.say("New request for help. Ctrl-D stops without saving.\n")
			for _, f := range fields {
				if f.given || (f.askIf != nil && !f.askIf()) {
					continue
				}
				if err := a.askField(f); err != nil {
					return err
				}
			}
		}
		if !*yes {
			if err := a.confirm(fields); err != nil {
				return err
			}
		}
	}
	if lat != 0 || lng != 0 {
		hr.Location.LatLng = &pb.LatLng{Latitude: lat, Longitude: lng}
	}
	hr.ExternalId = strings.TrimSpace(*external)
	var reply *pb.CreateHelpRequestResponse
	for {
		if when.start.IsZero() {
			hr.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(when.deadline)}
		} else {
			hr.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(when.start), EndTime: timestamppb.New(when.end)}}
		}
		var err error
		reply, err = a.createHelpRequest(hr)
		if err == nil {
			break
		}
		// The connection may have failed after the server saved the
		// request: the client's retries find it saved, but their answers
		// can be lost as well. Taking the call again would save it twice.
		// So may a Ctrl-C while it was on its way.
		if lost := a.answerLost(err, "The request may have been saved all the same: look for it with doorstep request find --phone "+
			phoneWords(hr.GetRequester().GetPhone())+" before taking it again."); lost != nil {
			return lost
		}
		// The caller is still on the line: an answer the server refuses
		// (a time that passed while they talked) is asked again at the
		// read-back, not the whole call retyped.
		var ce *cliError
		msg, code := a.describe(err)
		if a.prompt == nil || errors.As(err, &ce) || code != exitUsage {
			return err
		}
		a.prompt.say("  ! %s\n", msg)
		if err := a.confirm(fields); err != nil {
			return err
		}
	}
	created := reply.GetHelpRequest()
	if a.cfg.json {
		// The JSON stays the request, as scripts read it; the notes go
		// to stderr.
		sameTimeNotes(a.stderr, "", "the caller", reply.GetSameTimeRequests())
		a.callerVolunteers(a.stderr, created.GetRequester().GetPhone())
		return writeJSON(a.stdout, created)
	}
	fmt.Fprintf(a.stdout, "Saved %s: %s, %s, %s.\n", created.Name, needsWords(created.Needs), fmtTiming(created, a.now()), stateWord(created.State))
	sameTimeNotes(a.stdout, "", "the caller", reply.GetSameTimeRequests())
	a.callerVolunteers(a.stdout, created.GetRequester().GetPhone())
	fmt.Fprintf(a.stdout, "Find the caller's requests again with: doorstep request find --phone %s\n", phoneWords(created.GetRequester().GetPhone()))
	return nil
}

// sameTimeNotes says, one line each after prefix, that who (the caller)
// has these other requests for the same time (same_time_requests), and how
// to undo a need taken twice. They are named only: reading them to say
// more would be a read of the person's personal data, on record as one.
func sameTimeNotes(w io.Writer, prefix, who string, names []string) {
	for _, name := range names {
		fmt.Fprintf(w, "%sNote: %s has another request for that time: %s. If it is the same need, cancel one: doorstep request cancel %s\n",
			prefix, who, idOf(name), idOf(name))
	}
}

// callerVolunteers says, one line each, which volunteers the number a
// request was just saved on is registered to: a volunteer who asks for
// help (they fell ill) is often in no state to help others, yet their
// jobs stay theirs and dispatch goes on offering them more, each held for
// them a lease, until someone pauses them and hands the jobs back. On a
// household's shared number it is someone else's record, so each is
// named. A volunteer paused or held with nothing in hand needs nothing
// done. Nothing is said when they cannot be read (a partner's token may
// not list volunteers): the request is saved all the same.
func (a *app) callerVolunteers(w io.Writer, typed string) {
	if typed == "" {
		return
	}
	const named = 10 // a household, or a care home's line; the rest are a find away
	// Those needing nothing done are left out after the read, so the read
	// is not cut at named: ten paused on a shared line, listed first,
	// would hide an eleventh still being offered others' requests.
	// Each form the number is stored in (phone.Forms): a volunteer
	// registered as +353 87 ... who rings from "+353 087 ..." is one
	// person, and her jobs stay hers all the same. A server that lists by
	// every form finds her under each of them: she is named once.
	var all []*pb.Volunteer
	more := false
	for _, form := range phone.Forms(typed) {
		vs, m, err := a.listVolunteers(&pb.ListVolunteersRequest{Phone: form}, maxPageSize)
		if err != nil {
			return
		}
		for _, v := range vs {
			if !slices.ContainsFunc(all, func(o *pb.Volunteer) bool { return o.Name == v.Name }) {
				all = append(all, v)
			}
		}
		more = more || m
	}
	vols := slices.DeleteFunc(all, func(v *pb.Volunteer) bool {
		return (v.Paused || v.Held) && v.ActiveAssignments == 0 // offered nothing, and any offers were withdrawn
	})
	unnamed := len(vols) > named || more
	vols = vols[:min(len(vols), named)]
	c, err := a.client()
	if err != nil {
		return
	}
	for _, v := range vols {
		id := idOf(v.Name)
		note := fmt.Sprintf("Note: this number is also volunteer %s's (%s)", v.GetContact().GetDisplayName(), id)
		if !v.Paused && !v.Held {
			note += ". While they cannot help others, pause them: doorstep volunteer pause " + id
			if v.PendingOffers > 0 {
				note += fmt.Sprintf(" (which withdraws %s waiting for their answer)", count(int(v.PendingOffers), "offer"))
			}
		}
		var release []string
		for o, err := range c.AllOffers(a.ctx, &pb.ListOffersRequest{Volunteer: v.Name, Live: true}) {
			if err != nil {
				break // the advice stands without them
			}
			if o.State != pb.Offer_STATE_ACCEPTED {
				continue // waiting for an answer: a pause withdraws it
			}
			release = append(release, "doorstep request release "+idOf(o.HelpRequest))
		}
		if len(release) > 0 {
			note += ". They are assigned " + count(len(release), "job") + ": hand back each they cannot do, " + strings.Join(release, "; ")
		}
		fmt.Fprintln(w, note)
	}
	if unnamed {
		fmt.Fprintf(w, "Note: more volunteers on this number than are named here may need pausing: doorstep volunteer find --phone %s lists them\n", phoneWords(typed))
	}
}

func (a *app) askField(f *field) error {
	if f.key == "needs" {
		a.prompt.say("Needs:\n")
		for i, c := range needChoices {
			a.prompt.say("  %d %s\n", i+1, strings.ReplaceAll(c.words[0], "_", " "))
		}
	}
	return a.prompt.ask(f.question+": ", func(s string) error {
		if f.required && s == "" {
			return fmt.Errorf("%s is needed", f.key)
		}
		return f.apply(s)
	})
}

// confirm reads the request back and asks before saving. Typing a field's
// name asks for it again, so that one slip need not restart the call.
func (a *app) confirm(fields []*field) error {
	p := a.prompt
	for {
		p.say("\nPlease check with the caller:\n")
		t := a.newFields(p.out)
		var keys []string
		for _, f := range fields {
			if f.askIf != nil && !f.askIf() {
				continue
			}
			t.row("  "+f.key, f.show())
			keys = append(keys, f.key)
		}
		if err := t.flush(); err != nil {
			return err
		}
		var change *field
		// Said in words: a screen reader speaks neither brackets nor
		// which letter is a capital, which "[y]es" and "[Y/n]" went by;
		// Enter saves, as the brackets of "[y]es" said, and now says so.
		err := p.ask("Save this request? Answer yes, no, or a name above to change it (Enter for yes): ", func(s string) error {
			s = strings.ToLower(s)
			if s == "" || s == "y" || s == "yes" || s == "n" || s == "no" {
				change = nil
				if s == "n" || s == "no" {
					return errAborted
				}
				return nil
			}
			for _, f := range fields {
				if f.key == s || f.flag == s {
					change = f
					return nil
				}
			}
			return fmt.Errorf("%q: answer y, n or one of %s", s, strings.Join(keys, ", "))
		})
		if errors.Is(err, errAborted) {
			return errAborted
		}
		if err != nil {
			return err
		}
		if change == nil {
			return nil
		}
		if err := a.askField(change); err != nil {
			return err
		}
	}
}

// checkPostcode asks the gazetteer whether a postcode is known.
func (a *app) checkPostcode(pc string) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	_, err = c.Gazetteer.LookupPostcode(a.ctx, &pb.LookupPostcodeRequest{Postcode: pc})
	switch status.Code(err) {
	case codes.OK:
		return nil
	case codes.NotFound:
		return fmt.Errorf("%s is not in the postcode directory: check it with the caller (or give --lat and --lng)", pc)
	case codes.InvalidArgument:
		return fmt.Errorf("%q is not a UK postcode: it looks like AB10 1AB", pc)
	}
	msg, code := a.describe(err)
	return &cliError{code: code, msg: msg}
}

// fromAfar says whether every need can be met from anywhere, as the
// server judges remote_ok (matcher.FromAfar): a befriending call or other.
func fromAfar(ns []pb.Need) bool {
	for _, n := range ns {
		if n != pb.Need_NEED_BEFRIENDING_CALL && n != pb.Need_NEED_OTHER {
			return false
		}
	}
	return true
}

func hasNeed(ns []pb.Need, n pb.Need) bool {
	for _, x := range ns {
		if x == n {
			return true
		}
	}
	return false
}

func orgPattern(s string) bool {
	if len(s) < 2 || len(s) > 63 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}

// createHelpRequest stores a request under a request_id of its own, so
// that a retry after a lost answer cannot store it twice. An answer that
// did not come within --timeout is asked for once more under the same
// request_id: on a slow disk (an SD card, a network disk past its quota) a
// save the server had begun ended only after the command gave up, and
// doorstep request find, run at once as the command said, did not show it
// yet, so the call was taken twice.
func (a *app) createHelpRequest(hr *pb.HelpRequest) (*pb.CreateHelpRequestResponse, error) {
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	req := &pb.CreateHelpRequestRequest{HelpRequest: hr, RequestId: client.NewRequestID()}
	gone := "The request was saved, then deleted by someone else before the answer came: nothing of it is kept"
	return askAgainAfterTimeout(a, "the request was saved", gone, func(ctx context.Context) (*pb.CreateHelpRequestResponse, error) {
		return c.HelpRequests.CreateHelpRequest(ctx, req)
	})
}
