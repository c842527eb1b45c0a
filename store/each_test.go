package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// EachVolunteer hands over every volunteer exactly as ListVolunteers does,
// contact and address included, across batches, and across a key rotation
// made while it runs: batches read before it must still open with the
// epoch their data keys were wrapped under, which the rotation drops.
func TestEachVolunteerMatchesList(t *testing.T) {
	s, _ := newStore(t)
	n := 2*eachBatch + 37 // three batches, the last one short
	for i := range n {
		v := newVolunteer("org-a", "AB10 1AF", fmt.Sprintf("+4477005%05d", i), "driver")
		if i%3 == 0 {
			v.Home.AddressLines = []string{fmt.Sprintf("%d Union Street", i)}
		}
		if i%5 == 0 {
			v.Contact = nil // no contact at all: nothing sealed
		}
		_, err := s.CreateVolunteer(bg, v, Idempotency{})
		mustOK(t, err, "create volunteer")
	}
	want := listAllVol(t, s, VolunteerFilter{}, 500)
	if count, err := s.CountVolunteers(bg); err != nil || count != n {
		t.Fatalf("CountVolunteers = %d, %v; want %d", count, err, n)
	}
	epoch := keyEpoch(t, s)
	var got []*pb.Volunteer
	var calls, inside atomic.Int32
	err := s.EachVolunteer(bg, func(v *pb.Volunteer) error {
		if inside.Add(1) != 1 {
			t.Error("fn called from two goroutines at once")
		}
		defer inside.Add(-1)
		if calls.Add(1) == 1 {
			mustOK(t, s.rotateKeys(), "rotate")
		}
		got = append(got, v)
		return nil
	})
	mustOK(t, err, "each volunteer")
	if keyEpoch(t, s) == epoch {
		t.Fatal("no rotation")
	}
	if len(got) != n || len(want) != n {
		t.Fatalf("each gave %d volunteers and list %d, want %d", len(got), len(want), n)
	}
	byName := func(a, b *pb.Volunteer) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(got, byName)
	slices.SortFunc(want, byName)
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("volunteer %d:\n each %v\n list %v", i, got[i], want[i])
		}
	}
	// Both could lack what was sealed and still be equal: count it.
	phones, addresses := 0, 0
	for _, v := range got {
		if v.GetContact().GetPhone() != "" {
			phones++
		}
		if len(v.GetHome().GetAddressLines()) > 0 {
			addresses++
		}
	}
	if wantPhones, wantAddresses := n-(n+4)/5, (n+2)/3; phones != wantPhones || addresses != wantAddresses {
		t.Errorf("%d phones and %d address lines opened, want %d and %d", phones, addresses, wantPhones, wantAddresses)
	}
}

// An error from fn, or a cancelled context, stops the walk and is
// returned; fn is not called again.
func TestEachVolunteerStops(t *testing.T) {
	s, _ := newStore(t)
	for i := range eachBatch + 10 {
		_, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AF", fmt.Sprintf("+4477004%05d", i)), Idempotency{})
		mustOK(t, err, "create volunteer")
	}
	stop := errors.New("enough")
	calls := 0
	err := s.EachVolunteer(bg, func(*pb.Volunteer) error {
		calls++
		if calls == 7 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 7 {
		t.Errorf("after fn failed: err = %v after %d calls, want %v after 7", err, calls, stop)
	}
	ctx, cancel := context.WithCancel(bg)
	calls = 0
	err = s.EachVolunteer(ctx, func(*pb.Volunteer) error {
		if calls++; calls == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 3 {
		t.Errorf("after cancel: err = %v after %d calls, want %v after 3", err, calls, context.Canceled)
	}
}

// A batch read before a key rotation still opens afterwards, with the
// keyring its transaction saw, though the keyring now published has
// dropped the epoch its data keys were wrapped under.
func TestSealedBatchOpensAfterRotation(t *testing.T) {
	s, _ := newStore(t)
	for i := range 5 {
		_, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AF", fmt.Sprintf("+4477003%05d", i)), Idempotency{})
		mustOK(t, err, "create volunteer")
	}
	batches := make(chan sealedBatch, 10)
	mustOK(t, s.readSealed(bg, volunteers, batches), "read")
	close(batches)
	mustOK(t, s.rotateKeys(), "rotate")
	opened := 0
	for batch := range batches {
		for _, sr := range batch.records {
			v, err := openSealed(volunteers, batch.ring, sr)
			mustOK(t, err, "open with the batch's keyring")
			want, err := s.GetVolunteer(bg, idString(sr.id))
			mustOK(t, err, "get")
			if !proto.Equal(v, want) {
				t.Errorf("opened %v\nwant %v", v, want)
			}
			if _, err := openSealed(volunteers, s.ring.Load(), sr); !errors.Is(err, errKeyEpochUnknown) {
				t.Errorf("the keyring now published opened a data key of the dropped epoch: %v", err)
			}
			opened++
		}
	}
	if opened != 5 {
		t.Errorf("opened %d volunteers, want 5", opened)
	}
}
