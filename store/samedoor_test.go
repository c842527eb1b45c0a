package store

import (
	"errors"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// doorRequest stores an OPEN request of one caller at one door, with the
// window [from, to) hours on 2026-03-02 and the given phone and street.
func doorRequest(t *testing.T, s *BoltStore, phone, street string, from, to int) *pb.HelpRequest {
	t.Helper()
	hr := newHelpRequest("org-a", "", "AB10 1AB", phone)
	hr.Location.Street = street
	hr.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{
		StartTime: timestamppb.New(time.Date(2026, 3, 2, from, 0, 0, 0, time.UTC)),
		EndTime:   timestamppb.New(time.Date(2026, 3, 2, to, 0, 0, 0, time.UTC)),
	}}
	hr, err := s.CreateHelpRequest(bg, hr, Idempotency{})
	mustOK(t, err, "create help request")
	return hr
}

// TestOfferRefusedAtAnOccupiedDoor: an offer that would send a second
// volunteer to a caller's door at a time meeting one already going there
// is refused, naming the one going, and changes nothing; one to the
// volunteer going, at another door, at another time, for another caller,
// or with SecondVolunteerOK is made.
func TestOfferRefusedAtAnOccupiedDoor(t *testing.T) {
	const phone = "+447700900777"
	for _, tc := range []struct {
		name     string
		phone    string
		street   string
		from, to int
		toSame   bool // offer it to the volunteer already going
		secondOK bool
		refused  bool
	}{
		{name: "second volunteer, meeting window", phone: phone, street: "Union Street", from: 11, to: 13, refused: true},
		{name: "street written another way", phone: phone, street: "union st", from: 11, to: 13, refused: true},
		{name: "the volunteer already going", phone: phone, street: "Union Street", from: 11, to: 13, toSame: true},
		{name: "second volunteer allowed", phone: phone, street: "Union Street", from: 11, to: 13, secondOK: true},
		{name: "later window", phone: phone, street: "Union Street", from: 12, to: 14},
		{name: "another street", phone: phone, street: "Holburn Street", from: 11, to: 13},
		{name: "another caller", phone: "+447700900778", street: "Union Street", from: 11, to: 13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t, WithClock(newFakeClock().now))
			going, other := lcVolunteer(t, s, 3), lcVolunteer(t, s, 3)
			held := doorRequest(t, s, phone, "Union Street", 10, 12)
			lcOffer(t, s, held, going)
			hr := doorRequest(t, s, tc.phone, tc.street, tc.from, tc.to)
			to := other
			if tc.toSame {
				to = going
			}
			before := dump(t, s)
			_, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(to.Name), Lease: lcLease, SecondVolunteerOK: tc.secondOK})
			if !tc.refused {
				mustOK(t, err, "create offer")
				verifyAll(t, s)
				return
			}
			var sd *SameDoorError
			if !errors.As(err, &sd) || !errors.Is(err, ErrSameDoor) || sd.Coming != going.Name {
				t.Fatalf("create offer: %v, want a SameDoorError naming %s", err, going.Name)
			}
			if d := diffDump(before, dump(t, s)); len(d) > 0 {
				t.Errorf("the refusal changed the file: %v", d)
			}
		})
	}
}

// TestSameDoorSeesAnAssignment: a volunteer assigned, not only offered,
// is the one going to the door.
func TestSameDoorSeesAnAssignment(t *testing.T) {
	s, _ := newStore(t, WithClock(newFakeClock().now))
	going, other := lcVolunteer(t, s, 3), lcVolunteer(t, s, 3)
	held := doorRequest(t, s, "+447700900777", "Union Street", 10, 12)
	offered := lcOffer(t, s, held, going)
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(offered.Offer.Name)))
	hr := doorRequest(t, s, "+447700900777", "Union Street", 9, 11)
	_, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(other.Name), Lease: lcLease})
	mustErr(t, err, ErrSameDoor, "offer beside an assignment")
}

// TestSameDoorWithinOneWrite: a dispatch's write judges its offers one
// after another, so the second of two at one door to two volunteers is
// refused alone.
func TestSameDoorWithinOneWrite(t *testing.T) {
	s, _ := newStore(t, WithClock(newFakeClock().now))
	a, b := lcVolunteer(t, s, 3), lcVolunteer(t, s, 3)
	r1 := doorRequest(t, s, "+447700900777", "Union Street", 10, 12)
	r2 := doorRequest(t, s, "+447700900777", "Union Street", 11, 13)
	res, errs, err := s.CreateOffers(bg, []OfferParams{
		{HelpRequestID: idOf(r1.Name), VolunteerID: idOf(a.Name), Lease: lcLease, Dispatched: true},
		{HelpRequestID: idOf(r2.Name), VolunteerID: idOf(b.Name), Lease: lcLease, Dispatched: true},
	})
	mustOK(t, err, "create offers")
	if errs[0] != nil || res[0].Offer == nil {
		t.Fatalf("first offer: %v", errs[0])
	}
	mustErr(t, errs[1], ErrSameDoor, "second offer at the door")
	verifyAll(t, s)
}

