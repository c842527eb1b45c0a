package store

import (
	"errors"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A list skips records that fail the filter's non-personal part without
// decrypting them, and pages correctly across the records it skipped.
func TestListSkipsWithoutOpening(t *testing.T) {
	s, _ := newStore(t)
	const phone = "+447700900500"
	var ids, all []string
	for _, ext := range []string{"a", "b", "c", "d"} {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", ext, "AB10 1AB", phone), Idempotency{})
		mustOK(t, err, "create")
		ids = append(ids, hr.Name[len(helpRequestPrefix):])
		all = append(all, hr.Name)
	}
	for _, i := range []int{1, 3} {
		_, err := s.CancelHelpRequest(bg, ids[i])
		mustOK(t, err, "cancel")
	}
	// Damage the sealed data of the first, still OPEN, request: opening
	// it is an error, so a list that gets past it did not open it.
	err := s.db.Update(func(tx *bolt.Tx) error {
		key, err := ParseID(ids[0])
		if err != nil {
			return err
		}
		return tx.Bucket(bHelpRequests).Bucket(bContacts).Put(key, []byte{sealVersion, 0, 1, 2})
	})
	mustOK(t, err, "damage")

	f := HelpRequestFilter{Phone: phone, State: pb.HelpRequest_STATE_CANCELLED}
	page1, token, err := s.ListHelpRequests(bg, f, Page{Size: 1})
	mustOK(t, err, "page 1")
	rest := collectHR(t, s, f, token)
	if got := append(names(page1), rest...); !slices.Equal(got, []string{all[1], all[3]}) {
		t.Errorf("cancelled by phone: %v, want %v", got, []string{all[1], all[3]})
	}
	for _, hr := range page1 {
		if hr.GetRequester().GetPhone() != phone {
			t.Errorf("%s listed without its requester: %v", hr.Name, hr.Requester)
		}
	}
	if _, _, err := s.ListHelpRequests(bg, HelpRequestFilter{Phone: phone}, Page{Size: 10}); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("list that reads the damaged record: %v, want an error", err)
	}
}
