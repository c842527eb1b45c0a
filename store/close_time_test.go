package store

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestRetentionOfRequestClosedBeforeCloseTime: a request closed before
// close_time was kept falls back on update_time for its retention, so a
// note added to it after the upgrade started its count again, as every
// edit did before; the edit must keep the time it closed by then.
func TestRetentionOfRequestClosedBeforeCloseTime(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	hr := lcRequest(t, s)
	lcMust(t, "cancel")(s.CancelHelpRequest(bg, idOf(hr.Name)))
	// As an older server stored it: closed, without close_time.
	id, err := ParseID(idOf(hr.Name))
	mustOK(t, err, "parse id")
	mustOK(t, s.db.Update(func(tx *bolt.Tx) error { return dropCloseTime(tx, id) }), "strip close_time")
	closed, err := s.GetHelpRequest(bg, idOf(hr.Name))
	mustOK(t, err, "get")

	clock.advance(47 * time.Hour)
	closed.Details = "a note after the close"
	_, err = s.UpdateHelpRequest(bg, closed)
	mustOK(t, err, "edit")
	clock.advance(3 * time.Hour)
	n, err := s.PurgePersonalData(bg, clock.now().Add(-48*time.Hour), 100)
	mustOK(t, err, "purge")
	if n != 1 {
		t.Errorf("closed 50h ago, edited 3h ago, 48h retention: purged %d", n)
	}
}

// TestCloseEndedAssignmentsInBatches: the sweep asks for up to 200,000
// ended assignments at once (a backlog of years when the grace is first
// set), and all went in one write, holding up every other writer (a
// helpline taking a call) for as long as that takes; they are now
// written closeBatch at a time, as the purge writes its batches.
func TestCloseEndedAssignmentsInBatches(t *testing.T) {
	defer func(n int) { closeBatch = n }(closeBatch)
	closeBatch = 2
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	v := lcVolunteer(t, s, 5)
	for range 5 {
		hr := lcRequest(t, s)
		lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, hr, v).Offer.Name)))
	}
	res, err := s.CloseEndedAssignments(bg, lcWindowEnd.Add(time.Hour), 100)
	mustOK(t, err, "close ended assignments")
	etags := map[string]int{}
	for _, r := range res {
		if r.HelpRequest.State != pb.HelpRequest_STATE_FULFILLED || r.HelpRequest.CloseTime == nil {
			t.Errorf("%s: %v, close_time %v", r.HelpRequest.Name, r.HelpRequest.State, r.HelpRequest.CloseTime)
		}
		etags[r.HelpRequest.Etag]++
	}
	if len(res) != 5 || len(etags) != 3 {
		t.Errorf("closed %d in %d writes (%v), want 5 in 3", len(res), len(etags), etags)
	}
	got, err := s.GetVolunteer(bg, idOf(v.Name))
	mustOK(t, err, "get volunteer")
	if got.ActiveAssignments != 0 {
		t.Errorf("volunteer still has %d active assignments", got.ActiveAssignments)
	}
	checkLifecycle(t, s)
}
