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
// The volunteers differ in shape (more or fewer slots, skills, away dates
// and address lines than the one before), and their bytes share a buffer
// that later batches reuse: anything decoded that pointed into it, or
// anything carried over from one to the next, would show.
func TestEachVolunteerMatchesList(t *testing.T) {
	s, _ := newStore(t)
	n := 2*eachBatch + 37 // three batches, the last one short
	for i := range n {
		v := newVolunteer("org-a", "AB10 1AF", fmt.Sprintf("+4477005%05d", i), []string{"driver", "dog-friendly", "welsh"}[:i%4]...)
		if i%3 == 0 {
			v.Home.AddressLines = []string{fmt.Sprintf("%d Union Street", i), "Aberdeen"}[:1+i%2]
		}
		if i%5 == 0 {
			v.Contact = nil // no contact at all: nothing sealed
		}
		if i%7 != 0 {
			v.Availability = &pb.Availability{TimeZone: "Europe/London"}
			for d := range i % 6 {
				v.Availability.Weekly = append(v.Availability.Weekly, &pb.AvailabilitySlot{
					Day: pb.DayOfWeek(d + 1), StartTime: &pb.TimeOfDay{Hours: int32(8 + i%3), Minutes: int32(i % 2 * 30)}, EndTime: &pb.TimeOfDay{Hours: 17},
				})
			}
			if i%11 == 0 {
				v.Availability.Away = []*pb.DateRange{{StartDate: &pb.Date{Year: 2026, Month: 12, Day: 1}, EndDate: &pb.Date{Year: 2026, Month: 12, Day: 2 + int32(i%20)}}}
			}
		}
		_, err := s.CreateVolunteer(bg, v, Idempotency{})
		mustOK(t, err, "create volunteer")
	}
	want := listAllVol(t, s, VolunteerFilter{}, 500)
	if count, err := s.CountVolunteers(bg); err != nil || count != n {
		t.Fatalf("CountVolunteers = %d, %v; want %d", count, err, n)
	}
	// Each read transaction copies out eachBatch records, no more: a
	// transaction held longer keeps writers from reusing pages.
	batches := make(chan sealedBatch, 10)
	mustOK(t, s.readSealed(bg, volunteers, eachBatch, batches, nil), "read")
	close(batches)
	var sizes []int
	for b := range batches {
		sizes = append(sizes, len(b.records))
	}
	if !slices.Equal(sizes, []int{eachBatch, eachBatch, 37}) {
		t.Errorf("batches of %v records, want %v", sizes, []int{eachBatch, eachBatch, 37})
	}
	// First in full batches, with a key rotation made by fn during the
	// walk; then in batches of 50, so that later batches reuse the buffers
	// of earlier ones.
	epoch := keyEpoch(t, s)
	for _, size := range []int{eachBatch, 50} {
		var got []*pb.Volunteer
		var calls, inside atomic.Int32
		err := s.eachVolunteer(bg, size, func(record []byte, c *pb.Contact) (func() error, error) {
			v := &pb.Volunteer{}
			if err := pb.UnmarshalTrusted(record, v); err != nil {
				return nil, err
			}
			if v.Contact != nil || len(v.GetHome().GetAddressLines()) > 0 {
				t.Errorf("record %s holds personal data", v.Name)
			}
			v.Contact = c
			return func() error {
				if inside.Add(1) != 1 {
					t.Error("decode's functions called from two goroutines at once")
				}
				defer inside.Add(-1)
				if calls.Add(1) == 1 && size == eachBatch {
					mustOK(t, s.rotateKeys(), "rotate")
				}
				got = append(got, v)
				return nil
			}, nil
		})
		mustOK(t, err, "each volunteer")
		if size == eachBatch && keyEpoch(t, s) == epoch {
			t.Fatal("no rotation")
		}
		checkSameVolunteers(t, got, want, n)
	}
}

// checkSameVolunteers fails unless got and want hold the same n
// volunteers, in any order, address lines aside (EachVolunteer does not
// open them), with TestEachVolunteerMatchesList's mix of phones and slots.
func checkSameVolunteers(t *testing.T, got, want []*pb.Volunteer, n int) {
	t.Helper()
	want = slices.Clone(want)
	for i, v := range want {
		if len(v.GetHome().GetAddressLines()) > 0 {
			v = proto.Clone(v).(*pb.Volunteer)
			v.Home.AddressLines = nil
			want[i] = v
		}
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
	// Both could lack what was sealed, or the slots, and still be equal:
	// count them.
	phones, slots := 0, 0
	for _, v := range got {
		if v.GetContact().GetPhone() != "" {
			phones++
		}
		slots += len(v.GetAvailability().GetWeekly())
	}
	if wantPhones := n - (n+4)/5; phones != wantPhones {
		t.Errorf("%d phones opened, want %d", phones, wantPhones)
	}
	if slots < n {
		t.Errorf("%d weekly slots among %d volunteers: the test means to vary them", slots, n)
	}
}

// An error from decode or from what it returns, or a cancelled context,
// stops the walk and is returned; nothing more is called.
func TestEachVolunteerStops(t *testing.T) {
	s, _ := newStore(t)
	for i := range eachBatch + 10 {
		_, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AF", fmt.Sprintf("+4477004%05d", i)), Idempotency{})
		mustOK(t, err, "create volunteer")
	}
	stop := errors.New("enough")
	calls := 0
	each := func(ctx context.Context, fn func() error) error {
		return s.EachVolunteer(ctx, func([]byte, *pb.Contact) (func() error, error) { return fn, nil })
	}
	err := each(bg, func() error {
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
	err = each(ctx, func() error {
		if calls++; calls == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 3 {
		t.Errorf("after cancel: err = %v after %d calls, want %v after 3", err, calls, context.Canceled)
	}
	var decodes atomic.Int32
	calls = 0
	err = s.EachVolunteer(bg, func([]byte, *pb.Contact) (func() error, error) {
		if decodes.Add(1) == eachBatch+5 {
			return nil, stop
		}
		return func() error { calls++; return nil }, nil
	})
	if !errors.Is(err, stop) || calls >= eachBatch+5 {
		t.Errorf("after decode failed: err = %v after %d calls, want %v before %d", err, calls, stop, eachBatch+5)
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
	mustOK(t, s.readSealed(bg, volunteers, eachBatch, batches, nil), "read")
	close(batches)
	mustOK(t, s.rotateKeys(), "rotate")
	opened := 0
	for batch := range batches {
		for _, sr := range batch.records {
			c, err := openContact(volunteers, batch.ring, sr)
			mustOK(t, err, "open with the batch's keyring")
			want, err := s.GetVolunteer(bg, idString(sr.id))
			mustOK(t, err, "get")
			if !proto.Equal(c, want.Contact) || c.Phone == "" {
				t.Errorf("opened %v\nwant %v", c, want.Contact)
			}
			if _, err := openContact(volunteers, s.ring.Load(), sr); !errors.Is(err, errKeyEpochUnknown) {
				t.Errorf("the keyring now published opened a data key of the dropped epoch: %v", err)
			}
			opened++
		}
	}
	if opened != 5 {
		t.Errorf("opened %d volunteers, want 5", opened)
	}
}
