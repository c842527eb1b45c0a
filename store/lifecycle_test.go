package store

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// ---------------------------------------------------------------------------
// Helpers.

// advance moves the clock on by d without reading it.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// idOf is the id part of a resource name.
func idOf(name string) string { return name[strings.LastIndex(name, "/")+1:] }

// lcMust returns a function that fails the test on a lifecycle error and
// otherwise returns the result: lcMust(t, "accept")(s.AcceptOffer(...)).
func lcMust(t testing.TB, what string) func(LifecycleResult, error) LifecycleResult {
	return func(res LifecycleResult, err error) LifecycleResult {
		t.Helper()
		mustOK(t, err, what)
		return res
	}
}

var lcSeq atomic.Int64

// lcRequest stores an OPEN request in org-a whose window ends on
// 2026-03-02 at 17:00.
func lcRequest(t testing.TB, s *BoltStore) *pb.HelpRequest {
	t.Helper()
	hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", fmt.Sprintf("+4477009%05d", lcSeq.Add(1))), Idempotency{})
	mustOK(t, err, "create help request")
	return hr
}

// lcVolunteer stores a volunteer with the given capacity.
func lcVolunteer(t testing.TB, s *BoltStore, capacity int32) *pb.Volunteer {
	t.Helper()
	v := newVolunteer("org-a", "AB10 1AF", fmt.Sprintf("+4477008%05d", lcSeq.Add(1)), "driver")
	v.Capacity = capacity
	v, err := s.CreateVolunteer(bg, v, Idempotency{})
	mustOK(t, err, "create volunteer")
	return v
}

const lcLease = 30 * time.Minute

func lcOffer(t testing.TB, s *BoltStore, hr *pb.HelpRequest, v *pb.Volunteer) LifecycleResult {
	t.Helper()
	return lcMust(t, "create offer")(s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(v.Name), Lease: lcLease}))
}

// dump is every key and value in the file, by bucket path.
func dump(t testing.TB, s *BoltStore) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(path string, b *bolt.Bucket) error
	walk = func(path string, b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return walk(path+"/"+string(k), b.Bucket(k))
			}
			out[path+"/"+string(k)] = string(v)
			return nil
		})
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(string(name), b) })
	})
	mustOK(t, err, "dump")
	return out
}

func diffDump(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			d = append(d, "removed "+k)
		} else if w != v {
			d = append(d, "changed "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, "added "+k)
		}
	}
	slices.Sort(d)
	return d
}

// verifyOffers checks that offers/by_expiry, offers/by_request and
// offers/by_volunteer hold exactly the entries the offer records call for,
// and that every offer names a stored request.
func verifyOffers(t testing.TB, tx *bolt.Tx) {
	t.Helper()
	top := tx.Bucket(bOffers)
	wantExpiry, wantRequest, wantVolunteer := map[string]bool{}, map[string]bool{}, map[string]bool{}
	err := top.Bucket(bRecords).ForEach(func(k, v []byte) error {
		o := &pb.Offer{}
		if err := proto.Unmarshal(v, o); err != nil {
			return fmt.Errorf("offer %x: %w", k, err)
		}
		if want := offerPrefix + idString(k); o.Name != want {
			t.Errorf("offer under key %x is named %q, want %q", k, o.Name, want)
		}
		reqID, err := idFromName(o.HelpRequest, helpRequestPrefix)
		if err != nil {
			t.Errorf("%s: help request %q: %v", o.Name, o.HelpRequest, err)
			return nil
		}
		if tx.Bucket(bHelpRequests).Bucket(bRecords).Get(reqID) == nil {
			t.Errorf("%s: help request %s is not stored", o.Name, o.HelpRequest)
		}
		wantRequest[string(reqID)+string(k)] = true
		volID, err := idFromName(o.Volunteer, volunteerPrefix)
		if err != nil {
			t.Errorf("%s: volunteer %q: %v", o.Name, o.Volunteer, err)
			return nil
		}
		wantVolunteer[string(volID)+string(k)] = true
		if o.State == pb.Offer_STATE_PENDING {
			wantExpiry[string(expiryKey(o.ExpireTime, k))] = true
		}
		return nil
	})
	mustOK(t, err, "walk offers")
	for _, c := range []struct {
		bucket []byte
		want   map[string]bool
	}{{bByExpiry, wantExpiry}, {bByRequest, wantRequest}, {bByVolunteer, wantVolunteer}} {
		got := map[string]bool{}
		_ = top.Bucket(c.bucket).ForEach(func(k, v []byte) error {
			got[string(k)] = true
			if len(v) != 0 {
				t.Errorf("offers/%s/%x holds %x", c.bucket, k, v)
			}
			return nil
		})
		for k := range c.want {
			if !got[k] {
				t.Errorf("offers/%s: missing entry %x", c.bucket, k)
			}
		}
		for k := range got {
			if !c.want[k] {
				t.Errorf("offers/%s: stray entry %x", c.bucket, k)
			}
		}
	}
}

// lcData is everything stored, for the invariant checks.
type lcData struct {
	reqs   map[string]*pb.HelpRequest
	vols   map[string]*pb.Volunteer
	offers map[string]*pb.Offer
}

func loadAll(t testing.TB, s *BoltStore) lcData {
	t.Helper()
	d := lcData{reqs: map[string]*pb.HelpRequest{}, vols: map[string]*pb.Volunteer{}, offers: map[string]*pb.Offer{}}
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bHelpRequests).Bucket(bRecords).ForEach(func(_, v []byte) error {
			r := &pb.HelpRequest{}
			err := proto.Unmarshal(v, r)
			d.reqs[r.Name] = r
			return err
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bVolunteers).Bucket(bRecords).ForEach(func(_, v []byte) error {
			r := &pb.Volunteer{}
			err := proto.Unmarshal(v, r)
			d.vols[r.Name] = r
			return err
		}); err != nil {
			return err
		}
		return tx.Bucket(bOffers).Bucket(bRecords).ForEach(func(_, v []byte) error {
			o := &pb.Offer{}
			err := proto.Unmarshal(v, o)
			d.offers[o.Name] = o
			return err
		})
	})
	mustOK(t, err, "load")
	return d
}

// checkLifecycle checks the lifecycle's invariants over everything stored:
//   - a request has at most one PENDING offer, and it has one, named in its
//     offer field, exactly when it is OFFERED;
//   - a request with an assigned volunteer (ASSIGNED and FULFILLED ones,
//     and those cancelled once assigned) has exactly one ACCEPTED offer,
//     to that volunteer; any other has none;
//   - a volunteer's pending_offers and active_assignments count their
//     PENDING offers and ASSIGNED requests, and together stay within their
//     capacity;
//   - the volunteers a request lists as declined are exactly those whose
//     offer of it was DECLINED or EXPIRED, or ACCEPTED and then released
//     (the request no longer assigned to them), each had exactly that one
//     offer of it, and so none holds an offer of it made after;
//   - a volunteer's commitments are the requests with a window they hold a
//     PENDING offer of or are ASSIGNED, each with its window and needs as
//     stored now.
func checkLifecycle(t testing.TB, s *BoltStore) {
	t.Helper()
	d := loadAll(t, s)
	byReq := map[string][]*pb.Offer{}
	pendingTo, assignedTo := map[string]int32{}, map[string]int32{}
	for _, o := range d.offers {
		byReq[o.HelpRequest] = append(byReq[o.HelpRequest], o)
		if o.State == pb.Offer_STATE_PENDING {
			pendingTo[o.Volunteer]++
			if o.DecideTime != nil {
				t.Errorf("%s is PENDING with a decide time", o.Name)
			}
		} else if o.DecideTime == nil {
			t.Errorf("%s is %v without a decide time", o.Name, o.State)
		}
		if _, ok := d.reqs[o.HelpRequest]; !ok {
			t.Errorf("%s is of %s, which is not stored", o.Name, o.HelpRequest)
		}
	}
	for name, r := range d.reqs {
		var pending, accepted []*pb.Offer
		lapsed := map[string]int{}   // volunteer -> DECLINED or EXPIRED offers
		offersTo := map[string]int{} // volunteer -> offers
		for _, o := range byReq[name] {
			offersTo[o.Volunteer]++
			switch o.State {
			case pb.Offer_STATE_PENDING:
				pending = append(pending, o)
			case pb.Offer_STATE_ACCEPTED:
				accepted = append(accepted, o)
			case pb.Offer_STATE_DECLINED, pb.Offer_STATE_EXPIRED:
				lapsed[o.Volunteer]++
			}
		}
		if len(pending) > 1 {
			t.Errorf("%s has %d PENDING offers", name, len(pending))
		}
		if r.State == pb.HelpRequest_STATE_OFFERED {
			if len(pending) != 1 || pending[0].Name != r.Offer {
				t.Errorf("%s is OFFERED with offer %q, and has PENDING offers %v", name, r.Offer, offerNames(pending))
			}
		} else if len(pending) != 0 || r.Offer != "" {
			t.Errorf("%s is %v with offer %q, and has PENDING offers %v", name, r.State, r.Offer, offerNames(pending))
		}
		switch r.State {
		case pb.HelpRequest_STATE_ASSIGNED, pb.HelpRequest_STATE_FULFILLED:
			if r.AssignedVolunteer == "" {
				t.Errorf("%s is %v with no assigned volunteer", name, r.State)
			}
		case pb.HelpRequest_STATE_OPEN, pb.HelpRequest_STATE_OFFERED, pb.HelpRequest_STATE_EXPIRED:
			if r.AssignedVolunteer != "" {
				t.Errorf("%s is %v assigned to %s", name, r.State, r.AssignedVolunteer)
			}
		}
		// An ACCEPTED offer is the assignee's, or one a volunteer took and
		// released since (ReleaseHelpRequest), who counts as declined.
		var mine int
		for _, o := range accepted {
			if o.Volunteer == r.AssignedVolunteer {
				mine++
			} else {
				lapsed[o.Volunteer]++
			}
		}
		if r.AssignedVolunteer != "" && mine != 1 {
			t.Errorf("%s is %v, assigned to %s, with ACCEPTED offers %v", name, r.State, r.AssignedVolunteer, offerNames(accepted))
		}
		if r.State == pb.HelpRequest_STATE_ASSIGNED {
			assignedTo[r.AssignedVolunteer]++
		}
		declined := map[string]bool{}
		for _, v := range r.DeclinedVolunteers {
			if declined[v] {
				t.Errorf("%s lists %s as declined twice", name, v)
			}
			declined[v] = true
			if lapsed[v] != 1 || offersTo[v] != 1 {
				t.Errorf("%s lists %s as declined, who had %d offers of it, %d declined or expired", name, v, offersTo[v], lapsed[v])
			}
		}
		for v := range lapsed {
			if !declined[v] {
				t.Errorf("%s: %s declined, let lapse or released an offer of it but is not listed as declined", name, v)
			}
		}
	}
	held := map[string]map[string]*pb.Commitment{} // volunteer -> request -> commitment
	for _, o := range d.offers {
		r := d.reqs[o.HelpRequest]
		live := o.State == pb.Offer_STATE_PENDING ||
			o.State == pb.Offer_STATE_ACCEPTED && r.GetState() == pb.HelpRequest_STATE_ASSIGNED && r.AssignedVolunteer == o.Volunteer
		if c := commitmentOf(r); live && c != nil {
			if held[o.Volunteer] == nil {
				held[o.Volunteer] = map[string]*pb.Commitment{}
			}
			held[o.Volunteer][r.Name] = c
		}
	}
	for name, v := range d.vols {
		got := map[string]*pb.Commitment{}
		for _, c := range v.Commitments {
			got[c.HelpRequest] = c
		}
		if len(got) != len(v.Commitments) || len(got) != len(held[name]) {
			t.Errorf("%s has commitments %v; the records say %v", name, v.Commitments, held[name])
		}
		for r, c := range held[name] {
			if !proto.Equal(got[r], c) {
				t.Errorf("%s's commitment to %s is %v; the request says %v", name, r, got[r], c)
			}
		}
		if v.PendingOffers != pendingTo[name] || v.ActiveAssignments != assignedTo[name] {
			t.Errorf("%s counts %d pending offers and %d active assignments; the records say %d and %d",
				name, v.PendingOffers, v.ActiveAssignments, pendingTo[name], assignedTo[name])
		}
		if v.PendingOffers+v.ActiveAssignments > capacityOf(v) {
			t.Errorf("%s holds %d offers and %d assignments with capacity %d", name, v.PendingOffers, v.ActiveAssignments, v.Capacity)
		}
	}
	for vol := range pendingTo {
		if _, ok := d.vols[vol]; !ok {
			t.Errorf("a PENDING offer is to %s, who is not stored", vol)
		}
	}
}

