package server_test

import (
	"bufio"
	"cmp"
	"fmt"
	"math"
	"math/rand"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// TestMonthOfAutomaticDispatch runs a group's use of doorstepd as the
// README describes it, on the test clock: a few hundred volunteers around
// real Aberdeen postcodes, requests arriving through the day (shopping,
// prescriptions, lifts, befriending calls, some urgent, some with only a
// deadline), dispatch every 5 minutes and the sweep every minute.
// Volunteers answer through their own tokens: most accept, some decline,
// some let the offer lapse; most mark their jobs done, a few hand one back
// or forget; some go away for a week or pause; coordinators cancel a few
// requests. Throughout, what a mature product promises must hold: no
// request OPEN or OFFERED past its time, nobody offered what they declined,
// let lapse or handed back, nobody over capacity or sent to two places at
// once, each dispatch's summary adding up, no urgent request left without
// an offer while a low one took a volunteer it could have had. MONTH_DAYS
// sets the length (2 by default, 30 for the month), MONTH_SEED the run,
// MONTH_LOAD the requests a day in percent of about 47, MONTH_VOLUNTEERS
// how many (300); MONTH_REPORT=1 logs the figures measured (fairness,
// continuity, growth of the data file, the event log, the audit log and
// the offers, the heap, jobs per volunteer each week).
func TestMonthOfAutomaticDispatch(t *testing.T) {
	days := 2
	if s := os.Getenv("MONTH_DAYS"); s != "" {
		days, _ = strconv.Atoi(s)
	}
	seed := int64(1)
	if s := os.Getenv("MONTH_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	report := os.Getenv("MONTH_REPORT") != ""
	sim := newMonthSim(t, seed)
	sim.run(days)
	sim.final()
	if report {
		sim.report()
	}
}

const (
	simSweep    = time.Minute
	simDispatch = 5 * time.Minute
	simLease    = 30 * time.Minute
)

type simVol struct {
	name, secret, postcode string
	capacity               int
	accept, decline        float64 // the rest lapse
	lat, lng               float64
}

type simReq struct {
	name, phone, kind string
	urgency           pb.Urgency
	start, end        time.Time // start zero for a deadline
	street, postcode  string
	needs             []pb.Need
	created           time.Time
}

type simAction struct {
	what string // accept, decline, complete, release, cancel, resume, create
	name string // offer or request name
	vol  int    // volunteer index
	req  *pb.HelpRequest
	meta *simReq
}

type monthSim struct {
	t     *testing.T
	h     *harness
	clock *testClock
	rng   *rand.Rand
	start time.Time
	vols  []*simVol
	byVol map[string]int
	voc   *grpc.ClientConn // no token of its own: each call carries one
	mvol  pb.MatchingServiceClient
	vvol  pb.VolunteerServiceClient
	reqs  map[string]*simReq
	order []string
	// Requesters: phone, postcode, street.
	callers [][3]string
	// Scheduled actions by minute from start.
	due map[int][]simAction
	// Offers already seen, and those left to lapse.
	seen map[string]bool
	// volunteers who declined, let lapse or released each request.
	refused map[string]map[string]bool
	// who fulfilled each caller's requests (in the model).
	helpers map[string][]string
	// When each volunteer accepted each job (decide time).
	accepted map[string][]time.Time
	away     map[int]time.Time // volunteer index -> back on
	load     int               // requests per day, in percent of the usual
	// Where the volunteers' apps have read the event log to, and which of
	// them, paused by the server for unanswered offers, are to resume.
	appRev      int64
	resumeAfter map[int]bool

	// Measures.
	runs, runOffers            int
	summaryBad                 []string
	pastWindow                 []string
	overCapacity, twoPlaces    []string
	reoffered                  []string
	fairBreaches, fairChecked  int
	fairExamples               []string
	contEligible, contKept     int
	contExamples               []string
	urgentBreaches             int
	lateOffers, sameDoorOffers int
	contBreaches               int
	lateExamples               []string
	urgentExamples             []string
	created, arrivalsRefused   int
	createErrors               map[string]int
	actionErrors               map[string]int
	lapsedByModel              int
	pausedUnanswered           int // by the server, and resumed by the model
	daily                      []simDay
	expiredWhy                 map[string]int
}

type simDay struct {
	day                                int
	fileBytes                          int64
	heapBytes                          uint64
	events, audit, offers, requests    int
	maxDeclined, maxRecent, maxCommits int
	open, offered, assigned            int
	fulfilled, cancelled, expired      int
}

func newMonthSim(t *testing.T, seed int64) *monthSim {
	// A Monday in January: UK time is UTC, so slots read as written.
	start := time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)
	clock := &testClock{t: start}
	h := newHarnessWithClock(t, clock, server.WithRateLimit(0, 0), server.WithLease(simLease))
	s := &monthSim{t: t, h: h, clock: clock, rng: rand.New(rand.NewSource(seed)), start: start,
		byVol: map[string]int{}, reqs: map[string]*simReq{}, due: map[int][]simAction{}, seen: map[string]bool{},
		refused: map[string]map[string]bool{}, helpers: map[string][]string{}, accepted: map[string][]time.Time{},
		away: map[int]time.Time{}, createErrors: map[string]int{}, actionErrors: map[string]int{}, expiredWhy: map[string]int{}}
	s.load = 100
	if v := os.Getenv("MONTH_LOAD"); v != "" {
		s.load, _ = strconv.Atoi(v)
	}
	nvols := 300
	if v := os.Getenv("MONTH_VOLUNTEERS"); v != "" {
		nvols, _ = strconv.Atoi(v)
	}
	s.voc = h.as("")
	s.mvol = pb.NewMatchingServiceClient(s.voc)
	s.vvol = pb.NewVolunteerServiceClient(s.voc)
	pcs := simPostcodes(t)
	// Volunteers.
	for i := range nvols {
		pc := pcs[s.rng.Intn(len(pcs))]
		v := &pb.Volunteer{
			Contact:      &pb.Contact{DisplayName: fmt.Sprintf("Vol %03d", i), Phone: fmt.Sprintf("07700 8%05d", i)},
			Home:         &pb.Location{Postcode: pc.code},
			Availability: &pb.Availability{},
			Capacity:     int32(1 + s.rng.Intn(3)),
			Organisation: "aberdeen-mutual-aid",
		}
		switch k := s.rng.Intn(10); {
		case k < 6:
			v.TravelMode = pb.TravelMode_TRAVEL_MODE_WALKING
		case k < 8:
			v.TravelMode = pb.TravelMode_TRAVEL_MODE_CYCLING
		default:
			v.TravelMode = pb.TravelMode_TRAVEL_MODE_CAR
			v.Skills = []string{"driver"}
		}
		if s.rng.Intn(10) < 6 {
			v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC, ExpireDate: &pb.Date{Year: 2029, Month: 1, Day: 1}}
		}
		days := s.rng.Perm(7)[:3+s.rng.Intn(4)]
		slices.Sort(days)
		for _, d := range days {
			from := 8 + s.rng.Intn(6)
			to := min(from+4+s.rng.Intn(7), 22)
			v.Availability.Weekly = append(v.Availability.Weekly, &pb.AvailabilitySlot{Day: pb.DayOfWeek(d + 1),
				StartTime: &pb.TimeOfDay{Hours: int32(from)}, EndTime: &pb.TimeOfDay{Hours: int32(to)}})
		}
		got := h.createVol(v)
		secret := h.newToken(h.st, &pb.Token{DisplayName: v.Contact.DisplayName, Role: pb.Role_ROLE_VOLUNTEER, Volunteer: got.Name})
		acc := 0.6 + 0.3*s.rng.Float64()
		dec := (1 - acc) * 0.5
		s.byVol[got.Name] = len(s.vols)
		s.vols = append(s.vols, &simVol{name: got.Name, secret: secret, postcode: pc.code, capacity: int(v.Capacity), accept: acc, decline: dec, lat: pc.lat, lng: pc.lng})
	}
	// Callers: some ring often, most once or twice.
	for i := range 350 {
		pc := pcs[s.rng.Intn(len(pcs))]
		s.callers = append(s.callers, [3]string{fmt.Sprintf("01224 7%05d", i), pc.code, simStreet(i)})
	}
	return s
}