// TestSameDoorRace: two offers racing for one door, to two volunteers:
// exactly one is made, whatever the order.
func TestSameDoorRace(t *testing.T) {
	for range 20 {
		s, _ := newStore(t, WithClock(newFakeClock().now))
		a, b := lcVolunteer(t, s, 3), lcVolunteer(t, s, 3)
		r1 := doorRequest(t, s, "+447700900777", "Union Street", 10, 12)
		r2 := doorRequest(t, s, "+447700900777", "Union Street", 11, 13)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, p := range []OfferParams{
			{HelpRequestID: idOf(r1.Name), VolunteerID: idOf(a.Name), Lease: lcLease},
			{HelpRequestID: idOf(r2.Name), VolunteerID: idOf(b.Name), Lease: lcLease},
		} {
			wg.Go(func() { _, errs[i] = s.CreateOffer(bg, p) })
		}
		wg.Wait()
		made := 0
		for _, err := range errs {
			switch {
			case err == nil:
				made++
			case !errors.Is(err, ErrSameDoor):
				t.Fatalf("create offer: %v", err)
			}
		}
		if made != 1 {
			t.Fatalf("%d offers made at one door, want 1 (%v)", made, errs)
		}
		verifyAll(t, s)
	}
}

// TestAcceptRefusedAtAnOccupiedDoor: an accept judges one door, one
// volunteer in its own transaction: an edit since the offer was made that
// brought it to a door another volunteer is going to then refuses it with
// a SameDoorError and changes nothing, unless the offer was made with
// SecondVolunteerOK.
func TestAcceptRefusedAtAnOccupiedDoor(t *testing.T) {
	for _, allowed := range []bool{false, true} {
		s, _ := newStore(t, WithClock(newFakeClock().now))
		going, other := lcVolunteer(t, s, 3), lcVolunteer(t, s, 3)
		held := doorRequest(t, s, "+447700900777", "Union Street", 10, 12)
		lcOffer(t, s, held, going)
		later := doorRequest(t, s, "+447700900777", "Union Street", 14, 16)
		res, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(later.Name), VolunteerID: idOf(other.Name), Lease: lcLease, SecondVolunteerOK: allowed})
		mustOK(t, err, "offer at another time")
		if res.Offer.AllowSecondVolunteer != allowed {
			t.Errorf("offer keeps allow_second_volunteer %v, want %v", res.Offer.AllowSecondVolunteer, allowed)
		}
		// The later request moves to meet the first.
		moved := proto.Clone(res.HelpRequest).(*pb.HelpRequest)
		moved.GetWindow().StartTime = timestamppb.New(time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC))
		_, err = s.UpdateHelpRequest(bg, moved)
		mustOK(t, err, "move")
		before := dump(t, s)
		_, err = s.AcceptOffer(bg, idOf(res.Offer.Name))
		if allowed {
			mustOK(t, err, "accept of an offer the caller agreed to")
			continue
		}
		var sd *SameDoorError
		if !errors.As(err, &sd) || sd.Coming != going.Name {
			t.Fatalf("accept: %v, want a SameDoorError naming %s", err, going.Name)
		}
		if d := diffDump(before, dump(t, s)); len(d) > 0 {
			t.Errorf("the refused accept changed the file: %v", d)
		}
		verifyAll(t, s)
	}
}

// TestLapsedOfferIsNobodyComing: an offer whose lease has passed, before
// the sweep has lapsed it, sends nobody to the door: an offer of the
// caller's other request to someone else is made.
func TestLapsedOfferIsNobodyComing(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	going, other := lcVolunteer(t, s, 3), lcVolunteer(t, s, 3)
	held := doorRequest(t, s, "+447700900777", "Union Street", 10, 12)
	lcOffer(t, s, held, going)
	hr := doorRequest(t, s, "+447700900777", "Union Street", 11, 13)
	_, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(other.Name), Lease: lcLease})
	mustErr(t, err, ErrSameDoor, "offer while the first is live")
	clock.advance(lcLease)
	_, err = s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(other.Name), Lease: lcLease})
	mustOK(t, err, "offer once the first has lapsed")
}

// TestEditAtACrowdedDoor: at a door two volunteers were already going to
// (stored before one door, one volunteer was kept: here the leave on the
// second's offer is taken away by hand), an edit of anything but the time
// or place of an assigned request goes through, while one that moves it
// to meet the other still is refused.
func TestEditAtACrowdedDoor(t *testing.T) {
	s, _ := newStore(t, WithClock(newFakeClock().now))
	ann, bob := lcVolunteer(t, s, 3), lcVolunteer(t, s, 3)
	r1 := doorRequest(t, s, "+447700900777", "Union Street", 10, 12)
	r2 := doorRequest(t, s, "+447700900777", "Union Street", 11, 13)
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, r1, ann).Offer.Name)))
	second, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(r2.Name), VolunteerID: idOf(bob.Name), Lease: lcLease, SecondVolunteerOK: true})
	mustOK(t, err, "offer by leave")
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(second.Offer.Name)))
	mustOK(t, s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bOffers).Bucket(bRecords)
		id, _ := ParseID(idOf(second.Offer.Name))
		o := &pb.Offer{}
		if _, err := getProto(b, id, o); err != nil {
			return err
		}
		o.AllowSecondVolunteer = false
		raw, err := proto.Marshal(o)
		if err != nil {
			return err
		}
		return b.Put(id, raw)
	}), "take the leave away")

	cur, err := s.GetHelpRequest(bg, idOf(r2.Name))
	mustOK(t, err, "get")
	cur.Details = "Bread too, please"
	cur, err = s.UpdateHelpRequest(bg, cur)
	mustOK(t, err, "an edit of the details")
	cur.GetWindow().EndTime = timestamppb.New(time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC))
	_, err = s.UpdateHelpRequest(bg, cur)
	mustErr(t, err, ErrSameDoor, "an edit of the time, still meeting the other")
}
