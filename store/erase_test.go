package store

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// Coordinates given by the caller (read off a map: COORDINATES_SOURCE_GIVEN)
// pin the requester's door; the server hides them from volunteers for
// that reason (volunteerView: "never the house"). Erasure removes them
// with the address: the record and the file no longer hold them.
func TestErasureDropsGivenCoordinates(t *testing.T) {
	const phone = "+447700900731"
	clock := newFakeClock()
	s, path := newStore(t, WithClock(clock.now))
	in := personalRequest("latlng", phone)
	door := &pb.LatLng{Latitude: 57.146321, Longitude: -2.098765}
	in.Location.LatLng, in.Location.CoordinatesSource = door, pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN
	hr, err := s.CreateHelpRequest(bg, in, Idempotency{})
	mustOK(t, err, "create")

	_, err = s.ErasePerson(bg, phone, clock.now())
	mustOK(t, err, "erase")
	got, err := s.GetHelpRequest(bg, idOf(hr.Name))
	mustOK(t, err, "get")
	if got.PersonalDataRemovedTime == nil {
		t.Fatal("not erased")
	}
	if ll := got.GetLocation().GetLatLng(); ll != nil && got.GetLocation().GetCoordinatesSource() == pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN &&
		ll.Latitude == door.Latitude && ll.Longitude == door.Longitude {
		t.Errorf("erased request still holds the door's given coordinates %v", ll)
	}
	mustOK(t, s.Close(), "close")
	lat := make([]byte, 8)
	binary.LittleEndian.PutUint64(lat, math.Float64bits(door.Latitude)) // protobuf doubles are little-endian
	if bytes.Contains(readFile(t, path), lat) {
		t.Errorf("the data file still holds the erased door's latitude in the clear")
	}
}

// TestRetryFinishesDueRotation: when the key rotation after an erasure
// fails, the natural next step is to retry the erasure, and the hourly
// purge runs anyway. Either finds nothing left to remove, but finishes the
// due rotation before it reports success, so the epoch that still opens
// the erased data keys' stale copies is gone from the key file.
func TestRetryFinishesDueRotation(t *testing.T) {
	const phone = "+447700900732"
	for _, tc := range []struct {
		name  string
		retry func(s *BoltStore, now time.Time) (int, error)
	}{
		{"erasure retried", func(s *BoltStore, now time.Time) (int, error) {
			res, err := s.ErasePerson(bg, phone, now)
			return len(res.HelpRequests) + len(res.Volunteers), err
		}},
		{"purge", func(s *BoltStore, now time.Time) (int, error) { return s.PurgePersonalData(bg, now, 10) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			s, path := newStore(t, WithClock(clock.now))
			keyPath := path + ".keys"
			hr, err := s.CreateHelpRequest(bg, personalRequest("retry", phone), Idempotency{})
			mustOK(t, err, "create")
			before := readRing(t, keyPath)

			// The rotation's key file write fails (here: a directory where
			// its temporary file goes; in life a full disk or an I/O error).
			mustOK(t, os.MkdirAll(filepath.Join(keyPath+".tmp", "x"), 0o700), "block the key file write")
			if _, err := s.ErasePerson(bg, phone, clock.now()); err == nil {
				t.Fatal("erasure reported no error although the rotation could not run")
			}
			mustOK(t, os.RemoveAll(keyPath+".tmp"), "unblock")

			n, err := tc.retry(s, clock.now())
			mustOK(t, err, tc.name)
			if n != 0 {
				t.Errorf("%s removed %d, want none (the request was erased already)", tc.name, n)
			}
			mustOK(t, s.view(func(tx *bolt.Tx) error {
				if tx.Bucket(bMeta).Get(kRotationDue) != nil {
					t.Error("key rotation still due")
				}
				return nil
			}), "view")
			after := readRing(t, keyPath)
			for e := range before.epochs {
				if after.epochs[e] != nil {
					t.Errorf("the key file still holds epoch %d, under which %s's erased data key was wrapped", e, hr.Name)
				}
			}
		})
	}
}