// simStreet is caller i's own street, so that no two callers share a round.
func simStreet(i int) string {
	b := []byte{byte('A' + i%26), byte('a' + i/26%26), byte('a' + i/676%26)}
	return string(b) + "ton Road"
}

type simPC struct {
	code     string
	lat, lng float64
}

// simPostcodes reads the live postcodes of central Aberdeen.
func simPostcodes(t *testing.T) []simPC {
	f, err := os.Open(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []simPC
	sc := bufio.NewScanner(f)
	sc.Scan()
	for sc.Scan() {
		c := strings.Split(sc.Text(), ",")
		if len(c) < 4 || c[3] != "" {
			continue
		}
		lat, _ := strconv.ParseFloat(c[1], 64)
		lng, _ := strconv.ParseFloat(c[2], 64)
		if lat > 57.13 && lat < 57.17 && lng > -2.13 && lng < -2.08 {
			out = append(out, simPC{c[0], lat, lng})
		}
	}
	return out
}

func (s *monthSim) minute(at time.Time) int { return int(at.Sub(s.start) / time.Minute) }

func (s *monthSim) schedule(at time.Time, a simAction) {
	m := s.minute(at)
	if m <= s.minute(s.clock.now()) {
		m = s.minute(s.clock.now()) + 1
	}
	s.due[m] = append(s.due[m], a)
}

func (s *monthSim) asVol(i int) grpc.CallOption {
	return grpc.PerRPCCredentials(bearerToken(s.vols[i].secret))
}

// planDay schedules a day's arrivals and the volunteers' comings and goings.
func (s *monthSim) planDay(day time.Time) {
	n := (35 + s.rng.Intn(25)) * s.load / 100
	if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
		n = n * 2 / 3
	}
	for range n {
		at := day.Add(7*time.Hour + time.Duration(s.rng.Intn(14*60))*time.Minute)
		// A few callers ring often: the first 40 take half the requests.
		ci := s.rng.Intn(40)
		if s.rng.Intn(2) == 0 {
			ci = s.rng.Intn(len(s.callers))
		}
		hr, meta := s.newRequest(at, s.callers[ci])
		s.schedule(at, simAction{what: "create", req: hr, meta: meta})
	}
	// Away for a week, from tomorrow; a pause of a few days.
	for i := range s.vols {
		if _, ok := s.away[i]; ok {
			continue
		}
		switch r := s.rng.Float64(); {
		case r < 0.01:
			from := day.AddDate(0, 0, 1)
			to := from.AddDate(0, 0, 6)
			s.schedule(day.Add(8*time.Hour+time.Duration(s.rng.Intn(600))*time.Minute), simAction{what: "away", vol: i,
				meta: &simReq{start: from, end: to}})
			s.away[i] = to
		case r < 0.02:
			at := day.Add(8*time.Hour + time.Duration(s.rng.Intn(600))*time.Minute)
			s.schedule(at, simAction{what: "pause", vol: i})
			s.schedule(at.Add(time.Duration(24+s.rng.Intn(72))*time.Hour), simAction{what: "resume", vol: i})
			s.away[i] = at.Add(96 * time.Hour)
		}
	}
	for i, back := range s.away {
		if !back.After(day) {
			delete(s.away, i)
		}
	}
}

