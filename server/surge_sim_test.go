package server_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// surgeObs is what the surge run records of one request.
type surgeObs struct {
	firstOffer  time.Time
	lostToLater int // runs a candidate of its went to a same-urgency request ending a day or more later
	lostToLower int // runs a candidate of its went to a less urgent request
}

// TestSurgeDays acts out a storm: for SURGE_DAYS (1) requests arrive at
// SURGE_LOAD percent (600) of the month run's rate against SURGE_VOLUNTEERS
// (60) volunteers, then at the usual rate to SURGE_HOURS (24); a few
// volunteers (SURGE_GHOSTS, 4) never answer an offer. It logs what users
// would ask of it: who is served, by urgency; how long requests wait;
// whether requests near their end lose volunteers to ones with days left;
// what volunteers who never answer cost; how the week's jobs are spread.
// It asserts the month run's invariants (final), that no request is left
// without an offer while a volunteer it could have had is offered only a
// less urgent one, and that the logs name nobody; it logs the rest with
// SURGE_REPORT=1 (SURGE_DAYS=2 SURGE_HOURS=168 for the week reported).
func TestSurgeDays(t *testing.T) {
	if testing.Short() {
		t.Skip("a day on the test clock")
	}
	env := func(k string, def int) int {
		if v := os.Getenv(k); v != "" {
			n, _ := strconv.Atoi(v)
			return n
		}
		return def
	}
	surgeDays, load, ghosts := env("SURGE_DAYS", 1), env("SURGE_LOAD", 600), env("SURGE_GHOSTS", 4)
	// By default the surge's first day, to its night backlog; the
	// week (SURGE_HOURS=168) is for the report.
	hours := env("SURGE_HOURS", 24)
	t.Setenv("MONTH_VOLUNTEERS", strconv.Itoa(env("SURGE_VOLUNTEERS", 60)))
	s := newMonthSim(t, int64(env("SURGE_SEED", 1)))
	for i := range ghosts {
		s.vols[i].accept, s.vols[i].decline = 0, 0
	}
	// A coordinator's app watches every event from the start; a partner
	// imports its rows each hour of the surge, each import sent twice (a
	// retry after a lost reply).
	partner := pb.NewHelpRequestServiceClient(s.h.partnerConn())
	coord := s.h.newToken(s.h.st, &pb.Token{DisplayName: "Coordinator", Role: pb.Role_ROLE_COORDINATOR})
	wctx, stopWatch := context.WithCancel(s.h.ctx)
	defer stopWatch()
	stream, err := pb.NewEventServiceClient(s.h.as(coord)).WatchEvents(wctx, &pb.WatchEventsRequest{StartRevision: 1})
	if err != nil {
		t.Fatal(err)
	}
	// The watch's tally, read once it has seen the last event logged.
	var (
		wmu       sync.Mutex
		byType    = map[string]int{}
		lastEvent int64
		watchErr  error
	)
	go func() {
		for {
			resp, err := stream.Recv()
			wmu.Lock()
			if err != nil {
				watchErr = err
				wmu.Unlock()
				return
			}
			for _, e := range resp.Events {
				k := e.Type.String()
				if e.Type == pb.Event_TYPE_HELP_REQUEST_STATE_CHANGED {
					k += " " + e.State.String()
				}
				if e.Type == pb.Event_TYPE_OFFER_CREATED && e.Dispatched {
					k += " dispatched"
				}
				byType[k]++
				lastEvent = e.Revision
			}
			wmu.Unlock()
		}
	}()
	imported, importedTwice := 0, 0
	importRows := func(n int) {
		var rows []*pb.HelpRequest
		var metas []*simReq
		for i := range n {
			hr, meta := s.newRequest(s.clock.now(), s.callers[s.rng.Intn(len(s.callers))])
			hr.ExternalId = fmt.Sprintf("FB-%d-%d", s.minute(s.clock.now()), i)
			rows, metas = append(rows, hr), append(metas, meta)
		}
		for try := range 2 {
			resp, err := partner.BatchCreateHelpRequests(s.h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: rows})
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			for _, r := range resp.Results {
				if r.HelpRequest == nil {
					continue // a row refused: neither stored nor found again
				}
				if try == 1 {
					if r.Existing {
						importedTwice++
					}
					continue
				}
				m := metas[r.Index]
				m.name = r.HelpRequest.Name
				s.reqs[m.name] = m
				s.order = append(s.order, m.name)
				s.created++
				imported++
			}
		}
	}
	obs := map[string]*surgeObs{}
	ob := func(name string) *surgeObs {
		if obs[name] == nil {
			obs[name] = &surgeObs{}
		}
		return obs[name]
	}
	type runLine struct {
		at                                time.Time
		open, offered, without, out, door int32
	}
	var runs []runLine
	var strict []string
	// The logs a coordinator or operator reads name no one; read before
	// each measureDay, which drops them.
	msgs := map[string]int{}
	var examples []string
	scanLogs := func() {
		for _, e := range s.h.logs.All() {
			msgs[e.Level.String()+" "+e.Message]++
			line := e.Message
			for k, v := range e.ContextMap() {
				line += fmt.Sprintf(" %s=%v", k, v)
			}
			if msgs[e.Level.String()+" "+e.Message] <= 2 && e.Message != "call" {
				examples = append(examples, line)
			}
			for _, pd := range []string{"01224 7", "07700 8", "Caller ", "Vol ", s.callers[0][2]} {
				if strings.Contains(line, pd) {
					t.Errorf("log line holds personal data (%q): %s", pd, line)
					break
				}
			}
		}
	}
	end := s.start.Add(time.Duration(hours) * time.Hour)
	for s.clock.now().Before(end) {
		now := s.clock.now()
		if now.Equal(now.Truncate(24 * time.Hour)) {
			if now.After(s.start) {
				scanLogs()
				s.measureDay()
			}
			s.load = 100
			if now.Before(s.start.AddDate(0, 0, surgeDays)) {
				s.load = load
			}
			s.planDay(now)
		}
		m := s.minute(now)
		if s.load > 100 && now.Minute() == 0 && now.Hour() >= 8 && now.Hour() <= 20 {
			importRows(12)
		}
		for _, a := range s.due[m] {
			s.act(a)
		}
		delete(s.due, m)
		s.h.srv.Sweep(s.h.ctx)
		if m%int(simDispatch/time.Minute) == 0 {
			s.resumeWhenSeen()
			s.checkNothingPastItsTime()
			open := s.listAll(pb.HelpRequest_STATE_OPEN)
			cands := map[string][]string{}
			coming := map[string]bool{}
			for _, r := range open {
				resp, err := s.h.match.FindCandidates(s.h.ctx, &pb.FindCandidatesRequest{HelpRequest: r.Name, PageSize: 20})
				if err != nil {
					t.Fatal(err)
				}
				coming[r.Name] = resp.VolunteerComing != ""
				for _, c := range resp.Candidates {
					cands[r.Name] = append(cands[r.Name], c.Volunteer)
				}
			}
			s.dispatch()
			offeredTo := map[string][]string{} // volunteer -> requests offered them this run
			got := map[string]bool{}
			for _, o := range s.listOffers(store.OfferFilter{State: pb.Offer_STATE_PENDING}) {
				if o.GetCreateTime().AsTime().Equal(now) {
					offeredTo[o.Volunteer] = append(offeredTo[o.Volunteer], o.HelpRequest)
					got[o.HelpRequest] = true
					if ob(o.HelpRequest).firstOffer.IsZero() {
						ob(o.HelpRequest).firstOffer = now
					}
				}
			}
			byName := map[string]*pb.HelpRequest{}
			for _, r := range open {
				byName[r.Name] = r
			}
			endOf := func(r *pb.HelpRequest) time.Time {
				if w := r.GetWindow(); w != nil {
					return w.EndTime.AsTime()
				}
				return r.GetDeadline().AsTime()
			}
			// siblings: another open request of the same caller, in person,
			// whose window meets r's (the same-door rule may hold r back).
			siblings := func(r *pb.HelpRequest) bool {
				if r.RemoteOk || r.GetWindow() == nil {
					return false
				}
				for _, x := range open {
					if x.Name != r.Name && !x.RemoteOk && x.GetWindow() != nil && s.reqs[x.Name].phone == s.reqs[r.Name].phone &&
						x.GetWindow().StartTime.AsTime().Before(r.GetWindow().EndTime.AsTime()) && r.GetWindow().StartTime.AsTime().Before(x.GetWindow().EndTime.AsTime()) {
						return true
					}
				}
				return false
			}
			for _, r := range open {
				if got[r.Name] {
					continue
				}
				o := ob(r.Name)
				later, lower := false, false
				for _, c := range cands[r.Name] {
					for _, other := range offeredTo[c] {
						x := byName[other]
						if x == nil {
							continue
						}
						if x.Urgency == r.Urgency && endOf(x).Sub(endOf(r)) >= 24*time.Hour {
							later = true
						}
						if x.Urgency < r.Urgency {
							lower = true
						}
					}
				}
				// Strict: a volunteer offered only one less urgent request
				// could have taken this one instead, covering as many.
				if !coming[r.Name] && !siblings(r) {
					for _, c := range cands[r.Name] {
						if len(offeredTo[c]) == 1 {
							if x := byName[offeredTo[c][0]]; x != nil && x.Urgency < r.Urgency && !coming[x.Name] {
								strict = append(strict, fmt.Sprintf("%s %v %s uncovered; its candidate %s offered only %s (%v)", now.Format("Mon 15:04"), r.Urgency, r.Name, c, x.Name, x.Urgency))
								break
							}
						}
					}
				}
				if later {
					o.lostToLater++
				}
				if lower {
					o.lostToLower++
				}
			}
			rl := runLine{at: now, open: int32(len(open)), offered: int32(len(got))}
			if d := s.h.logs.FilterMessage("dispatched").All(); len(d) > 0 {
				c := d[len(d)-1].ContextMap()
				rl.without, rl.out, rl.door = int32(c["without_candidates"].(int32)), int32(c["outnumbered"].(int32)), int32(c["same_door"].(int32))
			}
			runs = append(runs, rl)
		}
		s.clock.advance(simSweep)
	}
	scanLogs()
	s.measureDay()
	s.final()
	if imported == 0 || importedTwice != imported {
		t.Errorf("the partner's imports stored %d rows, and their repeat found %d of them", imported, importedTwice)
	}
	// The coordinator's app saw every change: wait for it to be told of
	// the last event logged, then compare.
	var last int64
	for from := uint64(1); ; {
		p, err := s.h.st.ReadEvents(s.h.ctx, from, 10000)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(p.Events); n > 0 {
			last = p.Events[n-1].Revision
		}
		if !p.More {
			break
		}
		from = p.Through + 1
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		wmu.Lock()
		done, err := lastEvent >= last, watchErr
		wmu.Unlock()
		if err != nil {
			t.Fatalf("the coordinator's watch ended: %v", err)
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the coordinator's watch was told of revision %d of %d in a minute", lastEvent, last)
		}
	}
	wmu.Lock()
	defer wmu.Unlock()
	stored := func(st pb.HelpRequest_State) int { return len(s.listAll(st)) }
	offers := func(st pb.Offer_State) int { return len(s.listOffers(store.OfferFilter{State: st})) }
	for _, c := range []struct {
		what       string
		seen, want int
	}{
		{"requests created", byType["TYPE_HELP_REQUEST_CREATED"], s.created},
		{"requests expired", byType["TYPE_HELP_REQUEST_STATE_CHANGED STATE_EXPIRED"], stored(pb.HelpRequest_STATE_EXPIRED)},
		{"offers made by dispatch", byType["TYPE_OFFER_CREATED dispatched"], s.runOffers},
		{"offers lapsed", byType["TYPE_OFFER_EXPIRED"], offers(pb.Offer_STATE_EXPIRED)},
		{"offers accepted", byType["TYPE_OFFER_ACCEPTED"], offers(pb.Offer_STATE_ACCEPTED)},
	} {
		if c.seen != c.want {
			t.Errorf("the coordinator's app saw %d %s; the store holds %d", c.seen, c.what, c.want)
		}
	}
	if len(strict) > 0 {
		t.Errorf("%d times a request was left without an offer while its candidate was offered only a less urgent one, first: %s", len(strict), strings.Join(strict[:min(len(strict), 5)], "\n\t"))
	}
	if os.Getenv("SURGE_REPORT") != "" {
		t.Logf("log messages: %v", msgs)
		for _, e := range examples {
			t.Logf("  %s", e)
		}
	}
	if os.Getenv("SURGE_REPORT") == "" {
		return
	}
	s.report()
	t.Logf("partner rows imported %d (repeat found %d); coordinator's events: %v", imported, importedTwice, byType)
	// Outcome by urgency, and wait to the first offer.
	type tally struct {
		n, served, expired, neverOffered, cancelled int
		waits                                       []time.Duration
		lostLater, lostLaterExpired                 int
	}
	by := map[pb.Urgency]*tally{}
	final := map[string]*pb.HelpRequest{}
	for _, st := range []pb.HelpRequest_State{pb.HelpRequest_STATE_OPEN, pb.HelpRequest_STATE_OFFERED, pb.HelpRequest_STATE_ASSIGNED,
		pb.HelpRequest_STATE_FULFILLED, pb.HelpRequest_STATE_CANCELLED, pb.HelpRequest_STATE_EXPIRED} {
		for _, r := range s.listAll(st) {
			final[r.Name] = r
		}
	}
	for _, name := range s.order {
		r, meta := final[name], s.reqs[name]
		tl := by[meta.urgency]
		if tl == nil {
			tl = &tally{}
			by[meta.urgency] = tl
		}
		tl.n++
		o := ob(name)
		switch r.State {
		case pb.HelpRequest_STATE_ASSIGNED, pb.HelpRequest_STATE_FULFILLED:
			tl.served++
		case pb.HelpRequest_STATE_EXPIRED:
			tl.expired++
			if o.firstOffer.IsZero() {
				tl.neverOffered++
			}
			if o.lostToLater > 0 {
				tl.lostLaterExpired++
			}
		case pb.HelpRequest_STATE_CANCELLED:
			tl.cancelled++
		}
		if o.lostToLater > 0 {
			tl.lostLater++
		}
		if !o.firstOffer.IsZero() {
			tl.waits = append(tl.waits, o.firstOffer.Sub(meta.created))
		}
	}
	for u := pb.Urgency_URGENCY_CRITICAL; u >= pb.Urgency_URGENCY_LOW; u-- {
		tl := by[u]
		if tl == nil {
			continue
		}
		slices.Sort(tl.waits)
		q := func(p int) time.Duration {
			if len(tl.waits) == 0 {
				return 0
			}
			return tl.waits[len(tl.waits)*p/100].Round(time.Minute)
		}
		t.Logf("%v: %d requests, served %d (%.0f%%), expired %d (%d never offered), cancelled %d; wait to first offer p50 %v p90 %v max %v; lost a candidate to a same-urgency request ending 24h+ later: %d (of them expired %d)",
			u, tl.n, tl.served, 100*float64(tl.served)/float64(tl.n), tl.expired, tl.neverOffered, tl.cancelled, q(50), q(90), q(99), tl.lostLater, tl.lostLaterExpired)
	}
	lower := 0
	for _, o := range obs {
		lower += o.lostToLower
	}
	t.Logf("runs where an uncovered request's candidate went to a less urgent one (that volunteer also offered another, or the door rule): %d", lower)
	// Offers per request: bouncing.
	hist := map[int]int{}
	for _, name := range s.order {
		offs, err := s.h.st.ListOffersByRequest(s.h.ctx, strings.TrimPrefix(name, "helpRequests/"))
		if err != nil {
			t.Fatal(err)
		}
		hist[min(len(offs), 5)]++
	}
	t.Logf("offers per request (5 = 5+): %v", hist)
	// Volunteers who never answer.
	for i := range ghosts {
		offs := s.listOffers(store.OfferFilter{VolunteerID: strings.TrimPrefix(s.vols[i].name, "volunteers/")})
		var lapsed int
		var times []string
		for _, o := range offs {
			if o.State == pb.Offer_STATE_EXPIRED {
				lapsed++
			}
			if len(times) < 4 {
				times = append(times, o.GetCreateTime().AsTime().Format("Mon 15:04"))
			}
		}
		t.Logf("ghost %s (capacity %d): %d offers, %d lapsed (%v of requests' time held); first at %v", s.vols[i].name, s.vols[i].capacity, len(offs), lapsed, time.Duration(lapsed)*simLease, times)
	}
	// Lapses per answering volunteer, for comparison.
	lapses := map[string]int{}
	for _, o := range s.listOffers(store.OfferFilter{State: pb.Offer_STATE_EXPIRED}) {
		lapses[o.Volunteer]++
	}
	var ls []int
	for _, v := range s.vols[ghosts:] {
		ls = append(ls, lapses[v.name])
	}
	sort.Sort(sort.Reverse(sort.IntSlice(ls)))
	t.Logf("lapses by the other volunteers, most first: %v", ls[:min(10, len(ls))])
	// Backlog over time (every 2 hours).
	for _, r := range runs {
		if r.at.Minute() == 0 && r.at.Hour()%4 == 0 {
			t.Logf("%s open %d offered this run %d; left open: without candidates %d, outnumbered %d, same door %d", r.at.Format("Mon 15:04"), r.open, r.offered, r.without, r.out, r.door)
		}
	}
}