// The given coordinates of an erased or purged request give way to its
// postcode's centre, what it would hold had none been given; with a
// postcode the gazetteer does not know, to none. Coordinates that were
// the centre already stay.
func TestErasureCoordinates(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	centre := LatLng{Lat: 57.149606, Lng: -2.096916}
	known := []PostcodeUpdate{{Postcode: "AB10 1AB", At: centre}}
	_, err := s.LoadPostcodes(bg, func() (PostcodeUpdate, bool, error) {
		if len(known) == 0 {
			return PostcodeUpdate{}, false, nil
		}
		u := known[0]
		known = known[1:]
		return u, true, nil
	})
	mustOK(t, err, "load postcodes")

	door := &pb.LatLng{Latitude: 57.146321, Longitude: -2.098765}
	mk := func(marker, phone, postcode string, source pb.CoordinatesSource) *pb.HelpRequest {
		in := personalRequest(marker, phone)
		in.Location.Postcode = postcode
		in.Location.LatLng, in.Location.CoordinatesSource = proto.Clone(door).(*pb.LatLng), source
		hr, err := s.CreateHelpRequest(bg, in, Idempotency{})
		mustOK(t, err, "create")
		return hr
	}
	givenKnown := mk("known", "+447700900741", "AB10 1AB", pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN)
	givenUnknown := mk("unknown", "+447700900742", "ZZ99 9ZZ", pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN)
	centroid := mk("centroid", "+447700900743", "AB10 1AB", pb.CoordinatesSource_COORDINATES_SOURCE_POSTCODE_CENTROID)
	purged := mk("purged", "+447700900744", "AB10 1AB", pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN)
	lcMust(t, "cancel")(s.CancelHelpRequest(bg, idOf(purged.Name)))

	res, err := s.ErasePerson(bg, "+447700900741", clock.now())
	mustOK(t, err, "erase")
	if len(res.HelpRequests) != 1 || res.HelpRequests[0].GetLocation().GetCoordinatesSource() != pb.CoordinatesSource_COORDINATES_SOURCE_POSTCODE_CENTROID {
		t.Errorf("erasure's result %v: want the request at its postcode's centre", res.HelpRequests)
	}
	for _, phone := range []string{"+447700900742", "+447700900743"} {
		_, err := s.ErasePerson(bg, phone, clock.now())
		mustOK(t, err, "erase")
	}
	clock.advance(time.Hour)
	n, err := s.PurgePersonalData(bg, clock.now(), 10)
	mustOK(t, err, "purge")
	if n != 1 {
		t.Fatalf("purged %d, want 1", n)
	}

	atCentre := &pb.LatLng{Latitude: centre.Lat, Longitude: centre.Lng}
	for _, c := range []struct {
		hr     *pb.HelpRequest
		at     *pb.LatLng
		source pb.CoordinatesSource
	}{
		{givenKnown, atCentre, pb.CoordinatesSource_COORDINATES_SOURCE_POSTCODE_CENTROID},
		{givenUnknown, nil, pb.CoordinatesSource_COORDINATES_SOURCE_UNSPECIFIED},
		{centroid, door, pb.CoordinatesSource_COORDINATES_SOURCE_POSTCODE_CENTROID},
		{purged, atCentre, pb.CoordinatesSource_COORDINATES_SOURCE_POSTCODE_CENTROID},
	} {
		got, err := s.GetHelpRequest(bg, idOf(c.hr.Name))
		mustOK(t, err, "get")
		loc := got.GetLocation()
		if got.PersonalDataRemovedTime == nil || !proto.Equal(loc.GetLatLng(), c.at) || loc.GetCoordinatesSource() != c.source {
			t.Errorf("%s (%s) after erasure: lat_lng %v, %v; want %v, %v", c.hr.Name, loc.GetPostcode(), loc.GetLatLng(), loc.GetCoordinatesSource(), c.at, c.source)
		}
		if loc.GetPostcode() != c.hr.Location.Postcode || loc.GetStreet() != c.hr.Location.Street {
			t.Errorf("%s lost its postcode or street: %v", c.hr.Name, loc)
		}
	}
}