func at(day time.Time, h, m int) time.Time {
	return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// newRequest makes a caller's request arriving at a.
func (s *monthSim) newRequest(a time.Time, caller [3]string) (*pb.HelpRequest, *simReq) {
	day := a.Truncate(24 * time.Hour)
	m := &simReq{phone: caller[0], postcode: caller[1], street: caller[2], created: a, urgency: pb.Urgency_URGENCY_NORMAL}
	switch u := s.rng.Intn(100); {
	case u < 8:
		m.urgency = pb.Urgency_URGENCY_CRITICAL
	case u < 25:
		m.urgency = pb.Urgency_URGENCY_HIGH
	case u < 40:
		m.urgency = pb.Urgency_URGENCY_LOW
	}
	window := func(minDays, maxDays, fromH, toH, lenH int) {
		for {
			d := day.AddDate(0, 0, minDays+s.rng.Intn(maxDays-minDays+1))
			st := at(d, fromH+s.rng.Intn(toH-fromH+1), 0)
			if st.After(a.Add(30 * time.Minute)) {
				m.start, m.end = st, st.Add(time.Duration(lenH)*time.Hour)
				return
			}
			minDays++
			if minDays > maxDays {
				maxDays = minDays
			}
		}
	}
	hr := &pb.HelpRequest{
		Location:     &pb.Location{Postcode: m.postcode, Street: m.street, AddressLines: []string{"1 " + m.street}},
		Requester:    &pb.Contact{DisplayName: "Caller " + m.phone[6:], Phone: m.phone},
		Organisation: "aberdeen-mutual-aid",
	}
	switch k := s.rng.Intn(100); {
	case m.urgency == pb.Urgency_URGENCY_CRITICAL:
		m.kind = "urgent shopping"
		m.needs = []pb.Need{pb.Need_NEED_GROCERY_SHOPPING}
		m.start, m.end = a.Add(20*time.Minute).Truncate(5*time.Minute), a.Add(4*time.Hour).Truncate(5*time.Minute)
	case k < 35:
		m.kind = "shopping"
		m.needs = []pb.Need{pb.Need_NEED_GROCERY_SHOPPING}
		window(0, 1, 9, 16, 3)
	case k < 55:
		m.kind = "prescription"
		m.needs = []pb.Need{pb.Need_NEED_PRESCRIPTION_COLLECTION}
		hr.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(a.Add(time.Duration(8+s.rng.Intn(40)) * time.Hour).Truncate(time.Hour))}
		m.end = hr.GetDeadline().AsTime()
	case k < 68:
		m.kind = "lift"
		m.needs = []pb.Need{pb.Need_NEED_TRANSPORT}
		window(1, 3, 9, 14, 3)
	case k < 83:
		m.kind = "befriending"
		m.needs = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}
		hr.RemoteOk = true
		window(0, 2, 10, 18, 2)
	default:
		m.kind = "hot meal"
		m.needs = []pb.Need{pb.Need_NEED_HOT_MEAL}
		window(0, 1, 11, 17, 2)
	}
	if hr.Timing == nil {
		hr.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(m.start), EndTime: timestamppb.New(m.end)}}
	}
	hr.Needs, hr.Urgency = m.needs, m.urgency
	return hr, m
}

func (s *monthSim) run(days int) {
	end := s.start.AddDate(0, 0, days)
	for s.clock.now().Before(end) {
		now := s.clock.now()
		if now.Equal(now.Truncate(24 * time.Hour)) {
			if now.After(s.start) {
				s.measureDay()
			}
			s.planDay(now)
		}
		m := s.minute(now)
		for _, a := range s.due[m] {
			s.act(a)
		}
		delete(s.due, m)
		s.h.srv.Sweep(s.h.ctx)
		if m%int(simDispatch/time.Minute) == 0 {
			s.resumeWhenSeen()
			s.checkNothingPastItsTime()
			s.dispatch()
			s.checkLive()
		}
		s.clock.advance(simSweep)
	}
	s.measureDay()
}

