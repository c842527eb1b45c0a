package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// MaxSameTime bounds the requests SameTimeRequests names for one request:
// enough to see that a need was taken twice (or more), never a page of
// names for a number many callers share (an office's).
const MaxSameTime = 10

// SameTimeRequests implements Store. The requester's requests are found
// as matching finds them, by the hash their phone is indexed under
// (phone_token, by_phone), and judged on the clear part of their records:
// no personal data is opened. Of each requester, the newest maxSiblings
// requests are read, once for all of ids.
func (s *BoltStore) SameTimeRequests(_ context.Context, hrs []*pb.HelpRequest, organisation string) ([][]string, error) {
	out := make([][]string, len(hrs))
	err := s.view(func(tx *bolt.Tx) error {
		top := tx.Bucket(bHelpRequests)
		tokens := top.Bucket(bPhoneToken)
		live := map[string][]spanned{} // by phone hash, for rows sharing one
		for i, r := range hrs {
			from, to, ok := timeSpan(r)
			if !ok || !liveState(r.GetState()) {
				continue // nothing to do twice
			}
			key, err := ParseID(strings.TrimPrefix(r.GetName(), "helpRequests/"))
			if err != nil {
				continue
			}
			tok := tokens.Get(key)
			if tok == nil {
				continue // no phone (erased), or deleted since
			}
			others, ok := live[string(tok)]
			if !ok {
				if others, err = liveOf(top, join(tok, nil)); err != nil {
					return err
				}
				live[string(tok)] = others
			}
			for _, o := range others {
				if len(out[i]) == MaxSameTime {
					break
				}
				// One number can be several people's, each at their own
				// home (a care worker's work mobile): a request at another
				// postcode is someone else's need, not this one taken twice.
				if o.from < to && from < o.to && !bytes.Equal(o.id, key) && (organisation == "" || o.organisation == organisation) &&
					o.postcode == r.GetLocation().GetPostcode() {
					out[i] = append(out[i], idString(o.id))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: same time requests: %w", err)
	}
	return out, nil
}

// spanned is a live request's id, organisation, postcode and time, as
// SameTimeRequests compares them.
type spanned struct {
	id           []byte // the transaction's own bytes
	organisation string
	postcode     string
	from, to     int64 // unix nanoseconds, [from, to)
}

// liveOf reads the live requests (liveState) indexed under prefix (a
// phone hash and its separator) in top, among the newest maxSiblings,
// oldest first.
func liveOf(top *bolt.Bucket, prefix []byte) ([]spanned, error) {
	var out []spanned
	cur := top.Bucket(bByPhone).Cursor()
	n := 0
	for k := lastUnder(cur, prefix); k != nil && n < maxSiblings; k = prevUnder(cur, prefix) {
		n++
		id := k[len(prefix):]
		r, err := helpRequests.readRecord(top, id)
		if err != nil {
			return nil, err
		}
		if from, to, ok := timeSpan(r); ok && liveState(r.State) {
			out = append(out, spanned{id: id, organisation: r.Organisation, postcode: r.GetLocation().GetPostcode(), from: from, to: to})
		}
	}
	slices.Reverse(out)
	return out, nil
}

// timeSpan is the time a request's help is for, [from, to) in unix
// nanoseconds: its window, or from its creation to its deadline.
func timeSpan(r *pb.HelpRequest) (from, to int64, ok bool) {
	switch {
	case r.GetWindow() != nil:
		w := r.GetWindow()
		return w.GetStartTime().AsTime().UnixNano(), w.GetEndTime().AsTime().UnixNano(), true
	case r.GetDeadline() != nil:
		return r.GetCreateTime().AsTime().UnixNano(), r.GetDeadline().AsTime().UnixNano(), true
	}
	return 0, 0, false
}