func offerNames(os []*pb.Offer) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.Name
	}
	return out
}

// verifyAll runs every consistency check.
func verifyAll(t testing.TB, s *BoltStore) {
	t.Helper()
	verifyIndexes(t, s)
	checkLifecycle(t, s)
}

// ---------------------------------------------------------------------------
// Transitions.

// lcFixture is one request and the volunteers around it, on a fake clock.
type lcFixture struct {
	s     *BoltStore
	clock *fakeClock
	hr    *pb.HelpRequest
	v, v2 *pb.Volunteer // v2 is a fresh volunteer for a second offer
	off   *pb.Offer     // the last offer made
}

func newLCFixture(t *testing.T) *lcFixture {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	f := &lcFixture{s: s, clock: clock, hr: lcRequest(t, s), v: lcVolunteer(t, s, 2), v2: lcVolunteer(t, s, 2)}
	return f
}

func (f *lcFixture) apply(res LifecycleResult) {
	f.hr = res.HelpRequest
	if res.Offer != nil {
		f.off = res.Offer
	}
	if res.Volunteer != nil {
		if res.Volunteer.Name == f.v.Name {
			f.v = res.Volunteer
		} else {
			f.v2 = res.Volunteer
		}
	}
}

func (f *lcFixture) offer(t *testing.T) {
	f.apply(lcOffer(t, f.s, f.hr, f.v))
}

// editVolunteer changes the fixture's volunteer as stored.
func (f *lcFixture) editVolunteer(t *testing.T, what string, edit func(*pb.Volunteer)) {
	t.Helper()
	v, err := f.s.GetVolunteer(bg, idOf(f.v.Name))
	mustOK(t, err, "get volunteer")
	edit(v)
	v, err = f.s.UpdateVolunteer(bg, v)
	mustOK(t, err, what)
	f.v = v
}

func (f *lcFixture) step(t *testing.T, what string, res LifecycleResult, err error) {
	t.Helper()
	mustOK(t, err, what)
	f.apply(res)
}

func (f *lcFixture) assign(t *testing.T) {
	f.offer(t)
	res, err := f.s.AcceptOffer(bg, idOf(f.off.Name))
	f.step(t, "accept", res, err)
}

// the end of newHelpRequest's window
var lcWindowEnd = time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC)

var lcSetups = map[string]func(t *testing.T, f *lcFixture){
	"open": func(*testing.T, *lcFixture) {},
	"offered": func(t *testing.T, f *lcFixture) {
		f.offer(t)
	},
	"offered, lease passed": func(t *testing.T, f *lcFixture) {
		f.offer(t)
		f.clock.advance(lcLease)
	},
	"offered, request ended": func(t *testing.T, f *lcFixture) {
		f.clock.advance(lcWindowEnd.Sub(f.clock.now()) - 10*time.Minute)
		f.offer(t)
		f.clock.advance(20 * time.Minute) // within the lease
	},
	"offered, volunteer paused": func(t *testing.T, f *lcFixture) {
		f.offer(t)
		f.editVolunteer(t, "pause", func(v *pb.Volunteer) { v.Paused = true })
	},
	"offered, volunteer held": func(t *testing.T, f *lcFixture) {
		f.offer(t)
		f.editVolunteer(t, "hold", func(v *pb.Volunteer) { v.Held = true })
	},
	"assigned": func(t *testing.T, f *lcFixture) { f.assign(t) },
	"fulfilled": func(t *testing.T, f *lcFixture) {
		f.assign(t)
		res, err := f.s.CompleteHelpRequest(bg, idOf(f.hr.Name))
		f.step(t, "complete", res, err)
	},
	"cancelled": func(t *testing.T, f *lcFixture) {
		res, err := f.s.CancelHelpRequest(bg, idOf(f.hr.Name))
		f.step(t, "cancel", res, err)
	},
	"cancelled when assigned": func(t *testing.T, f *lcFixture) {
		f.assign(t)
		res, err := f.s.CancelHelpRequest(bg, idOf(f.hr.Name))
		f.step(t, "cancel", res, err)
	},
	"expired": func(t *testing.T, f *lcFixture) {
		res, err := f.s.ExpireHelpRequests(bg, lcWindowEnd.Add(time.Second), 10)
		mustOK(t, err, "expire requests")
		if len(res) != 1 {
			t.Fatalf("expired %d requests", len(res))
		}
		f.apply(res[0])
	},
	"released": func(t *testing.T, f *lcFixture) {
		f.assign(t)
		res, err := f.s.ReleaseHelpRequest(bg, idOf(f.hr.Name))
		f.step(t, "release", res, err)
	},
	"declined": func(t *testing.T, f *lcFixture) {
		f.offer(t)
		res, err := f.s.DeclineOffer(bg, idOf(f.off.Name))
		f.step(t, "decline", res, err)
	},
	"offer expired": func(t *testing.T, f *lcFixture) {
		f.offer(t)
		f.clock.advance(lcLease)
		res, err := f.s.ExpireOffers(bg, f.clock.now(), 10)
		mustOK(t, err, "expire offers")
		if len(res) != 1 {
			t.Fatalf("expired %d offers", len(res))
		}
		f.apply(res[0])
	},
	"offer withdrawn": func(t *testing.T, f *lcFixture) {
		f.offer(t)
		res, err := f.s.CancelHelpRequest(bg, idOf(f.hr.Name))
		f.step(t, "cancel", res, err)
	},
	"offer withdrawn by request expiry": func(t *testing.T, f *lcFixture) {
		f.offer(t)
		res, err := f.s.ExpireHelpRequests(bg, lcWindowEnd.Add(time.Second), 10)
		mustOK(t, err, "expire requests")
		if len(res) != 1 {
			t.Fatalf("expired %d requests", len(res))
		}
		f.apply(res[0])
	},
}

var lcOps = map[string]func(f *lcFixture) (LifecycleResult, error){
	// The second volunteer, who has never declined the request.
	"create offer": func(f *lcFixture) (LifecycleResult, error) {
		return f.s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(f.hr.Name), VolunteerID: idOf(f.v2.Name), Lease: lcLease, Dispatched: true})
	},
	"accept":   func(f *lcFixture) (LifecycleResult, error) { return f.s.AcceptOffer(bg, idOf(f.off.Name)) },
	"decline":  func(f *lcFixture) (LifecycleResult, error) { return f.s.DeclineOffer(bg, idOf(f.off.Name)) },
	"withdraw": func(f *lcFixture) (LifecycleResult, error) { return f.s.WithdrawOffer(bg, idOf(f.off.Name), "BUSY") },
	"complete": func(f *lcFixture) (LifecycleResult, error) {
		return f.s.CompleteHelpRequest(bg, idOf(f.hr.Name))
	},
	"cancel":  func(f *lcFixture) (LifecycleResult, error) { return f.s.CancelHelpRequest(bg, idOf(f.hr.Name)) },
	"release": func(f *lcFixture) (LifecycleResult, error) { return f.s.ReleaseHelpRequest(bg, idOf(f.hr.Name)) },
}

// lcWant is what a successful step leaves.
type lcWant struct {
	req      pb.HelpRequest_State
	offer    pb.Offer_State // 0: the result has no offer
	vol      string         // "v", "v2" or "": the volunteer in the result
	pending  int32          // that volunteer's counts after
	active   int32
	assigned string // "v" or "": the request's assigned volunteer
	declined bool   // v is listed as declined
}

