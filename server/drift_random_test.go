package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// TestEngineDriftRandom drives a live server through a long random run of
// every kind of write the API takes, from staff, a partner organisation
// and volunteers' own tokens: volunteers created, edited (skills, hours,
// away dates, time zone, vetting, reach, home, capacity, pause), deleted
// and erased; requests created one at a time and in batches, edited
// (time, needs, skills, place) while open, offered or assigned, deleted
// and cancelled; offers made by hand and by dispatch, accepted, declined,
// lapsed, completed and released; sweeps as the clock moves on by minutes
// and days; some of them refused (bad fields, stale etags, wrong state,
// another's job) and some racing each other. Every few steps the live
// server's candidates for every request (order, scores, explanations and
// the counts of who was left out, and why) are compared with those of a
// server started afresh on the same file, as a restart would start it;
// and now and then a dispatch run on the live server with one run on a
// copy of its file opened by a fresh server. The engine is kept up to date
// by each write rather than rebuilt, so any write that forgets to tell it,
// or tells it something other than what was stored, shows here.
//
// DRIFT_SEED sets the first seed, DRIFT_SEEDS how many seeds run, and
// DRIFT_STEPS the steps of each.
func TestEngineDriftRandom(t *testing.T) {
	seed, seeds, steps := uint64(1), 2, 240
	if s := os.Getenv("DRIFT_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	if s := os.Getenv("DRIFT_SEEDS"); s != "" {
		seeds, _ = strconv.Atoi(s)
	}
	if s := os.Getenv("DRIFT_STEPS"); s != "" {
		steps, _ = strconv.Atoi(s)
	}
	if testing.Short() {
		seeds, steps = 1, 80
	}
	for i := range uint64(seeds) {
		t.Run(fmt.Sprint("seed", seed+i), func(t *testing.T) { runDrift(t, seed+i, steps) })
	}
}

var (
	driftSkills  = []string{"welsh", "driver", "dog-friendly", "bsl", "first-aid"}
	driftStreets = []string{"Union Street", "Holburn Street", "Crown Street", ""}
	driftZones   = []string{"", "", "", "Europe/London", "Europe/Dublin", "America/New_York"}
	driftNeeds   = []pb.Need{pb.Need_NEED_GROCERY_SHOPPING, pb.Need_NEED_PRESCRIPTION_COLLECTION, pb.Need_NEED_HOT_MEAL,
		pb.Need_NEED_BEFRIENDING_CALL, pb.Need_NEED_DOG_WALKING, pb.Need_NEED_TRANSPORT, pb.Need_NEED_ERRANDS}
	driftNames = []string{"Ailsa", "Bruce", "Catriona", "Dougal", "Eilidh", "Fergus", "Gregor", "Heather", "Isla", "Jamie"}
)

// driftPhones are shared by requesters and volunteers, so that callers
// ask more than once (continuity, one door), a volunteer asks for help
// themselves (own records), and an erasure takes both.
func driftPhone(i int) string { return fmt.Sprintf("07700 900%03d", 200+i) }

type driftClients struct {
	hr    pb.HelpRequestServiceClient
	vol   pb.VolunteerServiceClient
	match pb.MatchingServiceClient
}

type drift struct {
	t       *testing.T
	h       *harness
	clock   *testClock
	opts    []server.Option
	admin   pb.AdminServiceClient
	staff   driftClients
	partner driftClients

	mu     sync.Mutex // guards what follows
	vols   []string
	reqs   []string
	volTok map[string]driftClients
	log    []string
	ext    int
}

func (d *drift) note(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.log = append(d.log, fmt.Sprintf(format, args...))
}

func (d *drift) pick(rng *rand.Rand, names *[]string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(*names) == 0 {
		return ""
	}
	// Mostly the newest, which are the ones still in play.
	n := len(*names)
	return (*names)[n-1-rng.IntN(min(n, 25))]
}

func (d *drift) add(names *[]string, name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	*names = append(*names, name)
}

