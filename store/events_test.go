package store

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// allEvents reads the whole log from revision from.
func allEvents(t testing.TB, s *BoltStore, from uint64) []*pb.Event {
	t.Helper()
	var out []*pb.Event
	for {
		page, err := s.ReadEvents(bg, from, 3)
		mustOK(t, err, "read events")
		out = append(out, page.Events...)
		from = page.Through + 1
		if !page.More {
			return out
		}
	}
}

// evLine is an event in a form that tests can compare.
func evLine(e *pb.Event) string {
	s := e.Type.String()[len("TYPE_"):]
	for _, p := range []string{e.HelpRequest, e.Volunteer, e.Offer} {
		if p != "" {
			s += " " + p[:len(p)-26] // the collection, not the id
		}
	}
	if e.PreviousState != 0 {
		s += " " + e.PreviousState.String()[len("STATE_"):] + "->"
	}
	if e.State != 0 {
		s += " " + e.State.String()[len("STATE_"):]
	}
	return s
}

func TestEventsForEveryChange(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	rev0, err := s.Revision()
	mustOK(t, err, "revision")

	type step struct {
		do   func() string // returns the etag the change left, or ""
		want []string
	}
	var hr, hr2, hr3 *pb.HelpRequest
	var v *pb.Volunteer
	var off, off2 *pb.Offer
	steps := []step{
		{func() string { hr = lcRequest(t, s); return hr.Etag }, []string{"HELP_REQUEST_CREATED helpRequests/ OPEN"}},
		{func() string { v = lcVolunteer(t, s, 2); return v.Etag }, []string{"VOLUNTEER_CREATED volunteers/"}},
		{func() string {
			hr.Details = "changed"
			var err error
			hr, err = s.UpdateHelpRequest(bg, hr)
			mustOK(t, err, "update")
			return hr.Etag
		}, []string{"HELP_REQUEST_UPDATED helpRequests/ OPEN"}},
		{func() string {
			v.Skills = append(v.Skills, "welsh")
			var err error
			v, err = s.UpdateVolunteer(bg, v)
			mustOK(t, err, "update volunteer")
			return v.Etag
		}, []string{"VOLUNTEER_UPDATED volunteers/"}},
		{func() string { r := lcOffer(t, s, hr, v); off = r.Offer; return r.HelpRequest.Etag }, []string{
			"OFFER_CREATED helpRequests/ volunteers/ offers/", "HELP_REQUEST_STATE_CHANGED helpRequests/ OPEN-> OFFERED"}},
		{func() string {
			return lcMust(t, "decline")(s.DeclineOffer(bg, idOf(off.Name))).HelpRequest.Etag
		}, []string{"OFFER_DECLINED helpRequests/ volunteers/ offers/", "HELP_REQUEST_STATE_CHANGED helpRequests/ OFFERED-> OPEN"}},
		{func() string { hr2 = lcRequest(t, s); return hr2.Etag }, []string{"HELP_REQUEST_CREATED helpRequests/ OPEN"}},
		{func() string { off2 = lcOffer(t, s, hr2, v).Offer; return "" }, []string{
			"OFFER_CREATED helpRequests/ volunteers/ offers/", "HELP_REQUEST_STATE_CHANGED helpRequests/ OPEN-> OFFERED"}},
		{func() string { return lcMust(t, "accept")(s.AcceptOffer(bg, idOf(off2.Name))).HelpRequest.Etag }, []string{
			"OFFER_ACCEPTED helpRequests/ volunteers/ offers/", "HELP_REQUEST_STATE_CHANGED helpRequests/ volunteers/ OFFERED-> ASSIGNED"}},
		{func() string {
			return lcMust(t, "complete")(s.CompleteHelpRequest(bg, idOf(hr2.Name))).HelpRequest.Etag
		}, []string{
			"HELP_REQUEST_STATE_CHANGED helpRequests/ volunteers/ ASSIGNED-> FULFILLED", "ASSIGNMENT_COMPLETED helpRequests/ volunteers/ FULFILLED"}},
		{func() string { hr3 = lcRequest(t, s); return "" }, []string{"HELP_REQUEST_CREATED helpRequests/ OPEN"}},
		{func() string { lcOffer(t, s, hr3, v); return "" }, []string{
			"OFFER_CREATED helpRequests/ volunteers/ offers/", "HELP_REQUEST_STATE_CHANGED helpRequests/ OPEN-> OFFERED"}},
		{func() string { return lcMust(t, "cancel")(s.CancelHelpRequest(bg, idOf(hr3.Name))).HelpRequest.Etag }, []string{
			"OFFER_WITHDRAWN helpRequests/ volunteers/ offers/", "HELP_REQUEST_STATE_CHANGED helpRequests/ OFFERED-> CANCELLED"}},
		{func() string {
			v2 := lcVolunteer(t, s, 1)
			off := lcOffer(t, s, hr, v2).Offer
			lcMust(t, "accept")(s.AcceptOffer(bg, idOf(off.Name)))
			return ""
		}, []string{
			"VOLUNTEER_CREATED volunteers/",
			"OFFER_CREATED helpRequests/ volunteers/ offers/", "HELP_REQUEST_STATE_CHANGED helpRequests/ OPEN-> OFFERED",
			"OFFER_ACCEPTED helpRequests/ volunteers/ offers/", "HELP_REQUEST_STATE_CHANGED helpRequests/ volunteers/ OFFERED-> ASSIGNED"}},
		{func() string { return lcMust(t, "cancel")(s.CancelHelpRequest(bg, idOf(hr.Name))).HelpRequest.Etag }, []string{
			"HELP_REQUEST_STATE_CHANGED helpRequests/ volunteers/ ASSIGNED-> CANCELLED", "ASSIGNMENT_CANCELLED helpRequests/ volunteers/ CANCELLED"}},
		{func() string { mustOK(t, s.DeleteHelpRequest(bg, idOf(hr.Name), ""), "delete"); return "" }, []string{"HELP_REQUEST_DELETED helpRequests/ CANCELLED"}},
		{func() string { mustOK(t, s.DeleteVolunteer(bg, idOf(v.Name), ""), "delete volunteer"); return "" }, []string{"VOLUNTEER_DELETED volunteers/"}},
	}
	from := rev0 + 1
	for i, st := range steps {
		etag := st.do()
		evs := allEvents(t, s, from)
		var got []string
		for _, e := range evs {
			got = append(got, evLine(e))
			if e.Organisation != "org-a" {
				t.Errorf("step %d: %s has organisation %q", i, evLine(e), e.Organisation)
			}
		}
		if !slices.Equal(got, st.want) {
			t.Errorf("step %d: events\n  %q\nwant\n  %q", i, got, st.want)
		}
		if etag != "" && len(evs) > 0 && strconv.FormatInt(evs[len(evs)-1].Revision, 10) != etag {
			t.Errorf("step %d: event revision %d, record etag %s", i, evs[len(evs)-1].Revision, etag)
		}
		rev, err := s.Revision()
		mustOK(t, err, "revision")
		from = rev + 1
	}
}