func TestLifecycleTransitions(t *testing.T) {
	const (
		open      = pb.HelpRequest_STATE_OPEN
		offered   = pb.HelpRequest_STATE_OFFERED
		assigned  = pb.HelpRequest_STATE_ASSIGNED
		fulfilled = pb.HelpRequest_STATE_FULFILLED
		cancelled = pb.HelpRequest_STATE_CANCELLED
	)
	tests := []struct {
		setup, op string
		err       error   // nil: succeeds with want
		also      []error // further errors the refusal wraps
		want      lcWant
	}{
		// CreateOffer needs an OPEN request.
		{setup: "open", op: "create offer", want: lcWant{req: offered, offer: pb.Offer_STATE_PENDING, vol: "v2", pending: 1}},
		{setup: "declined", op: "create offer", want: lcWant{req: offered, offer: pb.Offer_STATE_PENDING, vol: "v2", pending: 1, declined: true}},
		{setup: "offer expired", op: "create offer", want: lcWant{req: offered, offer: pb.Offer_STATE_PENDING, vol: "v2", pending: 1, declined: true}},
		{setup: "offered", op: "create offer", err: ErrWrongState},
		{setup: "assigned", op: "create offer", err: ErrWrongState},
		{setup: "fulfilled", op: "create offer", err: ErrWrongState},
		{setup: "cancelled", op: "create offer", err: ErrWrongState},
		{setup: "expired", op: "create offer", err: ErrWrongState},
		{setup: "offer withdrawn", op: "create offer", err: ErrWrongState},

		// AcceptOffer needs a PENDING offer within its lease.
		{setup: "offered", op: "accept", want: lcWant{req: assigned, offer: pb.Offer_STATE_ACCEPTED, vol: "v", active: 1, assigned: "v"}},
		{setup: "offered, lease passed", op: "accept", err: ErrLeaseExpired},
		{setup: "assigned", op: "accept", err: ErrWrongState},
		{setup: "fulfilled", op: "accept", err: ErrWrongState},
		{setup: "declined", op: "accept", err: ErrWrongState},
		{setup: "offer expired", op: "accept", err: ErrWrongState, also: []error{ErrLeaseExpired}},
		{setup: "offer withdrawn", op: "accept", err: ErrWrongState},
		{setup: "offer withdrawn by request expiry", op: "accept", err: ErrWrongState},
		{setup: "offered, request ended", op: "accept", err: ErrRequestEnded},
		{setup: "offered, volunteer paused", op: "accept", err: ErrVolunteerPaused},
		{setup: "offered, volunteer held", op: "accept", err: ErrVolunteerHeld},

		// WithdrawOffer needs a PENDING offer; the request opens again,
		// and the volunteer is not counted as having declined it.
		{setup: "offered", op: "withdraw", want: lcWant{req: open, offer: pb.Offer_STATE_WITHDRAWN, vol: "v"}},
		{setup: "offered, lease passed", op: "withdraw", want: lcWant{req: open, offer: pb.Offer_STATE_EXPIRED, vol: "v", declined: true}}, // it lapses, as the sweep would lapse it
		{setup: "offered, volunteer paused", op: "withdraw", want: lcWant{req: open, offer: pb.Offer_STATE_WITHDRAWN, vol: "v"}},
		{setup: "assigned", op: "withdraw", err: ErrWrongState},
		{setup: "declined", op: "withdraw", err: ErrWrongState},
		{setup: "offer expired", op: "withdraw", err: ErrWrongState},
		{setup: "offer withdrawn", op: "withdraw", err: ErrWrongState},

		// DeclineOffer needs a PENDING offer, even one past its lease.
		{setup: "offered", op: "decline", want: lcWant{req: open, offer: pb.Offer_STATE_DECLINED, vol: "v", declined: true}},
		{setup: "offered, lease passed", op: "decline", want: lcWant{req: open, offer: pb.Offer_STATE_DECLINED, vol: "v", declined: true}},
		{setup: "assigned", op: "decline", err: ErrWrongState},
		{setup: "declined", op: "decline", err: ErrWrongState},
		{setup: "offer expired", op: "decline", err: ErrWrongState, also: []error{ErrLeaseExpired}},
		{setup: "offer withdrawn", op: "decline", err: ErrWrongState},

		// CompleteHelpRequest needs an ASSIGNED request.
		{setup: "assigned", op: "complete", want: lcWant{req: fulfilled, vol: "v", assigned: "v"}},
		{setup: "open", op: "complete", err: ErrWrongState},
		{setup: "offered", op: "complete", err: ErrWrongState},
		{setup: "fulfilled", op: "complete", err: ErrWrongState},
		{setup: "cancelled", op: "complete", err: ErrWrongState},
		{setup: "cancelled when assigned", op: "complete", err: ErrWrongState},
		{setup: "expired", op: "complete", err: ErrWrongState},

		// ReleaseHelpRequest needs an ASSIGNED request: it opens again,
		// its volunteer freed and listed as declined; no offer changes.
		{setup: "assigned", op: "release", want: lcWant{req: open, vol: "v", declined: true}},
		{setup: "open", op: "release", err: ErrWrongState},
		{setup: "offered", op: "release", err: ErrWrongState},
		{setup: "declined", op: "release", err: ErrWrongState},
		{setup: "released", op: "release", err: ErrWrongState},
		{setup: "fulfilled", op: "release", err: ErrWrongState},
		{setup: "cancelled", op: "release", err: ErrWrongState},
		{setup: "cancelled when assigned", op: "release", err: ErrWrongState},
		{setup: "expired", op: "release", err: ErrWrongState},
		// Released, it is offered to another, and may be cancelled.
		{setup: "released", op: "create offer", want: lcWant{req: offered, offer: pb.Offer_STATE_PENDING, vol: "v2", pending: 1, declined: true}},
		{setup: "released", op: "cancel", want: lcWant{req: cancelled, declined: true}},
		{setup: "released", op: "complete", err: ErrWrongState},

		// CancelHelpRequest needs an OPEN, OFFERED or ASSIGNED request.
		{setup: "open", op: "cancel", want: lcWant{req: cancelled}},
		{setup: "declined", op: "cancel", want: lcWant{req: cancelled, declined: true}},
		{setup: "offered", op: "cancel", want: lcWant{req: cancelled, offer: pb.Offer_STATE_WITHDRAWN, vol: "v"}},
		{setup: "offered, lease passed", op: "cancel", want: lcWant{req: cancelled, offer: pb.Offer_STATE_WITHDRAWN, vol: "v"}},
		{setup: "assigned", op: "cancel", want: lcWant{req: cancelled, vol: "v", assigned: "v"}},
		{setup: "fulfilled", op: "cancel", err: ErrWrongState},
		{setup: "cancelled", op: "cancel", err: ErrWrongState},
		{setup: "expired", op: "cancel", err: ErrWrongState},
	}
	for _, tt := range tests {
		t.Run(tt.setup+"/"+tt.op, func(t *testing.T) {
			f := newLCFixture(t)
			lcSetups[tt.setup](t, f)
			verifyAll(t, f.s)
			before := dump(t, f.s)
			rev0, _ := f.s.Revision()
			prevOffer := f.off

			res, err := lcOps[tt.op](f)
			if tt.err != nil {
				mustErr(t, err, tt.err, tt.op)
				for _, e := range tt.also {
					mustErr(t, err, e, tt.op)
				}
				if !strings.HasPrefix(err.Error(), "store: ") {
					t.Errorf("error %q lacks context", err)
				}
				if res != (LifecycleResult{}) {
					t.Errorf("refusal returned %v", res)
				}
				if d := diffDump(before, dump(t, f.s)); len(d) > 0 {
					t.Errorf("refused %s changed the file: %v", tt.op, d)
				}
				return
			}
			mustOK(t, err, tt.op)
			w := tt.want
			now := f.clock.last()
			rev, _ := f.s.Revision()
			if rev != rev0+1 {
				t.Errorf("revision went from %d to %d, want one step", rev0, rev)
			}
			etag := etagOf(rev)

			// The request.
			hr := res.HelpRequest
			if hr == nil || hr.Name != f.hr.Name {
				t.Fatalf("result request %v, want %s", hr, f.hr.Name)
			}
			if hr.State != w.req {
				t.Errorf("request state %v, want %v", hr.State, w.req)
			}
			if hr.Etag != etag || !hr.UpdateTime.AsTime().Equal(now) {
				t.Errorf("request etag %s updated %v, want %s and %v", hr.Etag, hr.UpdateTime.AsTime(), etag, now)
			}
			if hr.Requester.GetPhone() == "" {
				t.Errorf("result request lacks its requester")
			}
			wantOffer := ""
			if w.req == offered {
				wantOffer = res.Offer.GetName()
			}
			if hr.Offer != wantOffer {
				t.Errorf("request offer %q, want %q", hr.Offer, wantOffer)
			}
			wantAssigned := ""
			if w.assigned == "v" {
				wantAssigned = f.v.Name
			}
			if hr.AssignedVolunteer != wantAssigned {
				t.Errorf("assigned volunteer %q, want %q", hr.AssignedVolunteer, wantAssigned)
			}
			var wantDeclined []string
			if w.declined {
				wantDeclined = []string{f.v.Name}
			}
			if !slices.Equal(hr.DeclinedVolunteers, wantDeclined) {
				t.Errorf("declined volunteers %v, want %v", hr.DeclinedVolunteers, wantDeclined)
			}
			got, err := f.s.GetHelpRequest(bg, idOf(hr.Name))
			mustOK(t, err, "get request")
			if !proto.Equal(got, hr) {
				t.Errorf("stored request %v\nresult %v", got, hr)
			}

			// The offer.
			if w.offer == 0 {
				if res.Offer != nil {
					t.Errorf("result has offer %v", res.Offer)
				}
			} else {
				o := res.Offer
				if o == nil {
					t.Fatalf("result has no offer")
				}
				if o.State != w.offer {
					t.Errorf("offer state %v, want %v", o.State, w.offer)
				}
				if o.HelpRequest != hr.Name {
					t.Errorf("offer of %s, want %s", o.HelpRequest, hr.Name)
				}
				if w.offer == pb.Offer_STATE_PENDING {
					checkName(t, o.Name, offerPrefix)
					if o.Name == prevOffer.GetName() || o.Volunteer != f.v2.Name || !o.Dispatched ||
						!o.CreateTime.AsTime().Equal(now) || !o.ExpireTime.AsTime().Equal(now.Add(lcLease)) || o.DecideTime != nil {
						t.Errorf("new offer %v at %v", o, now)
					}
				} else if o.Name != prevOffer.Name || o.Volunteer != f.v.Name || !o.DecideTime.AsTime().Equal(now) ||
					!proto.Equal(o.CreateTime, prevOffer.CreateTime) || !proto.Equal(o.ExpireTime, prevOffer.ExpireTime) {
					t.Errorf("offer %v at %v, was %v", o, now, prevOffer)
				}
				got, err := f.s.GetOffer(bg, idOf(o.Name))
				mustOK(t, err, "get offer")
				if !proto.Equal(got, o) {
					t.Errorf("stored offer %v\nresult %v", got, o)
				}
			}

			// The volunteer.
			if w.vol == "" {
				if res.Volunteer != nil {
					t.Errorf("result has volunteer %v", res.Volunteer)
				}
			} else {
				v := res.Volunteer
				want := map[string]*pb.Volunteer{"v": f.v, "v2": f.v2}[w.vol]
				if v == nil || v.Name != want.Name {
					t.Fatalf("result volunteer %v, want %s", v, want.Name)
				}
				if v.PendingOffers != w.pending || v.ActiveAssignments != w.active {
					t.Errorf("volunteer holds %d offers and %d assignments, want %d and %d", v.PendingOffers, v.ActiveAssignments, w.pending, w.active)
				}
				if v.Etag != etag || !v.UpdateTime.AsTime().Equal(now) || v.Contact.GetPhone() == "" {
					t.Errorf("volunteer etag %s updated %v contact %v", v.Etag, v.UpdateTime.AsTime(), v.Contact)
				}
				if tt.op == "accept" {
					if len(v.RecentAssignmentTimes) != 1 || !v.RecentAssignmentTimes[0].AsTime().Equal(now) {
						t.Errorf("recent assignments %v, want [%v]", v.RecentAssignmentTimes, now)
					}
				}
				got, err := f.s.GetVolunteer(bg, idOf(v.Name))
				mustOK(t, err, "get volunteer")
				if !proto.Equal(got, v) {
					t.Errorf("stored volunteer %v\nresult %v", got, v)
				}
			}
			// by_state follows.
			if got := names(listAllHR(t, f.s, HelpRequestFilter{State: w.req}, 10)); !slices.Equal(got, []string{hr.Name}) {
				t.Errorf("state %v lists %v", w.req, got)
			}
			verifyAll(t, f.s)
		})
	}
}