// asVolunteer is a client calling with the volunteer's own token.
func (d *drift) asVolunteer(name string) driftClients {
	d.mu.Lock()
	c, ok := d.volTok[name]
	d.mu.Unlock()
	if ok {
		return c
	}
	resp, err := d.admin.CreateToken(d.h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "app", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: name}})
	if err != nil {
		return d.staff // deleted meanwhile: staff make the call instead
	}
	conn := d.h.as(resp.Secret)
	c = driftClients{pb.NewHelpRequestServiceClient(conn), pb.NewVolunteerServiceClient(conn), pb.NewMatchingServiceClient(conn)}
	d.mu.Lock()
	d.volTok[name] = c
	d.mu.Unlock()
	return c
}

func (d *drift) date(days int) *pb.Date {
	y, m, dd := d.clock.now().AddDate(0, 0, days).Date()
	return &pb.Date{Year: int32(y), Month: int32(m), Day: int32(dd)}
}

func (d *drift) volunteer(rng *rand.Rand) *pb.Volunteer {
	v := matchVolunteer(driftNames[rng.IntN(len(driftNames))], livePostcodes[rng.IntN(len(livePostcodes))])
	v.Contact.Phone = driftPhone(rng.IntN(12))
	v.Home.Street = driftStreets[rng.IntN(len(driftStreets))]
	v.Capacity = int32(1 + rng.IntN(3))
	v.TravelMode = pb.TravelMode(1 + rng.IntN(3))
	if rng.IntN(3) == 0 {
		v.MaxDistanceMetres = []int32{100, 300, 2000}[rng.IntN(3)]
	}
	for _, s := range driftSkills {
		if rng.IntN(3) == 0 {
			v.Skills = append(v.Skills, s)
		}
	}
	switch rng.IntN(4) {
	case 0:
	case 1:
		v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC}
	default:
		v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: d.date(rng.IntN(6))}
	}
	v.Availability = d.availability(rng)
	return v
}

func (d *drift) availability(rng *rand.Rand) *pb.Availability {
	a := &pb.Availability{TimeZone: driftZones[rng.IntN(len(driftZones))]}
	if rng.IntN(2) == 0 {
		a.Weekly = matchVolunteer("", "").Availability.Weekly
	} else {
		for range 1 + rng.IntN(4) {
			from := rng.IntN(22)
			a.Weekly = append(a.Weekly, &pb.AvailabilitySlot{Day: pb.DayOfWeek(1 + rng.IntN(7)),
				StartTime: &pb.TimeOfDay{Hours: int32(from), Minutes: int32(30 * rng.IntN(2))},
				EndTime:   &pb.TimeOfDay{Hours: int32(from + 2)}})
		}
	}
	if rng.IntN(3) == 0 {
		from := rng.IntN(4)
		a.Away = append(a.Away, &pb.DateRange{StartDate: d.date(from), EndDate: d.date(from + rng.IntN(3))})
	}
	return a
}

func (d *drift) request(rng *rand.Rand) *pb.HelpRequest {
	return shopping(func(r *pb.HelpRequest) {
		r.Needs = d.needs(rng)
		for _, s := range append(slices.Clone(driftSkills), "makaton") {
			if rng.IntN(8) == 0 {
				r.RequiredSkills = append(r.RequiredSkills, s)
			}
		}
		r.Location.Postcode = livePostcodes[rng.IntN(len(livePostcodes))]
		r.Location.Street = driftStreets[rng.IntN(3)]
		r.Requester.Phone = driftPhone(rng.IntN(12))
		r.Urgency = pb.Urgency(1 + rng.IntN(4))
		r.EntersHome = rng.IntN(5) == 0
		r.RemoteOk = !r.EntersHome && slices.Equal(r.Needs, []pb.Need{pb.Need_NEED_BEFRIENDING_CALL})
		r.Timing = d.timing(rng)
	})
}

func (d *drift) needs(rng *rand.Rand) []pb.Need {
	n := []pb.Need{driftNeeds[rng.IntN(len(driftNeeds))]}
	if rng.IntN(3) == 0 {
		if x := driftNeeds[rng.IntN(len(driftNeeds))]; x != n[0] {
			n = append(n, x)
		}
	}
	return n
}