func (s *monthSim) act(a simAction) {
	ctx := s.h.ctx
	var err error
	switch a.what {
	case "create":
		var resp *pb.CreateHelpRequestResponse
		resp, err = s.h.hr.CreateHelpRequest(ctx, &pb.CreateHelpRequestRequest{HelpRequest: a.req})
		if err == nil {
			a.meta.name = resp.HelpRequest.Name
			s.reqs[a.meta.name] = a.meta
			s.order = append(s.order, a.meta.name)
			s.created++
			// A coordinator cancels a few: the caller found help elsewhere.
			if s.rng.Intn(100) < 4 {
				s.schedule(a.meta.created.Add(time.Duration(10+s.rng.Intn(600))*time.Minute), simAction{what: "cancel", name: a.meta.name})
			}
		} else {
			s.arrivalsRefused++
			s.createErrors[err.Error()]++
			err = nil
		}
	case "accept":
		var resp *pb.AcceptOfferResponse
		resp, err = s.mvol.AcceptOffer(ctx, &pb.AcceptOfferRequest{Name: a.name}, s.asVol(a.vol))
		if err == nil {
			req := resp.GetOffer().GetHelpRequest()
			s.accepted[s.vols[a.vol].name] = append(s.accepted[s.vols[a.vol].name], s.clock.now())
			meta := s.reqs[req]
			jobAt := meta.end.Add(-30 * time.Minute)
			if !meta.start.IsZero() {
				jobAt = meta.start.Add(time.Hour)
			}
			switch r := s.rng.Intn(100); {
			case r < 4:
				// They fall ill: handed back before the job.
				back := s.clock.now().Add(time.Duration(s.rng.Int63n(int64(max(jobAt.Sub(s.clock.now()), time.Minute)))))
				s.schedule(back, simAction{what: "release", name: req, vol: a.vol})
			case r < 93:
				s.schedule(jobAt.Add(time.Duration(s.rng.Intn(120))*time.Minute), simAction{what: "complete", name: req, vol: a.vol})
			default:
				// Forgotten: the sweep marks it done after the grace.
			}
		}
	case "decline":
		_, err = s.mvol.DeclineOffer(ctx, &pb.DeclineOfferRequest{Name: a.name}, s.asVol(a.vol))
	case "complete":
		_, err = s.mvol.CompleteHelpRequest(ctx, &pb.CompleteHelpRequestRequest{Name: a.name}, s.asVol(a.vol))
		if err == nil {
			ph := s.reqs[a.name].phone
			if !slices.Contains(s.helpers[ph], s.vols[a.vol].name) {
				s.helpers[ph] = append(s.helpers[ph], s.vols[a.vol].name)
			}
		}
	case "release":
		_, err = s.mvol.ReleaseHelpRequest(ctx, &pb.ReleaseHelpRequestRequest{Name: a.name}, s.asVol(a.vol))
		if err == nil {
			s.refuse(a.name, s.vols[a.vol].name)
		}
	case "cancel":
		_, err = s.h.match.CancelHelpRequest(ctx, &pb.CancelHelpRequestRequest{Name: a.name})
	case "pause", "resume":
		if a.what == "resume" {
			delete(s.resumeAfter, a.vol)
		}
		_, err = s.vvol.UpdateVolunteer(ctx, &pb.UpdateVolunteerRequest{
			Volunteer:  &pb.Volunteer{Name: s.vols[a.vol].name, Paused: a.what == "pause"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}}}, s.asVol(a.vol))
	case "away":
		d := func(t time.Time) *pb.Date {
			return &pb.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
		}
		// The app reads the volunteer's week and adds the dates away.
		var got *pb.GetVolunteerResponse
		got, err = s.vvol.GetVolunteer(ctx, &pb.GetVolunteerRequest{Name: s.vols[a.vol].name}, s.asVol(a.vol))
		if err != nil {
			break
		}
		av := got.Volunteer.Availability
		av.Away = append(av.Away, &pb.DateRange{StartDate: d(a.meta.start), EndDate: d(a.meta.end)})
		_, err = s.vvol.UpdateVolunteer(ctx, &pb.UpdateVolunteerRequest{
			Volunteer:  &pb.Volunteer{Name: s.vols[a.vol].name, Availability: av, Etag: got.Volunteer.Etag},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"availability"}}}, s.asVol(a.vol))
	}
	if err != nil {
		code, reason, _ := errorOf(s.t, err)
		s.actionErrors[fmt.Sprintf("%s: %v %s", a.what, code, reason)]++
	}
}

// resumeWhenSeen acts out volunteers' apps telling them the server paused
// them for leaving offers unanswered (TYPE_VOLUNTEER_UPDATED): one who
// answers offers at all resumes when they next look, 1 to 12 hours on; one
// who never answers (the surge's ghosts) stays paused.
func (s *monthSim) resumeWhenSeen() {
	if s.resumeAfter == nil {
		s.resumeAfter = map[int]bool{}
	}
	events := s.h.logged(s.appRev)
	s.appRev = s.h.revision() + 1
	for _, e := range events {
		i, ok := s.byVol[e.Volunteer]
		if e.Type != pb.Event_TYPE_VOLUNTEER_UPDATED || !ok || s.resumeAfter[i] || s.vols[i].accept+s.vols[i].decline == 0 {
			continue
		}
		got, err := s.vvol.GetVolunteer(s.h.ctx, &pb.GetVolunteerRequest{Name: e.Volunteer}, s.asVol(i))
		if err != nil {
			s.t.Fatal(err)
		}
		if v := got.Volunteer; v.Paused && v.UnansweredOffers > 0 {
			s.resumeAfter[i] = true
			s.pausedUnanswered++
			s.schedule(s.clock.now().Add(time.Duration(60+s.rng.Intn(660))*time.Minute), simAction{what: "resume", vol: i})
		}
	}
}

func (s *monthSim) refuse(req, vol string) {
	if s.refused[req] == nil {
		s.refused[req] = map[string]bool{}
	}
	s.refused[req][vol] = true
}