func TestCreateOfferRefusals(t *testing.T) {
	tests := []struct {
		name string
		// prepare returns the offer to make.
		prepare func(t *testing.T, s *BoltStore) OfferParams
		err     error
		// overCapacity: the volunteer holds more than their capacity, which
		// an update lowering it allows; checkLifecycle would say so.
		overCapacity bool
	}{
		{"paused", func(t *testing.T, s *BoltStore) OfferParams {
			v := lcVolunteer(t, s, 2)
			v.Paused = true
			_, err := s.UpdateVolunteer(bg, v)
			mustOK(t, err, "pause")
			return OfferParams{HelpRequestID: idOf(lcRequest(t, s).Name), VolunteerID: idOf(v.Name), Lease: lcLease}
		}, ErrVolunteerPaused, false},
		{"declined before", func(t *testing.T, s *BoltStore) OfferParams {
			hr, v := lcRequest(t, s), lcVolunteer(t, s, 2)
			lcMust(t, "decline")(s.DeclineOffer(bg, idOf(lcOffer(t, s, hr, v).Offer.Name)))
			return OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(v.Name), Lease: lcLease}
		}, ErrDeclinedBefore, false},
		{"let an offer lapse before", func(t *testing.T, s *BoltStore) OfferParams {
			hr, v := lcRequest(t, s), lcVolunteer(t, s, 2)
			off := lcOffer(t, s, hr, v).Offer
			res, err := s.ExpireOffers(bg, off.ExpireTime.AsTime(), 10)
			if err != nil || len(res) != 1 {
				t.Fatalf("expire: %v, %v", res, err)
			}
			return OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(v.Name), Lease: lcLease}
		}, ErrDeclinedBefore, false},
		{"at capacity with offers", func(t *testing.T, s *BoltStore) OfferParams {
			v := lcVolunteer(t, s, 2)
			lcOffer(t, s, lcRequest(t, s), v)
			lcOffer(t, s, lcRequest(t, s), v)
			return OfferParams{HelpRequestID: idOf(lcRequest(t, s).Name), VolunteerID: idOf(v.Name), Lease: lcLease}
		}, ErrAtCapacity, false},
		{"at capacity with an assignment and an offer", func(t *testing.T, s *BoltStore) OfferParams {
			v := lcVolunteer(t, s, 2)
			lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, lcRequest(t, s), v).Offer.Name)))
			lcOffer(t, s, lcRequest(t, s), v)
			return OfferParams{HelpRequestID: idOf(lcRequest(t, s).Name), VolunteerID: idOf(v.Name), Lease: lcLease}
		}, ErrAtCapacity, false},
		{"capacity not given counts as 1", func(t *testing.T, s *BoltStore) OfferParams {
			v := lcVolunteer(t, s, 0)
			lcOffer(t, s, lcRequest(t, s), v)
			return OfferParams{HelpRequestID: idOf(lcRequest(t, s).Name), VolunteerID: idOf(v.Name), Lease: lcLease}
		}, ErrAtCapacity, false},
		{"capacity lowered below what is held", func(t *testing.T, s *BoltStore) OfferParams {
			v := lcVolunteer(t, s, 3)
			v = lcOffer(t, s, lcRequest(t, s), v).Volunteer
			v = lcOffer(t, s, lcRequest(t, s), v).Volunteer
			v.Capacity = 1
			_, err := s.UpdateVolunteer(bg, v)
			mustOK(t, err, "lower capacity")
			return OfferParams{HelpRequestID: idOf(lcRequest(t, s).Name), VolunteerID: idOf(v.Name), Lease: lcLease}
		}, ErrAtCapacity, true},
		{"request not OPEN", func(t *testing.T, s *BoltStore) OfferParams {
			hr := lcRequest(t, s)
			lcOffer(t, s, hr, lcVolunteer(t, s, 1))
			return OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(lcVolunteer(t, s, 1).Name), Lease: lcLease}
		}, ErrWrongState, false},
		{"no such request", func(t *testing.T, s *BoltStore) OfferParams {
			return OfferParams{HelpRequestID: "01arz3ndektsv4rrffq69g5fav", VolunteerID: idOf(lcVolunteer(t, s, 1).Name), Lease: lcLease}
		}, ErrNotFound, false},
		{"no such volunteer", func(t *testing.T, s *BoltStore) OfferParams {
			return OfferParams{HelpRequestID: idOf(lcRequest(t, s).Name), VolunteerID: "01arz3ndektsv4rrffq69g5fav", Lease: lcLease}
		}, ErrNotFound, false},
		{"malformed request id", func(t *testing.T, s *BoltStore) OfferParams {
			return OfferParams{HelpRequestID: "helpRequests/x", VolunteerID: idOf(lcVolunteer(t, s, 1).Name), Lease: lcLease}
		}, ErrNotFound, false},
		{"malformed volunteer id", func(t *testing.T, s *BoltStore) OfferParams {
			return OfferParams{HelpRequestID: idOf(lcRequest(t, s).Name), VolunteerID: "", Lease: lcLease}
		}, ErrNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t)
			p := tt.prepare(t, s)
			before := dump(t, s)
			res, err := s.CreateOffer(bg, p)
			mustErr(t, err, tt.err, "create offer")
			if !strings.HasPrefix(err.Error(), "store: create offer: ") {
				t.Errorf("error %q lacks context", err)
			}
			if res != (LifecycleResult{}) {
				t.Errorf("refusal returned %v", res)
			}
			if d := diffDump(before, dump(t, s)); len(d) > 0 {
				t.Errorf("refused create changed the file: %v", d)
			}
			verifyIndexes(t, s)
			if !tt.overCapacity {
				checkLifecycle(t, s)
			}
		})
	}

	t.Run("lease not positive", func(t *testing.T) {
		s, _ := newStore(t)
		hr, v := lcRequest(t, s), lcVolunteer(t, s, 1)
		for _, lease := range []time.Duration{0, -time.Minute} {
			if _, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(v.Name), Lease: lease}); err == nil {
				t.Errorf("lease %v accepted", lease)
			}
		}
		verifyAll(t, s)
	})
}

// Records created through the API start with empty lifecycle fields, what
// ever the caller sent.
func TestCreateClearsLifecycleFields(t *testing.T) {
	s, _ := newStore(t)
	in := newHelpRequest("org-a", "", "AB10 1AB", "")
	in.Offer, in.AssignedVolunteer, in.DeclinedVolunteers = "offers/x", "volunteers/y", []string{"volunteers/z"}
	hr, err := s.CreateHelpRequest(bg, in, Idempotency{})
	mustOK(t, err, "create request")
	if hr.Offer != "" || hr.AssignedVolunteer != "" || len(hr.DeclinedVolunteers) != 0 {
		t.Errorf("create kept lifecycle fields: %v", hr)
	}
	vin := newVolunteer("org-a", "AB10 1AB", "")
	vin.ActiveAssignments, vin.PendingOffers, vin.RecentAssignmentTimes = 3, 4, []*timestamppb.Timestamp{timestamppb.Now()}
	v, err := s.CreateVolunteer(bg, vin, Idempotency{})
	mustOK(t, err, "create volunteer")
	if v.ActiveAssignments != 0 || v.PendingOffers != 0 || len(v.RecentAssignmentTimes) != 0 {
		t.Errorf("create kept lifecycle fields: %v", v)
	}
	verifyAll(t, s)
}

// ---------------------------------------------------------------------------
// Leases.

func TestOfferLeaseExpiry(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	hr, v, v2 := lcRequest(t, s), lcVolunteer(t, s, 1), lcVolunteer(t, s, 1)
	const lease = 10 * time.Minute
	res, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(v.Name), Lease: lease})
	mustOK(t, err, "create offer")
	off := res.Offer
	made := off.CreateTime.AsTime()
	if !clock.last().Equal(made) || !off.ExpireTime.AsTime().Equal(made.Add(lease)) {
		t.Fatalf("offer made %v expires %v; clock %v", made, off.ExpireTime.AsTime(), clock.last())
	}

	// Before the lease ends the sweep leaves it alone.
	got, err := s.ExpireOffers(bg, made.Add(lease-time.Nanosecond), 10)
	mustOK(t, err, "early sweep")
	if len(got) != 0 {
		t.Fatalf("early sweep expired %v", got)
	}

	// Accepting at the very end of the lease is too late, and changes nothing.
	clock.advance(lease - time.Second) // the next reading is made+lease
	before := dump(t, s)
	_, err = s.AcceptOffer(bg, idOf(off.Name))
	mustErr(t, err, ErrLeaseExpired, "accept at expire_time")
	if !clock.last().Equal(made.Add(lease)) {
		t.Fatalf("the accept read the clock at %v, want %v", clock.last(), made.Add(lease))
	}
	_, err = s.AcceptOffer(bg, idOf(off.Name))
	mustErr(t, err, ErrLeaseExpired, "accept after expire_time")
	if d := diffDump(before, dump(t, s)); len(d) > 0 {
		t.Errorf("refused accept changed the file: %v", d)
	}
	if cur, _ := s.GetOffer(bg, idOf(off.Name)); cur.State != pb.Offer_STATE_PENDING {
		t.Errorf("offer is %v before the sweep", cur.State)
	}
	if cur, _ := s.GetVolunteer(bg, idOf(v.Name)); cur.PendingOffers != 1 || cur.ActiveAssignments != 0 {
		t.Errorf("volunteer holds %d offers, %d assignments", cur.PendingOffers, cur.ActiveAssignments)
	}
	verifyAll(t, s)

	// The sweep expires it, at exactly expire_time.
	sweep := made.Add(lease)
	got, err = s.ExpireOffers(bg, sweep, 10)
	mustOK(t, err, "sweep")
	if len(got) != 1 {
		t.Fatalf("sweep expired %d offers", len(got))
	}
	r := got[0]
	if r.Offer.Name != off.Name || r.Offer.State != pb.Offer_STATE_EXPIRED || !r.Offer.DecideTime.AsTime().Equal(sweep) {
		t.Errorf("swept offer %v", r.Offer)
	}
	if r.HelpRequest.State != pb.HelpRequest_STATE_OPEN || r.HelpRequest.Offer != "" ||
		!slices.Equal(r.HelpRequest.DeclinedVolunteers, []string{v.Name}) || !r.HelpRequest.UpdateTime.AsTime().Equal(sweep) {
		t.Errorf("request after the sweep %v", r.HelpRequest)
	}
	if r.Volunteer.Name != v.Name || r.Volunteer.PendingOffers != 0 || r.Volunteer.ActiveAssignments != 0 {
		t.Errorf("volunteer after the sweep %v", r.Volunteer)
	}
	verifyAll(t, s)

	// Nothing left to sweep; the expired offer cannot be answered.
	if got, err := s.ExpireOffers(bg, sweep.Add(time.Hour), 10); err != nil || len(got) != 0 {
		t.Errorf("second sweep: %v, %v", got, err)
	}
	_, err = s.AcceptOffer(bg, idOf(off.Name))
	mustErr(t, err, ErrLeaseExpired, "accept after the sweep")
	mustErr(t, err, ErrWrongState, "accept after the sweep")
	_, err = s.DeclineOffer(bg, idOf(off.Name))
	mustErr(t, err, ErrWrongState, "decline after the sweep")

	// The volunteer who let it lapse is not offered it again; another is.
	_, err = s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(v.Name), Lease: lease})
	mustErr(t, err, ErrDeclinedBefore, "offer to the lapsed volunteer")
	lcMust(t, "offer to another")(s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(v2.Name), Lease: lease}))
	verifyAll(t, s)
}

