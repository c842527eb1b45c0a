package server_test

import (
	"fmt"
	"math/rand"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/geo"
	"github.com/doorstep-aid/doorstep/matcher"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// The door invariant, checked by a seeded random model: for one caller,
// two requests held (ASSIGNED, or OFFERED with the lease running) by two
// different volunteers, whose windows meet, at one door (one postcode,
// one street key, a blank street being possibly any of the caller's
// there), never both come without the caller's leave: at least one of
// the two offers was made with allow_second_volunteer. A befriending call
// from afar (remote_ok) takes nobody to the door, and is no such request.
// And a dispatch never plans an offer the store refuses as SAME_DOOR.

var invStreets = []string{"Union St", "Union Street", "12 Union St", "Holburn Street", "", "Saint Machar Dr", "St Machar Drive"}

var invPostcodes = []string{"AB10 1AB", "AB10 1AN"}

var invPhones = []string{"01224 400001", "01224 400002", "01224 400003"}

// invSlots are windows, in hours from the harness's start: some meet,
// some do not.
var invSlots = [][2]int{{2, 4}, {3, 5}, {4, 6}, {6, 8}, {26, 28}}

type invKind int

const (
	invCreate invKind = iota
	invOffer
	invAccept
	invDecline
	invCancel
	invComplete
	invSetStreet
	invSetWindow
	invSetRemote
	invDispatch
	invAdvance
	invAdvanceSweep
)

// invOp is one step. Requests and volunteers are named by their index in
// creation order, so that a shrunk sequence replays the same.
type invOp struct {
	kind                     invKind
	caller, postcode, street int
	slot, req, vol           int
	allow                    bool
}

func (o invOp) String() string {
	switch o.kind {
	case invCreate:
		return fmt.Sprintf("create(caller=%d pc=%q street=%q slot=%v remote=%t)", o.caller, invPostcodes[o.postcode], invStreets[o.street], invSlots[o.slot], o.allow)
	case invOffer:
		return fmt.Sprintf("offer(req%d -> vol%d allow=%t)", o.req, o.vol, o.allow)
	case invAccept:
		return fmt.Sprintf("accept(req%d)", o.req)
	case invDecline:
		return fmt.Sprintf("decline(req%d)", o.req)
	case invCancel:
		return fmt.Sprintf("cancel(req%d)", o.req)
	case invComplete:
		return fmt.Sprintf("complete(req%d)", o.req)
	case invSetStreet:
		return fmt.Sprintf("setStreet(req%d, %q)", o.req, invStreets[o.street])
	case invSetWindow:
		return fmt.Sprintf("setWindow(req%d, %v)", o.req, invSlots[o.slot])
	case invSetRemote:
		return fmt.Sprintf("setRemote(req%d, %t)", o.req, o.allow)
	case invDispatch:
		return "dispatch"
	case invAdvance:
		return "advance31m"
	case invAdvanceSweep:
		return "advance31m+sweep"
	}
	return "?"
}

func invGen(rng *rand.Rand, n, callers, postcodes int) []invOp {
	var ops []invOp
	reqs := 0
	for len(ops) < n {
		var o invOp
		k := rng.Intn(100)
		switch {
		case reqs < 2 || k < 20:
			o = invOp{kind: invCreate, caller: rng.Intn(callers), postcode: rng.Intn(postcodes), street: rng.Intn(len(invStreets)), slot: rng.Intn(len(invSlots)), allow: rng.Intn(4) == 0}
			reqs++
		case k < 42:
			o = invOp{kind: invOffer, req: rng.Intn(reqs), vol: rng.Intn(3), allow: rng.Intn(4) == 0}
		case k < 57:
			o = invOp{kind: invAccept, req: rng.Intn(reqs)}
		case k < 61:
			o = invOp{kind: invDecline, req: rng.Intn(reqs)}
		case k < 64:
			o = invOp{kind: invCancel, req: rng.Intn(reqs)}
		case k < 67:
			o = invOp{kind: invComplete, req: rng.Intn(reqs)}
		case k < 77:
			o = invOp{kind: invSetStreet, req: rng.Intn(reqs), street: rng.Intn(len(invStreets))}
		case k < 82:
			o = invOp{kind: invSetWindow, req: rng.Intn(reqs), slot: rng.Intn(len(invSlots))}
		case k < 86:
			o = invOp{kind: invSetRemote, req: rng.Intn(reqs), allow: rng.Intn(2) == 0}
		case k < 94:
			o = invOp{kind: invDispatch}
		case k < 97:
			o = invOp{kind: invAdvance}
		default:
			o = invOp{kind: invAdvanceSweep}
		}
		ops = append(ops, o)
	}
	return ops
}

// invRun replays ops on a fresh harness and returns the first violation
// (and the step it followed), or "" if none.
func invRun(t *testing.T, ops []invOp, ignore map[string]bool) (string, int) {
	t.Helper()
	skip := map[string]bool{}
	var out string
	var step int
	t.Run("replay", func(t *testing.T) {
		clock := &testClock{t: time.Now()}
		h := newHarnessWithClock(t, clock, server.WithRateLimit(1e6, 1<<20))
		base := clock.now().Truncate(time.Hour)
		win := func(s int) *pb.HelpRequest_Window {
			sl := invSlots[s]
			return &pb.HelpRequest_Window{Window: &pb.TimeWindow{
				StartTime: timestamppb.New(base.Add(time.Duration(sl[0]) * time.Hour)),
				EndTime:   timestamppb.New(base.Add(time.Duration(sl[1]) * time.Hour))}}
		}
		var vols []string
		for i := range 3 {
			v := h.createVol(matchVolunteer(fmt.Sprint("Vol", i), "AB10 1AF", func(v *pb.Volunteer) {
				v.Capacity = 4
				v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC, ExpireDate: &pb.Date{Year: int32(clock.now().Year() + 2), Month: 1, Day: 1}} // for calls
				v.Contact.Phone = fmt.Sprintf("07700 9003%02d", i)
			}))
			vols = append(vols, v.Name)
		}
		var reqs []string
		callerOf := map[string]int{}
		for i, o := range ops {
			switch o.kind {
			case invCreate:
				hr := shopping(func(r *pb.HelpRequest) {
					r.Needs = []pb.Need{pb.Need_NEED_ERRANDS}
					r.Location = &pb.Location{Postcode: invPostcodes[o.postcode], Street: invStreets[o.street]}
					r.Requester.Phone = invPhones[o.caller]
					r.Timing = win(o.slot)
					if o.allow { // a call from afar
						r.Needs, r.RemoteOk = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true
					}
				})
				resp, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
				if err != nil {
					// A window already past (the clock moved on): a
					// request nobody can name.
					reqs = append(reqs, fmt.Sprintf("helpRequests/none%d", i))
					continue
				}
				reqs = append(reqs, resp.HelpRequest.Name)
				callerOf[resp.HelpRequest.Name] = o.caller
			case invOffer:
				_, _ = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: reqs[o.req], Volunteer: vols[o.vol], AllowSecondVolunteer: o.allow})
			case invAccept, invDecline:
				r, err := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: reqs[o.req]})
				if err != nil || r.HelpRequest.Offer == "" || r.HelpRequest.State != pb.HelpRequest_STATE_OFFERED {
					continue
				}
				if o.kind == invAccept {
					_, _ = h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: r.HelpRequest.Offer})
				} else {
					_, _ = h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: r.HelpRequest.Offer})
				}
			case invCancel:
				_, _ = h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: reqs[o.req]})
			case invComplete:
				_, _ = h.match.CompleteHelpRequest(h.ctx, &pb.CompleteHelpRequestRequest{Name: reqs[o.req]})
			case invSetStreet:
				r, err := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: reqs[o.req]})
				if err != nil {
					continue
				}
				_, _ = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
					HelpRequest: &pb.HelpRequest{Name: reqs[o.req], Location: &pb.Location{Postcode: r.HelpRequest.GetLocation().GetPostcode(), Street: invStreets[o.street]}},
					UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.street"}},
				})
			case invSetWindow:
				_, _ = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
					HelpRequest: &pb.HelpRequest{Name: reqs[o.req], Timing: win(o.slot)},
					UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"window"}},
				})
			case invSetRemote:
				// A call from afar (allow), or errands at the door.
				r := &pb.HelpRequest{Name: reqs[o.req], Needs: []pb.Need{pb.Need_NEED_ERRANDS}}
				if o.allow {
					r.Needs, r.RemoteOk = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true
				}
				_, _ = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
					HelpRequest: r, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"needs", "remote_ok"}},
				})
			case invDispatch:
				if _, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{}); err != nil {
					t.Fatalf("step %d dispatch: %v", i, err)
				}
			case invAdvance:
				clock.advance(31 * time.Minute)
			case invAdvanceSweep:
				clock.advance(31 * time.Minute)
				h.srv.Sweep(h.ctx)
			}
			for {
				v := invCheck(t, h, clock.now(), callerOf, skip)
				if v == "" {
					break
				}
				if c := invClassAt(o, v, reqs); ignore[c] {
					continue // a kind already reported: look for others
				}
				out, step, invLastClass = v, i, invClassAt(o, v, reqs)
				return
			}
		}
	})
	return out, step
}