// listAll lists requests in state st straight from the store.
func (s *monthSim) listAll(st pb.HelpRequest_State) []*pb.HelpRequest {
	var out []*pb.HelpRequest
	for tok := ""; ; {
		got, next, err := s.h.st.ListHelpRequests(s.h.ctx, store.HelpRequestFilter{State: st}, store.Page{Size: 1000, Token: tok})
		if err != nil {
			s.t.Fatal(err)
		}
		out = append(out, got...)
		if tok = next; tok == "" {
			return out
		}
	}
}

func (s *monthSim) listOffers(f store.OfferFilter) []*pb.Offer {
	var out []*pb.Offer
	for tok := ""; ; {
		got, next, err := s.h.st.ListOffers(s.h.ctx, f, store.Page{Size: 1000, Token: tok})
		if err != nil {
			s.t.Fatal(err)
		}
		out = append(out, got...)
		if tok = next; tok == "" {
			return out
		}
	}
}

// checkNothingPastItsTime: the sweep ran this minute, so no request is
// still open or offered after its window or deadline.
func (s *monthSim) checkNothingPastItsTime() {
	now := s.clock.now()
	for _, st := range []pb.HelpRequest_State{pb.HelpRequest_STATE_OPEN, pb.HelpRequest_STATE_OFFERED} {
		for _, r := range s.listAll(st) {
			if store.RequestEnded(r, now) {
				s.pastWindow = append(s.pastWindow, fmt.Sprintf("%s %v at %s (%s)", r.Name, r.State, now.Format(time.DateTime), s.reqs[r.Name].kind))
			}
		}
	}
}

type simCand struct {
	vol              string
	score, metres    float64
	fairness, contin float64
}