func (d *drift) timing(rng *rand.Rand) *pb.HelpRequest_Window {
	start := d.clock.now().Truncate(time.Hour).Add(time.Duration(1+rng.IntN(60)) * time.Hour)
	if rng.IntN(10) == 0 {
		start = d.clock.now().Add(-time.Hour) // in the past: refused
	}
	return &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start),
		EndTime: timestamppb.New(start.Add(time.Duration(1+rng.IntN(4)) * time.Hour))}}
}

// etag is the etag an edit sends: none, the current one, or a stale one.
func etag(rng *rand.Rand, cur string) string {
	switch rng.IntN(4) {
	case 0, 1:
		return ""
	case 2:
		return cur
	}
	n, _ := strconv.Atoi(cur)
	return strconv.Itoa(max(1, n-1))
}

// pendingOffer is a random pending offer, or nil.
func (d *drift) pendingOffer(rng *rand.Rand) *pb.Offer {
	resp, err := d.staff.match.ListOffers(d.h.ctx, &pb.ListOffersRequest{State: pb.Offer_STATE_PENDING, PageSize: 200})
	if err != nil || len(resp.Offers) == 0 {
		return nil
	}
	return resp.Offers[rng.IntN(len(resp.Offers))]
}

// assigned is a random assigned request and its volunteer, or "".
func (d *drift) assigned(rng *rand.Rand) (string, string) {
	resp, err := d.staff.match.ListOffers(d.h.ctx, &pb.ListOffersRequest{State: pb.Offer_STATE_ACCEPTED, Live: true, PageSize: 200})
	if err != nil || len(resp.Offers) == 0 {
		return "", ""
	}
	o := resp.Offers[rng.IntN(len(resp.Offers))]
	return o.HelpRequest, o.Volunteer
}

// caller is staff, the partner (for requests, which are all its
// organisation's), or (when vol is given) the volunteer.
func (d *drift) caller(rng *rand.Rand, vol string, partner bool) (driftClients, string) {
	switch k := rng.IntN(6); {
	case k < 2 && vol != "":
		return d.asVolunteer(vol), "volunteer"
	case k < 3 && partner:
		return d.partner, "partner"
	}
	return d.staff, "staff"
}

