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
// with its sealed personal data and wrapped data key (nil when absent).
type sealedRecord struct {
	id, record, sealed, wrapped []byte
}

// sealedBatch is records read in one transaction, with the keyring that
// transaction saw. A keyring is never changed once published, so it still
// unwraps their data keys after the transaction has ended, even if a key
// rotation has published another without their epoch meanwhile. The
// records' bytes all lie in buf, one allocation that is used again for a
// later batch once this one is decoded.
type sealedBatch struct {
	ring    *keyring
	records []sealedRecord
	buf     []byte
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

// EachVolunteer implements Store: the matching engine's load when the
// server starts. decode is called with each volunteer's record and
// contact on every processor, and what it returns from one goroutine at a
// time.
//
// ListVolunteers would do, a page at a time, but a large store then
// takes long to load, while the server cannot match anyone: a server
// loading its engine that way started in 9.3 s from a million volunteers,
// most of it in decoding records and opening contacts, on one processor.
// Here read transactions of eachBatch records copy out the bytes and
// wrapped data keys, into a buffer each batch passes on to a later one
// once decoded, and unwrapping, decrypting and decoding run on every
// processor. The records are handed over undecoded, so that the engine can
// take in what it needs without making a message of each (a third of the
// load's CPU went to that). An error from decode or from what it
// returned, or from reading, stops the walk and is returned.
func (s *BoltStore) EachVolunteer(ctx context.Context, decode func(record []byte, contact *pb.Contact) (func() error, error)) error {
	return s.eachVolunteer(ctx, eachBatch, decode)
}

// eachVolunteer is EachVolunteer reading batches of size records.
func (s *BoltStore) eachVolunteer(ctx context.Context, size int, decode func(record []byte, contact *pb.Contact) (func() error, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan sealedBatch, 2)
	decoded := make(chan []func() error, 2)
	// Buffers come back once their batch is decoded; at most a handful
	// are in flight at once.
	bufs := make(chan []byte, 8)
	var readErr error
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(batches)
		readErr = s.readSealed(ctx, volunteers, size, batches, bufs)
	}()
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for batch := range batches {
				out := make([]func() error, len(batch.records))
				for i, sr := range batch.records {
					c, err := openContact(volunteers, batch.ring, sr)
					if err == nil {
						if out[i], err = decode(sr.record, c); err != nil {
							err = fmt.Errorf("%s %s: decode: %w", volunteers.noun, idString(sr.id), err)
						}
					}
					if err != nil {
						errs[w] = err
						cancel()
						return
					}
				}
				select {
				case bufs <- batch.buf:
				default:
				}
				select {
				case decoded <- out:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(decoded) }()
	var fnErr error
	for out := range decoded {
		for _, fn := range out {
			if fnErr != nil || ctx.Err() != nil {
				break // drain, so that the workers can finish
			}
			if fnErr = fn(); fnErr != nil {
				cancel()
			}
		}
	}
	// decoded is closed, so every worker has finished. The reader may not
	// have, where the workers stopped on an error or the caller's cancel
	// (the -race run caught its error read as it was written), but the
	// context is cancelled then, and it ends at its next batch: waited
	// for, its error can be read, and no read of the file outlives the
	// call. A cancelled caller's context comes last, as the reason the
	// others stopped.
	<-readDone
	for _, err := range append(errs, readErr, fnErr, ctx.Err()) {
		if err != nil {
			return fmt.Errorf("store: each volunteer: %w", err)
		}
	}
	return nil
}

// readSealed copies every record of col out of the file, size to a read
// transaction, and sends each batch to out, until ctx ends. The
// sealed data and data keys are keyed by id like the records, so cursors
// walk the three buckets side by side rather than look each one up. A
// batch's bytes go into a buffer from bufs when there is one.
func (s *BoltStore) readSealed(ctx context.Context, col *collection[*pb.Volunteer], size int, out chan<- sealedBatch, bufs <-chan []byte) error {
	var after []byte
	// spans are where each record's four values lie in the batch's buffer
	// while it grows; -1 marks a value that is absent.
	type span struct{ from, to int }
	spans := make([][4]span, 0, size)
	for {
		batch := sealedBatch{records: make([]sealedRecord, 0, size)}
		select {
		case batch.buf = <-bufs:
		default:
		}
		buf := batch.buf[:0]
		put := func(b []byte) span {
			if b == nil {
				return span{-1, -1}
			}
			buf = append(buf, b...)
			return span{len(buf) - len(b), len(buf)}
		}
		spans = spans[:0]
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
			for ; k != nil && len(spans) < size; k, v = cur.Next() {
				for ck != nil && bytes.Compare(ck, k) < 0 {
					ck, cv = contacts.Next()
				}
				for kk != nil && bytes.Compare(kk, k) < 0 {
					kk, kv = keys.Next()
				}
				var sealed, wrapped []byte
				if bytes.Equal(ck, k) {
					sealed = cv
					if bytes.Equal(kk, k) {
						wrapped = kv
					}
				}
				spans = append(spans, [4]span{put(k), put(v), put(sealed), put(wrapped)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(spans) == 0 {
			return nil
		}
		at := func(s span) []byte {
			if s.from < 0 {
				return nil
			}
			return buf[s.from:s.to:s.to]
		}
		for _, sp := range spans {
			batch.records = append(batch.records, sealedRecord{id: at(sp[0]), record: at(sp[1]), sealed: at(sp[2]), wrapped: at(sp[3])})
		}
		batch.buf = buf
		// Copied: the buffer goes back into use once the batch is decoded.
		after = bytes.Clone(batch.records[len(batch.records)-1].id)
		select {
		case out <- batch:
		case <-ctx.Done():
			return nil // the caller says why
		}
	}
}

// openContact opens a copied record's personal data, as collection.read
// does inside a transaction, and returns its contact: empty when it has
// none, as reads give it.
func openContact(col *collection[*pb.Volunteer], ring *keyring, sr sealedRecord) (*pb.Contact, error) {
	if sr.sealed == nil {
		return &pb.Contact{}, nil
	}
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
	if c := col.takeContact(p); c != nil {
		return c, nil
	}
	return &pb.Contact{}, nil
}
