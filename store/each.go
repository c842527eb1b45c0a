package store

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"

	bolt "go.etcd.io/bbolt"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// eachBatch is how many records one of EachVolunteer's read transactions
// copies out: enough that a transaction's cost is spread thin, few enough
// that it stays short.
const eachBatch = 1000

// sealedRecord is a record's bytes as copied out of a read transaction,
// with its sealed personal data and wrapped data key.
type sealedRecord struct {
	id, record, sealed, wrapped []byte
}

// sealedBatch is records read in one transaction, with the keyring that
// transaction saw. A keyring is never changed once published, so it still
// unwraps their data keys after the transaction has ended, even if a key
// rotation has published another without their epoch meanwhile.
type sealedBatch struct {
	ring    *keyring
	records []sealedRecord
}

// CountVolunteers implements Store. It counts the records bucket's keys
// page by page, without reading a record: about 7 ms for 200,000.
func (s *BoltStore) CountVolunteers(context.Context) (int, error) {
	var n int
	err := s.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bVolunteers).Bucket(bRecords).Stats().KeyN
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: count volunteers: %w", err)
	}
	return n, nil
}

// EachVolunteer calls fn with every volunteer, contact included, in no
// particular order: the matching engine's load when the server starts.
//
// ListVolunteers would do, a page at a time, but a large store then
// takes long to load, while the server cannot match anyone: a server
// loading its engine that way started in 9.3 s from a million volunteers,
// most of it in decoding records and opening contacts, on one processor.
// Here read transactions of eachBatch records copy out the bytes and
// wrapped data keys, and unwrapping, decrypting and decoding them runs on
// every processor. fn is called from one goroutine at a time; an error
// from it, or from reading, stops the walk and is returned.
func (s *BoltStore) EachVolunteer(ctx context.Context, fn func(*pb.Volunteer) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan sealedBatch, 2)
	opened := make(chan []*pb.Volunteer, 2)
	var readErr error
	go func() {
		defer close(batches)
		readErr = s.readSealed(ctx, volunteers, batches)
	}()
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for batch := range batches {
				out := make([]*pb.Volunteer, len(batch.records))
				for i, sr := range batch.records {
					var err error
					if out[i], err = openSealed(volunteers, batch.ring, sr); err != nil {
						errs[w] = err
						cancel()
						return
					}
				}
				select {
				case opened <- out:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(opened) }()
	var fnErr error
	for out := range opened {
		for _, v := range out {
			if fnErr != nil || ctx.Err() != nil {
				break // drain, so that the workers can finish
			}
			if fnErr = fn(v); fnErr != nil {
				cancel()
			}
		}
	}
	// opened is closed, so every goroutine has finished: their errors can
	// be read. A cancelled caller's context comes last, as the reason the
	// others stopped.
	for _, err := range append(errs, readErr, fnErr, ctx.Err()) {
		if err != nil {
			return fmt.Errorf("store: each volunteer: %w", err)
		}
	}
	return nil
}

// readSealed copies every record of col out of the file, eachBatch to a
// read transaction, and sends each batch to out, until ctx ends. The
// sealed data and data keys are keyed by id like the records, so cursors
// walk the three buckets side by side rather than look each one up.
func (s *BoltStore) readSealed(ctx context.Context, col *collection[*pb.Volunteer], out chan<- sealedBatch) error {
	var after []byte
	for {
		batch := sealedBatch{records: make([]sealedRecord, 0, eachBatch)}
		err := s.view(func(tx *bolt.Tx) error {
			sl := s.sealer(tx)
			if sl.err != nil {
				return sl.err
			}
			batch.ring = sl.ring
			top := tx.Bucket(col.bucket)
			cur := top.Bucket(bRecords).Cursor()
			k, v := cur.Seek(after)
			if after != nil && bytes.Equal(k, after) {
				k, v = cur.Next()
			}
			if k == nil {
				return nil
			}
			contacts, keys := top.Bucket(bContacts).Cursor(), sl.keys.Cursor()
			ck, cv := contacts.Seek(k)
			kk, kv := keys.Seek(k)
			for ; k != nil && len(batch.records) < eachBatch; k, v = cur.Next() {
				for ck != nil && bytes.Compare(ck, k) < 0 {
					ck, cv = contacts.Next()
				}
				for kk != nil && bytes.Compare(kk, k) < 0 {
					kk, kv = keys.Next()
				}
				sr := sealedRecord{id: bytes.Clone(k), record: bytes.Clone(v)}
				if bytes.Equal(ck, k) {
					sr.sealed = bytes.Clone(cv)
					if bytes.Equal(kk, k) {
						sr.wrapped = bytes.Clone(kv)
					}
				}
				batch.records = append(batch.records, sr)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(batch.records) == 0 {
			return nil
		}
		after = batch.records[len(batch.records)-1].id
		select {
		case out <- batch:
		case <-ctx.Done():
			return nil // the caller says why
		}
	}
}

// openSealed decodes a copied record and opens its personal data, as
// collection.read does inside a transaction.
func openSealed(col *collection[*pb.Volunteer], ring *keyring, sr sealedRecord) (*pb.Volunteer, error) {
	r := col.newRec()
	if err := pb.UnmarshalTrusted(sr.record, r); err != nil {
		return nil, fmt.Errorf("%s %s: decode: %w", col.noun, idString(sr.id), err)
	}
	c := &pb.Contact{}
	if sr.sealed != nil {
		var dk []byte
		if sr.wrapped != nil {
			var err error
			if dk, err = ring.unwrap(sr.id, sr.wrapped); err != nil {
				return nil, fmt.Errorf("%s %s: %w", col.noun, idString(sr.id), err)
			}
		}
		p, err := openPersonalWith(col, dk, sr.id, sr.sealed)
		if err != nil {
			return nil, err
		}
		if pc := col.takeContact(p); pc != nil {
			c = pc
		}
		col.mergePersonal(r, p)
	}
	col.setContact(r, c)
	return r, nil
}
