package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/phone"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// TestAdminRaceRandom runs an admin's actions (erasures by phone,
// deletions, holds, token revocations, the sweep's purge and the key
// rotation each of those ends with) at the same time as ordinary work:
// dispatch, offers made, accepted and declined, partners' batches and
// retried creates, volunteers editing themselves with their own tokens,
// and event streams open. Afterwards, and again after a restart on the
// same file, nothing erased has come back, nothing points at a volunteer
// who is gone or held, the counts agree with the offers, and every record
// left can be read. The goroutines' schedule is the runtime's, so a seed
// fixes what each actor tries, not the order in which the writes land.
// ADMIN_RACE_SEED sets the first seed, ADMIN_RACE_SEEDS how many run and
// ADMIN_RACE_OPS the steps of each actor.
func TestAdminRaceRandom(t *testing.T) {
	seed, seeds := uint64(1), 2
	if s := os.Getenv("ADMIN_RACE_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	if s := os.Getenv("ADMIN_RACE_SEEDS"); s != "" {
		seeds, _ = strconv.Atoi(s)
	}
	if testing.Short() {
		seeds = 1
	}
	for i := range uint64(seeds) {
		t.Run(fmt.Sprint("seed", seed+i), func(t *testing.T) { runAdminRace(t, seed+i) })
	}
}

// racePhone is the number of person i of a run, who may ask for help and
// volunteer too.
func racePhone(i int) string { return fmt.Sprintf("07700 9006%02d", i) }

type adminRace struct {
	t     *testing.T
	h     *harness
	clock *testClock
	admin pb.AdminServiceClient
	part  pb.HelpRequestServiceClient

	mu      sync.Mutex
	vols    []string          // volunteer names made
	reqs    []string          // request names made
	volTok  map[string]string // volunteer name -> their token's secret
	volConn map[string]*volApp
	ext     int
	erased  []string // the numbers erasures were done for
	streams []*raceStream
}

type volApp struct {
	vol   pb.VolunteerServiceClient
	match pb.MatchingServiceClient
	ev    pb.EventServiceClient
}

// raceStream is a volunteer's app watching its events.
type raceStream struct {
	vol string
	mu  sync.Mutex
	evs []*pb.Event
}

func (a *adminRace) add(names *[]string, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	*names = append(*names, name)
}

func (a *adminRace) pick(rng *rand.Rand, names *[]string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(*names) == 0 {
		return ""
	}
	return (*names)[len(*names)-1-rng.IntN(min(len(*names), 20))]
}

func (a *adminRace) request(rng *rand.Rand, person int) *pb.HelpRequest {
	a.mu.Lock()
	a.ext++
	n := a.ext
	a.mu.Unlock()
	base := a.clock.now().Truncate(time.Hour)
	start := base.Add(time.Duration(2+rng.IntN(4)) * time.Hour)
	return shopping(func(r *pb.HelpRequest) {
		r.Needs = []pb.Need{pb.Need_NEED_ERRANDS}
		r.Location = &pb.Location{Postcode: "AB10 1AB", Street: fmt.Sprintf("Street %d", n), AddressLines: []string{fmt.Sprintf("%d Street %d", n, n)}}
		r.Requester = &pb.Contact{DisplayName: fmt.Sprintf("Person %d", person), Phone: racePhone(person)}
		r.Urgency = pb.Urgency(rng.IntN(4) + 1)
		r.ExternalId = fmt.Sprintf("ext-%d", n)
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(time.Hour))}}
	})
}

func (a *adminRace) volunteer(person int) *pb.Volunteer {
	return matchVolunteer(fmt.Sprintf("Person %d", person), "AB11 5QN", func(v *pb.Volunteer) {
		v.Capacity = 2
		v.Contact.Phone = racePhone(person)
		v.Home.AddressLines = []string{fmt.Sprintf("%d Market Street", person)}
	})
}