// dispatch runs one dispatch as Maintain would, with the candidates of
// each open request looked at first, and checks what it did.
func (s *monthSim) dispatch() {
	open := s.listAll(pb.HelpRequest_STATE_OPEN)
	cands := map[string][]simCand{}
	coming := map[string]string{} // the volunteer already going to the door then
	for _, r := range open {
		resp, err := s.h.match.FindCandidates(s.h.ctx, &pb.FindCandidatesRequest{HelpRequest: r.Name, PageSize: 20})
		if err != nil {
			s.t.Fatalf("find candidates for %s: %v", r.Name, err)
		}
		coming[r.Name] = resp.VolunteerComing
		for _, c := range resp.Candidates {
			cands[r.Name] = append(cands[r.Name], simCand{c.Volunteer, c.Score, c.DistanceMetres, c.ScoreParts.GetFairness(), c.ScoreParts.GetContinuity()})
		}
	}
	resp, err := s.h.match.Dispatch(s.h.ctx, &pb.DispatchRequest{})
	if err != nil {
		s.t.Fatalf("dispatch: %v", err)
	}
	s.runs++
	// The summary adds up.
	byUrg := int32(0)
	for _, n := range resp.OffersByUrgency {
		byUrg += n
	}
	if resp.OpenRequests != int32(len(open)) || resp.Uncovered != resp.OpenRequests-resp.OffersMade || byUrg != resp.OffersMade ||
		resp.WithoutCandidates+resp.Outnumbered+resp.SameDoor > resp.Uncovered || resp.Outnumbered < 0 {
		s.summaryBad = append(s.summaryBad, fmt.Sprintf("%s: open %d (listed %d) offers %d uncovered %d by urgency %d without %d outnumbered %d same door %d",
			s.clock.now().Format(time.DateTime), resp.OpenRequests, len(open), resp.OffersMade, resp.Uncovered, byUrg, resp.WithoutCandidates, resp.Outnumbered, resp.SameDoor))
	}
	// The offers this run made.
	var made []*pb.Offer
	for _, o := range s.listOffers(store.OfferFilter{State: pb.Offer_STATE_PENDING}) {
		if s.seen[o.Name] {
			continue
		}
		s.seen[o.Name] = true
		made = append(made, o)
	}
	if len(made) != int(resp.OffersMade) {
		s.summaryBad = append(s.summaryBad, fmt.Sprintf("%s: summary says %d offers made, %d new pending offers found", s.clock.now().Format(time.DateTime), resp.OffersMade, len(made)))
	}
	s.runOffers += len(made)
	offeredVol := map[string]bool{}
	offeredReq := map[string]string{}
	for _, o := range made {
		offeredVol[o.Volunteer] = true
		offeredReq[o.HelpRequest] = o.Volunteer
	}
	urgencyOf := map[string]pb.Urgency{}
	for _, r := range open {
		urgencyOf[r.Name] = r.Urgency
	}
	for _, o := range made {
		// Never to someone who declined, let lapse or handed it back.
		if s.refused[o.HelpRequest][o.Volunteer] {
			s.reoffered = append(s.reoffered, fmt.Sprintf("%s offered again to %s at %s", o.HelpRequest, o.Volunteer, s.clock.now().Format(time.DateTime)))
		}
		cs := cands[o.HelpRequest]
		i := slices.IndexFunc(cs, func(c simCand) bool { return c.vol == o.Volunteer })
		// Fairness: a volunteer with several jobs this week is not sent
		// where a peer nearly as near, with none, was free.
		if c := coming[o.HelpRequest]; c != "" {
			// One volunteer to one door at one time comes first.
			s.sameDoorOffers++
			if c != o.Volunteer {
				s.reoffered = append(s.reoffered, fmt.Sprintf("%s offered to %s while %s is coming to that door then", o.HelpRequest, o.Volunteer, c))
			}
		} else if i >= 0 {
			x := cs[i]
			s.fairChecked++
			for _, y := range cs {
				if y.vol != x.vol && !offeredVol[y.vol] && y.fairness == 0 && x.fairness >= 3*250 && y.metres <= x.metres+500 && y.score < x.score {
					s.fairBreaches++
					if len(s.fairExamples) < 5 {
						s.fairExamples = append(s.fairExamples, fmt.Sprintf("%s to %s (%.0f m, fairness %.0f, score %.0f) while %s (%.0f m, none, score %.0f) was offered nothing",
							o.HelpRequest, x.vol, x.metres, x.fairness, x.score, y.vol, y.metres, y.score))
					}
					break
				}
			}
		}
		// Continuity: a previous helper who can help again is preferred.
		meta := s.reqs[o.HelpRequest]
		var prev []simCand
		for _, c := range cs {
			if slices.Contains(s.helpers[meta.phone], c.vol) {
				prev = append(prev, c)
			}
		}
		if len(prev) > 0 && coming[o.HelpRequest] == "" {
			s.contEligible++
			if slices.ContainsFunc(prev, func(c simCand) bool { return c.vol == o.Volunteer }) {
				s.contKept++
			} else if i >= 0 && !offeredVol[prev[0].vol] && prev[0].score < cs[i].score {
				s.contBreaches++
			}
			if !slices.ContainsFunc(prev, func(c simCand) bool { return c.vol == o.Volunteer }) && len(s.contExamples) < 5 && !offeredVol[prev[0].vol] && (i < 0 || prev[0].score < cs[i].score) {
				s.contExamples = append(s.contExamples, fmt.Sprintf("%s (%s) to %s, score %.0f; previous helper %s score %.0f (continuity %.0f, offered elsewhere: %v)",
					o.HelpRequest, meta.kind, o.Volunteer, func() float64 {
						if i >= 0 {
							return cs[i].score
						}
						return math.NaN()
					}(), prev[0].vol, prev[0].score, prev[0].contin, offeredVol[prev[0].vol]))
			}
		}
		// How many offers leave less time than the job takes.
		if !meta.start.IsZero() {
			from := meta.start
			if s.clock.now().After(from) {
				from = s.clock.now()
			}
			left := meta.end.Sub(from)
			if left < time.Duration(simMinutes(meta.needs))*time.Minute {
				s.lateOffers++
				if len(s.lateExamples) < 3 {
					s.lateExamples = append(s.lateExamples, fmt.Sprintf("%s (%s) offered at %s, %v left of its window for a %d-minute job",
						o.HelpRequest, meta.kind, s.clock.now().Format(time.DateTime), left, simMinutes(meta.needs)))
				}
			}
		}
		// Schedule the volunteer's answer.
		vi := s.byVol[o.Volunteer]
		v := s.vols[vi]
		switch r := s.rng.Float64(); {
		case r < v.accept:
			s.schedule(s.clock.now().Add(time.Duration(2+s.rng.Intn(25))*time.Minute), simAction{what: "accept", name: o.Name, vol: vi})
		case r < v.accept+v.decline:
			s.schedule(s.clock.now().Add(time.Duration(2+s.rng.Intn(25))*time.Minute), simAction{what: "decline", name: o.Name, vol: vi})
			s.refuse(o.HelpRequest, o.Volunteer)
		default:
			s.lapsedByModel++
			s.refuse(o.HelpRequest, o.Volunteer)
		}
	}
	// Urgent first: no urgent request left without an offer while a
	// low one took a volunteer who could have gone to it.
	for _, r := range open {
		if r.Urgency < pb.Urgency_URGENCY_HIGH || offeredReq[r.Name] != "" || coming[r.Name] != "" {
			continue
		}
		for _, c := range cands[r.Name] {
			for lr, v := range offeredReq {
				if v == c.vol && urgencyOf[lr] == pb.Urgency_URGENCY_LOW && s.vols[s.byVol[v]].capacity == 1 {
					s.urgentBreaches++
					if len(s.urgentExamples) < 5 {
						s.urgentExamples = append(s.urgentExamples, fmt.Sprintf("%v %s uncovered while %s (low) went to its candidate %s", r.Urgency, r.Name, lr, v))
					}
				}
			}
		}
	}
}

// checkLive: every volunteer's live offers and assignments fit their
// capacity and can be done one after another.
func (s *monthSim) checkLive() {
	byVol := map[string][]*pb.Offer{}
	for _, o := range s.listOffers(store.OfferFilter{Live: true}) {
		byVol[o.Volunteer] = append(byVol[o.Volunteer], o)
	}
	now := s.clock.now().Format(time.DateTime)
	for _, v := range s.vols {
		offers := byVol[v.name]
		if len(offers) > v.capacity {
			s.overCapacity = append(s.overCapacity, fmt.Sprintf("%s holds %d (capacity %d) at %s", v.name, len(offers), v.capacity, now))
		}
		var jobs []simJob
		for _, o := range offers {
			m := s.reqs[o.HelpRequest]
			if m.start.IsZero() {
				continue
			}
			jobs = append(jobs, simJob{m.start, m.end, simMinutes(m.needs), m.street + "|" + m.postcode, o.HelpRequest})
		}
		if !simFeasible(jobs) {
			var ws []string
			for _, j := range jobs {
				ws = append(ws, fmt.Sprintf("%s %s-%s %dm", j.req, j.start.Format("Jan 2 15:04"), j.end.Format("15:04"), j.dur))
			}
			s.twoPlaces = append(s.twoPlaces, fmt.Sprintf("%s at %s: %s", v.name, now, strings.Join(ws, "; ")))
		}
	}
}