func TestEventsExpiriesAndRefusals(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	v := lcVolunteer(t, s, 3)
	a, b := lcRequest(t, s), lcRequest(t, s)
	lcOffer(t, s, a, v)
	rev, _ := s.Revision()

	// A refusal logs nothing.
	if _, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(a.Name), VolunteerID: idOf(v.Name), Lease: lcLease}); !errors.Is(err, ErrWrongState) {
		t.Fatalf("second offer: %v", err)
	}
	if evs := allEvents(t, s, rev+1); len(evs) != 0 {
		t.Fatalf("a refused change logged %d events", len(evs))
	}

	res, err := s.ExpireOffers(bg, clock.now().Add(lcLease+time.Minute), 10)
	mustOK(t, err, "expire offers")
	if len(res) != 1 {
		t.Fatalf("expired %d offers", len(res))
	}
	rev2, _ := s.Revision()
	var got []string
	for _, e := range allEvents(t, s, rev+1) {
		got = append(got, evLine(e))
	}
	want := []string{"OFFER_EXPIRED helpRequests/ volunteers/ offers/", "HELP_REQUEST_STATE_CHANGED helpRequests/ OFFERED-> OPEN"}
	if !slices.Equal(got, want) {
		t.Errorf("offer expiry events %q, want %q", got, want)
	}

	// Both requests' windows end on 2026-03-02.
	_, err = s.ExpireHelpRequests(bg, time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), 10)
	mustOK(t, err, "expire requests")
	got = nil
	for _, e := range allEvents(t, s, rev2+1) {
		got = append(got, evLine(e)+" "+e.HelpRequest)
	}
	slices.Sort(got)
	want = []string{
		"HELP_REQUEST_STATE_CHANGED helpRequests/ OPEN-> EXPIRED " + a.Name,
		"HELP_REQUEST_STATE_CHANGED helpRequests/ OPEN-> EXPIRED " + b.Name,
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("request expiry events %q, want %q", got, want)
	}
}

