package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// The event log is written by the same write that makes a change, under
// the revision that write took, so a watcher that has read every event up
// to a revision has seen every change up to it: there is no window between
// a change committing and its event being logged.

var (
	bEvents     = []byte("events")
	kEventFloor = []byte("event_floor")
)

// ErrCompacted is what CompactedError matches with errors.Is.
var ErrCompacted = errors.New("events before this revision have been compacted")

// CompactedError says a read asked for events the log no longer holds.
type CompactedError struct {
	Oldest uint64 // the oldest revision the log still answers for
}

func (e *CompactedError) Error() string {
	return "events before revision " + strconv.FormatUint(e.Oldest, 10) + " have been compacted"
}

// Is makes errors.Is(err, ErrCompacted) true.
func (e *CompactedError) Is(target error) bool { return target == ErrCompacted }

// EventPage is one read of the event log.
type EventPage struct {
	// Events, in revision order; a revision is never split between pages.
	Events []*pb.Event
	// Through is the revision up to which the log has been read: every event
	// with a revision at or below it is in Events or an earlier page. The
	// next read starts at Through+1.
	Through uint64
	// More says the page stopped at its limit before the end of the log.
	More bool
}

// createLayoutV3 adds the event log. Changes before it were never logged,
// so the log starts after the current revision.
func createLayoutV3(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists(bEvents); err != nil {
		return err
	}
	meta := tx.Bucket(bMeta)
	var rev uint64
	if raw := meta.Get(kRevision); len(raw) == 8 {
		rev = binary.BigEndian.Uint64(raw)
	}
	return meta.Put(kEventFloor, u64(rev+1))
}

// eventKey is revision(8) then the event's place within its revision(4).
func eventKey(rev uint64, seq uint32) []byte {
	k := make([]byte, 12)
	binary.BigEndian.PutUint64(k, rev)
	binary.BigEndian.PutUint32(k[8:], seq)
	return k
}

// emit appends ev to the log under the revision the write took; the write
// must have called bumpRevision first.
func emit(w *writeTx, ev *pb.Event, now time.Time) error {
	if w.rev == 0 {
		return errors.New("event emitted before the revision was taken")
	}
	ev.Revision = int64(w.rev)
	ev.Time = timestamp(now)
	if ev.HelpRequest != "" && ev.Volunteer != "" && ev.VolunteerOrganisation == "" {
		// A watch for the volunteer's organisation hears of them being
		// offered, or assigned, another group's request.
		org, err := volunteerOrg(w.tx, ev.Volunteer)
		if err != nil {
			return err
		}
		ev.VolunteerOrganisation = org
	}
	switch {
	case ev.HelpRequest != "":
		w.touched = append(w.touched, ev.HelpRequest)
	case ev.Volunteer != "":
		w.touched = append(w.touched, ev.Volunteer)
	}
	k := eventKey(w.rev, w.seq)
	w.seq++
	return putProto(w, w.tx.Bucket(bEvents), k, ev)
}

func eventFloor(tx *bolt.Tx) uint64 {
	if raw := tx.Bucket(bMeta).Get(kEventFloor); len(raw) == 8 {
		return binary.BigEndian.Uint64(raw)
	}
	return 1
}

func currentRevision(tx *bolt.Tx) uint64 {
	if raw := tx.Bucket(bMeta).Get(kRevision); len(raw) == 8 {
		return binary.BigEndian.Uint64(raw)
	}
	return 0
}

// ReadEvents reads events from revision from onward: at least limit
// events unless the log ends first, and never part of a revision. A from
// older than the log holds is a *CompactedError. One read transaction, kept
// short by limit.
func (s *BoltStore) ReadEvents(_ context.Context, from uint64, limit int) (EventPage, error) {
	if limit < 1 {
		limit = 1
	}
	from = max(from, 1)
	var page EventPage
	err := s.view(func(tx *bolt.Tx) error {
		page = EventPage{}
		if floor := eventFloor(tx); from < floor {
			return &CompactedError{Oldest: floor}
		}
		cur := tx.Bucket(bEvents).Cursor()
		var last uint64
		for k, v := cur.Seek(eventKey(from, 0)); k != nil; k, v = cur.Next() {
			rev := binary.BigEndian.Uint64(k)
			if len(page.Events) >= limit && rev != last {
				page.Through, page.More = last, true
				return nil
			}
			ev := &pb.Event{}
			if err := pb.UnmarshalTrusted(v, ev); err != nil {
				return fmt.Errorf("event %d: %w", rev, err)
			}
			page.Events = append(page.Events, ev)
			last = rev
		}
		// The whole log has been read, so nothing up to the current
		// revision is missing, even revisions that logged no event.
		page.Through = max(currentRevision(tx), from-1)
		return nil
	})
	if err != nil {
		return EventPage{}, fmt.Errorf("store: read events: %w", err)
	}
	return page, nil
}

// OldestEventRevision is the oldest revision the log answers for.
func (s *BoltStore) OldestEventRevision() (uint64, error) {
	var floor uint64
	err := s.view(func(tx *bolt.Tx) error {
		floor = eventFloor(tx)
		return nil
	})
	return floor, err
}

