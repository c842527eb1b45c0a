package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/doorstep-aid/doorstep/phone"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// phonesTodaySchema is the first schema version whose stored numbers are
// all in the form phone.Today gives them.
const phonesTodaySchema = 14

// phonesTodayMethod is the method the audit records of the schema 14 step
// name: no call made the change.
const phonesTodayMethod = "store/migrate-schema-14-phones-today"

// phonesToday (schema 14) gives every stored number that is not in the
// form phone.Today gives it that form: older versions stored a number
// from abroad with the trunk zero after the country code
// (+3530871234567, from "+353 (0)87 ..." or "+353 087 ..."), which the
// server now stores as +353871234567, so one person was two numbers to
// every find, erasure and export, and to matching (their other requests,
// their own request offered to them). Closed requests too: an erasure or
// export owes a person all of theirs. Each record changed is written by
// an edit's own body (collection.edit), within tx: a new revision and
// etag, what an edit keeps kept, its phone index entries moved, an update
// event for the apps resuming after the upgrade; and an audit record of
// actor "system". Nothing an edit is refused for (two
// volunteers sent to one door, the same-door hold) is judged: the number
// is the same person's either way, and the records are kept as they are.
// A number the rule now refuses stays as stored.
func (s *BoltStore) phonesToday(tx *bolt.Tx, sl *sealer) (requests, vols int, err error) {
	if requests, err = phonesTodayOf(s, tx, sl, helpRequests, "requester"); err != nil {
		return 0, 0, err
	}
	vols, err = phonesTodayOf(s, tx, sl, volunteers, "contact")
	return requests, vols, err
}

// phonesTodayOf is phonesToday of one collection, whose contact is the
// record's field named field.
func phonesTodayOf[T proto.Message](s *BoltStore, tx *bolt.Tx, sl *sealer, col *collection[T], field string) (int, error) {
	top := tx.Bucket(col.bucket)
	// The ids first: a bucket is not written while a cursor walks it.
	var ids [][]byte
	err := top.Bucket(bContacts).ForEach(func(id, sealed []byte) error {
		p, err := openPersonal(sl, col, id, sealed)
		if err != nil {
			return err
		}
		if n := col.takeContact(p).GetPhone(); n != phone.Today(n) {
			ids = append(ids, bytes.Clone(id))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	now := s.now()
	for _, id := range ids {
		// Each record its own write, as an edit is: writeAudit goes
		// through every record its write touched, and one write for
		// them all made the step quadratic (40 s for 2,000 records).
		w := &writeTx{tx: tx}
		r, c, err := col.read(sl, top, id)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", col.noun, idString(id), err)
		}
		// The entries under the number as stored, which older versions
		// keyed it by; the edit moves those of its form today.
		if err := deleteAll(w, top, col.phoneIndex(sl.stored(), c.GetPhone(), id)); err != nil {
			return 0, err
		}
		today := proto.Clone(c).(*pb.Contact)
		today.Phone = phone.Today(c.GetPhone())
		if r, err = col.edit(w, sl, top, id, r, c, r, today, now, false, nil); err != nil {
			return 0, err
		}
		rec := &pb.AuditRecord{Action: "update", Resource: col.name(r), Fields: []string{field}, Method: phonesTodayMethod, Actor: "system"}
		if err := s.writeAudit(w, []*pb.AuditRecord{rec}); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