// app is a volunteer's own app, signed in with a token of theirs.
func (a *adminRace) app(name string) *volApp {
	a.mu.Lock()
	c, ok := a.volConn[name]
	a.mu.Unlock()
	if ok {
		return c
	}
	resp, err := a.admin.CreateToken(a.h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "phone of " + name, Role: pb.Role_ROLE_VOLUNTEER, Volunteer: name}})
	if err != nil {
		return nil // deleted or erased meanwhile
	}
	conn := a.h.as(resp.Secret)
	c = &volApp{pb.NewVolunteerServiceClient(conn), pb.NewMatchingServiceClient(conn), pb.NewEventServiceClient(conn)}
	a.mu.Lock()
	a.volTok[name], a.volConn[name] = resp.Secret, c
	a.mu.Unlock()
	return c
}

func runAdminRace(t *testing.T, seed uint64) {
	clock := &testClock{t: time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)}
	opts := []server.Option{server.WithRateLimit(0, 0), server.WithPersonalDataRetention(time.Hour), server.WithMaxStreams(64)}
	h := newHarnessWithClock(t, clock, opts...)
	a := &adminRace{t: t, h: h, clock: clock, admin: pb.NewAdminServiceClient(h.conn), volTok: map[string]string{}, volConn: map[string]*volApp{}}
	a.part = pb.NewHelpRequestServiceClient(h.partnerConn())

	const people = 10
	rng0 := rand.New(rand.NewPCG(seed, 1))
	for i := range people {
		a.add(&a.vols, h.createVol(a.volunteer(i)).Name)
	}
	for range 16 {
		a.add(&a.reqs, h.createHR(a.request(rng0, rng0.IntN(people))).Name)
	}

	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	var streams sync.WaitGroup
	for _, v := range a.vols[:4] {
		app := a.app(v)
		st, err := app.ev.WatchEvents(ctx, &pb.WatchEventsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		rs := &raceStream{vol: v}
		a.streams = append(a.streams, rs)
		streams.Go(func() {
			for {
				resp, err := st.Recv()
				if err != nil {
					return // cancelled, or their token ended
				}
				rs.mu.Lock()
				rs.evs = append(rs.evs, resp.Events...)
				rs.mu.Unlock()
			}
		})
	}

	ops := 40
	if s := os.Getenv("ADMIN_RACE_OPS"); s != "" {
		ops, _ = strconv.Atoi(s)
	}
	var wg sync.WaitGroup
	actor := func(n uint64, step func(rng *rand.Rand)) {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, n))
			for range ops {
				step(rng)
			}
		})
	}
	// The dispatcher, on demand and as its interval would run it.
	actor(10, func(rng *rand.Rand) {
		if _, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{}); err != nil {
			t.Errorf("dispatch: %v", err)
		}
	})
	// Staff: new requests (retried with their request id), offers by hand,
	// answers, edits of a caller's name, sweeps as time goes by.
	actor(11, func(rng *rand.Rand) {
		switch k := rng.IntN(100); {
		case k < 25:
			req := &pb.CreateHelpRequestRequest{HelpRequest: a.request(rng, rng.IntN(people)), RequestId: raceUUID(rng)}
			resp, err := h.hr.CreateHelpRequest(h.ctx, req)
			if err == nil {
				a.add(&a.reqs, resp.HelpRequest.Name)
			}
			// The reply was lost: the helpline's client sends it again.
			_, _ = h.hr.CreateHelpRequest(h.ctx, req)
		case k < 45:
			r, v := a.pick(rng, &a.reqs), a.pick(rng, &a.vols)
			_, _ = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: r, Volunteer: v, RequestId: raceUUID(rng)})
		case k < 60:
			r := a.pick(rng, &a.reqs)
			_, _ = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: r, Requester: &pb.Contact{DisplayName: "Renamed " + strconv.Itoa(rng.IntN(100))}},
				UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"requester.display_name"}}})
		case k < 70:
			r := a.pick(rng, &a.reqs)
			_, _ = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: r, Details: "Also some milk"},
				UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}}})
		case k < 80:
			_, _ = h.match.CompleteHelpRequest(h.ctx, &pb.CompleteHelpRequestRequest{Name: a.pick(rng, &a.reqs)})
		case k < 88:
			_, _ = h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: a.pick(rng, &a.reqs)})
		default:
			clock.advance(time.Duration(5+rng.IntN(20)) * time.Minute)
			h.srv.Sweep(h.ctx)
		}
	})
	// A partner's import, rows sent again by a retry of the whole batch.
	actor(12, func(rng *rand.Rand) {
		var rows []*pb.HelpRequest
		for range 1 + rng.IntN(4) {
			rows = append(rows, a.request(rng, rng.IntN(people)))
		}
		for range 2 {
			resp, err := a.part.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: rows})
			if err != nil {
				continue
			}
			for _, r := range resp.Results {
				if r.Error == nil && !r.Existing {
					a.add(&a.reqs, r.HelpRequest.Name)
				}
			}
		}
	})
	// Volunteers with their own apps: answering their offers, editing
	// their own record, pausing and resuming.
	actor(13, func(rng *rand.Rand) {
		v := a.pick(rng, &a.vols)
		app := a.app(v)
		if app == nil {
			return
		}
		switch k := rng.IntN(100); {
		case k < 50:
			resp, err := app.match.ListOffers(h.ctx, &pb.ListOffersRequest{Volunteer: v, State: pb.Offer_STATE_PENDING})
			if err != nil {
				return
			}
			for _, o := range resp.Offers {
				if rng.IntN(3) == 0 {
					_, _ = app.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: o.Name})
				} else {
					_, _ = app.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name})
				}
			}
		case k < 75:
			_, _ = app.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
				Volunteer:  &pb.Volunteer{Name: v, Contact: &pb.Contact{DisplayName: "Still " + strconv.Itoa(rng.IntN(100))}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"contact.display_name"}}})
		default:
			_, _ = app.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
				Volunteer:  &pb.Volunteer{Name: v, Paused: rng.IntN(2) == 0},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}}})
		}
	})
	// The admin and coordinators.
	actor(14, func(rng *rand.Rand) {
		switch k := rng.IntN(100); {
		case k < 30:
			number := racePhone(rng.IntN(people))
			for range 3 {
				_, err := a.admin.ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: number})
				if err == nil {
					a.mu.Lock()
					a.erased = append(a.erased, number)
					a.mu.Unlock()
					break
				}
				if status.Code(err) != codes.FailedPrecondition {
					t.Errorf("erase %s: %v", number, err)
					break
				}
				// Their live offers and assignments end first.
				norm, _ := phone.Normalise(number)
				got, _, _ := h.st.ListHelpRequests(h.ctx, store.HelpRequestFilter{Phone: norm}, store.Page{Size: 100})
				for _, r := range got {
					_, _ = h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: r.Name})
				}
				vs, _, _ := h.st.ListVolunteers(h.ctx, store.VolunteerFilter{Phone: norm}, store.Page{Size: 100})
				for _, v := range vs {
					offers, _, _ := h.st.ListOffers(h.ctx, store.OfferFilter{VolunteerID: strings.TrimPrefix(v.Name, "volunteers/"), Live: true}, store.Page{Size: 100})
					for _, o := range offers {
						switch o.State {
						case pb.Offer_STATE_PENDING:
							_, _ = h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: o.Name})
						case pb.Offer_STATE_ACCEPTED:
							_, _ = h.match.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: o.HelpRequest})
						}
					}
				}
			}
			// They may come back, and volunteer again.
			if rng.IntN(2) == 0 {
				if resp, err := h.vol.CreateVolunteer(h.ctx, &pb.CreateVolunteerRequest{Volunteer: a.volunteer(rng.IntN(people))}); err == nil {
					a.add(&a.vols, resp.Volunteer.Name)
				}
			}
		case k < 45:
			v := a.pick(rng, &a.vols)
			_, _ = h.vol.DeleteVolunteer(h.ctx, &pb.DeleteVolunteerRequest{Name: v})
		case k < 70:
			v := a.pick(rng, &a.vols)
			_, _ = h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
				Volunteer:  &pb.Volunteer{Name: v, Held: rng.IntN(3) != 0},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"held"}}})
		case k < 80:
			a.mu.Lock()
			var names []string
			for n := range a.volTok {
				names = append(names, n)
			}
			a.mu.Unlock()
			if len(names) == 0 {
				return
			}
			slices.Sort(names)
			name := names[rng.IntN(len(names))]
			toks, err := a.admin.ListTokens(h.ctx, &pb.ListTokensRequest{PageSize: 1000})
			if err != nil {
				return
			}
			for _, tk := range toks.Tokens {
				if tk.Volunteer == name && tk.RevokeTime == nil {
					_, _ = a.admin.RevokeToken(h.ctx, &pb.RevokeTokenRequest{Name: tk.Name})
					a.mu.Lock()
					delete(a.volTok, name)
					delete(a.volConn, name)
					a.mu.Unlock()
				}
			}
		default:
			clock.advance(time.Duration(30+rng.IntN(60)) * time.Minute)
			h.srv.Sweep(h.ctx)
		}
	})
	wg.Wait()
	cancel()
	streams.Wait()

	a.mu.Lock()
	t.Logf("seed %d: %d erasures, %d volunteers, %d requests made", seed, len(a.erased), len(a.vols), len(a.reqs))
	a.mu.Unlock()
	a.check("after the run")
	h.reopen()
	a.check("after a restart")
}