func TestExpireOffersInOrderAndLimit(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	busy := lcVolunteer(t, s, 3) // holds three of the offers
	var offers []*pb.Offer
	for i := range 5 {
		v := busy
		if i >= 3 {
			v = lcVolunteer(t, s, 1)
		}
		// Later offers have shorter leases, so expiry order is not creation order.
		res, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(lcRequest(t, s).Name), VolunteerID: idOf(v.Name), Lease: time.Duration(60-10*i) * time.Minute})
		mustOK(t, err, "offer")
		offers = append(offers, res.Offer)
	}
	late := lcMust(t, "offer")(s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(lcRequest(t, s).Name), VolunteerID: idOf(lcVolunteer(t, s, 1).Name), Lease: 2 * time.Hour})).Offer
	slices.SortFunc(offers, func(a, b *pb.Offer) int { return a.ExpireTime.AsTime().Compare(b.ExpireTime.AsTime()) })
	sweep := offers[4].ExpireTime.AsTime()
	if !late.ExpireTime.AsTime().After(sweep) {
		t.Fatalf("setup: %v is not after %v", late.ExpireTime.AsTime(), sweep)
	}

	_, err := s.ExpireOffers(bg, sweep, 0)
	if err == nil {
		t.Errorf("limit 0 accepted")
	}
	var swept []string
	for _, limit := range []int{2, 2, 2} {
		res, err := s.ExpireOffers(bg, sweep, limit)
		mustOK(t, err, "sweep")
		if len(res) > limit {
			t.Errorf("limit %d expired %d", limit, len(res))
		}
		for _, r := range res {
			swept = append(swept, r.Offer.Name)
			if r.Volunteer.Name == busy.Name {
				// Results carry the volunteer as the whole sweep left them.
				cur, _ := s.GetVolunteer(bg, idOf(busy.Name))
				if !proto.Equal(cur, r.Volunteer) {
					t.Errorf("busy volunteer in the result %v, stored %v", r.Volunteer, cur)
				}
			}
		}
		verifyAll(t, s)
	}
	if want := offerNames(offers); !slices.Equal(swept, want) {
		t.Errorf("swept %v, want %v (earliest expiry first)", swept, want)
	}
	if cur, _ := s.GetOffer(bg, idOf(late.Name)); cur.State != pb.Offer_STATE_PENDING {
		t.Errorf("offer not yet due is %v", cur.State)
	}
	if cur, _ := s.GetVolunteer(bg, idOf(busy.Name)); cur.PendingOffers != 0 {
		t.Errorf("busy volunteer still holds %d offers", cur.PendingOffers)
	}
}

// Several offers to one volunteer expiring in one sweep.
func TestExpireOffersSameVolunteerOneSweep(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	v := lcVolunteer(t, s, 3)
	for range 3 {
		lcOffer(t, s, lcRequest(t, s), v)
	}
	rev0, _ := s.Revision()
	res, err := s.ExpireOffers(bg, clock.last().Add(lcLease), 10)
	mustOK(t, err, "sweep")
	if len(res) != 3 {
		t.Fatalf("swept %d", len(res))
	}
	if rev, _ := s.Revision(); rev != rev0+1 {
		t.Errorf("one sweep took revisions %d to %d", rev0, rev)
	}
	for _, r := range res {
		if r.Volunteer.PendingOffers != 0 || r.Volunteer.Etag != etagOf(rev0+1) {
			t.Errorf("result volunteer %v", r.Volunteer)
		}
	}
	if res[0].Volunteer == res[1].Volunteer {
		t.Errorf("results share one volunteer message")
	}
	verifyAll(t, s)
}

// ---------------------------------------------------------------------------
// Request expiry.

func TestExpireHelpRequests(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	end := lcWindowEnd         // the window end of lcRequest's requests
	at := end.Add(time.Minute) // when the sweeps run
	withDeadline := func(d time.Time) *pb.HelpRequest {
		in := newHelpRequest("org-a", "", "AB10 1AB", "")
		in.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(d)}
		hr, err := s.CreateHelpRequest(bg, in, Idempotency{})
		mustOK(t, err, "create")
		return hr
	}
	openEnded := lcRequest(t, s)
	offeredEnded := withDeadline(end.Add(-time.Hour))
	v := lcVolunteer(t, s, 3)
	lcOffer(t, s, offeredEnded, v)
	assignedEnded := lcRequest(t, s)
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, assignedEnded, v).Offer.Name)))
	cancelledEnded := lcRequest(t, s)
	lcMust(t, "cancel")(s.CancelHelpRequest(bg, idOf(cancelledEnded.Name)))
	openLater := withDeadline(end.Add(time.Hour))
	offeredLater := withDeadline(end.Add(time.Hour))
	lcOffer(t, s, offeredLater, v)
	endsNow := withDeadline(at) // not before now: kept
	in := newHelpRequest("org-a", "", "AB10 1AB", "")
	in.Timing = nil
	noTiming, err := s.CreateHelpRequest(bg, in, Idempotency{})
	mustOK(t, err, "create without timing")
	verifyAll(t, s)

	_, err = s.ExpireHelpRequests(bg, at, -1)
	if err == nil {
		t.Errorf("negative limit accepted")
	}
	res, err := s.ExpireHelpRequests(bg, at, 1)
	mustOK(t, err, "expire, limit 1")
	if len(res) != 1 {
		t.Fatalf("limit 1 expired %d", len(res))
	}
	expired := map[string]LifecycleResult{res[0].HelpRequest.Name: res[0]}
	res, err = s.ExpireHelpRequests(bg, at, 10)
	mustOK(t, err, "expire")
	for _, r := range res {
		expired[r.HelpRequest.Name] = r
	}
	if got, want := slices.Sorted(maps.Keys(expired)), slices.Sorted(slices.Values([]string{openEnded.Name, offeredEnded.Name})); !slices.Equal(got, want) {
		t.Fatalf("expired %v, want %v", got, want)
	}
	for name, r := range expired {
		if r.HelpRequest.State != pb.HelpRequest_STATE_EXPIRED || r.HelpRequest.Offer != "" || !r.HelpRequest.UpdateTime.AsTime().Equal(at) {
			t.Errorf("%s after expiry: %v", name, r.HelpRequest)
		}
	}
	if r := expired[openEnded.Name]; r.Offer != nil || r.Volunteer != nil {
		t.Errorf("expiring an OPEN request touched %v and %v", r.Offer, r.Volunteer)
	}
	if r := expired[offeredEnded.Name]; r.Offer.GetState() != pb.Offer_STATE_WITHDRAWN || !r.Offer.DecideTime.AsTime().Equal(at) ||
		r.Volunteer.GetPendingOffers() != 1 || r.Volunteer.GetActiveAssignments() != 1 || len(r.HelpRequest.DeclinedVolunteers) != 0 {
		t.Errorf("expiring an OFFERED request: offer %v volunteer %v request %v", r.Offer, r.Volunteer, r.HelpRequest)
	}
	for hr, want := range map[*pb.HelpRequest]pb.HelpRequest_State{
		assignedEnded:  pb.HelpRequest_STATE_ASSIGNED,
		cancelledEnded: pb.HelpRequest_STATE_CANCELLED,
		openLater:      pb.HelpRequest_STATE_OPEN,
		offeredLater:   pb.HelpRequest_STATE_OFFERED,
		endsNow:        pb.HelpRequest_STATE_OPEN,
		noTiming:       pb.HelpRequest_STATE_OPEN,
	} {
		if got, _ := s.GetHelpRequest(bg, idOf(hr.Name)); got.State != want {
			t.Errorf("%s is %v, want %v", hr.Name, got.State, want)
		}
	}
	if got := names(listAllHR(t, s, HelpRequestFilter{State: pb.HelpRequest_STATE_EXPIRED}, 10)); len(got) != 2 {
		t.Errorf("EXPIRED lists %v", got)
	}
	if res, err := s.ExpireHelpRequests(bg, at, 10); err != nil || len(res) != 0 {
		t.Errorf("second expiry: %v, %v", res, err)
	}
	verifyAll(t, s)
}

// ---------------------------------------------------------------------------
// Deletes.

func TestDeleteRefusedWithCommitments(t *testing.T) {
	s, _ := newStore(t)
	v := lcVolunteer(t, s, 2)
	offered, assigned := lcRequest(t, s), lcRequest(t, s)
	off := lcOffer(t, s, offered, v).Offer
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, assigned, v).Offer.Name)))

	before := dump(t, s)
	for _, hr := range []*pb.HelpRequest{offered, assigned} {
		err := s.DeleteHelpRequest(bg, idOf(hr.Name), "")
		mustErr(t, err, ErrHasCommitments, "delete "+hr.Name)
		if !strings.HasPrefix(err.Error(), "store: delete help request: ") {
			t.Errorf("error %q lacks context", err)
		}
	}
	err := s.DeleteVolunteer(bg, idOf(v.Name), "")
	mustErr(t, err, ErrHasCommitments, "delete volunteer with an offer and an assignment")
	cur, _ := s.GetHelpRequest(bg, idOf(offered.Name))
	mustErr(t, s.DeleteHelpRequest(bg, idOf(offered.Name), "1"), ErrEtagMismatch, "delete with a stale etag")
	mustErr(t, s.DeleteHelpRequest(bg, idOf(offered.Name), cur.Etag), ErrHasCommitments, "delete with the etag")
	if d := diffDump(before, dump(t, s)); len(d) > 0 {
		t.Errorf("refused deletes changed the file: %v", d)
	}

	// Only an assignment left: still refused.
	lcMust(t, "decline")(s.DeclineOffer(bg, idOf(off.Name)))
	mustErr(t, s.DeleteVolunteer(bg, idOf(v.Name), ""), ErrHasCommitments, "delete volunteer with an assignment")
	// Only an offer left: still refused.
	lcMust(t, "complete")(s.CompleteHelpRequest(bg, idOf(assigned.Name)))
	pending := lcOffer(t, s, lcRequest(t, s), v).Offer
	mustErr(t, s.DeleteVolunteer(bg, idOf(v.Name), ""), ErrHasCommitments, "delete volunteer with an offer")
	lcMust(t, "cancel")(s.CancelHelpRequest(bg, idOf(pending.HelpRequest)))
	verifyAll(t, s)

	// Free now: the volunteer, the declined (OPEN) request and the
	// fulfilled one can all go, and the requests' offers with them.
	mustOK(t, s.DeleteVolunteer(bg, idOf(v.Name), ""), "delete free volunteer")
	for _, hr := range []*pb.HelpRequest{offered, assigned} {
		offers, err := s.ListOffersByRequest(bg, idOf(hr.Name))
		mustOK(t, err, "list offers")
		if len(offers) != 1 {
			t.Fatalf("%s has %d offers", hr.Name, len(offers))
		}
		mustOK(t, s.DeleteHelpRequest(bg, idOf(hr.Name), ""), "delete "+hr.Name)
		_, err = s.GetOffer(bg, idOf(offers[0].Name))
		mustErr(t, err, ErrNotFound, "offer of a deleted request")
		_, err = s.ListOffersByRequest(bg, idOf(hr.Name))
		mustErr(t, err, ErrNotFound, "offers of a deleted request")
		if refs := referencesTo(t, s, bOffers, mustKey(t, idOf(offers[0].Name))); len(refs) > 0 {
			t.Errorf("deleted request's offer still referenced: %v", refs)
		}
	}
	verifyAll(t, s)
}