// TestEventsHoldNoPersonalData looks for the contact details and notes of
// a request and a volunteer in the raw bytes of the event log.
func TestEventsHoldNoPersonalData(t *testing.T) {
	s, _ := newStore(t)
	hr := newHelpRequest("org-a", "ext-1", "AB10 1AB", "+447700900123")
	hr.Requester.DisplayName = "Canary Requester"
	hr.Details = "canary details"
	hr.Location.AddressLines = []string{"99 Canary Row"}
	got, err := s.CreateHelpRequest(bg, hr, Idempotency{})
	mustOK(t, err, "create")
	got.Details = "canary details two"
	_, err = s.UpdateHelpRequest(bg, got)
	mustOK(t, err, "update")
	v := newVolunteer("org-a", "AB10 1AF", "+447700900456", "driver")
	v.Contact.DisplayName = "Canary Volunteer"
	_, err = s.CreateVolunteer(bg, v, Idempotency{})
	mustOK(t, err, "create volunteer")

	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bEvents).ForEach(func(_, val []byte) error {
			for _, secret := range []string{"Canary", "canary", "900123", "900456", "AB10"} {
				if bytes.Contains(val, []byte(secret)) {
					t.Errorf("event log holds %q", secret)
				}
			}
			return nil
		})
	})
	mustOK(t, err, "view")
}

func TestReadEventsPagesWholeRevisions(t *testing.T) {
	s, _ := newStore(t)
	v := lcVolunteer(t, s, 10)
	for range 5 {
		hr := lcRequest(t, s)
		lcOffer(t, s, hr, v) // two events under one revision
	}
	start, _ := s.OldestEventRevision()
	cur, _ := s.Revision()
	for limit := 1; limit <= 4; limit++ {
		from := start
		var seen []int64
		for {
			page, err := s.ReadEvents(bg, from, limit)
			mustOK(t, err, "read")
			if len(page.Events) == 0 && page.More {
				t.Fatalf("limit %d: an empty page says there is more", limit)
			}
			for _, e := range page.Events {
				if uint64(e.Revision) < from || uint64(e.Revision) > page.Through {
					t.Errorf("limit %d: event of revision %d on a page from %d through %d", limit, e.Revision, from, page.Through)
				}
				seen = append(seen, e.Revision)
			}
			if page.More {
				// The page must end at a revision boundary: the next
				// read must not hold more events of the last revision.
				next, err := s.ReadEvents(bg, page.Through+1, 1)
				mustOK(t, err, "read next")
				if len(next.Events) > 0 && uint64(next.Events[0].Revision) <= page.Through {
					t.Errorf("limit %d: revision %d split between pages", limit, next.Events[0].Revision)
				}
			}
			from = page.Through + 1
			if !page.More {
				if page.Through != cur {
					t.Errorf("limit %d: last page through %d, want the current revision %d", limit, page.Through, cur)
				}
				break
			}
		}
		if len(seen) != 1+5*3 || !slices.IsSorted(seen) {
			t.Errorf("limit %d: read revisions %v", limit, seen)
		}
	}
	// A read past the end is empty and says it is through the current
	// revision, not past it.
	page, err := s.ReadEvents(bg, cur+5, 10)
	mustOK(t, err, "read ahead")
	if len(page.Events) != 0 || page.Through != cur+4 {
		t.Errorf("read ahead: %d events through %d", len(page.Events), page.Through)
	}
}

func TestEventsSurviveReopenWithoutGaps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doorstep.db")
	s := openAt(t, path)
	for range 3 {
		lcRequest(t, s)
	}
	first := allEvents(t, s, 1)
	mustOK(t, s.Close(), "close")
	s = openAt(t, path)
	for range 2 {
		lcRequest(t, s)
	}
	all := allEvents(t, s, 1)
	if len(all) != 5 || len(first) != 3 {
		t.Fatalf("%d events before reopening, %d after", len(first), len(all))
	}
	for i, e := range all {
		if e.Revision != int64(i+1) {
			t.Errorf("event %d has revision %d", i, e.Revision)
		}
	}
}

