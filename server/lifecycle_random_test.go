package server_test

import (
	"fmt"
	"math/rand"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// TestLifecycleRandomThroughTheAPI runs, in phases, workers making random
// calls at once through the API: requests created, edited (their window,
// their details by etag) and deleted; offers by hand, accepts, declines,
// completions, cancellations and releases (a volunteer handing a job
// back); dispatches; sweeps as the clock moves on; volunteers paused,
// given a new capacity or a reach too short for the requests, deleted and
// replaced. Between phases everything stored must agree: a request
// OFFERED has exactly its one pending offer, and no other request has
// one; each volunteer's counts are their offers and assignments, within
// capacity; no pending offer is to a volunteer who is paused, declined or
// released it, or no longer reaches it; an accepted offer whose request
// is not assigned to its volunteer was released, and they are listed as
// having declined it; no volunteer holds two jobs at once (each is an
// hour's errand in an hour's window, on a street of its own). And each dispatch's summary adds up, and together they
// made as many offers as the event log records. LIFECYCLE_SEED and
// LIFECYCLE_PHASES set the run.
func TestLifecycleRandomThroughTheAPI(t *testing.T) {
	phases, workers, opsEach := 6, 6, 40
	if s := os.Getenv("LIFECYCLE_PHASES"); s != "" {
		phases, _ = strconv.Atoi(s)
	}
	seed := int64(1)
	if s := os.Getenv("LIFECYCLE_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock, server.WithRateLimit(0, 0))
	base := clock.now().Truncate(time.Hour)
	slots := [][2]int{{2, 3}, {3, 4}, {2, 3}, {5, 6}, {26, 27}, {3, 4}}
	var mu sync.Mutex
	var vols, reqs []string
	// At AB11 5QN, 0.8 km from the requests: within an errand's reach, not
	// within a volunteer's own reach of 100 m.
	for i := range 8 {
		v := h.createVol(matchVolunteer(fmt.Sprint("V", i), "AB11 5QN", func(v *pb.Volunteer) {
			v.Capacity = int32(1 + i%3)
			v.Contact.Phone = fmt.Sprintf("07700 9004%02d", i)
		}))
		vols = append(vols, v.Name)
	}
	nreq := 0
	var made, released atomic.Int64
	win := func(rng *rand.Rand) *pb.HelpRequest_Window {
		sl := slots[rng.Intn(len(slots))]
		return &pb.HelpRequest_Window{Window: &pb.TimeWindow{
			StartTime: timestamppb.New(base.Add(time.Duration(sl[0]) * time.Hour)),
			EndTime:   timestamppb.New(base.Add(time.Duration(sl[1]) * time.Hour))}}
	}
	addReq := func(rng *rand.Rand) {
		mu.Lock()
		n := nreq
		nreq++
		mu.Unlock()
		resp, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: shopping(func(r *pb.HelpRequest) {
			r.Needs = []pb.Need{pb.Need_NEED_ERRANDS}
			r.Location = &pb.Location{Postcode: "AB10 1AB", Street: fmt.Sprintf("Street %d", n)}
			r.Requester.Phone = fmt.Sprintf("01224 6%05d", n)
			r.Urgency = pb.Urgency(rng.Intn(4) + 1)
			r.Timing = win(rng)
		})})
		if err != nil {
			return
		}
		mu.Lock()
		reqs = append(reqs, resp.HelpRequest.Name)
		mu.Unlock()
	}
	rng0 := rand.New(rand.NewSource(seed))
	for range 12 {
		addReq(rng0)
	}
	pick := func(rng *rand.Rand) (string, string) {
		mu.Lock()
		defer mu.Unlock()
		return reqs[len(reqs)-1-rng.Intn(min(len(reqs), 20))], vols[rng.Intn(len(vols))]
	}
	for phase := range phases {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewSource(seed*1000 + int64(phase*100+w)))
				for range opsEach {
					r, v := pick(rng)
					switch k := rng.Intn(100); {
					case k < 10:
						addReq(rng)
					case k < 25:
						_, _ = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: r, Volunteer: v})
					case k < 40:
						if got, err := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: r}); err == nil && got.HelpRequest.Offer != "" {
							if rng.Intn(4) == 0 {
								_, _ = h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: got.HelpRequest.Offer})
							} else {
								_, _ = h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: got.HelpRequest.Offer})
							}
						}
					case k < 44:
						_, _ = h.match.CompleteHelpRequest(h.ctx, &pb.CompleteHelpRequestRequest{Name: r})
					case k < 47:
						_, _ = h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: r})
					case k < 57:
						d, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
						if err != nil {
							t.Errorf("dispatch: %v", err)
							break
						}
						made.Add(int64(d.OffersMade))
						var byU int32
						for _, n := range d.OffersByUrgency {
							byU += n
						}
						if byU != d.OffersMade || d.Uncovered != d.OpenRequests-d.OffersMade || d.WithoutCandidates < 0 || d.Outnumbered < 0 || d.SameDoor < 0 ||
							d.WithoutCandidates+d.Outnumbered+d.SameDoor > d.Uncovered {
							t.Errorf("dispatch summary does not add up: %v", d)
						}
					case k < 60:
						clock.advance(time.Duration(5+rng.Intn(20)) * time.Minute)
						h.srv.Sweep(h.ctx)
					case k < 68:
						_, _ = h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
							Volunteer:  &pb.Volunteer{Name: v, Paused: rng.Intn(2) == 0},
							UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}}})
					case k < 74:
						_, _ = h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
							Volunteer:  &pb.Volunteer{Name: v, Capacity: int32(1 + rng.Intn(3))},
							UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"capacity"}}})
					case k < 80:
						md := int32(0)
						if rng.Intn(2) == 0 {
							md = 100
						}
						_, _ = h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
							Volunteer:  &pb.Volunteer{Name: v, MaxDistanceMetres: md},
							UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"max_distance_metres"}}})
					case k < 88:
						_, _ = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
							HelpRequest: &pb.HelpRequest{Name: r, Timing: win(rng)},
							UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"window"}}})
					case k < 92:
						_, _ = h.hr.DeleteHelpRequest(h.ctx, &pb.DeleteHelpRequestRequest{Name: r})
					case k < 94:
						if _, err := h.vol.DeleteVolunteer(h.ctx, &pb.DeleteVolunteerRequest{Name: v}); err == nil {
							// Another takes their place.
							nv, err := h.vol.CreateVolunteer(h.ctx, &pb.CreateVolunteerRequest{Volunteer: matchVolunteer("W", "AB11 5QN", func(x *pb.Volunteer) {
								x.Capacity = 2
								x.Contact.Phone = fmt.Sprintf("07700 95%04d", rng.Intn(10000))
							})})
							if err == nil {
								mu.Lock()
								vols[slices.Index(vols, v)] = nv.Volunteer.Name
								mu.Unlock()
							}
						}
					case k < 97:
						// A volunteer can no longer go, and hands their job
						// back: one of the requests assigned now, since a
						// request picked at random is seldom assigned, and
						// on a busy machine no release would be tried.
						if got, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{State: pb.HelpRequest_STATE_ASSIGNED, PageSize: 20}); err == nil && len(got.HelpRequests) > 0 {
							r = got.HelpRequests[rng.Intn(len(got.HelpRequests))].Name
						}
						if _, err := h.match.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: r}); err == nil {
							released.Add(1)
						}
					default:
						if got, err := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: r}); err == nil {
							_, _ = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
								HelpRequest: &pb.HelpRequest{Name: r, Details: "edited", Etag: got.HelpRequest.Etag},
								UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}}})
						}
					}
				}
			}()
		}
		wg.Wait()
		lifecycleInvariants(t, h, clock.now(), fmt.Sprintf("seed %d phase %d", seed, phase))
		if t.Failed() {
			return
		}
	}
	var events int64
	for from := uint64(1); ; {
		page, err := h.st.ReadEvents(h.ctx, from, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Events {
			if ev.Type == pb.Event_TYPE_OFFER_CREATED && ev.Dispatched {
				events++
			}
		}
		if !page.More {
			break
		}
		from = page.Through + 1
	}
	if events != made.Load() {
		t.Errorf("dispatches said they made %d offers; the log has %d", made.Load(), events)
	}
	if events == 0 {
		t.Error("no dispatch made an offer: the test covers too little")
	}
	if released.Load() == 0 {
		t.Error("no request was released: the test covers too little")
	}
}

