package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// collection is what differs between help requests and volunteers; the
// create, read, update, delete and list logic over it is shared.
type collection[T proto.Message] struct {
	bucket   []byte
	prefix   string // resource name prefix
	idemKind string
	noun     string // for error context
	newRec   func() T
	// takeContact removes the contact from r and returns it.
	takeContact func(r T) *pb.Contact
	setContact  func(r T, c *pb.Contact)
	// meta reads and stamps the fields the store owns.
	name  func(r T) string
	etag  func(r T) string
	stamp func(r T, name, etag string, created, updated *timestamppb.Timestamp)
	// keep copies from the stored record what an update may not change.
	keep func(dst, stored T)
	// onCreate sets initial state.
	onCreate func(r T)
	// indexes are the secondary index entries of a record.
	indexes func(id []byte, r T, c *pb.Contact) []index
	// unique is an index entry that must not exist yet, or nil.
	unique func(r T) *index
	// deletable, when set, refuses to delete a record still in use.
	deletable func(r T) error
	// onRemove, when set, deletes what belongs to a record being deleted,
	// in the same transaction.
	onRemove func(w *writeTx, id []byte) error
	// event names a record in an event of type t; created, updated and
	// deleted are the types its create, update and delete log.
	event                     func(t pb.Event_Type, r T) *pb.Event
	created, updated, deleted pb.Event_Type
}

func (col *collection[T]) read(top *bolt.Bucket, id []byte) (T, *pb.Contact, error) {
	var zero T
	r := col.newRec()
	ok, err := getProto(top.Bucket(bRecords), id, r)
	if err != nil {
		return zero, nil, err
	}
	if !ok {
		return zero, nil, ErrNotFound
	}
	c := &pb.Contact{}
	if _, err := getProto(top.Bucket(bContacts), id, c); err != nil {
		return zero, nil, err
	}
	return r, c, nil
}

func (col *collection[T]) write(w *writeTx, top *bolt.Bucket, id []byte, r T, c *pb.Contact) error {
	if err := putProto(w, top.Bucket(bRecords), id, r); err != nil {
		return err
	}
	if err := putProto(w, top.Bucket(bContacts), id, c); err != nil {
		return err
	}
	return putAll(w, top, col.indexes(id, r, c))
}

func (col *collection[T]) create(ctx context.Context, s *BoltStore, in T, idem Idempotency) (T, error) {
	var zero T
	rec := proto.Clone(in).(T)
	contact := col.takeContact(rec)
	if contact == nil {
		contact = &pb.Contact{}
	}
	var out T
	err := s.c.do(ctx, func(w *writeTx) error {
		out = zero
		top := w.tx.Bucket(col.bucket)
		if idem.RequestID != "" {
			id, found, err := lookupIdempotency(w.tx, col.idemKind, idem)
			if err != nil {
				return err
			}
			if found {
				r, c, err := col.read(top, id)
				if errors.Is(err, ErrNotFound) {
					return ErrRequestIDGone
				}
				if err != nil {
					return err
				}
				col.setContact(r, c)
				out = r
				return nil
			}
		}
		if u := col.unique(rec); u != nil && top.Bucket(u.bucket).Get(u.key) != nil {
			return ErrExternalIDExists
		}
		now := s.now()
		uid, err := s.ids.next(now)
		if err != nil {
			return err
		}
		id := uid[:]
		rev, err := bumpRevision(w)
		if err != nil {
			return err
		}
		r := proto.Clone(rec).(T)
		col.onCreate(r)
		col.stamp(r, col.prefix+idString(id), etagOf(rev), timestamp(now), timestamp(now))
		if err := col.write(w, top, id, r, contact); err != nil {
			return err
		}
		if u := col.unique(r); u != nil {
			if err := w.put(top.Bucket(u.bucket), u.key, id); err != nil {
				return err
			}
		}
		if idem.RequestID != "" {
			if err := recordIdempotency(w, col.idemKind, idem, id); err != nil {
				return err
			}
		}
		if err := emit(w, col.event(col.created, r), now); err != nil {
			return err
		}
		col.setContact(r, proto.Clone(contact).(*pb.Contact))
		out = r
		return nil
	})
	if err != nil {
		return zero, fmt.Errorf("store: create %s: %w", col.noun, err)
	}
	return out, nil
}

func (col *collection[T]) get(s *BoltStore, id string) (T, error) {
	var zero T
	key, err := ParseID(id)
	if err != nil {
		return zero, fmt.Errorf("store: get %s: %w", col.noun, ErrNotFound)
	}
	var out T
	err = s.view(func(tx *bolt.Tx) error {
		r, c, err := col.read(tx.Bucket(col.bucket), key)
		if err != nil {
			return err
		}
		col.setContact(r, c)
		out = r
		return nil
	})
	if err != nil {
		return zero, fmt.Errorf("store: get %s: %w", col.noun, err)
	}
	return out, nil
}