func TestCompactEvents(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	v := lcVolunteer(t, s, 10) // revision 1
	for range 3 {
		clock.advance(time.Hour)
		lcOffer(t, s, lcRequest(t, s), v)
	}
	evs := allEvents(t, s, 1)
	// Cut between the second request's create and its offer.
	cutoff := evs[4].Time.AsTime().Add(time.Millisecond)
	n, err := s.CompactEvents(bg, cutoff)
	mustOK(t, err, "compact")
	if n != 5 {
		t.Errorf("compacted %d events, want 5", n)
	}
	oldest, _ := s.OldestEventRevision()
	if oldest != uint64(evs[5].Revision) {
		t.Errorf("oldest revision %d, want %d", oldest, evs[5].Revision)
	}
	_, err = s.ReadEvents(bg, oldest-1, 10)
	var ce *CompactedError
	if !errors.As(err, &ce) || ce.Oldest != oldest || !errors.Is(err, ErrCompacted) {
		t.Fatalf("read below the floor: %v", err)
	}
	if got := allEvents(t, s, oldest); len(got) != len(evs)-5 {
		t.Errorf("%d events left, want %d", len(got), len(evs)-5)
	}
	// Compacting everything leaves an empty log that still knows its floor.
	n, err = s.CompactEvents(bg, clock.now().Add(time.Hour))
	mustOK(t, err, "compact all")
	cur, _ := s.Revision()
	if oldest, _ := s.OldestEventRevision(); n != len(evs)-5 || oldest != cur+1 {
		t.Errorf("compact all: %d events, floor %d, revision %d", n, oldest, cur)
	}
	if _, err := s.ReadEvents(bg, cur, 10); !errors.Is(err, ErrCompacted) {
		t.Errorf("read of a compacted revision: %v", err)
	}
	page, err := s.ReadEvents(bg, cur+1, 10)
	mustOK(t, err, "read at the floor")
	if len(page.Events) != 0 || page.Through != cur {
		t.Errorf("read at the floor: %+v", page)
	}
}

func TestCompactEventsInBatches(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	var wg sync.WaitGroup
	const n = compactBatch + 700
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AF", fmt.Sprintf("+4477007%05d", i), "driver"), Idempotency{})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		mustOK(t, err, "create")
	}
	removed, err := s.CompactEvents(bg, clock.now().Add(time.Hour))
	mustOK(t, err, "compact")
	if removed != n {
		t.Errorf("removed %d, want %d", removed, n)
	}
	if got := allEvents(t, s, n+1); len(got) != 0 {
		t.Errorf("%d events left", len(got))
	}
}

func TestMigrationStartsTheLogAfterTheRevision(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doorstep.db")
	s := openAt(t, path)
	lcRequest(t, s)
	lcRequest(t, s)
	mustOK(t, s.Close(), "close")
	writeBoltFile(t, path, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bEvents); err != nil {
			return err
		}
		if err := tx.Bucket(bMeta).Delete(kEventFloor); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kSchemaVersion, u64(2))
	})
	s = openAt(t, path)
	if oldest, _ := s.OldestEventRevision(); oldest != 3 {
		t.Errorf("log starts at %d after migration, want 3", oldest)
	}
	if _, err := s.ReadEvents(bg, 1, 10); !errors.Is(err, ErrCompacted) {
		t.Errorf("read of history from before the log: %v", err)
	}
	lcRequest(t, s)
	if got := allEvents(t, s, 3); len(got) != 1 || got[0].Revision != 3 {
		t.Errorf("events after migration: %v", got)
	}
}

func TestChangesRingsAfterCommit(t *testing.T) {
	s, _ := newStore(t)
	rev, ch := s.Changes()
	select {
	case <-ch:
		t.Fatal("bell rang with nothing committed")
	default:
	}
	hr := lcRequest(t, s)
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("bell did not ring after a commit")
	}
	rev2, ch2 := s.Changes()
	if strconv.FormatUint(rev2, 10) != hr.Etag || rev2 != rev+1 {
		t.Errorf("revision %d after the write, etag %s, before %d", rev2, hr.Etag, rev)
	}
	// A refused write commits nothing new and does not ring.
	if _, err := s.CompleteHelpRequest(bg, idOf(hr.Name)); !errors.Is(err, ErrWrongState) {
		t.Fatalf("complete an open request: %v", err)
	}
	select {
	case <-ch2:
		t.Error("bell rang for a refused write")
	default:
	}
}