type simJob struct {
	start, end time.Time
	dur        int
	place, req string
}

func simMinutes(needs []pb.Need) int {
	m := map[pb.Need]int{pb.Need_NEED_TRANSPORT: 120, pb.Need_NEED_GROCERY_SHOPPING: 90, pb.Need_NEED_PRESCRIPTION_COLLECTION: 45,
		pb.Need_NEED_FOOD_PARCEL: 30, pb.Need_NEED_BEFRIENDING_CALL: 30}
	out := 0
	for _, n := range needs {
		out = max(out, cmp.Or(m[n], 60))
	}
	return out
}

// simFeasible says whether jobs can be done one after another in some
// order, each within its window; jobs at one place whose windows meet are
// one round.
func simFeasible(jobs []simJob) bool {
	if len(jobs) < 2 {
		return true
	}
	// Merge rounds.
	var rs []simJob
	for _, j := range jobs {
		k := slices.IndexFunc(rs, func(r simJob) bool { return r.place == j.place && r.start.Before(j.end) && j.start.Before(r.end) })
		if k < 0 {
			rs = append(rs, j)
			continue
		}
		if j.dur > rs[k].dur {
			rs[k].dur = j.dur
		}
	}
	idx := make([]int, len(rs))
	for i := range idx {
		idx[i] = i
	}
	var try func(k int, free time.Time) bool
	used := make([]bool, len(rs))
	try = func(k int, free time.Time) bool {
		if k == len(rs) {
			return true
		}
		for i, r := range rs {
			if used[i] {
				continue
			}
			st := r.start
			if free.After(st) {
				st = free
			}
			fin := st.Add(time.Duration(r.dur) * time.Minute)
			if fin.After(r.end) {
				continue
			}
			used[i] = true
			if try(k+1, fin) {
				return true
			}
			used[i] = false
		}
		return false
	}
	return try(0, time.Time{})
}

func (s *monthSim) measureDay() {
	ctx := s.h.ctx
	d := simDay{day: len(s.daily) + 1}
	if fi, err := os.Stat(s.h.path); err == nil {
		d.fileBytes = fi.Size()
	}
	// The harness keeps every log entry in memory: not the server's.
	s.h.logs.TakeAll()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	d.heapBytes = ms.HeapAlloc
	oldest, err := s.h.st.OldestEventRevision()
	if err != nil {
		s.t.Fatal(err)
	}
	for from := oldest; ; {
		p, err := s.h.st.ReadEvents(ctx, from, 10000)
		if err != nil {
			s.t.Fatal(err)
		}
		d.events += len(p.Events)
		if !p.More {
			break
		}
		from = p.Through + 1
	}
	for tok := ""; ; {
		got, next, err := s.h.st.ListAuditRecords(ctx, store.AuditFilter{}, store.Page{Size: 1000, Token: tok})
		if err != nil {
			s.t.Fatal(err)
		}
		d.audit += len(got)
		if tok = next; tok == "" {
			break
		}
	}
	for _, st := range []pb.Offer_State{pb.Offer_STATE_PENDING, pb.Offer_STATE_ACCEPTED, pb.Offer_STATE_DECLINED, pb.Offer_STATE_EXPIRED, pb.Offer_STATE_WITHDRAWN} {
		d.offers += len(s.listOffers(store.OfferFilter{State: st}))
	}
	for st := pb.HelpRequest_STATE_OPEN; st <= pb.HelpRequest_STATE_EXPIRED; st++ {
		rs := s.listAll(st)
		d.requests += len(rs)
		for _, r := range rs {
			d.maxDeclined = max(d.maxDeclined, len(r.DeclinedVolunteers))
		}
		switch st {
		case pb.HelpRequest_STATE_OPEN:
			d.open = len(rs)
		case pb.HelpRequest_STATE_OFFERED:
			d.offered = len(rs)
		case pb.HelpRequest_STATE_ASSIGNED:
			d.assigned = len(rs)
		case pb.HelpRequest_STATE_FULFILLED:
			d.fulfilled = len(rs)
		case pb.HelpRequest_STATE_CANCELLED:
			d.cancelled = len(rs)
		case pb.HelpRequest_STATE_EXPIRED:
			d.expired = len(rs)
		}
	}
	for tok := ""; ; {
		got, next, err := s.h.st.ListVolunteers(ctx, store.VolunteerFilter{}, store.Page{Size: 1000, Token: tok})
		if err != nil {
			s.t.Fatal(err)
		}
		for _, v := range got {
			d.maxRecent = max(d.maxRecent, len(v.RecentAssignmentTimes))
			d.maxCommits = max(d.maxCommits, len(v.Commitments))
			// Commitments are live offers and assignments only.
			for _, c := range v.Commitments {
				r, err := s.h.st.GetHelpRequest(ctx, strings.TrimPrefix(c.HelpRequest, "helpRequests/"))
				if err != nil {
					s.t.Fatal(err)
				}
				if r.State != pb.HelpRequest_STATE_OFFERED && r.State != pb.HelpRequest_STATE_ASSIGNED {
					s.t.Errorf("day %d: %s keeps a commitment to %s, which is %v", d.day, v.Name, r.Name, r.State)
				}
			}
		}
		if tok = next; tok == "" {
			break
		}
	}
	s.daily = append(s.daily, d)
}