// ---------------------------------------------------------------------------
// Offers by request.

func TestListOffersByRequest(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	hr, other := lcRequest(t, s), lcRequest(t, s)
	vs := []*pb.Volunteer{lcVolunteer(t, s, 1), lcVolunteer(t, s, 1), lcVolunteer(t, s, 1), lcVolunteer(t, s, 1)}
	var want []*pb.Offer
	// declined, expired, accepted; and one of another request in between
	res := lcOffer(t, s, hr, vs[0])
	want = append(want, lcMust(t, "decline")(s.DeclineOffer(bg, idOf(res.Offer.Name))).Offer)
	lcOffer(t, s, other, vs[3])
	res = lcOffer(t, s, hr, vs[1])
	exp, err := s.ExpireOffers(bg, res.Offer.ExpireTime.AsTime(), 10)
	mustOK(t, err, "expire")
	for _, r := range exp {
		if r.HelpRequest.Name == hr.Name {
			want = append(want, r.Offer)
		}
	}
	res = lcOffer(t, s, hr, vs[2])
	want = append(want, lcMust(t, "accept")(s.AcceptOffer(bg, idOf(res.Offer.Name))).Offer)

	got, err := s.ListOffersByRequest(bg, idOf(hr.Name))
	mustOK(t, err, "list")
	if len(got) != len(want) {
		t.Fatalf("listed %v, want %v", offerNames(got), offerNames(want))
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("offer %d: %v\nwant %v", i, got[i], want[i])
		}
	}
	none, err := s.ListOffersByRequest(bg, idOf(lcRequest(t, s).Name))
	if err != nil || len(none) != 0 {
		t.Errorf("request never offered: %v, %v", none, err)
	}
	_, err = s.ListOffersByRequest(bg, "01arz3ndektsv4rrffq69g5fav")
	mustErr(t, err, ErrNotFound, "list offers of no request")
	_, err = s.ListOffersByRequest(bg, "nonsense")
	mustErr(t, err, ErrNotFound, "list offers of a malformed id")
	_, err = s.GetOffer(bg, "01arz3ndektsv4rrffq69g5fav")
	mustErr(t, err, ErrNotFound, "get no offer")
	_, err = s.GetOffer(bg, want[0].Name) // the name, not the id
	mustErr(t, err, ErrNotFound, "get offer by name")
	for _, op := range []func(string) (LifecycleResult, error){
		func(id string) (LifecycleResult, error) { return s.AcceptOffer(bg, id) },
		func(id string) (LifecycleResult, error) { return s.DeclineOffer(bg, id) },
		func(id string) (LifecycleResult, error) { return s.CompleteHelpRequest(bg, id) },
		func(id string) (LifecycleResult, error) { return s.CancelHelpRequest(bg, id) },
	} {
		_, err := op("01arz3ndektsv4rrffq69g5fav")
		mustErr(t, err, ErrNotFound, "lifecycle step on nothing")
		_, err = op("x")
		mustErr(t, err, ErrNotFound, "lifecycle step on a malformed id")
	}
	verifyAll(t, s)
}

// ---------------------------------------------------------------------------
// Schema.

func TestOpenMigratesFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	clock := newFakeClock() // the requests' window lies in March 2026
	s := openAt(t, path, WithClock(clock.now))
	hr := lcRequest(t, s)
	v := lcVolunteer(t, s, 1)
	mustOK(t, s.Close(), "close")
	// Make it a version 1 file: no offers.
	writeBoltFile(t, path, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bOffers); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kSchemaVersion, u64(1))
	})

	s2 := openAt(t, path, WithClock(clock.now))
	err := s2.db.View(func(tx *bolt.Tx) error {
		checkLayout(t, tx)
		return nil
	})
	mustOK(t, err, "view")
	mustOK(t, s2.Check(), "check")
	if got, err := s2.GetHelpRequest(bg, idOf(hr.Name)); err != nil || !proto.Equal(got, hr) {
		t.Errorf("request after migration: %v, %v", got, err)
	}
	res := lcOffer(t, s2, hr, v)
	lcMust(t, "accept")(s2.AcceptOffer(bg, idOf(res.Offer.Name)))
	verifyAll(t, s2)
}

// ---------------------------------------------------------------------------
// Concurrency.

// Many volunteers offered one request at once: one offer is made.
func TestOneLiveOfferPerRequest(t *testing.T) {
	s, _ := newStore(t)
	hr := lcRequest(t, s)
	const n = 16
	vols := make([]*pb.Volunteer, n)
	for i := range vols {
		vols[i] = lcVolunteer(t, s, 1)
	}
	var ok, wrong atomic.Int32
	var wg sync.WaitGroup
	for _, v := range vols {
		wg.Go(func() {
			_, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(v.Name), Lease: lcLease})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrWrongState):
				wrong.Add(1)
			default:
				t.Errorf("create offer: %v", err)
			}
		})
	}
	waitGroup(t, &wg, "offers")
	if ok.Load() != 1 || wrong.Load() != n-1 {
		t.Errorf("%d offers made, %d refused; want 1 and %d", ok.Load(), wrong.Load(), n-1)
	}
	verifyAll(t, s)
}

// Many requests offered one volunteer at once: capacity holds.
func TestCapacityHoldsUnderConcurrency(t *testing.T) {
	s, _ := newStore(t)
	v := lcVolunteer(t, s, 3)
	const n = 20
	reqs := make([]*pb.HelpRequest, n)
	for i := range reqs {
		reqs[i] = lcRequest(t, s)
	}
	var ok, full atomic.Int32
	var wg sync.WaitGroup
	for _, hr := range reqs {
		wg.Go(func() {
			_, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(v.Name), Lease: lcLease})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrAtCapacity):
				full.Add(1)
			default:
				t.Errorf("create offer: %v", err)
			}
		})
	}
	waitGroup(t, &wg, "offers")
	if ok.Load() != 3 || full.Load() != n-3 {
		t.Errorf("%d offers made, %d refused; want 3 and %d", ok.Load(), full.Load(), n-3)
	}
	verifyAll(t, s)
}

// Lifecycle refusals in a batch fail alone: they write nothing before
// refusing, so the batch is not rolled back and run again write by write.
func TestLifecycleRefusalsFailAloneInBatch(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	paused := lcVolunteer(t, s, 1)
	paused.Paused = true
	_, err := s.UpdateVolunteer(bg, paused)
	mustOK(t, err, "pause")
	held := lcVolunteer(t, s, 1)
	held.Held = true
	_, err = s.UpdateVolunteer(bg, held)
	mustOK(t, err, "hold")
	full := lcVolunteer(t, s, 1)
	lcOffer(t, s, lcRequest(t, s), full)
	decliner := lcVolunteer(t, s, 1)
	declined := lcRequest(t, s)
	lcMust(t, "decline")(s.DeclineOffer(bg, idOf(lcOffer(t, s, declined, decliner).Offer.Name)))
	lapsed := lcOffer(t, s, lcRequest(t, s), lcVolunteer(t, s, 1)).Offer
	clock.advance(lcLease)
	fulfilled := lcRequest(t, s)
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, fulfilled, lcVolunteer(t, s, 1)).Offer.Name)))
	lcMust(t, "complete")(s.CompleteHelpRequest(bg, idOf(fulfilled.Name)))
	good := []*pb.HelpRequest{lcRequest(t, s), lcRequest(t, s)}
	goodVols := []*pb.Volunteer{lcVolunteer(t, s, 1), lcVolunteer(t, s, 1)}
	open := lcRequest(t, s)
	rev0, _ := s.Revision()

	release := blockCommitter(t, s)
	var first, last txProbe
	var wg sync.WaitGroup
	queued := 0
	var probeErrs [2]error
	wg.Go(func() { probeErrs[0] = s.c.do(bg, first.fn) })
	queued++
	waitQueued(t, s, queued)
	offer := func(hr *pb.HelpRequest, v *pb.Volunteer) func() error {
		return func() error {
			_, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(v.Name), Lease: lcLease})
			return err
		}
	}
	refusals := []struct {
		op   func() error
		want error
	}{
		{offer(open, paused), ErrVolunteerPaused},
		{offer(open, held), ErrVolunteerHeld},
		{offer(open, full), ErrAtCapacity},
		{offer(declined, decliner), ErrDeclinedBefore},
		{offer(fulfilled, goodVols[0]), ErrWrongState},
		{func() error { _, err := s.AcceptOffer(bg, idOf(lapsed.Name)); return err }, ErrLeaseExpired},
		{func() error { _, err := s.CompleteHelpRequest(bg, idOf(open.Name)); return err }, ErrWrongState},
		{func() error { _, err := s.CancelHelpRequest(bg, idOf(fulfilled.Name)); return err }, ErrWrongState},
		{func() error { return s.DeleteVolunteer(bg, idOf(full.Name), "") }, ErrHasCommitments},
	}
	errs := make([]error, len(refusals))
	goodErrs := make([]error, len(good))
	for i := range good {
		wg.Go(func() { goodErrs[i] = offer(good[i], goodVols[i])() })
		queued++
		waitQueued(t, s, queued)
	}
	for i, r := range refusals {
		wg.Go(func() { errs[i] = r.op() })
		queued++
		waitQueued(t, s, queued)
	}
	wg.Go(func() { probeErrs[1] = s.c.do(bg, last.fn) })
	queued++
	waitQueued(t, s, queued)
	release()
	waitGroup(t, &wg, "batch")

	f, l := first.runs(), last.runs()
	if len(f) != 1 || len(l) != 1 || f[0] != l[0] {
		t.Fatalf("probes ran in %d and %d transactions: the batch was split or rolled back", len(f), len(l))
	}
	for i, err := range goodErrs {
		mustOK(t, err, fmt.Sprintf("good offer %d", i))
	}
	for i, r := range refusals {
		mustErr(t, errs[i], r.want, fmt.Sprintf("refusal %d", i))
	}
	if rev, _ := s.Revision(); rev != rev0+uint64(len(good)) {
		t.Errorf("revision %d, want %d", rev, rev0+uint64(len(good)))
	}
	verifyAll(t, s)
}