// step makes one random write (or a few at once).
func (d *drift) step(rng *rand.Rand, i int, burst bool) {
	ctx := d.h.ctx
	var err error
	var what string
	defer func() { d.note("%d %s: %v", i, what, status.Code(err)) }()
	switch op := rng.IntN(100); {
	case op < 8:
		c, who := d.caller(rng, "", false)
		v := d.volunteer(rng)
		if rng.IntN(12) == 0 {
			v.Home.Postcode = "ZZ99 9ZZ" // unknown: refused
		}
		what = "create volunteer by " + who
		var resp *pb.CreateVolunteerResponse
		if resp, err = c.vol.CreateVolunteer(ctx, &pb.CreateVolunteerRequest{Volunteer: v}); err == nil {
			d.add(&d.vols, resp.Volunteer.Name)
			what += " " + resp.Volunteer.Name
		}
	case op < 24:
		name := d.pick(rng, &d.vols)
		c, who := d.caller(rng, name, false)
		cur, gerr := d.staff.vol.GetVolunteer(ctx, &pb.GetVolunteerRequest{Name: name})
		if gerr != nil {
			what, err = "update volunteer (gone)", gerr
			return
		}
		src := d.volunteer(rng)
		src.Name, src.Etag = name, etag(rng, cur.Volunteer.Etag)
		src.Paused = rng.IntN(3) == 0
		src.Capacity = int32(rng.IntN(4)) // 0 is refused
		var paths []string
		for _, p := range []string{"paused", "capacity", "skills", "availability", "availability.away", "availability.time_zone", "vetting",
			"max_distance_metres", "travel_mode", "home.postcode", "home.street", "contact.display_name"} {
			if rng.IntN(4) == 0 {
				paths = append(paths, p)
			}
		}
		if len(paths) == 0 {
			paths = []string{"paused"}
		}
		if rng.IntN(6) == 0 { // a door placed on a map, near the postcode's centre
			src.Home.LatLng = &pb.LatLng{Latitude: 57.1455 + float64(rng.IntN(40))/10000, Longitude: -2.0985 + float64(rng.IntN(40))/10000}
			paths = append(paths, "home.lat_lng")
		}
		what = fmt.Sprintf("update %s by %s %v etag %q", name, who, paths, src.Etag)
		_, err = c.vol.UpdateVolunteer(ctx, &pb.UpdateVolunteerRequest{Volunteer: src, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
	case op < 27:
		name := d.pick(rng, &d.vols)
		cur, gerr := d.staff.vol.GetVolunteer(ctx, &pb.GetVolunteerRequest{Name: name})
		e := ""
		if gerr == nil {
			e = etag(rng, cur.Volunteer.Etag)
		}
		what = fmt.Sprintf("delete %s etag %q", name, e)
		_, err = d.staff.vol.DeleteVolunteer(ctx, &pb.DeleteVolunteerRequest{Name: name, Etag: e})
	case op < 37:
		c, who := d.caller(rng, "", true)
		what = "create request by " + who
		var resp *pb.CreateHelpRequestResponse
		if resp, err = c.hr.CreateHelpRequest(ctx, &pb.CreateHelpRequestRequest{HelpRequest: d.request(rng)}); err == nil {
			d.add(&d.reqs, resp.HelpRequest.Name)
			what += " " + resp.HelpRequest.Name
		}
	case op < 40:
		var rows []*pb.HelpRequest
		for range 1 + rng.IntN(3) {
			r := d.request(rng)
			d.mu.Lock()
			d.ext++
			r.ExternalId = fmt.Sprint("case-", d.ext-rng.IntN(2)) // some repeat
			d.mu.Unlock()
			rows = append(rows, r)
		}
		c, who := d.caller(rng, "", true)
		what = "batch create by " + who
		var resp *pb.BatchCreateHelpRequestsResponse
		if resp, err = c.hr.BatchCreateHelpRequests(ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: rows}); err == nil {
			for _, r := range resp.Results {
				if r.HelpRequest != nil && !r.Existing {
					d.add(&d.reqs, r.HelpRequest.Name)
				}
			}
		}
	case op < 52:
		name := d.pick(rng, &d.reqs)
		cur, gerr := d.staff.hr.GetHelpRequest(ctx, &pb.GetHelpRequestRequest{Name: name})
		if gerr != nil {
			what, err = "update request (gone)", gerr
			return
		}
		src := d.request(rng)
		src.Name, src.Etag = name, etag(rng, cur.HelpRequest.Etag)
		var paths []string
		for _, p := range []string{"window", "needs", "required_skills", "location.postcode", "location.street", "urgency", "enters_home", "remote_ok", "details"} {
			if rng.IntN(4) == 0 {
				paths = append(paths, p)
			}
		}
		if len(paths) == 0 {
			paths = []string{"window"}
		}
		c, who := d.caller(rng, "", true)
		what = fmt.Sprintf("update %s (%v) by %s %v etag %q", name, cur.HelpRequest.State, who, paths, src.Etag)
		_, err = c.hr.UpdateHelpRequest(ctx, &pb.UpdateHelpRequestRequest{HelpRequest: src, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
	case op < 54:
		name := d.pick(rng, &d.reqs)
		what = "delete " + name
		_, err = d.staff.hr.DeleteHelpRequest(ctx, &pb.DeleteHelpRequestRequest{Name: name})
	case op < 62:
		hr := d.pick(rng, &d.reqs)
		c, who := d.caller(rng, "", false)
		what = "offer best for " + hr + " by " + who
		resp, ferr := c.match.FindCandidates(ctx, &pb.FindCandidatesRequest{HelpRequest: hr, PageSize: 3})
		if err = ferr; err == nil && len(resp.Candidates) > 0 {
			v := resp.Candidates[rng.IntN(len(resp.Candidates))].Volunteer
			what += " to " + v
			_, err = c.match.CreateOffer(ctx, &pb.CreateOfferRequest{HelpRequest: hr, Volunteer: v})
		}
	case op < 65:
		hr, v := d.pick(rng, &d.reqs), d.pick(rng, &d.vols)
		req := &pb.CreateOfferRequest{HelpRequest: hr, Volunteer: v, AllowSecondVolunteer: rng.IntN(4) == 0}
		if rng.IntN(3) == 0 {
			req.Lease = durationpb.New(time.Duration(1+rng.IntN(90)) * time.Minute)
		}
		what = "offer " + hr + " to " + v
		_, err = d.staff.match.CreateOffer(ctx, req)
	case op < 75:
		o := d.pendingOffer(rng)
		if o == nil {
			what = "answer (no offer)"
			return
		}
		c, who := d.caller(rng, o.Volunteer, false)
		if rng.IntN(4) == 0 {
			what = "decline " + o.Name + " by " + who
			_, err = c.match.DeclineOffer(ctx, &pb.DeclineOfferRequest{Name: o.Name})
		} else {
			what = "accept " + o.Name + " by " + who
			_, err = c.match.AcceptOffer(ctx, &pb.AcceptOfferRequest{Name: o.Name})
		}
	case op < 83:
		hr, v := d.assigned(rng)
		if hr == "" || rng.IntN(5) == 0 {
			hr = d.pick(rng, &d.reqs)
		}
		if rng.IntN(6) == 0 {
			v = d.pick(rng, &d.vols) // another volunteer's claim
		}
		c, who := d.caller(rng, v, true)
		switch rng.IntN(3) {
		case 0:
			what = "complete " + hr + " by " + who
			_, err = c.match.CompleteHelpRequest(ctx, &pb.CompleteHelpRequestRequest{Name: hr})
		case 1:
			what = "release " + hr + " by " + who
			_, err = c.match.ReleaseHelpRequest(ctx, &pb.ReleaseHelpRequestRequest{Name: hr})
		default:
			what = "cancel " + hr + " by " + who
			_, err = c.match.CancelHelpRequest(ctx, &pb.CancelHelpRequestRequest{Name: hr})
		}
	case op < 87 && !burst:
		what = "dispatch"
		_, err = d.staff.match.Dispatch(ctx, &pb.DispatchRequest{})
	case op < 93 && !burst:
		by := []time.Duration{time.Minute, 10 * time.Minute, 40 * time.Minute, 3 * time.Hour, 26 * time.Hour}[rng.IntN(5)]
		what = fmt.Sprint("sweep after ", by)
		d.clock.advance(by)
		d.h.srv.Sweep(ctx)
	case op < 95:
		phone := driftPhone(rng.IntN(12))
		what = "erase " + phone
		_, err = d.admin.ErasePersonalData(ctx, &pb.ErasePersonalDataRequest{Phone: phone})
	default:
		if burst {
			what = "nothing"
			return
		}
		what = "burst"
		var wg sync.WaitGroup
		for j := range 2 + rng.IntN(3) {
			sub := rand.New(rand.NewPCG(rng.Uint64(), uint64(j)))
			wg.Go(func() { d.step(sub, i*100+j, true) })
		}
		wg.Wait()
	}
}

func runDrift(t *testing.T, seed uint64, steps int) {
	clock := &testClock{t: time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)}
	opts := []server.Option{server.WithRateLimit(0, 0), server.WithPersonalDataRetention(48 * time.Hour), server.WithAssignmentGrace(24 * time.Hour)}
	h := newHarnessWithClock(t, clock, opts...)
	d := &drift{t: t, h: h, clock: clock, opts: opts, volTok: map[string]driftClients{},
		admin: pb.NewAdminServiceClient(h.conn),
		staff: driftClients{h.hr, h.vol, h.match}}
	pc := h.partnerConn()
	d.partner = driftClients{pb.NewHelpRequestServiceClient(pc), pb.NewVolunteerServiceClient(pc), pb.NewMatchingServiceClient(pc)}

	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for range 12 {
		d.add(&d.vols, h.createVol(d.volunteer(rng)).Name)
	}
	for range 12 {
		r := d.request(rng)
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(clock.now().Add(2 * time.Hour)), EndTime: timestamppb.New(clock.now().Add(5 * time.Hour))}}
		d.add(&d.reqs, h.createHR(r).Name)
	}
	for i := range steps {
		d.step(rng, i, false)
		if i%12 == 11 || i == steps-1 {
			d.compare(i)
		}
		if i%36 == 35 {
			d.compareDispatch(i)
		}
		if t.Failed() {
			d.mu.Lock()
			t.Logf("seed %d, the last steps:\n%s", seed, strings.Join(d.log[max(0, len(d.log)-40):], "\n"))
			d.mu.Unlock()
			return
		}
	}
	codes := map[string]int{}
	for _, l := range d.log {
		f := strings.Fields(l)
		codes[f[1]+" "+f[len(f)-1]]++
	}
	t.Logf("seed %d: %d steps, outcomes %v, %d volunteers and %d requests made", seed, steps, codes, len(d.vols), len(d.reqs))
}