type invHeld struct {
	r      *pb.HelpRequest
	vol    string
	allow  bool
	caller int
}

// invCheck reads the state through the API, as admin, and judges it.
func invCheck(t *testing.T, h *harness, now time.Time, callerOf map[string]int, skip map[string]bool) string {
	t.Helper()
	for _, e := range h.logs.FilterMessage("dispatch offer skipped").All() {
		for _, f := range e.Context {
			if f.Key == "error" {
				if err, ok := f.Interface.(error); ok && strings.Contains(err.Error(), "another volunteer is going to this door") {
					if skip[e.Message+fmt.Sprint(e.Time)] {
						continue
					}
					skip[e.Message+fmt.Sprint(e.Time)] = true
					return fmt.Sprintf("dispatch planned an offer the store refused as SAME_DOOR: %s: %v", e.ContextMap()["help_request"], err)
				}
			}
		}
	}
	var all []*pb.HelpRequest
	for tok := ""; ; {
		resp, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{PageSize: 100, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, resp.HelpRequests...)
		if tok = resp.NextPageToken; tok == "" {
			break
		}
	}
	var held []invHeld
	for _, r := range all {
		switch r.State {
		case pb.HelpRequest_STATE_OFFERED:
			o, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: r.Offer})
			if err != nil {
				t.Fatal(err)
			}
			if o.Offer.State != pb.Offer_STATE_PENDING || !now.Before(o.Offer.ExpireTime.AsTime()) {
				continue
			}
			held = append(held, invHeld{r: r, vol: o.Offer.Volunteer, allow: o.Offer.AllowSecondVolunteer, caller: callerOf[r.Name]})
		case pb.HelpRequest_STATE_ASSIGNED:
			resp, err := h.match.ListOffers(h.ctx, &pb.ListOffersRequest{HelpRequest: r.Name, PageSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			x := invHeld{r: r, vol: r.AssignedVolunteer, caller: callerOf[r.Name]}
			found := false
			for _, o := range resp.Offers {
				if o.State == pb.Offer_STATE_ACCEPTED && o.Volunteer == r.AssignedVolunteer {
					x.allow, found = o.AllowSecondVolunteer, true
				}
			}
			if !found {
				return fmt.Sprintf("%s is ASSIGNED to %s with no accepted offer of theirs", r.Name, r.AssignedVolunteer)
			}
			held = append(held, x)
		}
	}
	for i, a := range held {
		for _, b := range held[i+1:] {
			if a.caller != b.caller || a.vol == b.vol || a.allow || b.allow || matcher.Remote(a.r) || matcher.Remote(b.r) {
				continue
			}
			if a.r.Location.GetPostcode() != b.r.Location.GetPostcode() {
				continue
			}
			ka, kb := geo.StreetKey(a.r.Location.GetStreet()), geo.StreetKey(b.r.Location.GetStreet())
			if ka != kb && ka != "" && kb != "" {
				continue
			}
			wa, wb := a.r.GetWindow(), b.r.GetWindow()
			if wa == nil || wb == nil || !wa.StartTime.AsTime().Before(wb.EndTime.AsTime()) || !wb.StartTime.AsTime().Before(wa.EndTime.AsTime()) {
				continue
			}
			pair := fmt.Sprint(a.r.Name, a.r.State, a.vol, b.r.Name, b.r.State, b.vol)
			if skip[pair] {
				continue
			}
			skip[pair] = true
			return fmt.Sprintf("two volunteers at one door without leave: %s (%v, %q, %s-%s, %s) and %s (%v, %q, %s-%s, %s)",
				a.r.Name, a.r.State, a.r.Location.GetStreet(), wa.StartTime.AsTime().Format("15:04"), wa.EndTime.AsTime().Format("15:04"), a.vol,
				b.r.Name, b.r.State, b.r.Location.GetStreet(), wb.StartTime.AsTime().Format("15:04"), wb.EndTime.AsTime().Format("15:04"), b.vol)
		}
	}
	return ""
}

