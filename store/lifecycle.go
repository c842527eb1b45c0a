package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// recentWindow is how far back Volunteer.recent_assignment_times reaches.
const recentWindow = 7 * 24 * time.Hour

// errInconsistent means stored records disagree with each other: a bug,
// never a caller's mistake.
var errInconsistent = errors.New("stored records are inconsistent")

// A lifecycle change reads the records it needs into a change, checks and
// changes them in memory, and only then writes them (flush). Every refusal
// therefore comes before the first write, so that a refused change fails
// alone in its batch instead of rolling the batch back, and a record that
// one change touches twice (ExpireOffers, two offers to one volunteer) is
// read once and written once.

// staged is a help request or volunteer read for a change.
type staged[T proto.Message] struct {
	id  []byte
	r   T // without its contact, as stored
	c   *pb.Contact
	old []index // its index entries as stored, less the phone's (see recordIndexes)
	// The contact's phone as read: the phone's index entries move only if
	// it changed (an erasure).
	phone string
	// A help request's state and volunteer as read, for the events that
	// describe the change: all of the record they need, not a copy of it.
	prevState    pb.HelpRequest_State
	prevAssigned string
	changed      bool
}

// recordIndexes is r's index entries less those made from its contact's
// phone (phoneIndex). A lifecycle change leaves the contact as it is, so
// those are the same before and after: leaving them out of both sides of
// moveIndexes leaves them alone, and spares working out keyed hashes of
// the phone twice for every record a change touches. flush adds them to
// both sides when the phone did change.
func (ss *stagedSet[T]) recordIndexes(id []byte, r T) []index {
	return ss.col.indexes(ss.sl, id, r, nil)
}

// storedIndexes is every index entry st had as read, the phone's included.
func (ss *stagedSet[T]) storedIndexes(st *staged[T]) []index {
	return append(slices.Clip(st.old), ss.col.phoneIndex(ss.sl, st.phone, st.id)...)
}

type stagedSet[T proto.Message] struct {
	col   *collection[T]
	sl    *sealer
	top   *bolt.Bucket
	byID  map[string]*staged[T]
	order []*staged[T]
}

func newStagedSet[T proto.Message](tx *bolt.Tx, col *collection[T], sl *sealer) stagedSet[T] {
	return stagedSet[T]{col: col, sl: sl, top: tx.Bucket(col.bucket), byID: map[string]*staged[T]{}}
}

func (ss *stagedSet[T]) get(id []byte) (*staged[T], error) {
	if st, ok := ss.byID[string(id)]; ok {
		return st, nil
	}
	r, c, err := ss.col.read(ss.sl, ss.top, id)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", ss.col.noun, idString(id), err)
	}
	id = bytes.Clone(id)
	st := &staged[T]{id: id, r: r, c: c, old: ss.recordIndexes(id, r), phone: c.GetPhone()}
	if hr, ok := any(r).(*pb.HelpRequest); ok {
		st.prevState, st.prevAssigned = hr.State, hr.AssignedVolunteer
	}
	ss.byID[string(id)] = st
	ss.order = append(ss.order, st)
	return st, nil
}

func (ss *stagedSet[T]) byName(name string) (*staged[T], error) {
	id, err := idFromName(name, ss.col.prefix)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", ss.col.noun, name, err)
	}
	return ss.get(id)
}

func (ss *stagedSet[T]) dirty() bool {
	return slices.ContainsFunc(ss.order, func(st *staged[T]) bool { return st.changed })
}

// flush writes the changed records with a new etag and update time, and
// moves their index entries.
func (ss *stagedSet[T]) flush(w *writeTx, etag string, now time.Time) error {
	for _, st := range ss.order {
		if !st.changed {
			continue
		}
		ss.col.stamp(st.r, ss.col.name(st.r), etag, nil, timestamp(now))
		// Only the record: a lifecycle change leaves the sealed personal
		// data as it is, and an erasure deletes it itself.
		if _, err := ss.col.putRecord(w, ss.top, st.id, st.r); err != nil {
			return err
		}
		old, cur := st.old, ss.recordIndexes(st.id, st.r)
		if phone := st.c.GetPhone(); phone != st.phone {
			old = ss.storedIndexes(st)
			cur = append(cur, ss.col.phoneIndex(ss.sl, phone, st.id)...)
		}
		if err := moveIndexes(w, ss.top, old, cur); err != nil {
			return err
		}
	}
	return nil
}

// result is the caller's own copy of a staged record, contact included.
func result[T proto.Message](col *collection[T], st *staged[T]) T {
	var zero T
	if st == nil {
		return zero
	}
	r := proto.Clone(st.r).(T)
	col.setContact(r, proto.Clone(st.c).(*pb.Contact))
	return r
}

// moveIndexes replaces a record's index entries old with new, leaving
// those in both alone. A record has a handful of entries, so each is
// looked for in the other list by comparison, not through a map.
func moveIndexes(w *writeTx, top *bolt.Bucket, old, new []index) error {
	var gone, added []index
	for _, e := range old {
		if !slices.ContainsFunc(new, e.equal) {
			gone = append(gone, e)
		}
	}
	for _, e := range new {
		if !slices.ContainsFunc(old, e.equal) {
			added = append(added, e)
		}
	}
	if err := deleteAll(w, top, gone); err != nil {
		return err
	}
	return putAll(w, top, added)
}

// stagedOffer is an offer read (or made) for a change.
type stagedOffer struct {
	id            []byte
	o             *pb.Offer
	isNew         bool
	requestID     []byte // for a new offer's by_request entry
	volunteerID   []byte // and its by_volunteer entry
	storedPending bool   // whether the stored offer has a by_expiry entry
	storedExpiry  []byte // and its key
	changed       bool
}

func expiryKey(t *timestamppb.Timestamp, id []byte) []byte {
	k := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(t.AsTime().UnixNano()))
	return append(k, id...)
}

// change is one lifecycle write in the making.
type change struct {
	w          *writeTx
	now        time.Time
	hrs        stagedSet[*pb.HelpRequest]
	vols       stagedSet[*pb.Volunteer]
	offTop     *bolt.Bucket
	offers     map[string]*stagedOffer
	offerOrder []*stagedOffer
	pauseAfter int32 // BoltStore.pauseAfter
	// pausedNow are the volunteers this change paused for offers left
	// unanswered: their record changed as an UpdateVolunteer would change
	// it, and apps showing it hear so (TYPE_VOLUNTEER_UPDATED).
	pausedNow []*pb.Volunteer
}

func newChange(w *writeTx, now time.Time, sl *sealer) *change {
	return &change{
		w:      w,
		now:    now,
		hrs:    newStagedSet(w.tx, helpRequests, sl),
		vols:   newStagedSet(w.tx, volunteers, sl),
		offTop: w.tx.Bucket(bOffers),
		offers: map[string]*stagedOffer{},
	}
}

func (c *change) offer(id []byte) (*stagedOffer, error) {
	if so, ok := c.offers[string(id)]; ok {
		return so, nil
	}
	o := &pb.Offer{}
	ok, err := getProto(c.offTop.Bucket(bRecords), id, o)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("offer %s: %w", idString(id), ErrNotFound)
	}
	id = bytes.Clone(id)
	so := &stagedOffer{id: id, o: o, storedPending: o.State == pb.Offer_STATE_PENDING, storedExpiry: expiryKey(o.ExpireTime, id)}
	c.offers[string(id)] = so
	c.offerOrder = append(c.offerOrder, so)
	return so, nil
}

func (c *change) offerByName(name string) (*stagedOffer, error) {
	id, err := idFromName(name, offerPrefix)
	if err != nil {
		return nil, fmt.Errorf("offer %q: %w", name, err)
	}
	return c.offer(id)
}

func (c *change) addOffer(id, requestID, volunteerID []byte, o *pb.Offer) *stagedOffer {
	so := &stagedOffer{id: id, o: o, isNew: true, requestID: requestID, volunteerID: volunteerID, changed: true}
	c.offers[string(id)] = so
	c.offerOrder = append(c.offerOrder, so)
	return so
}

// flush writes everything changed, under one new revision.
func (c *change) flush() error {
	if !c.hrs.dirty() && !c.vols.dirty() && !slices.ContainsFunc(c.offerOrder, func(so *stagedOffer) bool { return so.changed }) {
		return nil
	}
	rev, err := bumpRevision(c.w)
	if err != nil {
		return err
	}
	etag := etagOf(rev)
	if err := c.hrs.flush(c.w, etag, c.now); err != nil {
		return err
	}
	if err := c.vols.flush(c.w, etag, c.now); err != nil {
		return err
	}
	records, byExpiry, byRequest, byVolunteer := c.offTop.Bucket(bRecords), c.offTop.Bucket(bByExpiry), c.offTop.Bucket(bByRequest), c.offTop.Bucket(bByVolunteer)
	for _, so := range c.offerOrder {
		if !so.changed {
			continue
		}
		if err := putProto(c.w, records, so.id, so.o); err != nil {
			return err
		}
		if so.isNew {
			if err := c.w.put(byRequest, append(bytes.Clone(so.requestID), so.id...), nil); err != nil {
				return err
			}
			if err := c.w.put(byVolunteer, append(bytes.Clone(so.volunteerID), so.id...), nil); err != nil {
				return err
			}
		}
		pending := so.o.State == pb.Offer_STATE_PENDING
		if so.storedPending && !pending {
			if err := c.w.delete(byExpiry, so.storedExpiry); err != nil {
				return err
			}
		}
		if !so.storedPending && pending {
			if err := c.w.put(byExpiry, expiryKey(so.o.ExpireTime, so.id), nil); err != nil {
				return err
			}
		}
	}
	return c.emitEvents()
}