// final checks the month as a whole.
func (s *monthSim) final() {
	t := s.t
	for _, list := range []struct {
		what string
		l    []string
	}{{"dispatch summaries that do not add up", s.summaryBad}, {"requests left open past their time", s.pastWindow},
		{"volunteers over capacity", s.overCapacity}, {"volunteers sent to two places at once", s.twoPlaces},
		{"offers to a volunteer who had declined, let lapse or handed back", s.reoffered}} {
		if len(list.l) > 0 {
			t.Errorf("%d %s, first: %s", len(list.l), list.what, strings.Join(list.l[:min(len(list.l), 5)], "\n\t"))
		}
	}
	// From the offers stored: nobody offered a request after declining it,
	// letting it lapse or handing it back.
	for _, name := range s.order {
		offs, err := s.h.st.ListOffersByRequest(s.h.ctx, strings.TrimPrefix(name, "helpRequests/"))
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(offs, func(a, b *pb.Offer) int { return strings.Compare(a.Name, b.Name) })
		done := map[string]pb.Offer_State{}
		for _, o := range offs {
			if st, ok := done[o.Volunteer]; ok && st != pb.Offer_STATE_WITHDRAWN {
				t.Errorf("%s offered to %s again after their offer ended %v", name, o.Volunteer, st)
			}
			done[o.Volunteer] = o.State
		}
	}
	// Expired requests: what the coordinator sees of why.
	for _, r := range s.listAll(pb.HelpRequest_STATE_EXPIRED) {
		offs, err := s.h.st.ListOffersByRequest(s.h.ctx, strings.TrimPrefix(r.Name, "helpRequests/"))
		if err != nil {
			t.Fatal(err)
		}
		why := "never offered"
		if len(offs) > 0 {
			why = fmt.Sprintf("offered %d times", min(len(offs), 3))
		}
		s.expiredWhy[s.reqs[r.Name].kind+": "+why]++
	}
	if s.urgentBreaches > 0 {
		t.Errorf("%d times an urgent request was left without an offer while a low one took a volunteer it could have had: %s",
			s.urgentBreaches, strings.Join(s.urgentExamples, "; "))
	}
	// Growth is bounded: declined lists by the volunteers in reach,
	// recent assignment times by a week of accepts.
	last := s.daily[len(s.daily)-1]
	if last.maxRecent > 40 {
		t.Errorf("a volunteer's record keeps %d recent assignment times", last.maxRecent)
	}
}

func (s *monthSim) report() {
	t := s.t
	t.Logf("requests created %d, refused at create %d %v; dispatch runs %d, offers %d (left to lapse %d; volunteers who answer paused for it, to resume on seeing so, %d times)",
		s.created, s.arrivalsRefused, s.createErrors, s.runs, s.runOffers, s.lapsedByModel, s.pausedUnanswered)
	t.Logf("action errors: %v", s.actionErrors)
	t.Logf("fairness: %d offers checked, %d to a volunteer with 3+ jobs this week while a free peer within 500 m more with none scored better", s.fairChecked, s.fairBreaches)
	for _, e := range s.fairExamples {
		t.Logf("  %s", e)
	}
	t.Logf("offers to the volunteer already going to the caller's door then: %d", s.sameDoorOffers)
	t.Logf("continuity: %d offers with a previous helper among the candidates, %d went to them; %d went to someone scoring worse while the previous helper was offered nothing", s.contEligible, s.contKept, s.contBreaches)
	for _, e := range s.contExamples {
		t.Logf("  %s", e)
	}
	t.Logf("urgency: %d urgent requests left uncovered while a low one took one of their candidates (capacity 1)", s.urgentBreaches)
	for _, e := range s.urgentExamples {
		t.Logf("  %s", e)
	}
	t.Logf("offers made with less of the window left than the job takes: %d", s.lateOffers)
	for _, e := range s.lateExamples {
		t.Logf("  %s", e)
	}
	keys := make([]string, 0, len(s.expiredWhy))
	for k := range s.expiredWhy {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Logf("expired: %s: %d", k, s.expiredWhy[k])
	}
	for _, d := range s.daily {
		t.Logf("day %2d: file %6.1f MB heap %5.1f MB events %6d audit %6d offers %5d requests %5d (open %d offered %d assigned %d fulfilled %d cancelled %d expired %d) max declined %d recent %d commitments %d",
			d.day, float64(d.fileBytes)/1e6, float64(d.heapBytes)/1e6, d.events, d.audit, d.offers, d.requests, d.open, d.offered, d.assigned, d.fulfilled, d.cancelled, d.expired, d.maxDeclined, d.maxRecent, d.maxCommits)
	}
	// Jobs per volunteer per week.
	for w := 0; w*7 < len(s.daily); w++ {
		from, to := s.start.AddDate(0, 0, 7*w), s.start.AddDate(0, 0, 7*w+7)
		var counts []int
		for _, v := range s.vols {
			n := 0
			for _, at := range s.accepted[v.name] {
				if !at.Before(from) && at.Before(to) {
					n++
				}
			}
			counts = append(counts, n)
		}
		slices.Sort(counts)
		zero, sum := 0, 0
		for _, c := range counts {
			if c == 0 {
				zero++
			}
			sum += c
		}
		n := len(counts)
		t.Logf("week %d: jobs accepted %d; per volunteer median %d p90 %d p99 %d max %d; %d of %d took none",
			w+1, sum, counts[n/2], counts[n*9/10], counts[n*99/100], counts[n-1], zero, n)
	}
}