// invShrink drops ops one at a time while the violation stays.
func invShrink(t *testing.T, ops []invOp, step int, ignore map[string]bool, want string) []invOp {
	ops = append([]invOp(nil), ops[:step+1]...)
	for changed := true; changed; {
		changed = false
		for i := len(ops) - 1; i >= 0; i-- {
			if ops[i].kind == invCreate {
				continue // later ops name requests by creation index
			}
			try := append(append([]invOp(nil), ops[:i]...), ops[i+1:]...)
			if v, s := invRun(t, try, ignore); v != "" && invLastClass == want {
				ops, changed = try[:s+1], true
			}
		}
	}
	return ops
}

// TestDoorInvariantRandom runs seeded random sequences of creates, offers
// by hand (some with allow_second_volunteer), answers, cancels, edits of
// streets and windows, dispatches and lapsed leases through the API, and
// after every step checks the promise: no caller's door has two
// volunteers, assigned or offered within their lease, at meeting times,
// unless one came by the caller's leave; and no offer dispatch planned is
// refused as a second volunteer. A failure names its seed and steps
// (DOOR_INV_SHRINK=1 shortens them); DOOR_INV_SEEDS, DOOR_INV_FIRST,
// DOOR_INV_LEN and DOOR_INV_TIME set the run.
func TestDoorInvariantRandom(t *testing.T) {
	seeds, first := 200, int64(1)
	if s := os.Getenv("DOOR_INV_SEEDS"); s != "" {
		seeds, _ = strconv.Atoi(s)
	}
	if s := os.Getenv("DOOR_INV_FIRST"); s != "" {
		first, _ = strconv.ParseInt(s, 10, 64)
	}
	budget := 18 * time.Second
	if s := os.Getenv("DOOR_INV_TIME"); s != "" {
		budget, _ = time.ParseDuration(s)
	}
	deadline := time.Now().Add(budget)
	found := map[string]bool{}
	ran := 0
	defer func() { t.Logf("%d seeds", ran) }()
	for _, c := range strings.Split(os.Getenv("DOOR_INV_IGNORE"), ";") {
		if c != "" {
			found[c] = true
		}
	}
	for seed := first; seed < first+int64(seeds) && time.Now().Before(deadline); seed++ {
		rng := rand.New(rand.NewSource(seed))
		ran++
		ops := invGen(rng, invLen(), 2+rng.Intn(2), 1+rng.Intn(2))
		v, step := invRun(t, ops, found)
		if v == "" {
			continue
		}
		key := invLastClass
		short := ops[:step+1]
		if os.Getenv("DOOR_INV_SHRINK") != "" {
			short = invShrink(t, ops, step, found, key)
			v, _ = invRun(t, short, found)
		}
		var b strings.Builder
		for _, o := range short {
			fmt.Fprintf(&b, "\n    %v", o)
		}
		found[key] = true
		t.Errorf("seed %d [%s]: %s\n  ops (%d):%s", seed, key, v, len(short), b.String())
	}
}