// emitEvents logs what the change did: offers first, then the requests
// whose state moved, then assignments that ended.
func (c *change) emitEvents() error {
	orgOf := func(requestName string) string {
		if id, err := idFromName(requestName, helpRequestPrefix); err == nil {
			if st, ok := c.hrs.byID[string(id)]; ok {
				return st.r.Organisation
			}
		}
		return ""
	}
	// The volunteers a change concerns are staged (their counts move), so
	// their organisation is read from there, not decoded again for each
	// of a dispatch's offers (emit reads any other).
	volOrg := func(name string) string {
		if id, err := idFromName(name, volunteerPrefix); err == nil {
			if st, ok := c.vols.byID[string(id)]; ok {
				return st.r.Organisation
			}
		}
		return ""
	}
	for _, so := range c.offerOrder {
		if !so.changed {
			continue
		}
		t, ok := offerEventTypes[so.o.State]
		if so.isNew {
			t, ok = pb.Event_TYPE_OFFER_CREATED, true
		}
		if !ok {
			continue
		}
		ev := &pb.Event{Type: t, Organisation: orgOf(so.o.HelpRequest), HelpRequest: so.o.HelpRequest,
			Volunteer: so.o.Volunteer, VolunteerOrganisation: volOrg(so.o.Volunteer), Offer: so.o.Name, Dispatched: so.o.Dispatched}
		if err := emit(c.w, ev, c.now); err != nil {
			return err
		}
	}
	for _, v := range c.pausedNow {
		if err := emit(c.w, volunteerEvent(pb.Event_TYPE_VOLUNTEER_UPDATED, v), c.now); err != nil {
			return err
		}
	}
	for _, st := range c.hrs.order {
		if !st.changed || st.prevState == st.r.State {
			continue
		}
		ev := helpRequestEvent(pb.Event_TYPE_HELP_REQUEST_STATE_CHANGED, st.r)
		ev.PreviousState = st.prevState
		// A request released by its volunteer no longer names them: the
		// event does, so that their stream hears that it is off their
		// hands. Other moves out of ASSIGNED keep the volunteer.
		ev.Volunteer = cmp.Or(st.r.AssignedVolunteer, st.prevAssigned)
		ev.VolunteerOrganisation = volOrg(ev.Volunteer)
		if err := emit(c.w, ev, c.now); err != nil {
			return err
		}
		if st.prevState != pb.HelpRequest_STATE_ASSIGNED {
			continue
		}
		t := pb.Event_TYPE_ASSIGNMENT_CANCELLED
		if st.r.State == pb.HelpRequest_STATE_FULFILLED {
			t = pb.Event_TYPE_ASSIGNMENT_COMPLETED
		}
		ev = helpRequestEvent(t, st.r)
		ev.Volunteer = st.prevAssigned
		ev.VolunteerOrganisation = volOrg(ev.Volunteer)
		if err := emit(c.w, ev, c.now); err != nil {
			return err
		}
	}
	return nil
}

// Why an offer was withdrawn other than by a matching rule (Offer.withdraw_reason).
const (
	WithdrawRequestCancelled = "REQUEST_CANCELLED"
	WithdrawRequestEnded     = "REQUEST_ENDED"
	WithdrawClockSetBack     = "CLOCK_SET_BACK"
)

// withdrawnFor records why, if o withdrew an offer.
func (o outcome) withdrawnFor(why string) {
	if o.off != nil && o.off.o.State == pb.Offer_STATE_WITHDRAWN {
		o.off.o.WithdrawReason = why
	}
}

// outcome is what one change did to one request, for its LifecycleResult.
type outcome struct {
	off    *stagedOffer
	req    *staged[*pb.HelpRequest]
	vol    *staged[*pb.Volunteer]
	repeat bool // unchanged: LifecycleResult.Repeat
	paused bool // LifecycleResult.PausedUnanswered
}

func (o outcome) result() LifecycleResult {
	res := LifecycleResult{
		HelpRequest: result(helpRequests, o.req),
		Volunteer:   result(volunteers, o.vol),
		Repeat:      o.repeat,

		PausedUnanswered: o.paused,
	}
	if o.off != nil {
		res.Offer = proto.Clone(o.off.o).(*pb.Offer)
	}
	return res
}