// fresh is a server started on st, as a restart would start it.
func (d *drift) fresh(st store.Store) *server.Server {
	s, err := server.New(st, zap.NewNop(), append(slices.Clone(d.opts), server.WithClock(d.clock.now))...)
	if err != nil {
		d.t.Fatal(err)
	}
	return s
}

// compare asks the live server and a fresh one on the same file for every
// request's candidates, a short page and a long one.
func (d *drift) compare(step int) {
	t := d.t
	fresh := d.fresh(d.h.st)
	ctx := context.Background()
	d.mu.Lock()
	reqs := slices.Clone(d.reqs)
	d.mu.Unlock()
	compared := 0
	for _, name := range reqs {
		for _, k := range []int32{100, 2, 1} {
			req := &pb.FindCandidatesRequest{HelpRequest: name, PageSize: k}
			got, gerr := d.h.srv.FindCandidates(ctx, req)
			want, werr := fresh.FindCandidates(ctx, req)
			if status.Code(gerr) != status.Code(werr) {
				t.Errorf("step %d, %s: live answers %v, a fresh server %v", step, name, gerr, werr)
				continue
			}
			if gerr != nil {
				continue
			}
			compared++
			if !proto.Equal(got, want) {
				t.Errorf("step %d, %s, page of %d: the live server answers\n%s\na fresh one on the same file answers\n%s", step, name, k, prototext.Format(got), prototext.Format(want))
				return
			}
		}
	}
	if compared == 0 {
		t.Errorf("step %d: no request could be compared", step)
	}
}