// invLastClass is the class of invRun's last violation.
var invLastClass string

// invClassAt is the class of violation v found after op o: an edit of an
// ASSIGNED request that brought it to another volunteer's door is one
// class, whatever the other holds.
func invClassAt(o invOp, v string, reqs []string) string {
	if (o.kind == invSetStreet || o.kind == invSetWindow || o.kind == invSetRemote) && strings.Contains(v, reqs[o.req]+" (STATE_ASSIGNED") {
		if strings.Count(v, "(STATE_ASSIGNED") == 2 {
			return "edit of an ASSIGNED request beside an ASSIGNED one"
		}
		return "edit of an ASSIGNED request beside a pending offer"
	}
	return strings.Fields(o.String())[0] + " " + invClass(v)
}

// invClass is a violation's kind, for reporting each kind once.
func invClass(v string) string {
	var states []string
	for _, w := range strings.Fields(v) {
		if strings.HasPrefix(w, "(STATE_") {
			states = append(states, strings.TrimSuffix(w[1:], ","))
		}
	}
	if len(states) == 0 {
		return v[:min(len(v), 40)]
	}
	slices.Sort(states)
	return strings.Join(states, "+")
}

func invLen() int {
	if n, err := strconv.Atoi(os.Getenv("DOOR_INV_LEN")); err == nil {
		return n
	}
	return 30
}

// invDoor makes one caller's request at AB10 1AB on street, from a to b
// hours from now.
func invDoor(h *harness, street string, a, b time.Duration) *pb.HelpRequest {
	return h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Needs = []pb.Need{pb.Need_NEED_ERRANDS}
		r.Location = &pb.Location{Postcode: "AB10 1AB", Street: street}
		r.Requester.Phone = "01224 400001"
		hours(a, b)(r)
	}))
}