func (col *collection[T]) update(ctx context.Context, s *BoltStore, in T) (T, error) {
	var zero T
	key, err := idFromName(col.name(in), col.prefix)
	if err != nil {
		return zero, fmt.Errorf("store: update %s: %w", col.noun, err)
	}
	rec := proto.Clone(in).(T)
	contact := col.takeContact(rec)
	if contact == nil {
		contact = &pb.Contact{}
	}
	var out T
	err = s.c.do(ctx, func(w *writeTx) error {
		out = zero
		top := w.tx.Bucket(col.bucket)
		cur, curContact, err := col.read(top, key)
		if err != nil {
			return err
		}
		if col.etag(cur) != col.etag(rec) {
			return ErrEtagMismatch
		}
		rev, err := bumpRevision(w)
		if err != nil {
			return err
		}
		if err := deleteAll(w, top, col.indexes(key, cur, curContact)); err != nil {
			return err
		}
		r := proto.Clone(rec).(T)
		col.keep(r, cur)
		now := s.now()
		col.stamp(r, col.name(cur), etagOf(rev), nil, timestamp(now))
		if err := col.write(w, top, key, r, contact); err != nil {
			return err
		}
		if err := emit(w, col.event(col.updated, r), now); err != nil {
			return err
		}
		col.setContact(r, proto.Clone(contact).(*pb.Contact))
		out = r
		return nil
	})
	if err != nil {
		return zero, fmt.Errorf("store: update %s: %w", col.noun, err)
	}
	return out, nil
}

func (col *collection[T]) remove(ctx context.Context, s *BoltStore, id, etag string) error {
	key, err := ParseID(id)
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", col.noun, ErrNotFound)
	}
	err = s.c.do(ctx, func(w *writeTx) error {
		top := w.tx.Bucket(col.bucket)
		cur, curContact, err := col.read(top, key)
		if err != nil {
			return err
		}
		if etag != "" && col.etag(cur) != etag {
			return ErrEtagMismatch
		}
		if col.deletable != nil {
			if err := col.deletable(cur); err != nil {
				return err
			}
		}
		if _, err := bumpRevision(w); err != nil {
			return err
		}
		if err := emit(w, col.event(col.deleted, cur), s.now()); err != nil {
			return err
		}
		if err := deleteAll(w, top, col.indexes(key, cur, curContact)); err != nil {
			return err
		}
		if u := col.unique(cur); u != nil {
			if err := w.delete(top.Bucket(u.bucket), u.key); err != nil {
				return err
			}
		}
		if err := w.delete(top.Bucket(bContacts), key); err != nil {
			return err
		}
		if col.onRemove != nil {
			if err := col.onRemove(w, key); err != nil {
				return err
			}
		}
		return w.delete(top.Bucket(bRecords), key)
	})
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", col.noun, err)
	}
	return nil
}

// scan says how to walk a list: which bucket, under which key prefix, and
// what every record must also match. The filter key is what the page token
// is bound to.
type scan[T proto.Message] struct {
	index     []byte // nil: walk the records themselves
	prefix    []byte
	match     func(r T, c *pb.Contact) bool
	filterKey string
}

// maxScanned bounds the keys one List call reads, so that a selective
// filter cannot hold a read transaction open across a large collection;
// the caller gets a short page and a token to go on.
const maxScanned = 10000

const pageTokenVersion = 1

// A page token is version(1) filter-hash(4) resume-suffix, base64url. The
// suffix is the part of the last key after the scan prefix, so it never
// holds the phone number or organisation being filtered on.
func encodeToken(filterKey string, suffix []byte) string {
	b := make([]byte, 5, 5+len(suffix))
	b[0] = pageTokenVersion
	binary.BigEndian.PutUint32(b[1:], filterHash(filterKey))
	return base64.RawURLEncoding.EncodeToString(append(b, suffix...))
}

func decodeToken(token, filterKey string) ([]byte, error) {
	if token == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 5 || b[0] != pageTokenVersion || binary.BigEndian.Uint32(b[1:5]) != filterHash(filterKey) {
		return nil, ErrBadPageToken
	}
	return b[5:], nil
}

func filterHash(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return h.Sum32()
}

func (col *collection[T]) list(s *BoltStore, sc scan[T], p Page) ([]T, string, error) {
	if p.Size < 1 {
		return nil, "", fmt.Errorf("store: list %s: page size %d", col.noun, p.Size)
	}
	resume, err := decodeToken(p.Token, sc.filterKey)
	if err != nil {
		return nil, "", fmt.Errorf("store: list %s: %w", col.noun, err)
	}
	var out []T
	var next string
	err = s.view(func(tx *bolt.Tx) error {
		top := tx.Bucket(col.bucket)
		walk := top.Bucket(bRecords)
		if sc.index != nil {
			walk = top.Bucket(sc.index)
		}
		cur := walk.Cursor()
		start := append(bytes.Clone(sc.prefix), resume...)
		k, _ := cur.Seek(start)
		if resume != nil && bytes.Equal(k, start) {
			k, _ = cur.Next()
		}
		for scanned := 0; k != nil && bytes.HasPrefix(k, sc.prefix); k, _ = cur.Next() {
			// Stopping with k unread: resume after the last key read.
			if len(out) == p.Size || scanned == maxScanned {
				next = encodeToken(sc.filterKey, resume)
				return nil
			}
			scanned++
			id := k
			if sc.index != nil {
				if len(k) < 16 {
					return fmt.Errorf("index key of %d bytes", len(k))
				}
				id = k[len(k)-16:]
			}
			r, c, err := col.read(top, id)
			if err != nil {
				return err
			}
			if sc.match(r, c) {
				col.setContact(r, c)
				out = append(out, r)
			}
			resume = k[len(sc.prefix):]
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list %s: %w", col.noun, err)
	}
	return out, next, nil
}
