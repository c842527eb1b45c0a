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
	mustOK(t, s.db.Update(func(tx *bolt.Tx) error {
		records := tx.Bucket(bHelpRequests).Bucket(bRecords)
		r := &pb.HelpRequest{}
		if _, err := getProto(records, id, r); err != nil {
			return err
		}
		r.CloseTime = nil
		raw, err := marshal.Marshal(r)
		if err != nil {
			return err
		}
		return records.Put(id, raw)
	}), "strip close_time")
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