// compareDispatch dispatches on the live server and on a fresh one opened
// on a copy of its file: they must make the same offers.
func (d *drift) compareDispatch(step int) {
	t := d.t
	dir := t.TempDir()
	copyPath := filepath.Join(dir, "copy.db")
	copyFile(t, d.h.path, copyPath)
	copyFile(t, d.h.path+".keys", copyPath+".keys")
	st, err := store.Open(copyPath, store.WithClock(d.clock.now))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fresh := d.fresh(st)
	ctx := context.Background()
	want, err := fresh.Dispatch(ctx, &pb.DispatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.h.srv.Dispatch(ctx, &pb.DispatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got.Took, want.Took = nil, nil
	if !proto.Equal(got, want) {
		t.Errorf("step %d: live dispatch %v, fresh %v", step, got, want)
	}
	pending := func(s *server.Server) []string {
		resp, err := s.ListOffers(ctx, &pb.ListOffersRequest{State: pb.Offer_STATE_PENDING, PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range resp.Offers {
			out = append(out, o.HelpRequest+" to "+o.Volunteer)
		}
		slices.Sort(out)
		return out
	}
	if g, w := pending(d.h.srv), pending(fresh); !slices.Equal(g, w) {
		t.Errorf("step %d: after dispatch the live server's pending offers are\n%v\nthe fresh one's\n%v", step, g, w)
	}
	d.note("%d dispatch compared: %d offers", step, got.OffersMade)
}