// compactBatch bounds one compaction transaction, so that it does not hold
// up other writers for long.
const compactBatch = 5000

// CompactEvents deletes the events committed before cutoff, whole
// revisions at a time, oldest first, and moves the log's floor past them.
// It returns how many events it deleted.
func (s *BoltStore) CompactEvents(ctx context.Context, cutoff time.Time) (int, error) {
	total := 0
	for {
		n, more := 0, false
		err := s.c.do(ctx, func(w *writeTx) error {
			n, more = 0, false
			b := w.tx.Bucket(bEvents)
			cur := b.Cursor()
			var doomed [][]byte
			var lastRev uint64
			for k, v := cur.First(); k != nil; k, v = cur.Next() {
				rev := binary.BigEndian.Uint64(k)
				if len(doomed) >= compactBatch && rev != lastRev {
					more = true
					break
				}
				if rev != lastRev {
					ev := &pb.Event{}
					if err := pb.UnmarshalTrusted(v, ev); err != nil {
						return fmt.Errorf("event %d: %w", rev, err)
					}
					if !ev.Time.AsTime().Before(cutoff) {
						break
					}
				}
				doomed = append(doomed, bytes.Clone(k))
				lastRev = rev
			}
			if len(doomed) == 0 {
				return nil
			}
			for _, k := range doomed {
				if err := w.delete(b, k); err != nil {
					return err
				}
			}
			n = len(doomed)
			return w.put(w.tx.Bucket(bMeta), kEventFloor, u64(max(lastRev+1, eventFloor(w.tx))))
		})
		if err != nil {
			return total, fmt.Errorf("store: compact events: %w", err)
		}
		total += n
		if !more {
			return total, nil
		}
	}
}

// Changes returns the revision of the last committed write and a channel
// closed when a later write commits. Take the channel before reading, so
// that a commit between the read and the wait is not missed.
func (s *BoltStore) Changes() (uint64, <-chan struct{}) { return s.c.bell.current() }

// bell tells waiters that the revision moved on.
type bell struct {
	mu  sync.Mutex
	rev uint64
	ch  chan struct{}
}

func newBell(rev uint64) *bell { return &bell{rev: rev, ch: make(chan struct{})} }

func (b *bell) current() (uint64, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rev, b.ch
}

func (b *bell) ring(rev uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if rev <= b.rev {
		return
	}
	b.rev = rev
	close(b.ch)
	b.ch = make(chan struct{})
}

// Event constructors for the records the store writes. They name records
// and never copy their contents, so the log holds no personal data.

func helpRequestEvent(t pb.Event_Type, r *pb.HelpRequest) *pb.Event {
	return &pb.Event{Type: t, Organisation: r.Organisation, HelpRequest: r.Name, State: r.State}
}

// requestConcerns names the volunteer a change to r's fields concerns,
// for the event that logs it: the one r is assigned to, or the one its
// pending offer waits on, whose app shows r and whose token's stream sees
// only events naming them. Others have none.
func requestConcerns(tx *bolt.Tx, r *pb.HelpRequest) (string, error) {
	switch {
	case r.State == pb.HelpRequest_STATE_ASSIGNED:
		return r.AssignedVolunteer, nil
	case r.State != pb.HelpRequest_STATE_OFFERED || r.Offer == "":
		return "", nil
	}
	id, err := idFromName(r.Offer, offerPrefix)
	if err != nil {
		return "", fmt.Errorf("offer %q: %w", r.Offer, err)
	}
	o := &pb.Offer{}
	ok, err := getProto(tx.Bucket(bOffers).Bucket(bRecords), id, o)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("%s is OFFERED with %s, which is missing: %w", r.Name, r.Offer, errInconsistent)
	}
	return o.Volunteer, nil
}

// volunteerOrg is the organisation of the volunteer named, or "" for one
// deleted.
func volunteerOrg(tx *bolt.Tx, name string) (string, error) {
	id, err := idFromName(name, volunteerPrefix)
	if err != nil {
		return "", fmt.Errorf("volunteer %q: %w", name, err)
	}
	v := &pb.Volunteer{}
	if _, err := getProto(tx.Bucket(bVolunteers).Bucket(bRecords), id, v); err != nil {
		return "", err
	}
	return v.Organisation, nil
}

func volunteerEvent(t pb.Event_Type, r *pb.Volunteer) *pb.Event {
	return &pb.Event{Type: t, Organisation: r.Organisation, Volunteer: r.Name}
}

var offerEventTypes = map[pb.Offer_State]pb.Event_Type{
	pb.Offer_STATE_ACCEPTED:  pb.Event_TYPE_OFFER_ACCEPTED,
	pb.Offer_STATE_DECLINED:  pb.Event_TYPE_OFFER_DECLINED,
	pb.Offer_STATE_EXPIRED:   pb.Event_TYPE_OFFER_EXPIRED,
	pb.Offer_STATE_WITHDRAWN: pb.Event_TYPE_OFFER_WITHDRAWN,
}