// check reads everything stored and judges it.
func (a *adminRace) check(when string) {
	t, h := a.t, a.h
	t.Helper()
	lifecycleInvariants(t, h, a.clock.now(), when)
	var hrs []*pb.HelpRequest
	for tok := ""; ; {
		got, next, err := h.st.ListHelpRequests(h.ctx, store.HelpRequestFilter{}, store.Page{Size: 1000, Token: tok})
		if err != nil {
			t.Fatalf("%s: list requests: %v", when, err)
		}
		hrs = append(hrs, got...)
		if tok = next; tok == "" {
			break
		}
	}
	vols := map[string]*pb.Volunteer{}
	for tok := ""; ; {
		got, next, err := h.st.ListVolunteers(h.ctx, store.VolunteerFilter{}, store.Page{Size: 1000, Token: tok})
		if err != nil {
			t.Fatalf("%s: list volunteers: %v", when, err)
		}
		for _, v := range got {
			vols[v.Name] = v
		}
		if tok = next; tok == "" {
			break
		}
	}
	// Every record the audit log says was erased or purged stays so.
	erasedRecs := map[string]bool{}
	for _, action := range []string{"erase", "purge"} {
		for tok := ""; ; {
			resp, err := pb.NewAdminServiceClient(h.conn).ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{Action: action, PageSize: 1000, PageToken: tok})
			if err != nil {
				t.Fatalf("%s: audit: %v", when, err)
			}
			for _, r := range resp.AuditRecords {
				if strings.HasPrefix(r.Resource, "helpRequests/") || strings.HasPrefix(r.Resource, "volunteers/") {
					erasedRecs[r.Resource] = true
				}
			}
			if tok = resp.NextPageToken; tok == "" {
				break
			}
		}
	}
	for _, r := range hrs {
		got, err := h.st.GetHelpRequest(h.ctx, strings.TrimPrefix(r.Name, "helpRequests/"))
		if err != nil {
			t.Errorf("%s: %s cannot be read: %v", when, r.Name, err)
			continue
		}
		if erasedRecs[r.Name] {
			if got.PersonalDataRemovedTime == nil || got.Requester.GetPhone() != "" || got.Requester.GetDisplayName() != "" ||
				got.Details != "" || len(got.GetLocation().GetAddressLines()) > 0 {
				t.Errorf("%s: %s was erased, but holds personal data again: %v", when, r.Name, got)
			}
		}
		if r.State == pb.HelpRequest_STATE_ASSIGNED && vols[r.AssignedVolunteer] == nil {
			t.Errorf("%s: %s is assigned to %s, who is gone", when, r.Name, r.AssignedVolunteer)
		}
	}
	for name := range erasedRecs {
		if strings.HasPrefix(name, "volunteers/") && vols[name] != nil {
			t.Errorf("%s: %s was erased or deleted, but is stored", when, name)
		}
	}
	// Nobody erased can be found by their number.
	a.mu.Lock()
	erased := slices.Clone(a.erased)
	a.mu.Unlock()
	for _, number := range erased {
		norm, _ := phone.Normalise(number)
		got, _, err := h.st.ListHelpRequests(h.ctx, store.HelpRequestFilter{Phone: norm}, store.Page{Size: 1000})
		if err != nil {
			t.Fatalf("%s: list by phone: %v", when, err)
		}
		for _, r := range got {
			if erasedRecs[r.Name] {
				t.Errorf("%s: %s, erased, is found again by the phone %s", when, r.Name, number)
			}
		}
	}
	// Offers: none waits for a volunteer who is gone or held.
	for tok := ""; ; {
		got, next, err := h.st.ListOffers(h.ctx, store.OfferFilter{State: pb.Offer_STATE_PENDING}, store.Page{Size: 1000, Token: tok})
		if err != nil {
			t.Fatalf("%s: list offers: %v", when, err)
		}
		for _, o := range got {
			switch v := vols[o.Volunteer]; {
			case v == nil:
				t.Errorf("%s: %s is pending for %s, who is gone", when, o.Name, o.Volunteer)
			case v.Held:
				t.Errorf("%s: %s is pending for %s, who is held", when, o.Name, o.Volunteer)
			}
		}
		if tok = next; tok == "" {
			break
		}
	}
	// The matching engine offers nobody gone or held.
	for _, r := range hrs {
		if r.State != pb.HelpRequest_STATE_OPEN {
			continue
		}
		resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: r.Name, PageSize: 100})
		if err != nil {
			continue // ended meanwhile
		}
		for _, c := range resp.Candidates {
			switch v := vols[c.Volunteer]; {
			case v == nil:
				t.Errorf("%s: %s is a candidate for %s, but is gone", when, c.Volunteer, r.Name)
			case v.Held:
				t.Errorf("%s: %s is a candidate for %s, but is held", when, c.Volunteer, r.Name)
			}
		}
	}
	// Volunteers' tokens: those of volunteers gone are revoked.
	toks, err := pb.NewAdminServiceClient(h.conn).ListTokens(h.ctx, &pb.ListTokensRequest{PageSize: 1000})
	if err != nil {
		t.Fatalf("%s: list tokens: %v", when, err)
	}
	for _, tk := range toks.Tokens {
		if tk.Role == pb.Role_ROLE_VOLUNTEER && vols[tk.Volunteer] == nil && tk.RevokeTime == nil {
			t.Errorf("%s: %s acts for %s, who is gone, and is not revoked", when, tk.Name, tk.Volunteer)
		}
	}
	// Streams of volunteers gone ended, and told nothing of anyone else.
	for _, rs := range a.streams {
		rs.mu.Lock()
		for _, ev := range rs.evs {
			if ev.Volunteer != "" && ev.Volunteer != rs.vol {
				t.Errorf("%s: the stream of %s told of %s", when, rs.vol, ev.Volunteer)
			}
		}
		rs.mu.Unlock()
	}
}

// raceUUID is a request id from the run's own randomness.
func raceUUID(rng *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff, rng.Uint32()&0xfff, rng.Uint64()&0xffffffffffff)
}
