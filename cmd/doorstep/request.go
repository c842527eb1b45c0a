package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// requestFind lists a caller's requests by phone number.
func (a *app) requestFind(args []string) error {
	u := usage{
		synopsis: "doorstep request find --phone NUMBER",
		text:     "Lists every request from one phone number, oldest first, with the volunteer who took each: how to find a caller's earlier requests.\nThe number may be typed as people say it, spaces and all.",
		examples: []string{"doorstep request find --phone 07700 900123", "doorstep request find --phone '+44 1224 123456' --json"},
	}
	cmd := a.begin("find", u)
	phone := cmd.fs.String("phone", "", "the caller's phone number, in any usual form")
	state := cmd.fs.String("state", "all", "only requests in this state: open, offered, assigned, fulfilled, cancelled, expired or all")
	// A number many share (a partner's office line) can have more than
	// are shown at once, oldest first: the newest, which the caller rings
	// about, are then the ones left out, and the line saying so tells
	// staff to give a larger --limit.
	limit := cmd.fs.Int("limit", maxPageSize, "at most this many")
	pos, err := cmd.parse(args)
	if err != nil {
		return err
	}
	number, err := personPhone(*phone, pos, u.synopsis, "the caller's number")
	if err != nil {
		return err
	}
	st, err := parseState(*state)
	if err != nil {
		return usageErrorf("--state: %v", err)
	}
	if *limit < 1 {
		return usageErrorf("--limit must be at least 1")
	}
	hrs, more, err := a.listRequests(&pb.ListHelpRequestsRequest{RequesterPhone: number, State: st}, *limit)
	if err != nil {
		return err
	}
	// Who took each request: a caller with a weekly need asks for the
	// volunteer who came last time, and staff should not have to open
	// each request in turn to find out. One read per volunteer.
	helpers := map[string]string{}
	if !a.cfg.json {
		for _, hr := range hrs {
			name := hr.AssignedVolunteer
			if _, ok := helpers[name]; ok || name == "" {
				continue
			}
			v, err := a.lookupVolunteer(name)
			if err != nil {
				return err
			}
			helpers[name] = idOf(name) // not theirs to read, or deleted since
			if v != nil {
				helpers[name] = v.GetContact().GetDisplayName()
			}
		}
	}
	return printLimited(a, hrs, more, fmt.Sprintf("No requests from %s.", number), "Request", []string{"ID", "CREATED", "STATE", "NEEDS", "WHEN", "POSTCODE", "NAME", "VOLUNTEER"}, func(hr *pb.HelpRequest) []string {
		return []string{idOf(hr.Name), fmtTS(hr.CreateTime, a.now()), requestStateWords(hr, a.now()), needsWords(hr.Needs), fmtTiming(hr, a.now()),
			hr.GetLocation().GetPostcode(), hr.GetRequester().GetDisplayName(), orDash(helpers[hr.AssignedVolunteer])}
	})
}