// Random lifecycle steps from many goroutines; afterwards the invariants
// hold over everything stored, and no result ever showed a volunteer over
// capacity.
func TestLifecycleConcurrentRandom(t *testing.T) {
	workers, opsEach := 16, 250
	if testing.Short() {
		opsEach = 60
	}
	clock := newFakeClock()
	start := clock.last()
	s, _ := newStore(t, WithClock(clock.now))

	var mu sync.Mutex
	var reqs []*pb.HelpRequest
	var offerIDs []string
	addReq := func(i int) {
		in := newHelpRequest("org-a", "", "AB10 1AB", fmt.Sprintf("+4477007%05d", i))
		if i%4 == 0 {
			// Some end during the run, for ExpireHelpRequests.
			in.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(start.Add(time.Duration(10+i) * time.Minute))}
		}
		hr, err := s.CreateHelpRequest(bg, in, Idempotency{})
		mustOK(t, err, "create request")
		mu.Lock()
		reqs = append(reqs, hr)
		mu.Unlock()
	}
	for i := range 30 {
		addReq(i)
	}
	var vols []*pb.Volunteer
	for i := range 8 {
		vols = append(vols, lcVolunteer(t, s, int32(1+i%3)))
	}
	pick := func(rng *rand.Rand) (string, string) {
		mu.Lock()
		defer mu.Unlock()
		// The 30 newest requests: older ones are mostly finished.
		hr := reqs[len(reqs)-1-rng.IntN(min(len(reqs), 30))]
		off := ""
		if n := len(offerIDs); n > 0 {
			// Mostly recent offers, which are likelier to be pending.
			off = offerIDs[max(0, n-1-rng.IntN(min(n, 12)))]
		}
		return idOf(hr.Name), off
	}
	nextReq := atomic.Int64{}
	nextReq.Store(30)

	var counts sync.Map // outcome name -> *atomic.Int64
	count := func(op string, err error) {
		key := op + ": ok"
		if err != nil {
			key = op + ": " + err.Error()
			for _, e := range []error{ErrLeaseExpired, ErrWrongState, ErrAtCapacity, ErrVolunteerPaused, ErrDeclinedBefore, ErrHasCommitments, ErrEtagMismatch, ErrNotFound} {
				if errors.Is(err, e) {
					key = op + ": " + e.Error()
					break
				}
			}
		}
		c, _ := counts.LoadOrStore(key, new(atomic.Int64))
		c.(*atomic.Int64).Add(1)
	}
	checkResult := func(op string, r LifecycleResult) {
		if v := r.Volunteer; v != nil && v.ActiveAssignments+v.PendingOffers > capacityOf(v) {
			t.Errorf("%s left %s with %d assignments and %d offers, capacity %d", op, v.Name, v.ActiveAssignments, v.PendingOffers, v.Capacity)
		}
		if v := r.Volunteer; v != nil && (v.ActiveAssignments < 0 || v.PendingOffers < 0) {
			t.Errorf("%s left %s with negative counts: %v", op, v.Name, v)
		}
		if r.HelpRequest == nil {
			t.Errorf("%s returned no request", op)
		}
	}
	allowed := func(err error) bool {
		for _, e := range []error{ErrLeaseExpired, ErrWrongState, ErrAtCapacity, ErrVolunteerPaused, ErrDeclinedBefore, ErrHasCommitments, ErrEtagMismatch, ErrNotFound} {
			if errors.Is(err, e) {
				return true
			}
		}
		return false
	}

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for range opsEach {
				reqID, offID := pick(rng)
				vol := vols[rng.IntN(len(vols))]
				var op string
				var err error
				var results []LifecycleResult
				switch p := rng.IntN(100); {
				case p < 35:
					op = "create offer"
					var r LifecycleResult
					r, err = s.CreateOffer(bg, OfferParams{HelpRequestID: reqID, VolunteerID: idOf(vol.Name), Lease: time.Duration(30+rng.IntN(270)) * time.Second})
					if err == nil {
						mu.Lock()
						offerIDs = append(offerIDs, idOf(r.Offer.Name))
						mu.Unlock()
						results = append(results, r)
					}
				case p < 55 && offID != "":
					op = "accept"
					var r LifecycleResult
					if r, err = s.AcceptOffer(bg, offID); err == nil {
						results = append(results, r)
					}
				case p < 65 && offID != "":
					op = "decline"
					var r LifecycleResult
					if r, err = s.DeclineOffer(bg, offID); err == nil {
						results = append(results, r)
					}
				case p < 70:
					op = "complete"
					var r LifecycleResult
					if r, err = s.CompleteHelpRequest(bg, reqID); err == nil {
						results = append(results, r)
					}
				case p < 73:
					op = "release"
					var r LifecycleResult
					if r, err = s.ReleaseHelpRequest(bg, reqID); err == nil {
						results = append(results, r)
					}
				case p < 77:
					op = "cancel"
					var r LifecycleResult
					if r, err = s.CancelHelpRequest(bg, reqID); err == nil {
						results = append(results, r)
					}
				case p < 85:
					op = "expire offers"
					results, err = s.ExpireOffers(bg, clock.now(), 1+rng.IntN(5))
				case p < 87:
					op = "expire requests"
					results, err = s.ExpireHelpRequests(bg, clock.now(), 1+rng.IntN(3))
				case p < 91:
					// Try to clobber lifecycle fields through the update path.
					op = "update request"
					var hr *pb.HelpRequest
					if hr, err = s.GetHelpRequest(bg, reqID); err == nil {
						hr.State, hr.Offer, hr.AssignedVolunteer, hr.DeclinedVolunteers = pb.HelpRequest_STATE_OPEN, "", "", nil
						hr.Details = fmt.Sprintf("edited by %d", w)
						if rng.IntN(4) == 0 && hr.Requester != nil {
							// A new phone: its index entries move while
							// lifecycle changes leave them alone.
							hr.Requester.Phone = fmt.Sprintf("+4477006%05d", rng.IntN(400))
						}
						_, err = s.UpdateHelpRequest(bg, hr)
					}
				case p < 95:
					op = "update volunteer"
					var v *pb.Volunteer
					if v, err = s.GetVolunteer(bg, idOf(vol.Name)); err == nil {
						v.ActiveAssignments, v.PendingOffers, v.RecentAssignmentTimes = 0, 0, nil
						v.Paused = rng.IntN(8) == 0
						_, err = s.UpdateVolunteer(bg, v)
					}
				case p < 96:
					op = "delete request"
					err = s.DeleteHelpRequest(bg, reqID, "")
				case p < 97:
					// Erasure takes the requester's phone out of the
					// indexes and rotates the keys, amid the rest.
					op = "erase requester"
					var hr *pb.HelpRequest
					if hr, err = s.GetHelpRequest(bg, reqID); err == nil && hr.GetRequester().GetPhone() != "" {
						_, err = s.ErasePerson(bg, hr.Requester.Phone, clock.now())
					}
				default:
					if i := nextReq.Add(1); i < 400 {
						addReq(int(i))
					}
					continue
				}
				count(op, err)
				if err != nil && !allowed(err) {
					t.Errorf("%s: %v", op, err)
				}
				for _, r := range results {
					checkResult(op, r)
				}
			}
		})
	}
	// Meanwhile, every snapshot satisfies the invariants too.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	deadline := time.After(2 * time.Minute)
	snapshots := 0
watch:
	for {
		select {
		case <-done:
			break watch
		case <-deadline:
			t.Fatalf("random lifecycle: still running after two minutes; something hangs")
		default:
			verifyAll(t, s)
			snapshots++
			time.Sleep(5 * time.Millisecond)
		}
	}
	t.Logf("checked %d snapshots during the run", snapshots)

	var report []string
	counts.Range(func(k, v any) bool {
		report = append(report, fmt.Sprintf("%s=%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	slices.Sort(report)
	t.Logf("outcomes: %s", strings.Join(report, ", "))
	got := func(key string) int64 {
		if c, ok := counts.Load(key); ok {
			return c.(*atomic.Int64).Load()
		}
		return 0
	}
	for _, key := range []string{"create offer: ok", "accept: ok", "decline: ok", "complete: ok", "release: ok", "expire offers: ok", "create offer: " + ErrAtCapacity.Error(), "create offer: " + ErrWrongState.Error()} {
		if got(key) == 0 {
			t.Errorf("no %q in the run: the test did not exercise it", key)
		}
	}
	verifyAll(t, s)
	mustOK(t, s.Check(), "check")

	// What the sweeps leave: nothing past its lease stays PENDING.
	_, err := s.ExpireOffers(bg, clock.now().Add(time.Hour), 1000)
	mustOK(t, err, "final sweep")
	d := loadAll(t, s)
	for _, o := range d.offers {
		if o.State == pb.Offer_STATE_PENDING {
			t.Errorf("%s still PENDING after the final sweep", o.Name)
		}
	}
	verifyAll(t, s)
}

// TestCreateOfferIdempotent: a CreateOffer repeated with its request id
// returns the offer first made, at any point in the offer's life, and
// makes nothing; racing repeats make one offer; the id cannot be reused
// for another offer.
func TestCreateOfferIdempotent(t *testing.T) {
	s, _ := newStore(t)
	hr, other := lcRequest(t, s), lcRequest(t, s)
	v := lcVolunteer(t, s, 2)
	idem := Idempotency{RequestID: "6f1c2a4e-1d2b-4c3d-8e9f-0a1b2c3d4e5f", Fingerprint: [32]byte{1}}
	params := OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(v.Name), Lease: lcLease, Idem: idem}

	if _, err := s.OfferByRequestID(bg, idem); !errors.Is(err, ErrNotFound) {
		t.Errorf("before any offer: %v, want ErrNotFound", err)
	}
	const n = 8
	names := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := s.CreateOffer(bg, params)
			if err != nil {
				t.Errorf("attempt %d: %v", i, err)
				return
			}
			names[i] = res.Offer.Name
		})
	}
	waitGroup(t, &wg, "offers")
	for _, name := range names {
		if name != names[0] {
			t.Fatalf("racing repeats returned different offers: %v", names)
		}
	}
	offers, err := s.ListOffersByRequest(bg, idOf(hr.Name))
	mustOK(t, err, "list offers")
	if len(offers) != 1 {
		t.Fatalf("%d offers made, want 1", len(offers))
	}
	got, err := s.OfferByRequestID(bg, idem)
	if err != nil || got.Name != names[0] {
		t.Errorf("OfferByRequestID = %v, %v; want %s", got, err, names[0])
	}

	// Declined since: a repeat still answers with that offer, and changes
	// nothing (no revision, so no event).
	lcMust(t, "decline")(s.DeclineOffer(bg, idOf(names[0])))
	rev, err := s.Revision()
	mustOK(t, err, "revision")
	res, err := s.CreateOffer(bg, params)
	if err != nil || res.Offer.Name != names[0] || res.Offer.State != pb.Offer_STATE_DECLINED {
		t.Errorf("repeat after decline: %v, %v", res.Offer, err)
	}
	if after, _ := s.Revision(); after != rev {
		t.Errorf("a repeat moved the revision from %d to %d", rev, after)
	}

	// The same id for another offer is refused, in both calls.
	reused := idem
	reused.Fingerprint = [32]byte{2}
	if _, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(other.Name), VolunteerID: idOf(v.Name), Lease: lcLease, Idem: reused}); !errors.Is(err, ErrRequestIDReused) {
		t.Errorf("reused id: %v, want ErrRequestIDReused", err)
	}
	if _, err := s.OfferByRequestID(bg, reused); !errors.Is(err, ErrRequestIDReused) {
		t.Errorf("OfferByRequestID with a reused id: %v", err)
	}

	// Once the request (and so its offers) is deleted, the id names nothing.
	mustOK(t, s.DeleteHelpRequest(bg, idOf(hr.Name), ""), "delete")
	if _, err := s.CreateOffer(bg, params); !errors.Is(err, ErrRequestIDGone) {
		t.Errorf("after delete: %v, want ErrRequestIDGone", err)
	}
	if _, err := s.OfferByRequestID(bg, idem); !errors.Is(err, ErrRequestIDGone) {
		t.Errorf("OfferByRequestID after delete: %v, want ErrRequestIDGone", err)
	}
	verifyAll(t, s)
}