func (h *harness) invAssign(hr, vol string) {
	h.t.Helper()
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(hr, vol).Name}); err != nil {
		h.t.Fatalf("accept %s for %s: %v", hr, vol, err)
	}
}

// TestEditOfAssignedRefusedAtAnOccupiedDoor: Ann is assigned the
// caller's shopping on Union Street, Bob their errand on Holburn Street at
// the same time (another door: allowed). Writing Bob's street as Union
// Street, leaving it blank, or moving a window so that two assigned
// requests at one street meet, would put two volunteers at one door,
// neither by the caller's leave: an assignment has no offer to withdraw,
// so the edit is refused (SAME_DOOR) and changes nothing.
func TestEditOfAssignedRefusedAtAnOccupiedDoor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		paths []string
		edit  func(r *pb.HelpRequest)
		other string
		from  [2]time.Duration
	}{
		{"street", []string{"location.street"}, func(r *pb.HelpRequest) {
			r.Location = &pb.Location{Postcode: "AB10 1AB", Street: "Union St"}
		}, "Holburn Street", [2]time.Duration{2, 4}},
		{"blank street", []string{"location.street"}, func(r *pb.HelpRequest) {
			r.Location = &pb.Location{Postcode: "AB10 1AB", Street: ""}
		}, "Holburn Street", [2]time.Duration{2, 4}},
		{"window", []string{"window"}, hours(3, 5), "Union Street", [2]time.Duration{8, 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
			bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
			shop := invDoor(h, "Union Street", 2, 4)
			errand := invDoor(h, tc.other, tc.from[0], tc.from[1])
			h.invAssign(shop.Name, ann.Name)
			h.invAssign(errand.Name, bob.Name) // another door or time: allowed
			edit := &pb.HelpRequest{Name: errand.Name}
			tc.edit(edit)
			before := h.getHR(errand.Name)
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: edit, UpdateMask: &fieldmaskpb.FieldMask{Paths: tc.paths}})
			wantFailure(t, err, codes.FailedPrecondition, server.ReasonSameDoor)
			if after := h.getHR(errand.Name); after.Etag != before.Etag {
				t.Errorf("the refused edit changed the request")
			}
			a, b := h.getHR(shop.Name), h.getHR(errand.Name)
			if a.State == pb.HelpRequest_STATE_ASSIGNED && b.State == pb.HelpRequest_STATE_ASSIGNED && a.AssignedVolunteer != b.AssignedVolunteer &&
				(geo.StreetKey(b.Location.GetStreet()) == geo.StreetKey(a.Location.GetStreet()) || b.Location.GetStreet() == "") &&
				b.GetWindow().StartTime.AsTime().Before(a.GetWindow().EndTime.AsTime()) && a.GetWindow().StartTime.AsTime().Before(b.GetWindow().EndTime.AsTime()) {
				t.Errorf("edit answered %v; Ann and Bob are now both assigned to one door at meeting times (%q %v, %q %v), neither by the caller's leave",
					err, a.Location.GetStreet(), a.GetWindow(), b.Location.GetStreet(), b.GetWindow())
			}
		})
	}
}

// TestEditOfAssignedRefusedBesideAPendingOffer: Bob is offered the
// caller's Union Street shopping; Ann is assigned their Holburn Street
// errand at the same time (another door). Correcting the errand's street
// to Union St would bring Ann to the door Bob is offered: the edit is
// refused, and Bob's offer stands.
func TestEditOfAssignedRefusedBesideAPendingOffer(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
	shop := invDoor(h, "Union Street", 2, 4)
	errand := invDoor(h, "Holburn Street", 2, 4)
	toBob := h.offer(shop.Name, bob.Name)
	h.invAssign(errand.Name, ann.Name) // another door: allowed
	_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: errand.Name, Location: &pb.Location{Postcode: "AB10 1AB", Street: "Union St"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.street"}},
	})
	wantFailure(t, err, codes.FailedPrecondition, server.ReasonSameDoor)
	if o := h.getOffer(toBob.Name); o.State != pb.Offer_STATE_PENDING {
		t.Errorf("Bob's offer is %v after the refused edit, want PENDING", o.State)
	}
	if got := h.getHR(errand.Name); got.Location.GetStreet() != "Holburn Street" {
		t.Errorf("the refused edit moved the errand to %q", got.Location.GetStreet())
	}
}