// lifecycleInvariants reads everything stored, between phases, and judges it.
func lifecycleInvariants(t *testing.T, h *harness, now time.Time, when string) {
	t.Helper()
	var hrs []*pb.HelpRequest
	for tok := ""; ; {
		got, next, err := h.st.ListHelpRequests(h.ctx, store.HelpRequestFilter{}, store.Page{Size: 1000, Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		hrs = append(hrs, got...)
		if tok = next; tok == "" {
			break
		}
	}
	var vs []*pb.Volunteer
	for tok := ""; ; {
		got, next, err := h.st.ListVolunteers(h.ctx, store.VolunteerFilter{}, store.Page{Size: 1000, Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, got...)
		if tok = next; tok == "" {
			break
		}
	}
	var offers []*pb.Offer
	for tok := ""; ; {
		got, next, err := h.st.ListOffers(h.ctx, store.OfferFilter{}, store.Page{Size: 1000, Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		offers = append(offers, got...)
		if tok = next; tok == "" {
			break
		}
	}
	byName := map[string]*pb.HelpRequest{}
	for _, r := range hrs {
		byName[r.Name] = r
	}
	volByName := map[string]*pb.Volunteer{}
	for _, v := range vs {
		volByName[v.Name] = v
	}
	for _, o := range offers {
		// Fulfilled and cancelled requests keep their volunteer: any other
		// accepted offer was handed back (ReleaseHelpRequest).
		if r := byName[o.HelpRequest]; o.State == pb.Offer_STATE_ACCEPTED && r != nil && r.AssignedVolunteer != o.Volunteer &&
			!slices.Contains(r.DeclinedVolunteers, o.Volunteer) {
			t.Errorf("%s: %s accepted by %s, but %s is %v with %q and does not list them as declined", when, o.Name, o.Volunteer, r.Name, r.State, r.AssignedVolunteer)
		}
	}
	pendingOf := map[string]int{}
	pendingFor := map[string][]*pb.Offer{}
	held := map[string][]*pb.HelpRequest{}
	for _, o := range offers {
		if o.State == pb.Offer_STATE_PENDING {
			pendingOf[o.Volunteer]++
			pendingFor[o.HelpRequest] = append(pendingFor[o.HelpRequest], o)
			if r := byName[o.HelpRequest]; r != nil {
				held[o.Volunteer] = append(held[o.Volunteer], r)
				if slices.Contains(r.DeclinedVolunteers, o.Volunteer) {
					t.Errorf("%s: %s pending for %s, who declined it", when, o.Name, o.Volunteer)
				}
				if v := volByName[o.Volunteer]; v != nil && v.Paused {
					t.Errorf("%s: %s pending for paused %s", when, o.Name, o.Volunteer)
				}
				if v := volByName[o.Volunteer]; v != nil && v.MaxDistanceMetres == 100 {
					t.Errorf("%s: %s pending for %s, who goes 100 m only (dispatched %v)", when, o.Name, o.Volunteer, o.Dispatched)
				}
			}
		}
	}
	active := map[string]int{}
	for _, r := range hrs {
		ps := pendingFor[r.Name]
		switch r.State {
		case pb.HelpRequest_STATE_OFFERED:
			if len(ps) != 1 || ps[0].Name != r.Offer {
				t.Errorf("%s: %s OFFERED with %s, pending offers %v", when, r.Name, r.Offer, ps)
			}
		case pb.HelpRequest_STATE_ASSIGNED:
			active[r.AssignedVolunteer]++
			held[r.AssignedVolunteer] = append(held[r.AssignedVolunteer], r)
			fallthrough
		default:
			if len(ps) != 0 {
				t.Errorf("%s: %s is %v with pending offers %v", when, r.Name, r.State, ps)
			}
		}
	}
	for _, v := range vs {
		if int(v.PendingOffers) != pendingOf[v.Name] || int(v.ActiveAssignments) != active[v.Name] {
			t.Errorf("%s: %s says %d pending %d active; offers say %d, requests %d", when, v.Name, v.PendingOffers, v.ActiveAssignments, pendingOf[v.Name], active[v.Name])
		}
		if v.PendingOffers+v.ActiveAssignments > max(v.Capacity, 1) {
			t.Errorf("%s: %s over capacity: %d+%d > %d", when, v.Name, v.PendingOffers, v.ActiveAssignments, v.Capacity)
		}
		hs := held[v.Name]
		for i, a := range hs {
			for _, b := range hs[i+1:] {
				wa, wb := a.GetWindow(), b.GetWindow()
				if !wa.EndTime.AsTime().After(now) || !wb.EndTime.AsTime().After(now) {
					continue
				}
				if wa.StartTime.AsTime().Before(wb.EndTime.AsTime()) && wb.StartTime.AsTime().Before(wa.EndTime.AsTime()) {
					t.Errorf("%s: %s holds %s (%v) and %s (%v) at once", when, v.Name, a.Name, a.State, b.Name, b.State)
				}
			}
		}
	}
	for name := range pendingOf {
		if volByName[name] == nil {
			t.Errorf("%s: pending offers for deleted %s", when, name)
		}
	}
}