// TestCreateOffersBatch: offers made together are each checked against
// what the earlier ones in the batch did, a refused one leaves the rest
// made, and all of it is one revision.
func TestCreateOffersBatch(t *testing.T) {
	s, _ := newStore(t)
	r1, r2, r3 := lcRequest(t, s), lcRequest(t, s), lcRequest(t, s)
	one, two := lcVolunteer(t, s, 1), lcVolunteer(t, s, 2)
	p := func(hr *pb.HelpRequest, v *pb.Volunteer) OfferParams {
		return OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(v.Name), Lease: lcLease, Dispatched: true}
	}
	bad := p(r3, two)
	bad.Lease = 0
	rev, err := s.Revision()
	mustOK(t, err, "revision")
	ps := []OfferParams{
		p(r1, one),
		p(r2, one), // one has room for one only
		p(r1, two), // r1 was offered just above
		bad,
		{HelpRequestID: "nope", VolunteerID: idOf(two.Name), Lease: lcLease},
		p(r2, two),
	}
	res, errs, err := s.CreateOffers(bg, ps)
	mustOK(t, err, "create offers")
	wantErr := []error{nil, ErrAtCapacity, ErrWrongState, errBadOffer, ErrNotFound, nil}
	for i := range ps {
		switch {
		case wantErr[i] == nil && (errs[i] != nil || res[i].Offer == nil || !res[i].Offer.Dispatched):
			t.Errorf("offer %d: %v %v, want made", i, res[i].Offer, errs[i])
		case wantErr[i] != nil && (!errors.Is(errs[i], wantErr[i]) || res[i].Offer != nil):
			t.Errorf("offer %d: %v %v, want %v", i, res[i].Offer, errs[i], wantErr[i])
		}
	}
	if after, _ := s.Revision(); after != rev+1 {
		t.Errorf("revision moved from %d to %d, want one write", rev, after)
	}
	if got, _ := s.GetVolunteer(bg, idOf(two.Name)); got.PendingOffers != 1 {
		t.Errorf("volunteer two has %d pending offers, want 1", got.PendingOffers)
	}
	verifyAll(t, s)

	// Nothing to make: no write at all.
	res, errs, err = s.CreateOffers(bg, []OfferParams{p(r1, two)})
	if err != nil || res[0].Offer != nil || !errors.Is(errs[0], ErrWrongState) {
		t.Errorf("all refused: %v %v %v", res, errs, err)
	}
	if after, _ := s.Revision(); after != rev+1 {
		t.Errorf("a batch that made nothing moved the revision to %d", after)
	}
}

// A file from before commitments (version 6) gets them on open, from its
// offers: the pending one's and the assignment's, not the declined one's
// nor the fulfilled one's.
func TestOpenFillsCommitments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v6.db")
	clock := newFakeClock()
	s := openAt(t, path, WithClock(clock.now))
	v := lcVolunteer(t, s, 5)
	var reqs []*pb.HelpRequest
	for range 4 {
		reqs = append(reqs, lcRequest(t, s))
	}
	lcOffer(t, s, reqs[0], v) // pending
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, reqs[1], v).Offer.Name)))
	lcMust(t, "decline")(s.DeclineOffer(bg, idOf(lcOffer(t, s, reqs[2], v).Offer.Name)))
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, reqs[3], v).Offer.Name)))
	lcMust(t, "complete")(s.CompleteHelpRequest(bg, idOf(reqs[3].Name)))
	want, err := s.GetVolunteer(bg, idOf(v.Name))
	mustOK(t, err, "get")
	if len(want.Commitments) != 2 {
		t.Fatalf("commitments %v, want the pending offer's and the assignment's", want.Commitments)
	}
	mustOK(t, s.Close(), "close")
	writeBoltFile(t, path, func(tx *bolt.Tx) error {
		err := tx.Bucket(bVolunteers).Bucket(bRecords).ForEach(func(k, raw []byte) error {
			r := &pb.Volunteer{}
			if err := proto.Unmarshal(raw, r); err != nil {
				return err
			}
			r.Commitments = nil
			b, err := proto.Marshal(r)
			if err != nil {
				return err
			}
			return tx.Bucket(bVolunteers).Bucket(bRecords).Put(k, b)
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kSchemaVersion, u64(6))
	})
	s2 := openAt(t, path, WithClock(clock.now))
	got, err := s2.GetVolunteer(bg, idOf(v.Name))
	mustOK(t, err, "get after migration")
	if !proto.Equal(got, want) {
		t.Errorf("after migration %v\nwant %v", got.Commitments, want.Commitments)
	}
	verifyAll(t, s2)
}

// An edit of a request's window or needs while it is offered or assigned
// moves its volunteer's commitment with it, in the same write.
func TestEditMovesTheCommitment(t *testing.T) {
	f := newLCFixture(t)
	f.offer(t)
	for _, edit := range []func(r *pb.HelpRequest){
		func(r *pb.HelpRequest) {
			r.GetWindow().EndTime = timestamppb.New(r.GetWindow().EndTime.AsTime().Add(time.Hour))
		},
		func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_TRANSPORT} },
		func(r *pb.HelpRequest) {
			r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(lcWindowEnd)}
		},
		func(r *pb.HelpRequest) {
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(lcWindowEnd.Add(-time.Hour)), EndTime: timestamppb.New(lcWindowEnd)}}
		},
	} {
		r, err := f.s.GetHelpRequest(bg, idOf(f.hr.Name))
		mustOK(t, err, "get")
		edit(r)
		_, err = f.s.UpdateHelpRequest(bg, r)
		mustOK(t, err, "update")
		verifyAll(t, f.s)
		if r.State == pb.HelpRequest_STATE_OFFERED {
			lcMust(t, "accept")(f.s.AcceptOffer(bg, idOf(f.off.Name))) // the rest while assigned
		}
	}
	v, err := f.s.GetVolunteer(bg, idOf(f.v.Name))
	mustOK(t, err, "get volunteer")
	if len(v.Commitments) != 1 || v.Commitments[0].Window.StartTime.AsTime() != lcWindowEnd.Add(-time.Hour) {
		t.Errorf("commitments %v", v.Commitments)
	}
}

// An accept's check sees the request and volunteer as its transaction
// reads them, and its refusal changes nothing.
func TestAcceptCheckRefuses(t *testing.T) {
	f := newLCFixture(t)
	f.offer(t)
	before := dump(t, f.s)
	errNo := errors.New("no longer fits")
	var saw string
	_, err := f.s.AcceptOffer(bg, idOf(f.off.Name), func(req *pb.HelpRequest, vol *pb.Volunteer) error {
		saw = req.Name + " " + vol.Name
		return errNo
	})
	mustErr(t, err, errNo, "accept refused by its check")
	if saw != f.hr.Name+" "+f.v.Name {
		t.Errorf("check saw %q", saw)
	}
	if d := diffDump(before, dump(t, f.s)); len(d) > 0 {
		t.Errorf("refused accept changed the file: %v", d)
	}
	lcMust(t, "accept")(f.s.AcceptOffer(bg, idOf(f.off.Name), func(*pb.HelpRequest, *pb.Volunteer) error { return nil }))
	verifyAll(t, f.s)
}

// An offer its check refuses is turned down alone: the others of the same
// write are made, and nothing of it is left behind.
func TestOfferCheckRefusesAlone(t *testing.T) {
	f := newLCFixture(t)
	other := lcRequest(t, f.s)
	errNo := errors.New("busy then")
	res, errs, err := f.s.CreateOffers(bg, []OfferParams{
		{HelpRequestID: idOf(f.hr.Name), VolunteerID: idOf(f.v.Name), Lease: lcLease, Check: func(*pb.HelpRequest, *pb.Volunteer) error { return errNo }},
		{HelpRequestID: idOf(other.Name), VolunteerID: idOf(f.v.Name), Lease: lcLease, Check: func(*pb.HelpRequest, *pb.Volunteer) error { return nil }},
	})
	mustOK(t, err, "create offers")
	mustErr(t, errs[0], errNo, "offer refused by its check")
	if errs[1] != nil || res[1].Offer == nil {
		t.Fatalf("the other offer: %v, %v", res[1], errs[1])
	}
	if hr, err := f.s.GetHelpRequest(bg, idOf(f.hr.Name)); err != nil || hr.State != pb.HelpRequest_STATE_OPEN {
		t.Errorf("refused request is %v (%v), want open", hr.GetState(), err)
	}
	verifyAll(t, f.s)
}

// TestWithdrawAfterTheLeaseLapses: an offer withdrawn after its lease has
// passed, before the sweep came to it, lapses as the sweep would have
// lapsed it: the volunteer who did not answer is among the declined. One
// withdrawn within its lease leaves them free to be offered it again.
func TestWithdrawAfterTheLeaseLapses(t *testing.T) {
	for _, tc := range []struct {
		after    time.Duration
		want     pb.Offer_State
		declined bool
	}{
		{lcLease - time.Minute, pb.Offer_STATE_WITHDRAWN, false}, // the clock ticks a second a read
		{lcLease, pb.Offer_STATE_EXPIRED, true},
		{lcLease + time.Hour, pb.Offer_STATE_EXPIRED, true},
	} {
		f := newLCFixture(t)
		f.offer(t)
		f.clock.advance(tc.after)
		res := lcMust(t, "withdraw")(f.s.WithdrawOffer(bg, idOf(f.off.Name), "BUSY"))
		if res.Offer.State != tc.want || res.HelpRequest.State != pb.HelpRequest_STATE_OPEN ||
			slices.Contains(res.HelpRequest.DeclinedVolunteers, f.v.Name) != tc.declined || res.Volunteer.PendingOffers != 0 {
			t.Errorf("withdrawn %v after the offer: offer %v, request %v declining %v, %d pending; want %v, declined %v",
				tc.after, res.Offer.State, res.HelpRequest.State, res.HelpRequest.DeclinedVolunteers, res.Volunteer.PendingOffers, tc.want, tc.declined)
		}
		// Why it was withdrawn is kept; a lapse has no such reason.
		if want := map[bool]string{true: "", false: "BUSY"}[tc.declined]; res.Offer.WithdrawReason != want {
			t.Errorf("withdraw_reason %q, want %q", res.Offer.WithdrawReason, want)
		}
		verifyAll(t, f.s)
	}
}