// lifecycle runs fn as one write at the time now gives, writes what it
// changed and returns the results of what it did.
func (s *BoltStore) lifecycle(ctx context.Context, what string, now func() time.Time, fn func(c *change) ([]outcome, error)) ([]LifecycleResult, error) {
	var outs []outcome
	err := s.c.do(ctx, func(w *writeTx) error {
		outs = nil // fn may run more than once
		c := newChange(w, now(), s.sealer(w.tx))
		c.pauseAfter = s.pauseAfter
		o, err := fn(c)
		if err != nil {
			return err
		}
		if err := c.flush(); err != nil {
			return err
		}
		outs = o
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	res := make([]LifecycleResult, len(outs))
	for i, o := range outs {
		res[i] = o.result()
	}
	return res, nil
}

func (s *BoltStore) lifecycleOne(ctx context.Context, what string, fn func(c *change) (outcome, error)) (LifecycleResult, error) {
	res, err := s.lifecycle(ctx, what, s.now, func(c *change) ([]outcome, error) {
		o, err := fn(c)
		if err != nil {
			return nil, err
		}
		return []outcome{o}, nil
	})
	if err != nil {
		return LifecycleResult{}, err
	}
	return res[0], nil
}

func parseIDFor(noun, id string) ([]byte, error) {
	key, err := ParseID(id)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", noun, id, ErrNotFound)
	}
	return key, nil
}

func wrongState(noun string, st fmt.Stringer) error {
	return &StateError{Noun: noun, State: st}
}

// StateError is ErrWrongState for a request or offer whose state does not
// allow the change: it says which, and in what state, for the person who
// asked.
type StateError struct {
	Noun  string       // "help request" or "offer"
	State fmt.Stringer // a pb.HelpRequest_State or pb.Offer_State
}

func (e *StateError) Error() string {
	return fmt.Sprintf("%s is %v: %v", e.Noun, e.State, ErrWrongState)
}

func (e *StateError) Unwrap() error { return ErrWrongState }

// capacityOf is a volunteer's capacity; not given means 1.
func capacityOf(v *pb.Volunteer) int32 { return max(v.Capacity, 1) }

// parties reads the request and volunteer of a PENDING offer and checks
// that the request is OFFERED with it.
func (c *change) parties(so *stagedOffer) (*staged[*pb.HelpRequest], *staged[*pb.Volunteer], error) {
	req, err := c.hrs.byName(so.o.HelpRequest)
	if err != nil {
		return nil, nil, err
	}
	if req.r.State != pb.HelpRequest_STATE_OFFERED || req.r.Offer != so.o.Name {
		return nil, nil, fmt.Errorf("offer %s is pending but %s is %v with offer %q: %w",
			so.o.Name, req.r.Name, req.r.State, req.r.Offer, errInconsistent)
	}
	vol, err := c.vols.byName(so.o.Volunteer)
	if err != nil {
		return nil, nil, err
	}
	if vol.r.PendingOffers < 1 {
		return nil, nil, fmt.Errorf("offer %s is pending but %s has no pending offers: %w", so.o.Name, vol.r.Name, errInconsistent)
	}
	return req, vol, nil
}

// decide ends a PENDING offer and frees the volunteer's hold on it; the
// caller has checked the volunteer with parties.
func (c *change) decide(so *stagedOffer, vol *staged[*pb.Volunteer], st pb.Offer_State) {
	so.o.State, so.o.DecideTime, so.changed = st, timestamp(c.now), true
	vol.r.PendingOffers--
	if st != pb.Offer_STATE_ACCEPTED {
		dropCommitment(vol.r, so.o.HelpRequest)
	}
	vol.changed = true
}

// lapse ends a PENDING offer whose lease has passed unanswered and opens
// its request again, never to be offered to that volunteer, as a decline
// would; and counts it against them (pb.Volunteer.unanswered_offers),
// pausing them when they reach the limit. A volunteer already paused (a
// pause of their own whose review ends the offer, or the server's pause
// in this same sweep) is not counted: their resume starts the count
// again, and a count on a pause of their own would read as the server's.
// Nor is an offer made before a restore (madeBeforeRestore).
func (c *change) lapse(so *stagedOffer, req *staged[*pb.HelpRequest], vol *staged[*pb.Volunteer]) outcome {
	c.decide(so, vol, pb.Offer_STATE_EXPIRED)
	reopen(req, vol.r.Name)
	v := vol.r
	out := outcome{off: so, req: req, vol: vol}
	if v.Paused || c.madeBeforeRestore(so) {
		return out
	}
	// An offer already out when the last counted one ran out was missed
	// in the same absence: a volunteer away for half an hour with three
	// offers from one dispatch run missed one lease, not three.
	// A last lapse stamped more than clockSlack after now was stamped by
	// a clock since set back, by which offers made after it read as made
	// before: it cannot tell the same absence, and this one counts.
	if last := v.LastUnansweredTime; last != nil && !last.AsTime().After(c.now.Add(clockSlack)) &&
		so.o.GetCreateTime().AsTime().Before(last.AsTime()) {
		return out
	}
	v.UnansweredOffers, v.LastUnansweredTime = v.UnansweredOffers+1, timestamp(c.now)
	if c.pauseAfter > 0 && v.UnansweredOffers >= c.pauseAfter {
		v.Paused, out.paused = true, true
		c.pausedNow = append(c.pausedNow, v)
	}
	return out
}

// madeBeforeRestore reports whether so was made before the file was last
// restored from a backup (kRestoredAt): whatever its volunteer answered
// after the backup was taken, the restore undid. Judged by its id, which
// a clock behind the backup's cannot make older than the restore, as it
// can the offer's create_time.
func (c *change) madeBeforeRestore(so *stagedOffer) bool {
	raw := c.w.tx.Bucket(bMeta).Get(kRestoredAt)
	if len(raw) != 8 {
		return false
	}
	return idTime(so.id).UnixNano() < int64(binary.BigEndian.Uint64(raw))
}

// holdCommitment notes on v that it holds req, if req has a window (see
// pb.Volunteer.commitments): the matcher keeps them from being sent to
// two places at once.
func holdCommitment(v *pb.Volunteer, req *pb.HelpRequest) {
	if c := commitmentOf(req); c != nil {
		v.Commitments = append(v.Commitments, c)
	}
}

// commitmentOf is the commitment to req, or nil if it has no window.
func commitmentOf(req *pb.HelpRequest) *pb.Commitment {
	w := req.GetWindow()
	if w == nil {
		return nil
	}
	c := &pb.Commitment{HelpRequest: req.Name, Window: proto.Clone(w).(*pb.TimeWindow), Needs: slices.Clone(req.Needs)}
	// A call from afar is at no street: without one, it shares a round
	// with nothing, and takes its own time beside the volunteer's visits
	// (matcher's rounds).
	if loc := req.GetLocation(); loc.GetStreet() != "" && visits(req) {
		c.Location = &pb.Location{Street: loc.Street, Postcode: geo.PostcodeSector(loc.Postcode)}
	}
	return c
}

// Set here, not in helpRequests' literal: requestUpdated reads requests
// through helpRequests itself.
func init() { helpRequests.onUpdated = requestUpdated }

// requestUpdated keeps, in an edit's transaction, what depends on a
// request: one door, one volunteer (keepDoor), its volunteer's time
// (keepTime), and its volunteer's commitment.
func requestUpdated(w *writeTx, sl *sealer, prev, r *pb.HelpRequest, prevContact, contact *pb.Contact, etag string, now time.Time, checks []AcceptCheck) error {
	// Only a new time or place can bring it to a door, a call from afar
	// made a visit, or a new number, which makes it another caller's (a
	// second call taken down with a digit wrong, corrected): an edit of
	// anything else is never refused for one, even at a door two
	// volunteers were already going to.
	moved := !proto.Equal(prev.GetWindow(), r.GetWindow()) || prev.GetLocation().GetPostcode() != r.GetLocation().GetPostcode() ||
		geo.StreetKey(prev.GetLocation().GetStreet()) != geo.StreetKey(r.GetLocation().GetStreet())
	if moved || visits(r) && !visits(prev) || prevContact.GetPhone() != contact.GetPhone() {
		if err := keepDoor(w, sl, r, now); err != nil {
			return err
		}
	}
	// New needs can make the job longer, too, a visit made a call from
	// afar no longer shares a round with the volunteer's visits there, a
	// new deadline can leave it only days its volunteer is away, and new
	// needs, skills or a visit inside the home can ask what the volunteer
	// has not (a driver, an enhanced DBS check).
	if moved || !slices.Equal(prev.Needs, r.Needs) || visits(prev) != visits(r) || !proto.Equal(prev.GetDeadline(), r.GetDeadline()) ||
		prev.EntersHome != r.EntersHome || !slices.Equal(prev.RequiredSkills, r.RequiredSkills) {
		if err := keepTime(w, sl, prev, r, now, checks); err != nil {
			return err
		}
		// The volunteer was judged here as stored; an edit of theirs
		// judged by the server against the request as it was (their
		// skills, check or dates away) must not then be written over it:
		// a new etag fails that write, and it is judged again.
		return refreshCommitment(w, sl, r, etag, now, r.State == pb.HelpRequest_STATE_ASSIGNED)
	}
	return refreshCommitment(w, sl, r, etag, now, false)
}

// keepTime refuses, with the checks' error, an edit that brings an
// assigned request to a time or place its volunteer cannot take it at
// (their other jobs leave no room: one volunteer, one place at a time;
// or they are away every day left for it), or makes it a job they may not
// do (the server's checks judge their skills and vetting too).
// As with keepDoor, an assignment has no offer to withdraw, so the edit
// gives way. Once jobs are under way the checks, which cannot know what
// the volunteer has done, may find the request as it was (prev) out of
// time already: an edit that keeps its window (a street or needs
// corrected on the day) brings no clash it did not have, and stands. It
// is judged then against the jobs not yet begun, which the checks still
// can judge: a misfit of the jobs under way must not wave through a new
// clash with a later one, nor one the volunteer lacks something for
// (Lacking) that the request as it was did not ask. One that moves it is
// judged on its new time alone.
func keepTime(w *writeTx, sl *sealer, prev, r *pb.HelpRequest, now time.Time, checks []AcceptCheck) error {
	if r.State != pb.HelpRequest_STATE_ASSIGNED || len(checks) == 0 {
		return nil
	}
	vols := newStagedSet(w.tx, volunteers, sl)
	vol, err := vols.byName(r.AssignedVolunteer)
	if err != nil {
		return err
	}
	for _, check := range checks {
		if err := check(r, vol.r); err != nil {
			if proto.Equal(prev.GetWindow(), r.GetWindow()) && check(prev, vol.r) != nil {
				later := notBegun(vol.r, now)
				lerr := check(r, later)
				if lerr == nil {
					continue
				}
				// The request as it was failing too waves through no new
				// lack: a volunteer whose check lapsed is not to be sent
				// on a lift they cannot drive, nor, lacking a skill the
				// job asked all along, to two places at once.
				if perr := check(prev, later); perr != nil {
					was := lacking(perr)
					fresh := slices.DeleteFunc(slices.Clone(lacking(lerr)), func(l string) bool { return slices.Contains(was, l) })
					if len(fresh) == 0 {
						continue
					}
					var l Lacking
					if errors.As(lerr, &l) {
						lerr = l.Only(fresh)
					}
				}
				// Refused for what the edit broke among the jobs still to
				// begin (a later clash, or what the job now asks of them),
				// not for the misfit of those under way, which is no one's
				// to mend.
				err = lerr
			}
			return err
		}
	}
	return nil
}

// notBegun is v with only the commitments whose windows are still to
// begin at now.
func notBegun(v *pb.Volunteer, now time.Time) *pb.Volunteer {
	out := proto.Clone(v).(*pb.Volunteer)
	out.Commitments = slices.DeleteFunc(out.Commitments, func(c *pb.Commitment) bool {
		return !c.GetWindow().GetStartTime().AsTime().After(now)
	})
	return out
}

// keepDoor refuses, with a *SameDoorError, an edit that brings an
// assigned request to a door another volunteer is going to at a meeting
// time: an assignment cannot be withdrawn as an offer can, so the edit
// gives way (a pending offer brought there is withdrawn by the server's
// review instead). A volunteer who came by the caller's leave may stay.
func keepDoor(w *writeTx, sl *sealer, r *pb.HelpRequest, now time.Time) error {
	if r.State != pb.HelpRequest_STATE_ASSIGNED {
		return nil
	}
	id, err := idFromName(r.Name, helpRequestPrefix)
	if err != nil {
		return err
	}
	c := newChange(w, now, sl)
	x, err := comerFor(r, id, now, c.offTop.Bucket(bByRequest), func(oid []byte) (*pb.Offer, error) {
		so, err := c.offer(oid)
		if err != nil {
			return nil, err
		}
		return so.o, nil
	})
	if err != nil || x.byLeave {
		return err
	}
	return c.doorAllows(&staged[*pb.HelpRequest]{id: id, r: r}, r.AssignedVolunteer)
}

// refreshCommitment brings the commitment of the volunteer holding r (its
// offer's, or its assignee) in step with r's window and needs after an
// edit of r. With judged, it writes the volunteer's record anew even
// if its commitment stays (a deadline's job has none, and a commitment holds
// neither skills nor a visit inside the home). Either write logs no event
// of its own, as a lifecycle change's does not: the request's event names
// the volunteer, whose app hears of it.
func refreshCommitment(w *writeTx, sl *sealer, r *pb.HelpRequest, etag string, now time.Time, judged bool) error {
	name, err := requestConcerns(w.tx, r)
	if err != nil || name == "" {
		return err
	}
	vols := newStagedSet(w.tx, volunteers, sl)
	vol, err := vols.byName(name)
	if err != nil {
		return err
	}
	cs := vol.r.Commitments
	i := slices.IndexFunc(cs, func(c *pb.Commitment) bool { return c.HelpRequest == r.Name })
	want := commitmentOf(r)
	switch {
	case i < 0 && want == nil, i >= 0 && proto.Equal(cs[i], want):
		if !judged {
			return nil
		}
	case i < 0:
		vol.r.Commitments = append(cs, want)
	case want == nil:
		vol.r.Commitments = slices.Delete(cs, i, i+1)
	default:
		cs[i] = want
	}
	vol.changed = true
	return vols.flush(w, etag, now)
}

// dropCommitment forgets v's commitment to the request named, if any.
func dropCommitment(v *pb.Volunteer, request string) {
	v.Commitments = slices.DeleteFunc(v.Commitments, func(c *pb.Commitment) bool { return c.HelpRequest == request })
}

// reopen returns an OFFERED request to OPEN after its offer to vol was
// declined or lapsed, or an ASSIGNED one after vol released it; vol is
// never offered it again.
func reopen(req *staged[*pb.HelpRequest], vol string) {
	req.r.State, req.r.Offer = pb.HelpRequest_STATE_OPEN, ""
	if !slices.Contains(req.r.DeclinedVolunteers, vol) {
		req.r.DeclinedVolunteers = append(req.r.DeclinedVolunteers, vol)
	}
	req.changed = true
}

// release frees what an OFFERED or ASSIGNED request holds, for a request
// being cancelled, expired, fulfilled or handed back by its volunteer: its
// offer is WITHDRAWN, or its volunteer's assignment ends. It returns what
// it touched.
func (c *change) release(req *staged[*pb.HelpRequest]) (outcome, error) {
	o := outcome{req: req}
	switch req.r.State {
	case pb.HelpRequest_STATE_OFFERED:
		so, err := c.offerByName(req.r.Offer)
		if err != nil {
			return o, err
		}
		if so.o.State != pb.Offer_STATE_PENDING || so.o.HelpRequest != req.r.Name {
			return o, fmt.Errorf("%s is OFFERED with %s, which is %v for %s: %w",
				req.r.Name, so.o.Name, so.o.State, so.o.HelpRequest, errInconsistent)
		}
		_, vol, err := c.parties(so)
		if err != nil {
			return o, err
		}
		c.decide(so, vol, pb.Offer_STATE_WITHDRAWN)
		o.off, o.vol = so, vol
		req.r.Offer = ""
	case pb.HelpRequest_STATE_ASSIGNED:
		vol, err := c.vols.byName(req.r.AssignedVolunteer)
		if err != nil {
			return o, err
		}
		if vol.r.ActiveAssignments < 1 {
			return o, fmt.Errorf("%s is assigned to %s, who has no active assignments: %w", req.r.Name, vol.r.Name, errInconsistent)
		}
		vol.r.ActiveAssignments--
		dropCommitment(vol.r, req.r.Name)
		vol.changed = true
		o.vol = vol
	}
	req.changed = true
	return o, nil
}

// CreateOffer implements Store.
func (s *BoltStore) CreateOffer(ctx context.Context, p OfferParams) (LifecycleResult, error) {
	const what = "create offer"
	reqID, volID, err := p.check()
	if err != nil {
		return LifecycleResult{}, fmt.Errorf("store: %s: %w", what, err)
	}
	return s.lifecycleOne(ctx, what, func(c *change) (outcome, error) {
		return s.createOffer(c, p, reqID, volID)
	})
}

// CreateOffers implements Store. The offers share one transaction, and so
// one fsync, where the dispatcher would otherwise wait for one per offer.
func (s *BoltStore) CreateOffers(ctx context.Context, ps []OfferParams) ([]LifecycleResult, []error, error) {
	errs := make([]error, len(ps))
	made := make([]int, 0, len(ps)) // which params each outcome is for
	res, err := s.lifecycle(ctx, "create offers", s.now, func(c *change) ([]outcome, error) {
		made = made[:0] // fn may run more than once
		var outs []outcome
		for i, p := range ps {
			errs[i] = nil
			reqID, volID, err := p.check()
			if err == nil {
				var o outcome
				// createOffer checks everything before it stages a change,
				// so a refusal leaves nothing behind for the others.
				if o, err = s.createOffer(c, p, reqID, volID); err == nil {
					outs = append(outs, o)
					made = append(made, i)
					continue
				}
			}
			if !refusal(err) {
				return nil, err // a failed write, or a wrong file: write nothing
			}
			errs[i] = fmt.Errorf("store: create offer: %w", err)
		}
		return outs, nil
	})
	if err != nil {
		return nil, nil, err
	}
	out := make([]LifecycleResult, len(ps))
	for j, i := range made {
		out[i] = res[j]
	}
	return out, errs, nil
}

// errChecked marks an offer its caller's check (OfferParams.Check)
// refused, wrapping the check's own error.
var errChecked = errors.New("refused by its check")

// refusal reports whether err is createOffer turning one offer down,
// before it staged anything, rather than a failure of the transaction.
func refusal(err error) bool {
	for _, r := range []error{ErrNotFound, ErrWrongState, ErrVolunteerPaused, ErrVolunteerHeld, ErrDeclinedBefore, ErrAtCapacity, ErrRequestIDReused, ErrRequestIDGone, ErrRequestEnded, errBadOffer, errChecked, ErrSameDoor, ErrOwnRequest} {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}

// errBadOffer is OfferParams.check's refusal.
var errBadOffer = errors.New("bad offer")

// check validates the parameters that need no transaction and returns the
// ids.
func (p OfferParams) check() (reqID, volID []byte, err error) {
	if p.Lease <= 0 {
		return nil, nil, fmt.Errorf("lease %v is not positive: %w", p.Lease, errBadOffer)
	}
	if reqID, err = parseIDFor("help request", p.HelpRequestID); err != nil {
		return nil, nil, err
	}
	if volID, err = parseIDFor("volunteer", p.VolunteerID); err != nil {
		return nil, nil, err
	}
	return reqID, volID, nil
}

func (s *BoltStore) createOffer(c *change, p OfferParams, reqID, volID []byte) (outcome, error) {
	if p.Idem.RequestID != "" {
		// A repeat finds the offer in its own transaction, so two attempts
		// racing each other still make one offer.
		so, err := c.offerForRequestID(p.Idem)
		if err != nil || so != nil {
			return c.unchanged(so), err
		}
	}
	req, err := c.hrs.get(reqID)
	if err != nil {
		return outcome{}, err
	}
	vol, err := c.vols.get(volID)
	if err != nil {
		return outcome{}, err
	}
	v := vol.r
	switch {
	case req.r.State != pb.HelpRequest_STATE_OPEN:
		return outcome{}, wrongState("help request", req.r.State)
	case v.Held:
		return outcome{}, ErrVolunteerHeld
	case v.Paused:
		return outcome{}, ErrVolunteerPaused
	case slices.Contains(req.r.DeclinedVolunteers, v.Name):
		return outcome{}, ErrDeclinedBefore
	case v.ActiveAssignments+v.PendingOffers >= capacityOf(v):
		return outcome{}, fmt.Errorf("%d assignments and %d offers of %d: %w",
			v.ActiveAssignments, v.PendingOffers, capacityOf(v), ErrAtCapacity)
	}
	if c.ownRequest(req, vol) {
		return outcome{}, fmt.Errorf("%s: %w", req.r.Name, ErrOwnRequest)
	}
	if !p.SecondVolunteerOK {
		if err := c.doorAllows(req, v.Name); err != nil {
			return outcome{}, err
		}
	}
	if p.Check != nil {
		if err := p.Check(req.r, v); err != nil {
			return outcome{}, fmt.Errorf("%w: %w", errChecked, err)
		}
	}
	// A lease past the request's end would tell the volunteer to answer by
	// a time their accept is refused at (REQUEST_ENDED): 17:45 for help
	// needed by 17:30. It ends with the request instead; and a request
	// whose time has ended by this write (a dispatch run's plan made
	// before it, a hand offer judged before its write) is offered to
	// nobody, as nobody could accept it.
	expire := c.now.Add(p.Lease)
	if end, ok := requestEnd(req.r); ok {
		if !end.After(c.now) {
			return outcome{}, fmt.Errorf("%s: %w", req.r.Name, ErrRequestEnded)
		}
		if end.Before(expire) {
			expire = end
		}
	}
	uid, err := s.ids.next(c.now)
	if err != nil {
		return outcome{}, err
	}
	id := uid[:]
	so := c.addOffer(id, req.id, vol.id, &pb.Offer{
		Name:        offerPrefix + idString(id),
		HelpRequest: req.r.Name,
		Volunteer:   v.Name,
		State:       pb.Offer_STATE_PENDING,
		CreateTime:  timestamp(c.now),
		ExpireTime:  timestamp(expire),
		Dispatched:  p.Dispatched,
		// Kept, so that its accept knows the caller agreed.
		AllowSecondVolunteer: p.SecondVolunteerOK,
	})
	req.r.State, req.r.Offer, req.changed = pb.HelpRequest_STATE_OFFERED, so.o.Name, true
	v.PendingOffers++
	holdCommitment(v, req.r)
	vol.changed = true
	if p.Idem.RequestID != "" {
		if err := recordIdempotency(c.w, kindOffer, p.Idem, id); err != nil {
			return outcome{}, err
		}
	}
	return outcome{off: so, req: req, vol: vol}, nil
}

// ownRequest says whether vol is registered on the number req was made
// from, by the phone indexes as this transaction reads them: the server's
// check before the write read them earlier, and an edit that made the two
// numbers one may have committed since, its review finding no offer yet,
// or one already accepted, to withdraw.
func (c *change) ownRequest(req *staged[*pb.HelpRequest], vol *staged[*pb.Volunteer]) bool {
	tok := c.hrs.top.Bucket(bPhoneToken).Get(req.id)
	if tok == nil {
		return false // no phone, or erased
	}
	key := join(tok, vol.id)
	k, _ := c.vols.top.Bucket(bByPhone).Cursor().Seek(key)
	return bytes.Equal(k, key)
}

// comer is a volunteer going to a door: byLeave when the caller agreed
// to them as a second visitor (an offer made with SecondVolunteerOK).
type comer struct {
	name    string
	byLeave bool
}

// doorAllows judges sending vol to req's door, with what this change has
// left in the transaction: it is a *SameDoorError when another volunteer
// is going there at a time meeting req's window. One who comes by the
// caller's leave (an offer made with SecondVolunteerOK) was agreed to
// beside whoever else comes, and stops nobody. Two volunteers going there
// at times that do not meet each other are both others to a request whose
// window meets both.
func (c *change) doorAllows(req *staged[*pb.HelpRequest], vol string) error {
	coming, err := c.volunteerComing(req)
	if err != nil {
		return err
	}
	for _, x := range coming {
		if x.name != vol && !x.byLeave {
			return &SameDoorError{Coming: x.name, Declined: slices.Contains(req.r.DeclinedVolunteers, x.name)}
		}
	}
	return nil
}

// volunteerComing lists the volunteers already going to req's door at a
// time meeting its window: those holding, offered or assigned, another of
// the caller's requests at the same place (samePlace) whose window meets
// req's. Only visits count: for a remote request, or from one, nobody is
// coming (visits). Of the caller's requests it reads the newest maxSiblings, req
// among them if it is, as matching reads them (readSiblings), so that the
// two judge alike. It reads the transaction as this change has left it,
// so the offers of one dispatch's write see each other, and two writes
// racing for one door are judged one after the other.
func (c *change) volunteerComing(req *staged[*pb.HelpRequest]) ([]comer, error) {
	if req.r.GetWindow() == nil {
		return nil, nil // a deadline pins no time to meet at
	}
	if !visits(req.r) {
		return nil, nil // a call from afar takes nobody to the door
	}
	tok := c.hrs.top.Bucket(bPhoneToken).Get(req.id)
	if tok == nil {
		return nil, nil // no phone, or erased: no caller to know the door by
	}
	type other struct {
		id []byte
		r  *pb.HelpRequest
	}
	var others []other
	ids := idsUnder(c.hrs.top.Bucket(bByPhone), join(tok, nil))
	for n, id := range slices.Backward(ids) {
		if len(ids)-n > maxSiblings {
			break // as matching reads them: a caller's newest
		}
		if bytes.Equal(id, req.id) {
			continue
		}
		if st, ok := c.hrs.byID[string(id)]; ok {
			others = append(others, other{id, st.r})
			continue
		}
		r, err := helpRequests.readRecord(c.hrs.top, id)
		if err != nil {
			return nil, err
		}
		others = append(others, other{id, r})
	}
	at := streetAt(doorStreets(func(yield func(*pb.HelpRequest) bool) {
		for _, o := range others {
			if !yield(o.r) {
				return
			}
		}
	}), req.r)
	var coming []comer
	for _, o := range others {
		if !visits(o.r) || !windowsMeet(req.r, o.r) || !samePlace(req.r, o.r, at) {
			continue
		}
		x, err := comerFor(o.r, o.id, c.now, c.offTop.Bucket(bByRequest), func(id []byte) (*pb.Offer, error) {
			so, err := c.offer(id)
			if err != nil {
				return nil, err
			}
			return so.o, nil
		})
		if err != nil {
			return nil, err
		}
		if x.name == "" {
			continue
		}
		// A volunteer coming for several of the caller's requests comes
		// by leave only if every one of those visits does.
		if i := slices.IndexFunc(coming, func(y comer) bool { return y.name == x.name }); i >= 0 {
			coming[i].byLeave = coming[i].byLeave && x.byLeave
		} else {
			coming = append(coming, x)
		}
	}
	return coming, nil
}

// DoorAllows implements Store.
func (s *BoltStore) DoorAllows(_ context.Context, requestID, volunteer string) error {
	key, err := parseIDFor("help request", requestID)
	if err != nil {
		return fmt.Errorf("store: door allows: %w", err)
	}
	err = s.view(func(tx *bolt.Tx) error {
		// A change over a read: doorAllows only reads through it.
		c := newChange(&writeTx{tx: tx}, s.now(), nil)
		r, err := helpRequests.readRecord(c.hrs.top, key)
		if err != nil {
			return err
		}
		return c.doorAllows(&staged[*pb.HelpRequest]{id: key, r: r}, volunteer)
	})
	var sd *SameDoorError
	if errors.As(err, &sd) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: door allows: %w", err)
	}
	return nil
}

// offerForRequestID is the offer an earlier CreateOffer with idem made, or
// nil if there was none.
func (c *change) offerForRequestID(idem Idempotency) (*stagedOffer, error) {
	id, found, err := lookupIdempotency(c.w.tx, kindOffer, idem)
	if err != nil || !found {
		return nil, err
	}
	so, err := c.offer(id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrRequestIDGone // deleted with its request
	}
	return so, err
}

// unchanged is the outcome of a repeated call: the offer as it is now,
// with its request and volunteer as they are now, where they still exist.
func (c *change) unchanged(so *stagedOffer) outcome {
	if so == nil {
		return outcome{}
	}
	o := outcome{off: so, repeat: true}
	if req, err := c.hrs.byName(so.o.HelpRequest); err == nil {
		o.req = req
	}
	if vol, err := c.vols.byName(so.o.Volunteer); err == nil {
		o.vol = vol
	}
	return o
}

// OfferByRequestID implements Store.
func (s *BoltStore) OfferByRequestID(_ context.Context, idem Idempotency) (*pb.Offer, error) {
	var out *pb.Offer
	err := s.view(func(tx *bolt.Tx) error {
		id, found, err := lookupIdempotency(tx, kindOffer, idem)
		if err != nil {
			return err
		}
		if !found {
			return ErrNotFound
		}
		o := &pb.Offer{}
		ok, err := getProto(tx.Bucket(bOffers).Bucket(bRecords), id, o)
		if err != nil {
			return err
		}
		if !ok {
			return ErrRequestIDGone
		}
		out = o
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: offer by request id: %w", err)
	}
	return out, nil
}

// GetOffer implements Store.
func (s *BoltStore) GetOffer(_ context.Context, id string) (*pb.Offer, error) {
	key, err := parseIDFor("offer", id)
	if err != nil {
		return nil, fmt.Errorf("store: get offer: %w", err)
	}
	o := &pb.Offer{}
	err = s.view(func(tx *bolt.Tx) error {
		ok, err := getProto(tx.Bucket(bOffers).Bucket(bRecords), key, o)
		if err == nil && !ok {
			err = ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: get offer: %w", err)
	}
	return o, nil
}

// ListOffersByRequest implements Store. A request that does not exist is
// ErrNotFound.
func (s *BoltStore) ListOffersByRequest(_ context.Context, requestID string) ([]*pb.Offer, error) {
	key, err := parseIDFor("help request", requestID)
	if err != nil {
		return nil, fmt.Errorf("store: list offers: %w", err)
	}
	var out []*pb.Offer
	err = s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bHelpRequests).Bucket(bRecords).Get(key) == nil {
			return fmt.Errorf("help request %s: %w", requestID, ErrNotFound)
		}
		offers := tx.Bucket(bOffers)
		records, cur := offers.Bucket(bRecords), offers.Bucket(bByRequest).Cursor()
		for k, _ := cur.Seek(key); k != nil && bytes.HasPrefix(k, key); k, _ = cur.Next() {
			o := &pb.Offer{}
			ok, err := getProto(records, k[len(key):], o)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("offers/by_request names missing offer %s: %w", idString(k[len(key):]), errInconsistent)
			}
			out = append(out, o)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list offers: %w", err)
	}
	return out, nil
}

// ListOffers implements Store. It walks the narrowest index the filter
// allows (a request's offers, a volunteer's, the PENDING ones by lease
// end, those in force (listInForce), or else every offer) and checks the
// rest of the filter on each record, reading at most maxScanned keys per
// page.
func (s *BoltStore) ListOffers(_ context.Context, f OfferFilter, p Page) ([]*pb.Offer, string, error) {
	if p.Size < 1 {
		return nil, "", fmt.Errorf("store: list offers: page size %d", p.Size)
	}
	filterKey := fmt.Sprintf("off|%s|%s|%d|%t", f.VolunteerID, f.RequestID, f.State, f.Live)
	resume, err := s.decodeToken(p.Token, filterKey)
	if err != nil {
		return nil, "", fmt.Errorf("store: list offers: %w", err)
	}
	var reqName, volName string
	var index, prefix []byte // index nil: walk the records themselves
	if f.VolunteerID != "" {
		key, err := ParseID(f.VolunteerID)
		if err != nil {
			return nil, "", nil
		}
		index, prefix, volName = bByVolunteer, key, volunteerPrefix+idString(key)
	}
	if f.RequestID != "" {
		key, err := ParseID(f.RequestID)
		if err != nil {
			return nil, "", nil
		}
		// A request has few offers, however many a volunteer has had.
		index, prefix, reqName = bByRequest, key, helpRequestPrefix+idString(key)
	}
	if index == nil && f.State == pb.Offer_STATE_PENDING {
		index = bByExpiry
	}
	if f.Live && f.State != pb.Offer_STATE_UNSPECIFIED && f.State != pb.Offer_STATE_PENDING && f.State != pb.Offer_STATE_ACCEPTED {
		return nil, "", nil // no offer in that state is in force
	}
	var out []*pb.Offer
	var next string
	err = s.view(func(tx *bolt.Tx) error {
		offers := tx.Bucket(bOffers)
		records := offers.Bucket(bRecords)
		if f.Live && index == nil {
			var err error
			out, next, err = s.listInForce(tx, f, filterKey, resume, p.Size)
			return err
		}
		walk := records
		if index != nil {
			walk = offers.Bucket(index)
		}
		cur := walk.Cursor()
		start := append(bytes.Clone(prefix), resume...)
		k, v := cur.Seek(start)
		if resume != nil && bytes.Equal(k, start) {
			k, v = cur.Next()
		}
		// full is where the next page starts once this one is full; as
		// in collection.list, a token stands for an offer the filter
		// takes: by_request holds every volunteer's offers of a request,
		// and a token after a volunteer's last one would tell them it was
		// offered to someone since.
		var last, full []byte
		for scanned := 0; k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			// Stopping with k unread: resume after the last key read,
			// which past full is one the filter refused.
			if scanned == maxScanned {
				next = s.encodeToken(filterKey, last)
				return nil
			}
			scanned++
			last = bytes.Clone(k[len(prefix):])
			if len(k) < 16 {
				return fmt.Errorf("offers/%s key of %d bytes: %w", index, len(k), errInconsistent)
			}
			if index != nil {
				id := k[len(k)-16:]
				if v = records.Get(id); v == nil {
					return fmt.Errorf("offers/%s names missing offer %s: %w", index, idString(id), errInconsistent)
				}
			}
			o := &pb.Offer{}
			if err := pb.UnmarshalTrusted(v, o); err != nil {
				return fmt.Errorf("offer %s: %w", idString(k[len(k)-16:]), err)
			}
			if (f.State == pb.Offer_STATE_UNSPECIFIED || o.State == f.State) &&
				(volName == "" || o.Volunteer == volName) && (reqName == "" || o.HelpRequest == reqName) {
				if f.Live {
					live, err := offerInForce(tx, o)
					if err != nil {
						return err
					}
					if !live {
						continue
					}
				}
				if len(out) == p.Size {
					next = s.encodeToken(filterKey, full)
					return nil
				}
				out = append(out, o)
				full = last
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list offers: %w", err)
	}
	return out, next, nil
}

// listInForce is ListOffers of every offer in force, oldest first: the
// PENDING ones (by_expiry) and the accepted offers of ASSIGNED requests
// (by_state, then by_request), as many as the work of the moment, where
// walking the offers themselves read every offer ever made. Its tokens
// are those of a walk of the records: the last id read.
func (s *BoltStore) listInForce(tx *bolt.Tx, f OfferFilter, filterKey string, resume []byte, size int) ([]*pb.Offer, string, error) {
	offers := tx.Bucket(bOffers)
	records := offers.Bucket(bRecords)
	var ids [][]byte
	if f.State != pb.Offer_STATE_ACCEPTED {
		err := offers.Bucket(bByExpiry).ForEach(func(k, _ []byte) error {
			ids = append(ids, k[len(k)-16:])
			return nil
		})
		if err != nil {
			return nil, "", err
		}
	}
	if f.State != pb.Offer_STATE_PENDING {
		assigned := []byte{byte(pb.HelpRequest_STATE_ASSIGNED)}
		byReq := offers.Bucket(bByRequest).Cursor()
		cur := tx.Bucket(bHelpRequests).Bucket(bByState).Cursor()
		for k, _ := cur.Seek(assigned); k != nil && bytes.HasPrefix(k, assigned); k, _ = cur.Next() {
			req := k[1:]
			for o, _ := byReq.Seek(req); o != nil && bytes.HasPrefix(o, req); o, _ = byReq.Next() {
				ids = append(ids, o[len(req):])
			}
		}
	}
	slices.SortFunc(ids, bytes.Compare)
	ids = slices.CompactFunc(ids, bytes.Equal)
	var out []*pb.Offer
	for i, id := range ids {
		if resume != nil && bytes.Compare(id, resume) <= 0 {
			continue
		}
		if len(out) == size {
			return out, s.encodeToken(filterKey, ids[i-1]), nil
		}
		o := &pb.Offer{}
		ok, err := getProto(records, id, o)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			return nil, "", fmt.Errorf("offer index names missing offer %s: %w", idString(id), errInconsistent)
		}
		if f.State != pb.Offer_STATE_UNSPECIFIED && o.State != f.State {
			continue
		}
		live, err := offerInForce(tx, o)
		if err != nil {
			return nil, "", err
		}
		if live {
			out = append(out, o)
		}
	}
	return out, "", nil
}

// offerInForce reports whether o still binds its volunteer: PENDING, or
// ACCEPTED with its request still ASSIGNED to them. An accepted offer
// stays ACCEPTED after the request is fulfilled or cancelled, so the
// request's own record says which.
func offerInForce(tx *bolt.Tx, o *pb.Offer) (bool, error) {
	switch o.State {
	case pb.Offer_STATE_PENDING:
		return true, nil
	case pb.Offer_STATE_ACCEPTED:
	default:
		return false, nil
	}
	id, err := idFromName(o.HelpRequest, helpRequestPrefix)
	if err != nil {
		return false, nil
	}
	hr, err := helpRequests.readRecord(tx.Bucket(bHelpRequests), id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return hr.State == pb.HelpRequest_STATE_ASSIGNED && hr.AssignedVolunteer == o.Volunteer, nil
}

// offerNotPending says why an offer that is not PENDING cannot be
// answered. One that expired is both in the wrong state and past its
// lease, so that a caller is told the same whether or not the sweep has
// run yet.
func offerNotPending(o *pb.Offer) error {
	if o.State == pb.Offer_STATE_EXPIRED {
		return fmt.Errorf("offer is %v: %w (%w)", o.State, ErrWrongState, ErrLeaseExpired)
	}
	return wrongState("offer", o.State)
}

// AcceptOffer implements Store.
func (s *BoltStore) AcceptOffer(ctx context.Context, offerID string, checks ...AcceptCheck) (LifecycleResult, error) {
	return s.answer(ctx, "accept offer", offerID, func(c *change, so *stagedOffer, req *staged[*pb.HelpRequest], vol *staged[*pb.Volunteer]) (outcome, error) {
		if !c.now.Before(so.o.ExpireTime.AsTime()) {
			if leaseCut(so.o, req.r) {
				return outcome{}, fmt.Errorf("%s: %w", req.r.Name, ErrRequestEnded)
			}
			return outcome{}, fmt.Errorf("expired at %s: %w", so.o.ExpireTime.AsTime().Format(time.RFC3339), ErrLeaseExpired)
		}
		// Until the sweep expires a request past its window, or withdraws
		// a paused volunteer's offers, its offer still reads PENDING: an
		// accept then would hold the volunteer's capacity for a visit that
		// can no longer happen, or give work to someone who asked for none.
		if RequestEnded(req.r, c.now) {
			return outcome{}, fmt.Errorf("%s: %w", req.r.Name, ErrRequestEnded)
		}
		if vol.r.Held {
			return outcome{}, fmt.Errorf("%s: %w", vol.r.Name, ErrVolunteerHeld)
		}
		if vol.r.Paused {
			return outcome{}, fmt.Errorf("%s: %w", vol.r.Name, ErrVolunteerPaused)
		}
		if c.ownRequest(req, vol) {
			return outcome{}, fmt.Errorf("%s: %w", req.r.Name, ErrOwnRequest)
		}
		if !so.o.AllowSecondVolunteer {
			// An edit since the offer was made (a new time, a new place)
			// may have brought it to a door another volunteer is going to
			// then: judged here, in the accept's own transaction.
			if err := c.doorAllows(req, vol.r.Name); err != nil {
				return outcome{}, err
			}
		}
		for _, check := range checks {
			if err := check(req.r, vol.r); err != nil {
				return outcome{}, err
			}
		}
		c.decide(so, vol, pb.Offer_STATE_ACCEPTED)
		req.r.State, req.r.AssignedVolunteer, req.r.Offer = pb.HelpRequest_STATE_ASSIGNED, vol.r.Name, ""
		req.changed = true
		v := vol.r
		v.ActiveAssignments++
		v.UnansweredOffers, v.LastUnansweredTime = 0, nil // they answer
		cutoff := c.now.Add(-recentWindow)
		v.RecentAssignmentTimes = slices.DeleteFunc(v.RecentAssignmentTimes, func(t *timestamppb.Timestamp) bool {
			return !t.AsTime().After(cutoff)
		})
		v.RecentAssignmentTimes = append(v.RecentAssignmentTimes, timestamp(c.now))
		return outcome{off: so, req: req, vol: vol}, nil
	})
}

// DeclineOffer implements Store. An offer past its lease that the sweep
// has not yet expired may still be declined.
func (s *BoltStore) DeclineOffer(ctx context.Context, offerID string) (LifecycleResult, error) {
	return s.answer(ctx, "decline offer", offerID, func(c *change, so *stagedOffer, req *staged[*pb.HelpRequest], vol *staged[*pb.Volunteer]) (outcome, error) {
		c.decide(so, vol, pb.Offer_STATE_DECLINED)
		reopen(req, vol.r.Name)
		vol.r.UnansweredOffers, vol.r.LastUnansweredTime = 0, nil // they answer
		return outcome{off: so, req: req, vol: vol}, nil
	})
}

// WithdrawOffer implements Store.
func (s *BoltStore) WithdrawOffer(ctx context.Context, offerID, why string) (LifecycleResult, error) {
	return s.withdraw(ctx, offerID, why, time.Time{})
}

// WithdrawAnswered implements Store.
func (s *BoltStore) WithdrawAnswered(ctx context.Context, offerID, why string, answered time.Time) (LifecycleResult, error) {
	return s.withdraw(ctx, offerID, why, answered)
}

// withdraw judges the lease at answered, if given, rather than now.
func (s *BoltStore) withdraw(ctx context.Context, offerID, why string, answered time.Time) (LifecycleResult, error) {
	return s.answer(ctx, "withdraw offer", offerID, func(c *change, so *stagedOffer, req *staged[*pb.HelpRequest], vol *staged[*pb.Volunteer]) (outcome, error) {
		at := c.now
		if !answered.IsZero() {
			at = answered
		}
		if !at.Before(so.o.GetExpireTime().AsTime()) {
			if leaseCut(so.o, req.r) {
				why = WithdrawRequestEnded // its time ran out with the request's, unanswered through no fault of theirs
			} else {
				// The lease lapsed before the sweep came to it: it lapses now,
				// as the sweep would have lapsed it, so that the volunteer
				// who did not answer is never offered the request again.
				return c.lapse(so, req, vol), nil
			}
		}
		c.decide(so, vol, pb.Offer_STATE_WITHDRAWN)
		so.o.WithdrawReason = why
		if !answered.IsZero() {
			vol.r.UnansweredOffers, vol.r.LastUnansweredTime = 0, nil // they answer
		}
		req.r.State, req.r.Offer = pb.HelpRequest_STATE_OPEN, ""
		req.changed = true
		return outcome{off: so, req: req, vol: vol}, nil
	})
}

// answer runs fn, in one change, on the PENDING offer named and its
// request and volunteer: the common part of accepting, declining and
// withdrawing it.
func (s *BoltStore) answer(ctx context.Context, what, offerID string, fn func(*change, *stagedOffer, *staged[*pb.HelpRequest], *staged[*pb.Volunteer]) (outcome, error)) (LifecycleResult, error) {
	id, err := parseIDFor("offer", offerID)
	if err != nil {
		return LifecycleResult{}, fmt.Errorf("store: %s: %w", what, err)
	}
	return s.lifecycleOne(ctx, what, func(c *change) (outcome, error) {
		so, err := c.offer(id)
		if err != nil {
			return outcome{}, err
		}
		if so.o.State != pb.Offer_STATE_PENDING {
			return outcome{}, offerNotPending(so.o)
		}
		req, vol, err := c.parties(so)
		if err != nil {
			return outcome{}, err
		}
		return fn(c, so, req, vol)
	})
}

// ExpireOffers implements Store. It walks offers/by_expiry from the
// earliest lease, so it reads only the offers it expires, and the pending
// offers whose lease is yet to end for any made ahead of now (madeAhead).
// Times written are now.
func (s *BoltStore) ExpireOffers(ctx context.Context, now time.Time, limit int) ([]LifecycleResult, error) {
	const what = "expire offers"
	if limit < 1 {
		return nil, fmt.Errorf("store: %s: limit %d", what, limit)
	}
	return s.lifecycle(ctx, what, func() time.Time { return now }, func(c *change) ([]outcome, error) {
		due := uint64(now.UnixNano())
		var ids [][]byte
		cur := c.offTop.Bucket(bByExpiry).Cursor()
		for k, _ := cur.First(); k != nil && len(ids) < limit; k, _ = cur.Next() {
			if len(k) != 8+16 {
				return nil, fmt.Errorf("offers/by_expiry key of %d bytes", len(k))
			}
			if binary.BigEndian.Uint64(k[:8]) > due {
				break
			}
			ids = append(ids, bytes.Clone(k[8:]))
		}
		early, err := madeAhead(c, now, limit-len(ids))
		if err != nil {
			return nil, err
		}
		outs := make([]outcome, 0, len(ids)+len(early))
		for _, id := range early {
			so, err := c.offer(id)
			if err != nil {
				return nil, err
			}
			req, vol, err := c.parties(so)
			if err != nil {
				return nil, err
			}
			// The volunteer did not let it lapse: withdrawn, it leaves
			// them free to be offered the request again, with a lease
			// counted by the clock as it now reads.
			c.decide(so, vol, pb.Offer_STATE_WITHDRAWN)
			so.o.WithdrawReason = WithdrawClockSetBack
			req.r.State, req.r.Offer = pb.HelpRequest_STATE_OPEN, ""
			req.changed = true
			outs = append(outs, outcome{off: so, req: req, vol: vol})
		}
		for _, id := range ids {
			so, err := c.offer(id)
			if err != nil {
				return nil, err
			}
			if so.o.State != pb.Offer_STATE_PENDING {
				return nil, fmt.Errorf("offers/by_expiry holds %s, which is %v: %w", so.o.Name, so.o.State, errInconsistent)
			}
			req, vol, err := c.parties(so)
			if err != nil {
				return nil, err
			}
			if leaseCut(so.o, req.r) {
				continue // the request's time ran out, not the volunteer's: ExpireHelpRequests withdraws it
			}
			outs = append(outs, c.lapse(so, req, vol))
		}
		return outs, nil
	})
}

// clockSlack is how far a clock may step back before a pending offer
// made by it counts as made ahead of the clock. An offer's lease runs
// over by no more; withdrawing offers for less (a VM resumed a few
// minutes fast) would take back a dispatch round's offers as their
// volunteers answer them, for a lease a few minutes long.
const clockSlack = 10 * time.Minute

// madeAhead returns up to limit pending offers made after now (and
// clockSlack): made by a clock running ahead that has since been put
// right, such as a box booted with its clock a year on. Their leases,
// counted from that clock, would hold the request and the volunteer's
// room for as long again, a year perhaps, while the person waits. Only
// offers whose lease has yet to end can be such, and few are pending.
func madeAhead(c *change, now time.Time, limit int) ([][]byte, error) {
	due := uint64(now.UnixNano())
	records := c.offTop.Bucket(bRecords)
	// Ids begin with the time they were made (ULIDs, never earlier than
	// the last made), so the newest says whether any offer at all was
	// made ahead of now. Only then are the pending ones read: every sweep
	// of a large dispatch's offers would otherwise read each of them in
	// the sweep's write transaction.
	var newest ulid.ULID
	k, _ := records.Cursor().Last()
	if len(k) != len(newest) {
		return nil, nil
	}
	copy(newest[:], k)
	if !ulid.Time(newest.Time()).After(now.Add(clockSlack)) {
		return nil, nil
	}
	var ids [][]byte
	cur := c.offTop.Bucket(bByExpiry).Cursor()
	for k, _ := cur.Last(); k != nil && len(ids) < limit; k, _ = cur.Prev() {
		if len(k) != 8+16 {
			return nil, fmt.Errorf("offers/by_expiry key of %d bytes", len(k))
		}
		if binary.BigEndian.Uint64(k[:8]) <= due {
			break
		}
		o := &pb.Offer{}
		if _, err := getProto(records, k[8:], o); err != nil {
			return nil, err
		}
		if o.GetCreateTime().AsTime().After(now.Add(clockSlack)) {
			ids = append(ids, bytes.Clone(k[8:]))
		}
	}
	return ids, nil
}

// CompleteHelpRequest implements Store.
func (s *BoltStore) CompleteHelpRequest(ctx context.Context, requestID string, checks ...AcceptCheck) (LifecycleResult, error) {
	return s.endAssignment(ctx, "complete help request", requestID, checks, func(c *change, req *staged[*pb.HelpRequest], _ string) error {
		req.r.State = pb.HelpRequest_STATE_FULFILLED // assigned_volunteer kept
		req.r.CloseTime = timestamp(c.now)
		return nil
	})
}

// ReleaseHelpRequest implements Store. The volunteer's assignment ends
// as a cancel ends it (release), but the request, rather than closing,
// opens again without them, as after a decline: they join its declined
// volunteers, so that neither FindCandidates nor Dispatch puts them
// forward for it again. Their accepted offer stays ACCEPTED: it is the
// record that they took it; offerInForce no longer counts it, as the
// request is not assigned to them.
func (s *BoltStore) ReleaseHelpRequest(ctx context.Context, requestID string, checks ...AcceptCheck) (LifecycleResult, error) {
	return s.endAssignment(ctx, "release help request", requestID, checks, func(c *change, req *staged[*pb.HelpRequest], vol string) error {
		reopen(req, vol)
		req.r.AssignedVolunteer = ""
		return c.forgetAssignmentTime(req.id, vol)
	})
}

// forgetAssignmentTime takes the accept of request id by vol out of their
// recent assignment times: a job handed back was not done, and counting
// it would rank them lower for a week (the fairness term) and tell the
// helpline they had one more job than they did.
func (c *change) forgetAssignmentTime(id []byte, vol string) error {
	records, cur := c.offTop.Bucket(bRecords), c.offTop.Bucket(bByRequest).Cursor()
	var accepted *timestamppb.Timestamp
	for k, _ := cur.Seek(id); k != nil && bytes.HasPrefix(k, id); k, _ = cur.Next() {
		o := &pb.Offer{}
		if _, err := getProto(records, k[len(id):], o); err != nil {
			return err
		}
		if o.State == pb.Offer_STATE_ACCEPTED && o.Volunteer == vol &&
			(accepted == nil || o.GetDecideTime().AsTime().After(accepted.AsTime())) {
			accepted = o.GetDecideTime()
		}
	}
	if accepted == nil {
		return nil
	}
	v, err := c.vols.byName(vol)
	if err != nil {
		return err
	}
	if i := slices.IndexFunc(v.r.RecentAssignmentTimes, func(t *timestamppb.Timestamp) bool { return t.AsTime().Equal(accepted.AsTime()) }); i >= 0 {
		v.r.RecentAssignmentTimes = slices.Delete(v.r.RecentAssignmentTimes, i, i+1)
		v.changed = true
	}
	return nil
}

// endAssignment is the common part of completing and releasing: the
// request must be ASSIGNED and pass checks (checkAssigned); its
// volunteer's assignment ends (release), and then settles what becomes of
// the request, given the volunteer who had it.
func (s *BoltStore) endAssignment(ctx context.Context, what, requestID string, checks []AcceptCheck,
	then func(c *change, req *staged[*pb.HelpRequest], vol string) error) (LifecycleResult, error) {
	id, err := parseIDFor("help request", requestID)
	if err != nil {
		return LifecycleResult{}, fmt.Errorf("store: %s: %w", what, err)
	}
	return s.lifecycleOne(ctx, what, func(c *change) (outcome, error) {
		req, err := c.hrs.get(id)
		if err != nil {
			return outcome{}, err
		}
		if req.r.State != pb.HelpRequest_STATE_ASSIGNED {
			return outcome{}, wrongState("help request", req.r.State)
		}
		if err := c.checkAssigned(req, checks); err != nil {
			return outcome{}, err
		}
		vol := req.r.AssignedVolunteer
		o, err := c.release(req)
		if err != nil {
			return outcome{}, err
		}
		if err := then(c, req, vol); err != nil {
			return outcome{}, err
		}
		return o, nil
	})
}

// checkAssigned judges an ASSIGNED request and its volunteer, as this
// change reads them, by each of checks: a caller holding a volunteer to
// their own assignment is not outrun by a release and a new assignment
// between its read and this write.
func (c *change) checkAssigned(req *staged[*pb.HelpRequest], checks []AcceptCheck) error {
	if len(checks) == 0 {
		return nil
	}
	vol, err := c.vols.byName(req.r.AssignedVolunteer)
	if err != nil {
		return err
	}
	for _, check := range checks {
		if err := check(req.r, vol.r); err != nil {
			return err
		}
	}
	return nil
}

// CancelHelpRequest implements Store. A cancelled request that was
// ASSIGNED keeps its assigned_volunteer, as a fulfilled one does, but not
// its place among the volunteer's recent jobs, as a released one does not,
// unless its time was over: then the visit was made.
func (s *BoltStore) CancelHelpRequest(ctx context.Context, requestID string) (LifecycleResult, error) {
	const what = "cancel help request"
	id, err := parseIDFor("help request", requestID)
	if err != nil {
		return LifecycleResult{}, fmt.Errorf("store: %s: %w", what, err)
	}
	return s.lifecycleOne(ctx, what, func(c *change) (outcome, error) {
		req, err := c.hrs.get(id)
		if err != nil {
			return outcome{}, err
		}
		switch req.r.State {
		case pb.HelpRequest_STATE_OPEN, pb.HelpRequest_STATE_OFFERED, pb.HelpRequest_STATE_ASSIGNED:
		default:
			return outcome{}, wrongState("help request", req.r.State)
		}
		// An assignment whose time is over was done, as continuity reads
		// it (helped), even if nobody marked it so: cancelled now, it
		// stays among its volunteer's jobs.
		notDone := req.r.State == pb.HelpRequest_STATE_ASSIGNED && !RequestEnded(req.r, c.now)
		o, err := c.release(req)
		if err != nil {
			return outcome{}, err
		}
		if notDone {
			// Its volunteer was told not to come: like a job handed back,
			// it was not done (nor is it counted as helping the caller).
			if err := c.forgetAssignmentTime(req.id, req.r.AssignedVolunteer); err != nil {
				return outcome{}, err
			}
		}
		o.withdrawnFor(WithdrawRequestCancelled)
		req.r.State, req.r.CloseTime = pb.HelpRequest_STATE_CANCELLED, timestamp(c.now)
		return o, nil
	})
}

// RequestEnded says whether a request's window or deadline ended before
// now. A request with neither never ends. Such a request is the sweep's
// to expire (ExpireHelpRequests).
func RequestEnded(r *pb.HelpRequest, now time.Time) bool {
	end, ok := requestEnd(r)
	return ok && end.Before(now)
}

// requestEnd is when r's window or deadline ends; false when it has
// neither.
func requestEnd(r *pb.HelpRequest) (time.Time, bool) {
	var end *timestamppb.Timestamp
	switch t := r.Timing.(type) {
	case *pb.HelpRequest_Window:
		end = t.Window.GetEndTime()
	case *pb.HelpRequest_Deadline:
		end = t.Deadline
	}
	if end == nil {
		return time.Time{}, false
	}
	return end.AsTime(), true
}

// leaseCut reports whether o's lease runs out with its request's time
// (createOffer ends it there): the volunteer did not let it lapse, the
// request's time did, and ExpireHelpRequests withdraws it (REQUEST_ENDED).
func leaseCut(o *pb.Offer, r *pb.HelpRequest) bool {
	end, ok := requestEnd(r)
	return ok && !o.GetExpireTime().AsTime().Before(end)
}

// Expirable says whether the sweep (ExpireHelpRequests) will mark r
// expired at now: open or offered, its time ended. Until then r reads as
// in hand, and FindCandidates refuses to rank it (REQUEST_ENDED) by
// this same rule, so that the two never disagree.
func Expirable(r *pb.HelpRequest, now time.Time) bool {
	return (r.State == pb.HelpRequest_STATE_OPEN || r.State == pb.HelpRequest_STATE_OFFERED) && RequestEnded(r, now)
}

// ExpireHelpRequests implements Store.
func (s *BoltStore) ExpireHelpRequests(ctx context.Context, now time.Time, limit int) ([]LifecycleResult, error) {
	return s.closeEnded(ctx, "expire help requests", now, func() time.Time { return now }, limit,
		[]pb.HelpRequest_State{pb.HelpRequest_STATE_OPEN, pb.HelpRequest_STATE_OFFERED}, Expirable, pb.HelpRequest_STATE_EXPIRED)
}

// assignmentEnded says whether r is ASSIGNED and its time ended before
// endedBefore.
func assignmentEnded(r *pb.HelpRequest, endedBefore time.Time) bool {
	return r.State == pb.HelpRequest_STATE_ASSIGNED && RequestEnded(r, endedBefore)
}

// CloseEndedAssignments implements Store.
func (s *BoltStore) CloseEndedAssignments(ctx context.Context, endedBefore time.Time, limit int) ([]LifecycleResult, error) {
	return s.closeEnded(ctx, "close ended assignments", endedBefore, s.now, limit,
		[]pb.HelpRequest_State{pb.HelpRequest_STATE_ASSIGNED}, assignmentEnded, pb.HelpRequest_STATE_FULFILLED)
}

// closeBatch bounds one write of closeEnded: the sweep asks for a
// backlog of ended assignments in one call (purgeLimit), and one write of
// them all would hold up every other writer until it ended. It is the
// sweep's expiry limit, so that an expiry stays one write.
var closeBatch = 1000

// closeEnded moves up to limit requests in one of states that ended (by
// cutoff, as ended judges) to state, releasing their offer or assignment,
// with times from now. It looks for candidates in a read transaction,
// walking help_requests/by_state, so that the walk does not hold up other
// writes, then checks each again in the write, closeBatch at a time. An
// error returns what the writes before it did, which stands.
func (s *BoltStore) closeEnded(ctx context.Context, what string, cutoff time.Time, now func() time.Time, limit int,
	states []pb.HelpRequest_State, ended func(*pb.HelpRequest, time.Time) bool, state pb.HelpRequest_State) ([]LifecycleResult, error) {
	if limit < 1 {
		return nil, fmt.Errorf("store: %s: limit %d", what, limit)
	}
	var ids [][]byte
	err := s.view(func(tx *bolt.Tx) error {
		top := tx.Bucket(bHelpRequests)
		records, cur := top.Bucket(bRecords), top.Bucket(bByState).Cursor()
		for _, st := range states {
			prefix := []byte{byte(st)}
			for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(ids) < limit; k, _ = cur.Next() {
				r := &pb.HelpRequest{}
				if _, err := getProto(records, k[1:], r); err != nil {
					return err
				}
				if ended(r, cutoff) {
					ids = append(ids, bytes.Clone(k[1:]))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	var out []LifecycleResult
	for len(ids) > 0 {
		batch := ids[:min(len(ids), closeBatch)]
		ids = ids[len(batch):]
		res, err := s.closeIDs(ctx, what, cutoff, now, batch, ended, state)
		out = append(out, res...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// closeIDs is one write of closeEnded.
func (s *BoltStore) closeIDs(ctx context.Context, what string, cutoff time.Time, now func() time.Time, ids [][]byte,
	ended func(*pb.HelpRequest, time.Time) bool, state pb.HelpRequest_State) ([]LifecycleResult, error) {
	return s.lifecycle(ctx, what, now, func(c *change) ([]outcome, error) {
		var outs []outcome
		for _, id := range ids {
			req, err := c.hrs.get(id)
			if errors.Is(err, ErrNotFound) {
				continue // deleted since
			}
			if err != nil {
				return nil, err
			}
			if !ended(req.r, cutoff) {
				continue // changed since
			}
			o, err := c.release(req)
			if err != nil {
				return nil, err
			}
			o.withdrawnFor(WithdrawRequestEnded)
			req.r.State, req.r.CloseTime = state, timestamp(c.now)
			outs = append(outs, o)
		}
		return outs, nil
	})
}

// deleteOffersOf deletes a help request's offers, for the request's delete.
func deleteOffersOf(w *writeTx, requestID []byte) error {
	offers := w.tx.Bucket(bOffers)
	records, byRequest, byExpiry, byVolunteer := offers.Bucket(bRecords), offers.Bucket(bByRequest), offers.Bucket(bByExpiry), offers.Bucket(bByVolunteer)
	var keys [][]byte
	cur := byRequest.Cursor()
	for k, _ := cur.Seek(requestID); k != nil && bytes.HasPrefix(k, requestID); k, _ = cur.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		id := k[len(requestID):]
		o := &pb.Offer{}
		ok, err := getProto(records, id, o)
		if err != nil {
			return err
		}
		if ok && o.State == pb.Offer_STATE_PENDING {
			if err := w.delete(byExpiry, expiryKey(o.ExpireTime, id)); err != nil {
				return err
			}
		}
		if ok {
			volID, err := idFromName(o.Volunteer, volunteerPrefix)
			if err != nil {
				return fmt.Errorf("offer %s: volunteer: %w", idString(id), err)
			}
			if err := w.delete(byVolunteer, append(volID, id...)); err != nil {
				return err
			}
		}
		if err := w.delete(records, id); err != nil {
			return err
		}
		if err := w.delete(byRequest, k); err != nil {
			return err
		}
	}
	return nil
}