// listRequests reads up to limit requests across pages, and reports
// whether more match.
func (a *app) listRequests(req *pb.ListHelpRequestsRequest, limit int) ([]*pb.HelpRequest, bool, error) {
	c, err := a.client()
	if err != nil {
		return nil, false, err
	}
	// One more than limit, to know whether there are more.
	out, _, err := readPages(limit+1, func(size int32, token string) ([]*pb.HelpRequest, string, error) {
		req.PageSize, req.PageToken = size, token
		resp, err := c.HelpRequests.ListHelpRequests(a.ctx, req)
		return resp.GetHelpRequests(), resp.GetNextPageToken(), err
	})
	if err != nil {
		return nil, false, err
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// requestList lists requests near a place.
func (a *app) requestList(args []string) error {
	u := usage{
		synopsis: "doorstep request list [--near POSTCODE] [--state in-hand] [--urgency high]",
		text: "Lists requests at a postcode (AB10 1AB), in a sector (AB10 1) or a district (AB10), by postcode then age;\n" +
			"without --near, everywhere, oldest first.\n" +
			"Requests still in hand (open, offered or assigned) unless --state says otherwise. One whose time is over\n" +
			"says when it ended: \"assigned, ended 11:30\", ring the volunteer to ask whether it was done; \"open, ended\n" +
			"11:30\", nobody can go for it now (the server will mark it expired).",
		examples: []string{
			"doorstep request list",
			"doorstep request list --urgency critical",
			"doorstep request list --near AB10 1AB --urgency high",
			"doorstep request list --near AB10 --state all",
			"doorstep request list --state open,offered --org aberdeen-mutual-aid --json",
		},
	}
	cmd := a.begin("list", u)
	near := cmd.fs.String("near", "", "a postcode, sector or district")
	state := &statesFlag{words: []string{"in-hand"}}
	cmd.fs.Var(state, "state", "the `states` listed, of open, offered, assigned, fulfilled, cancelled and expired, one or several with commas (open,offered) or given again; in-hand for open, offered and assigned; or all")
	urgency := cmd.fs.String("urgency", "all", "only requests at least this urgent: critical; high (high and critical); normal (all but low); or all")
	org := cmd.fs.String("org", "", "only this organisation's requests")
	limit := cmd.fs.Int("limit", 200, "at most this many")
	pos, err := cmd.parse(args)
	if err != nil {
		return err
	}
	// "--state open offered" unquoted, or "request list open": no part
	// of a postcode is a state's name (each has a digit), and taking
	// "offered" for a place listed nothing, or failed on a postcode never
	// meant. The words are sorted one by one: with "--near AB10 1AB"
	// unquoted too, "1AB" is the place's and "offered" a state.
	words, pos := stateWordsApart(pos)
	for _, w := range words {
		_ = state.Set(w) // Set never fails
	}
	place := joinArgs(*near, pos)
	sts, err := parseStates(state.String())
	if err != nil {
		return usageErrorf("--state: %v", err)
	}
	least, err := parseMinUrgency(*urgency)
	if err != nil {
		return usageErrorf("--urgency: %v", err)
	}
	if *limit < 1 {
		return usageErrorf("--limit must be at least 1")
	}
	req := &pb.ListHelpRequestsRequest{Postcode: place, Organisation: *org, MinUrgency: least}
	if len(sts) == 1 {
		req.State = sts[0] // as servers before states understand it
	} else {
		req.States = sts
	}
	hrs, more, err := a.listRequestsAsAsked(req, sts, least, *limit)
	if err != nil {
		return err
	}
	none := fmt.Sprintf("No %s.", listedWords(sts, least))
	if place != "" {
		none = fmt.Sprintf("No %s in %s.", listedWords(sts, least), strings.ToUpper(place))
	}
	now := a.now()
	return printLimited(a, hrs, more, none, "Request", []string{"ID", "STATE", "URGENCY", "NEEDS", "WHEN", "POSTCODE", "STREET"}, func(hr *pb.HelpRequest) []string {
		return []string{idOf(hr.Name), requestStateWords(hr, now), urgencyWord(hr.Urgency), needsWords(hr.Needs), fmtTiming(hr, now),
			hr.GetLocation().GetPostcode(), orDash(hr.GetLocation().GetStreet())}
	})
}

// stateWordsApart parts words into those naming states (open, offered,
// in-hand, "in hand", all...), as parseStates reads them, and the rest,
// in the order given.
func stateWordsApart(words []string) (states, rest []string) {
	for i := 0; i < len(words); i++ {
		w := words[i]
		if strings.EqualFold(w, "in") && i+1 < len(words) && strings.EqualFold(words[i+1], "hand") {
			states = append(states, "in-hand")
			i++
			continue
		}
		if strings.EqualFold(w, "or") || strings.EqualFold(w, "and") {
			// "open or offered": a joining word alone names no state,
			// where parseStates read it as none given, so all of them.
			continue
		}
		if _, err := parseStates(w); err != nil || strings.Trim(w, ", +") == "" {
			rest = append(rest, w)
			continue
		}
		states = append(states, w)
	}
	return states, rest
}

// statesFlag is request list --state: each one given adds its states
// (--state open --state offered), as with commas, where a plain string
// option kept the last alone and left the open requests out unsaid. The
// first one given replaces the default.
type statesFlag struct {
	words []string
	given bool
}

func (f *statesFlag) String() string {
	if f == nil {
		return ""
	}
	return strings.Join(f.words, ",")
}

// Get makes the option read as one of text (flagProblem).
func (f *statesFlag) Get() any { return f.String() }

func (f *statesFlag) Set(s string) error {
	if !f.given {
		f.words, f.given = nil, true
	}
	f.words = append(f.words, s)
	return nil
}

// errFilterDropped: a page held a request outside the states or urgency
// asked for, which only a server from before
// ListHelpRequestsRequest.states and min_urgency gives (it drops them
// unread and lists everything).
var errFilterDropped = errors.New("the server dropped states and min_urgency")

// listRequestsAsAsked is listRequests for request list's states (sts,
// none for any) and least urgency. A server older than states and
// min_urgency lists everything, and a closed request among "those in
// hand" would be taken for work still to do, while refusing left a
// helpline whose doorstep was upgraded first with no plain "request
// list" at all. So the first page holding a request outside the filter
// (an old server's first page usually does: the oldest requests are
// closed) gives the server away, never a version string, and the list is
// read again as an older server can give it (listOneStateAtATime).
func (a *app) listRequestsAsAsked(req *pb.ListHelpRequestsRequest, sts []pb.HelpRequest_State, least pb.Urgency, limit int) ([]*pb.HelpRequest, bool, error) {
	c, err := a.client()
	if err != nil {
		return nil, false, err
	}
	asked := func(hr *pb.HelpRequest) bool {
		return (len(sts) == 0 || slices.Contains(sts, hr.State)) && urgencyAtLeast(hr.Urgency, least)
	}
	out, _, err := readPages(limit+1, func(size int32, token string) ([]*pb.HelpRequest, string, error) {
		req.PageSize, req.PageToken = size, token
		resp, err := c.HelpRequests.ListHelpRequests(a.ctx, req)
		if err == nil && !allOf(resp.GetHelpRequests(), asked) {
			return nil, "", errFilterDropped
		}
		return resp.GetHelpRequests(), resp.GetNextPageToken(), err
	})
	switch {
	case errors.Is(err, errFilterDropped):
		return a.listOneStateAtATime(c, req, sts, asked, limit)
	case err != nil:
		return nil, false, err
	case len(out) > limit:
		return out[:limit], true, nil
	}
	return out, false, nil
}

// listOneStateAtATime lists, from a server older than
// ListHelpRequestsRequest.states and min_urgency, the requests asked for
// as a newer one would. It walks each state of sts in turn with the single
// state such a server honours, keeping the ones urgent enough itself,
// until limit+1 are kept or the state's pages run out, and merges the
// walks in the server's order (by id, which is age; within --near by
// postcode first): the first limit+1 of the whole list are among them, so
// --limit and "more match" stay right. Kept by urgency here, a walk may
// read many pages to keep a few (--state all --urgency critical reads the
// whole history), but a newer server reads as many itself.
func (a *app) listOneStateAtATime(c *client.Client, base *pb.ListHelpRequestsRequest, sts []pb.HelpRequest_State, asked func(*pb.HelpRequest) bool, limit int) ([]*pb.HelpRequest, bool, error) {
	walks := sts
	if len(walks) == 0 {
		walks = []pb.HelpRequest_State{pb.HelpRequest_STATE_UNSPECIFIED} // any state: one walk
	}
	// Kept by urgency here, most of a page may be turned away.
	narrowed := base.MinUrgency != pb.Urgency_URGENCY_UNSPECIFIED
	var all []*pb.HelpRequest
	for _, st := range walks {
		req := proto.CloneOf(base)
		req.State, req.States, req.PageToken = st, nil, ""
		kept, _, err := readPages(limit+1, func(size int32, token string) ([]*pb.HelpRequest, string, error) {
			if narrowed {
				size = maxPageSize // a page sized to what is still wanted would take many more calls
			}
			req.PageSize, req.PageToken = size, token
			resp, err := c.HelpRequests.ListHelpRequests(a.ctx, req)
			return slices.DeleteFunc(resp.GetHelpRequests(), func(hr *pb.HelpRequest) bool { return !asked(hr) }), resp.GetNextPageToken(), err
		})
		if err != nil {
			return nil, false, err
		}
		all = append(all, kept...)
	}
	byPostcode := base.Postcode != ""
	slices.SortStableFunc(all, func(x, y *pb.HelpRequest) int {
		if byPostcode {
			if d := strings.Compare(x.GetLocation().GetPostcode(), y.GetLocation().GetPostcode()); d != 0 {
				return d
			}
		}
		return strings.Compare(idOf(x.Name), idOf(y.Name))
	})
	// A request that changed state between two walks (offered while the
	// open ones were read) is met twice: the later reading stands.
	out := all[:0]
	for i, hr := range all {
		if i+1 < len(all) && all[i+1].Name == hr.Name {
			continue
		}
		out = append(out, hr)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// allOf says whether every one of items is one keep accepts.
func allOf[T any](items []T, keep func(T) bool) bool {
	return !slices.ContainsFunc(items, func(x T) bool { return !keep(x) })
}

// urgencyAtLeast says whether urgency u is at least least, a request
// stored without one counting as normal, as the server counts it.
func urgencyAtLeast(u, least pb.Urgency) bool {
	if u == pb.Urgency_URGENCY_UNSPECIFIED {
		u = pb.Urgency_URGENCY_NORMAL
	}
	return u >= least
}

// listedWords names what request list looked for, as in "No %s.":
// "requests in hand", "open requests of high urgency or more".
func listedWords(sts []pb.HelpRequest_State, least pb.Urgency) string {
	var what string
	switch {
	case len(sts) == 0:
		what = "requests"
	case slices.Equal(sts, client.InHand()):
		what = "requests in hand"
	default:
		words := make([]string, len(sts))
		for i, st := range sts {
			words[i] = stateWord(st)
		}
		what = strings.Join(words, " or ") + " requests"
	}
	switch least {
	case pb.Urgency_URGENCY_UNSPECIFIED:
	case pb.Urgency_URGENCY_CRITICAL:
		what += " of critical urgency"
	default:
		what += " of " + urgencyWord(least) + " urgency or more"
	}
	return what
}

// requestStateWords is a request's state for staff: one still in hand
// whose window or deadline is over says when it ended ("assigned, ended
// 11:30"), as the server judges it (client.RequestEnded). An assigned one
// stays so until someone marks it done, or the server's sweep does some
// days later, and staff are to ring the volunteer meanwhile; an open or
// offered one is marked expired by the next sweep.
func requestStateWords(hr *pb.HelpRequest, now time.Time) string {
	// Still in hand with its time over: assigned, staff ring the
	// volunteer; open or offered, the sweep will mark it expired, and
	// nobody is to be promised for a time gone.
	if slices.Contains(client.InHand(), hr.State) {
		if end, ended := client.RequestEnded(hr, now); ended {
			return stateWord(hr.State) + ", ended " + endedWords(end, now)
		}
	}
	return stateWord(hr.State)
}

// endedWords is a time just gone: the time of day alone when it was
// today, as "11:30", and with the day otherwise.
func endedWords(t, now time.Time) string {
	ty, tm, td := t.In(london).Date()
	ny, nm, nd := now.In(london).Date()
	if ty == ny && tm == nm && td == nd {
		return clockWords(t)
	}
	return fmtTime(t, now)
}

// requestShow prints one request with its offer and volunteer.
func (a *app) requestShow(args []string) error {
	u := usage{
		synopsis: "doorstep request show ID",
		text:     "Shows a request: what is needed, when, where, who asked, its state, the live offer and the volunteer assigned.",
		examples: []string{"doorstep request show 01jq3m5x8v2k4c6e9g0h1j2k3m", "doorstep request show helpRequests/01jq3m5x8v2k4c6e9g0h1j2k3m --json"},
	}
	name, c, err := a.begin("show", u).connectTo(args, "helpRequests", "help request")
	if err != nil {
		return err
	}
	resp, err := c.HelpRequests.GetHelpRequest(a.ctx, &pb.GetHelpRequestRequest{Name: name})
	if err != nil {
		return err
	}
	hr := resp.HelpRequest
	offer, vol, volRow, err := a.holder(hr)
	if err != nil {
		return err
	}
	if a.cfg.json {
		return writeJSONObject(a.stdout, map[string]proto.Message{"help_request": hr, "offer": offer, "volunteer": vol})
	}
	return a.printRequest(a.stdout, hr, offer, volRow)
}

// holder reads the live offer of hr and the volunteer offered or assigned
// it, and the row that names them. A partner's token reads its
// organisation's requests but not offers or volunteers: what it may not
// read is left out, not the whole request.
func (a *app) holder(hr *pb.HelpRequest) (offer *pb.Offer, vol *pb.Volunteer, volRow string, err error) {
	c, err := a.client()
	if err != nil {
		return nil, nil, "", err
	}
	if hr.Offer != "" {
		o, err := c.Matching.GetOffer(a.ctx, &pb.GetOfferRequest{Name: hr.Offer})
		switch {
		case status.Code(err) == codes.PermissionDenied:
		case err != nil:
			return nil, nil, "", err
		default:
			offer = o.Offer
		}
	}
	volName := hr.AssignedVolunteer
	if volName == "" && offer != nil {
		volName = offer.Volunteer
	}
	if volName != "" {
		v, err := c.Volunteers.GetVolunteer(a.ctx, &pb.GetVolunteerRequest{Name: volName})
		switch {
		case status.Code(err) == codes.NotFound:
			volRow = volName + ", record deleted" // since: the request still stands
		case status.Code(err) == codes.PermissionDenied:
			volRow = volName
		case err != nil:
			return nil, nil, "", err
		default:
			vol = v.Volunteer
			volRow = fmt.Sprintf("%s, %s, %s", vol.Name, vol.GetContact().GetDisplayName(), phoneWords(vol.GetContact().GetPhone()))
		}
	}
	return offer, vol, volRow, nil
}

// writeJSONObject prints named messages as one JSON object, keys sorted;
// nil messages are left out.
func writeJSONObject(w io.Writer, fields map[string]proto.Message) error {
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	for _, k := range sortedKeys(fields) {
		m := fields[k]
		if m == nil || !m.ProtoReflect().IsValid() {
			continue
		}
		raw, err := jsonOpts.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode json: %w", err)
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&buf, "%q:", k)
		buf.Write(raw)
	}
	buf.WriteByte('}')
	return writeIndented(w, buf.Bytes())
}

// printRequest shows hr with its live offer and, unless volRow is empty,
// a row for its volunteer (assigned, or offered the request).
func (a *app) printRequest(w io.Writer, hr *pb.HelpRequest, offer *pb.Offer, volRow string) error {
	now := a.now()
	t := a.newFields(w)
	t.row("Request", hr.Name)
	if hr.CloseTime != nil {
		t.row("State", stateWord(hr.State)+" "+fmtTS(hr.CloseTime, now))
	} else {
		t.row("State", requestStateWords(hr, now))
	}
	t.row("Needs", needsWords(hr.Needs))
	t.row("Urgency", urgencyWord(hr.Urgency))
	t.row("When", fmtTiming(hr, now))
	t.row("Address", addressOf(hr.Location))
	t.row("Caller", callerOf(hr, now))
	// The details and circumstances are withheld with the caller: "-"
	// would say there are none.
	details, circumstances := orDash(hr.Details), circumstanceWords(hr.Vulnerability)
	if withheld(hr) {
		details, circumstances = withheldWords, withheldWords
	}
	t.row("Details", details)
	t.row("Skills", orDash(strings.Join(hr.RequiredSkills, ", ")))
	t.row("Circumstances", circumstances)
	t.row("Remote ok", yesNo(hr.RemoteOk))
	t.row("Enters home", yesNo(hr.EntersHome))
	t.row("Organisation", hr.Organisation)
	t.row("External id", orDash(hr.ExternalId))
	t.row("Created", fmtTS(hr.CreateTime, now))
	if offer != nil {
		t.row("Offer", fmt.Sprintf("%s, %s, answer by %s", offer.Name, offerStateWord(offer.State), fmtTS(offer.ExpireTime, now)))
	}
	if volRow != "" {
		role := "Volunteer"
		if hr.AssignedVolunteer == "" {
			role = "Offered to"
		}
		t.row(role, volRow)
	}
	if len(hr.DeclinedVolunteers) > 0 {
		t.row("Not offered again", strings.Join(hr.DeclinedVolunteers, ", ")+" (declined, let an offer lapse, or handed it back)")
	}
	if hasUnknown(hr.ProtoReflect()) {
		t.row("Not shown", notShown)
	}
	return t.flush()
}

// callerOf is the caller's name and number; or when they were removed, by
// an erasure or by the purge some time after the request closed; or that
// they are withheld, as from a volunteer not (or no longer) assigned.
func callerOf(hr *pb.HelpRequest, now time.Time) string {
	switch {
	case hr.PersonalDataRemovedTime != nil:
		return "personal data removed " + fmtTS(hr.PersonalDataRemovedTime, now)
	case withheld(hr):
		return withheldWords
	}
	return hr.GetRequester().GetDisplayName() + ", " + phoneWords(hr.GetRequester().GetPhone())
}

const withheldWords = "withheld: shown only to its volunteer, while assigned"

// withheld says whether hr is the view without its personal fields (the
// caller, details, house and circumstances go together), as a volunteer
// not (or no longer) assigned reads it.
func withheld(hr *pb.HelpRequest) bool {
	return hr.Requester == nil && hr.PersonalDataRemovedTime == nil
}

func addressOf(l *pb.Location) string {
	var parts []string
	parts = append(parts, l.GetAddressLines()...)
	if s := l.GetStreet(); s != "" {
		parts = append(parts, s)
	}
	parts = append(parts, l.GetPostcode())
	return strings.Join(parts, ", ")
}

// phoneWords shows a stored E.164 UK number in the groups it is read out
// in ("07700 900123", "0131 496 0000"); other countries' numbers stay as
// stored.
func phoneWords(e164 string) string {
	national, ok := strings.CutPrefix(e164, "+44")
	if !ok {
		return e164
	}
	national = "0" + national
	switch {
	case len(national) == 11 && strings.HasPrefix(national, "02"):
		return national[:3] + " " + national[3:7] + " " + national[7:]
	case len(national) == 11 && (strings.HasPrefix(national, "011") || (strings.HasPrefix(national, "01") && national[3] == '1') ||
		strings.HasPrefix(national, "03") || strings.HasPrefix(national, "08") || strings.HasPrefix(national, "09")):
		// The large cities' four-digit codes (0113 to 0191: Leeds,
		// Edinburgh, Glasgow...), and the 03, 08 and 09 numbers of
		// councils, charities and helplines.
		return national[:4] + " " + national[4:7] + " " + national[7:]
	case (len(national) == 11 || len(national) == 10) && strings.HasPrefix(national, "01") && slices.Contains(sixDigitCodes, national[:6]):
		// Langholm's 013873 within Dumfries's 01387, and the like: the
		// number after the code is shorter, and said on its own.
		return national[:6] + " " + national[6:]
	case len(national) == 11:
		return national[:5] + " " + national[5:]
	case len(national) == 10 && strings.HasPrefix(national, "08"):
		return national[:4] + " " + national[4:] // 0800 123456
	case len(national) == 10 && strings.HasPrefix(national, "01"):
		return national[:5] + " " + national[5:] // 01204 12345: some forty areas keep numbers a digit short
	}
	return national
}

// sixDigitCodes are the area codes of six digits, each a small place's
// within its town's code of five (Ofcom's numbering plan).
var sixDigitCodes = []string{"013873", "015242", "015394", "015395", "015396", "016973", "016974", "016977", "017683", "017684", "017687", "019467"}

// requestCandidates ranks who could help and says why others cannot.
func (a *app) requestCandidates(args []string) error {
	u := usage{
		synopsis: "doorstep request candidates ID",
		text:     "Ranks the volunteers who could help with an open request, best first, each with a sentence saying why,\nand counts those nearby who cannot (\"2 nearby lack driver\").",
		examples: []string{"doorstep request candidates 01jq3m5x8v2k4c6e9g0h1j2k3m", "doorstep request candidates 01jq3m5x8v2k4c6e9g0h1j2k3m --limit 5"},
	}
	cmd := a.begin("candidates", u)
	limit := cmd.fs.Int("limit", 10, "at most this many candidates (1-100)")
	name, err := cmd.record(args, "helpRequests", "help request")
	if err != nil {
		return err
	}
	if *limit < 1 || *limit > 100 {
		return usageErrorf("--limit must be from 1 to 100")
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	// Whom to offer it to depends on where the request stands.
	got, err := c.HelpRequests.GetHelpRequest(a.ctx, &pb.GetHelpRequestRequest{Name: name})
	if err != nil {
		return err
	}
	hr := got.HelpRequest
	var offeredTo string // the volunteer holding the live offer, if any
	var preface string   // said before the others, once the server has ranked them
	switch hr.State {
	case pb.HelpRequest_STATE_FULFILLED, pb.HelpRequest_STATE_CANCELLED, pb.HelpRequest_STATE_EXPIRED:
		return &cliError{code: exitFailed, msg: fmt.Sprintf("%s is %s: it is closed, so nobody can be offered it. Take a new request if the caller still needs help.", hr.Name, stateWord(hr.State))}
	case pb.HelpRequest_STATE_ASSIGNED:
		if a.cfg.json {
			break // scripts get the ranking as before, and the state from request show
		}
		label, err := a.volunteerLabel(hr.AssignedVolunteer, false)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s is assigned to %s: nobody else is needed. If they cannot go, hand it back with doorstep request release %s.\n", hr.Name, label, idOf(hr.Name))
		return nil
	case pb.HelpRequest_STATE_OFFERED:
		offer, err := a.readOffer(hr.Offer)
		if err != nil {
			return err
		}
		offeredTo = offer.GetVolunteer()
		if !a.cfg.json {
			label := "a volunteer"
			if offeredTo != "" {
				if label, err = a.volunteerLabel(offeredTo, false); err != nil {
					return err
				}
			}
			until, at := "", ""
			if t := offer.GetExpireTime(); t != nil {
				at = clockWords(t.AsTime())
				if d := t.AsTime().In(london); d.YearDay() != a.now().In(london).YearDay() || d.Year() != a.now().In(london).Year() {
					at = fmtTS(t, a.now())
				}
				until = " until " + at
			}
			if t := offer.GetExpireTime(); t != nil && !t.AsTime().After(a.now()) {
				// The lease has run out and the sweep has yet to come to
				// it: "offered to Callum until 09:30" read at 09:40 has
				// staff wait on an answer that can no longer be given.
				preface = fmt.Sprintf("%s was offered to %s, who did not answer by %s: it goes back to open shortly, and is not offered to them again. These could help:\n\n", hr.Name, label, at)
			} else {
				preface = fmt.Sprintf("%s is offered to %s%s. If they decline, these could help:\n\n", hr.Name, label, until)
			}
		}
	}
	resp, err := c.Matching.FindCandidates(a.ctx, &pb.FindCandidatesRequest{HelpRequest: name, PageSize: int32(*limit)})
	if client.Reason(err) == server.ReasonRequestEnded {
		// Still open or offered until the sweep marks it expired: the
		// server refuses to rank it, and an offer of it, for a time gone.
		// Its clock judges, not this computer's, which may be a minute
		// or two either side of it.
		end, _ := client.RequestEnded(hr, a.now())
		return &cliError{code: exitFailed, msg: fmt.Sprintf("%s was for a time that has passed (it ended %s): nobody can be offered it now, and it will be marked expired. Take a new request if the caller still needs help.", hr.Name, endedWords(end, a.now()))}
	}
	if err != nil {
		return err
	}
	fmt.Fprint(a.stdout, preface)
	if offeredTo != "" {
		// The volunteer holding the offer is not one of the others.
		resp.Candidates = slices.DeleteFunc(resp.Candidates, func(c *pb.Candidate) bool { return c.Volunteer == offeredTo })
	}
	if a.cfg.json {
		return writeJSON(a.stdout, resp)
	}
	if v := resp.VolunteerComing; v != "" && v != offeredTo {
		// One volunteer to one door: the helpline should know before
		// offering this to someone else.
		label, _ := a.volunteerLabel(v, false)
		canTake := slices.ContainsFunc(resp.Candidates, func(c *pb.Candidate) bool { return c.Volunteer == v })
		switch {
		case canTake:
			fmt.Fprintf(a.stdout, "%s is already going to this caller's door then, for another of their requests: offer this one to them too, so that only one volunteer comes to the door.\n\n", label)
		case len(resp.Candidates) < *limit:
			// Every volunteer who could take it is listed, and they are
			// not: an offer to them would be refused, and one to anyone
			// else is refused unless the caller agrees to two visitors.
			fmt.Fprintf(a.stdout, "%s is already going to this caller's door then, for another of their requests, but cannot take this one too (why is below). "+
				"If the caller agrees to a second visitor, offer it to one of these with: doorstep offer make %s VOLUNTEER --second-volunteer\n\n", label, idOf(name))
		default:
			fmt.Fprintf(a.stdout, "%s is already going to this caller's door then, for another of their requests: offer this one to them too if they can take it, so that only one volunteer comes to the door. "+
				"If they cannot and the caller agrees to a second visitor, offer it to one of these with --second-volunteer.\n\n", label)
		}
	}
	if len(resp.Candidates) == 0 {
		if offeredTo != "" {
			fmt.Fprintln(a.stdout, "Nobody else can take this request now.")
		} else {
			fmt.Fprintln(a.stdout, "Nobody can take this request now.")
		}
	} else {
		t := a.newList(a.stdout, "Candidate")
		t.row("#", "VOLUNTEER", "NAME", "DISTANCE", "WHY")
		for i, cand := range resp.Candidates {
			dist := fmtDistance(cand.DistanceMetres)
			t.row(fmt.Sprint(i+1), idOf(cand.Volunteer), cand.DisplayName, dist, whyBeyond(cand.Explanation, dist))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if resp.Summary != "" {
		fmt.Fprintf(a.stdout, "\nWhy nobody else: %s\n", sentence(resp.Summary))
	}
	if len(resp.Exclusions) > 0 {
		ex := append([]*pb.Exclusion(nil), resp.Exclusions...)
		sort.SliceStable(ex, func(i, j int) bool { return ex[i].Count > ex[j].Count })
		t := a.newList(a.stdout, "Left out")
		t.row("REASON", "DETAIL", "COUNT")
		for _, x := range ex {
			t.row(lowerWords(x.Reason, ""), orDash(x.Detail), fmt.Sprint(x.Count))
		}
		return t.flush()
	}
	if len(resp.Candidates) == 0 && resp.Summary == "" { // an older server, which did not say why
		fmt.Fprintln(a.stdout, "No volunteer lives within reach.")
	}
	return nil
}

// whyBeyond is a candidate's sentence less the distance it opens with,
// which the table already shows in its own column: read aloud twice it
// only slows the call down.
func whyBeyond(explanation, dist string) string {
	rest, ok := strings.CutPrefix(explanation, dist)
	if !ok {
		return explanation
	}
	if rest == "" {
		return "-"
	}
	if after, ok := strings.CutPrefix(rest, ", "); ok {
		return after
	}
	return explanation
}

// requestCancel and requestFulfil close a request.
func (a *app) requestCancel(args []string) error {
	return a.requestStep(args, usage{
		synopsis: "doorstep request cancel ID",
		text:     "Cancels a request that is open, offered or assigned: its offer is withdrawn or its volunteer freed.",
		examples: []string{"doorstep request cancel 01jq3m5x8v2k4c6e9g0h1j2k3m"},
	}, "cancel", func(ctx context.Context, c pbMatching, name string) (*pb.HelpRequest, error) {
		r, err := c.CancelHelpRequest(ctx, &pb.CancelHelpRequestRequest{Name: name})
		return r.GetHelpRequest(), err
	})
}

// requestRelease hands back an assigned request whose volunteer can no
// longer go: it is open again, for someone else.
func (a *app) requestRelease(args []string) error {
	return a.requestStep(args, usage{
		synopsis: "doorstep request release ID",
		text: "Hands back an assigned request whose volunteer can no longer do it (they are ill, their car broke down):\n" +
			"it is open again, the volunteer is freed and is never offered it again. Then find someone else.",
		examples: []string{"doorstep request release 01jq3m5x8v2k4c6e9g0h1j2k3m"},
	}, "release", func(ctx context.Context, c pbMatching, name string) (*pb.HelpRequest, error) {
		r, err := c.ReleaseHelpRequest(ctx, &pb.ReleaseHelpRequestRequest{Name: name})
		return r.GetHelpRequest(), err
	})
}

func (a *app) requestFulfil(args []string) error {
	return a.requestStep(args, usage{
		synopsis: "doorstep request fulfil ID",
		text:     "Marks an assigned request as done, freeing the volunteer for the next one.",
		examples: []string{"doorstep request fulfil 01jq3m5x8v2k4c6e9g0h1j2k3m"},
	}, "fulfil", func(ctx context.Context, c pbMatching, name string) (*pb.HelpRequest, error) {
		r, err := c.CompleteHelpRequest(ctx, &pb.CompleteHelpRequestRequest{Name: name})
		return r.GetHelpRequest(), err
	})
}

type pbMatching = pb.MatchingServiceClient

// requestSteps are the steps requestStep takes: what each does, in the
// words of its refusal and its second ask, and the state it leaves.
var requestSteps = map[string]struct {
	words  string
	leaves pb.HelpRequest_State
}{
	"cancel":  {"cancelled", pb.HelpRequest_STATE_CANCELLED},
	"release": {"released", pb.HelpRequest_STATE_OPEN},
	"fulfil":  {"marked done", pb.HelpRequest_STATE_FULFILLED},
}

func (a *app) requestStep(args []string, u usage, name string, step func(context.Context, pbMatching, string) (*pb.HelpRequest, error)) error {
	hrName, c, err := a.begin(name, u).connectTo(args, "helpRequests", "help request")
	if err != nil {
		return err
	}
	// Asked again after a timeout: on a slow disk the step whose answer
	// was lost is made all the same, and staff who tried again were
	// refused ("is cancelled already", or for a release "is open: nobody
	// has it to hand back"), their own step read as a failure. The second
	// ask waits for that commit and is refused in the state the step
	// leaves, which is what was wanted.
	asked, does := 0, requestSteps[name]
	hr, err := askAgainAfterTimeout(a, "the request is "+does.words, "",
		func(ctx context.Context) (*pb.HelpRequest, error) {
			asked++
			return step(ctx, c.Matching, hrName)
		})
	if state, noun, ok := wrongState(err); ok && noun == "help request" && asked > 1 && state == stateWord(does.leaves) {
		// As long as the second ask: on a slow disk this read is a commit
		// too (it is audited), which --timeout did not wait for.
		ctx, cancel := context.WithTimeout(a.ctx, max(a.cfg.timeout, defaultTimeout))
		got, rerr := c.HelpRequests.GetHelpRequest(ctx, &pb.GetHelpRequestRequest{Name: hrName})
		cancel()
		if rerr != nil {
			return a.stepDoneUnread(hrName, name, does.leaves)
		}
		hr, err = got.HelpRequest, nil
	}
	if state, noun, ok := wrongState(err); ok && noun == "help request" {
		already := stateWord(does.leaves)
		if name == "release" {
			already = "" // open is where a release leaves it, not where it began
		}
		return stepRefused(does.words, hrName, state, already)
	}
	if err != nil {
		return err
	}
	if a.cfg.json {
		return writeJSON(a.stdout, hr)
	}
	if name == "release" {
		// The volunteer released joined the request's declined last. The
		// release stands whatever the reads after it meet: a name not
		// read is said by the record's id, volunteerLabel's answer then.
		who := "the volunteer"
		if n := len(hr.DeclinedVolunteers); n > 0 {
			who, _ = a.volunteerLabel(hr.DeclinedVolunteers[n-1], false)
		}
		// A job handed back after its time (it was never done) is for
		// nobody now: the sweep marks it expired. The server refuses to
		// rank anyone for it then, and its clock judges, not this
		// computer's, which may be a minute or two either side of it.
		fc, err := c.Matching.FindCandidates(a.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name, PageSize: 1})
		ended := client.Reason(err) == server.ReasonRequestEnded
		if err != nil && !ended {
			// The server did not judge (a token that may not ask, a
			// server restarting after the release): this computer's
			// clock is all there is to judge by.
			_, ended = client.RequestEnded(hr, a.now())
		}
		// Only a volunteer may hand a job back but not ask the server to
		// rank anyone for it: their own, whose token runs none of the
		// staff's commands that follow.
		own := status.Code(err) == codes.PermissionDenied
		switch {
		case own && ended:
			fmt.Fprintf(a.stdout, "%s is handed back, but its time has passed, so nobody else can take it: it will be marked expired. "+
				"If the caller still needs help, tell the coordinators.\n", hr.Name)
			return nil
		case own:
			fmt.Fprintf(a.stdout, "%s is handed back, and you will not be offered it again: the coordinators will find someone else for it.\n", hr.Name)
			return nil
		case ended:
			fmt.Fprintf(a.stdout, "%s is released from %s, but its time has passed, so nobody else can take it: it will be marked expired. "+
				"If the caller still needs help, take a new request (doorstep request new).\n", hr.Name, who)
			return nil
		}
		// A volunteer who hands back one of a caller's requests at one
		// door and time, keeping another, still goes to that door: nobody
		// else is sent there without the caller's leave, and dispatch
		// leaves it for ever waiting for them.
		if err == nil && fc.VolunteerComing != "" && slices.Contains(hr.DeclinedVolunteers, fc.VolunteerComing) {
			coming, _ := a.volunteerLabel(fc.VolunteerComing, false)
			fmt.Fprintf(a.stdout, "%s is open again, and %s will not be offered it again. %s is still going to this caller's door then, for another of their requests, "+
				"so dispatch will not send anyone else: if the caller agrees to a second visitor, offer it with doorstep offer make %s VOLUNTEER --second-volunteer "+
				"(doorstep request candidates %s lists who could).\n", hr.Name, who, coming, idOf(hr.Name), idOf(hr.Name))
			return nil
		}
		fmt.Fprintf(a.stdout, "%s is open again, and %s will not be offered it again: find someone else with doorstep request candidates %s, or doorstep dispatch.\n",
			hr.Name, who, idOf(hr.Name))
		return nil
	}
	fmt.Fprintf(a.stdout, "%s is now %s.\n", hr.Name, stateWord(hr.State))
	// Whom to tell is whom the cancel itself freed, as its answer names
	// them (a cancelled request keeps its last volunteer; a hand-back
	// clears it): a read before the cancel misses a volunteer who said
	// yes, in their app or to another worker, just before it landed.
	if assigned := hr.AssignedVolunteer; assigned != "" && name == "cancel" && hr.State == pb.HelpRequest_STATE_CANCELLED {
		v, err := a.lookupVolunteer(assigned)
		switch {
		case err != nil:
			// Cancelled all the same: say so, and not that it failed.
			fmt.Fprintf(a.stdout, "Tell the volunteer (%s) not to come.\n", assigned)
		case v != nil:
			fmt.Fprintf(a.stdout, "Tell %s (%s) not to come: they are free for other requests.\n", v.GetContact().GetDisplayName(), phoneWords(v.GetContact().GetPhone()))
		}
	}
	return nil
}

// stepDoneUnread says that a step asked again is done, as the server's
// refusal in the state it leaves said, when the request could not then be
// read back (the server stopping): done, not refused, and where to look
// for what the read would have told.
func (a *app) stepDoneUnread(hrName, step string, leaves pb.HelpRequest_State) error {
	if a.cfg.json {
		return writeJSON(a.stdout, &pb.HelpRequest{Name: hrName, State: leaves})
	}
	switch step {
	case "cancel":
		fmt.Fprintf(a.stdout, "%s is now cancelled. Whom to tell could not be read: doorstep request show %s names the volunteer, if one was going.\n", hrName, idOf(hrName))
	case "release":
		fmt.Fprintf(a.stdout, "%s is handed back: it is open again.\n", hrName)
	default:
		fmt.Fprintf(a.stdout, "%s is now fulfilled.\n", hrName)
	}
	return nil
}

// lookupVolunteer reads a volunteer; nil, without an error, when the
// token may not read volunteers or the record is gone, for commands that
// only name them.
func (a *app) lookupVolunteer(name string) (*pb.Volunteer, error) {
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	resp, err := c.Volunteers.GetVolunteer(a.ctx, &pb.GetVolunteerRequest{Name: name})
	switch status.Code(err) {
	case codes.OK:
		return resp.Volunteer, nil
	case codes.PermissionDenied, codes.NotFound:
		return nil, nil
	}
	return nil, err
}

// volunteerLabel names a volunteer for a sentence: "Callum Reid
// (volunteers/01...)", with their phone when withPhone; the resource name
// alone when the token may not read volunteers.
func (a *app) volunteerLabel(name string, withPhone bool) (string, error) {
	v, err := a.lookupVolunteer(name)
	if err != nil || v == nil {
		return name, err
	}
	if withPhone {
		return fmt.Sprintf("%s, %s (%s)", v.GetContact().GetDisplayName(), phoneWords(v.GetContact().GetPhone()), name), nil
	}
	return fmt.Sprintf("%s (%s)", v.GetContact().GetDisplayName(), name), nil
}

// readOffer reads an offer; nil, without an error, when the token may not
// read offers or it is gone.
func (a *app) readOffer(name string) (*pb.Offer, error) {
	if name == "" {
		return nil, nil
	}
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	resp, err := c.Matching.GetOffer(a.ctx, &pb.GetOfferRequest{Name: name})
	switch status.Code(err) {
	case codes.OK:
		return resp.Offer, nil
	case codes.PermissionDenied, codes.NotFound:
		return nil, nil
	}
	return nil, err
}
