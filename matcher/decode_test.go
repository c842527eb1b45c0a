package matcher

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// equalVolunteer compares two taken-in volunteers, an empty slice
// equal to none, and coordinates bit for bit (NaN too).
func equalVolunteer(a, b *Volunteer) bool {
	return a.name == b.name && a.displayName == b.displayName && a.etag == b.etag &&
		a.hasLatLng == b.hasLatLng && math.Float64bits(a.lat) == math.Float64bits(b.lat) && math.Float64bits(a.lng) == math.Float64bits(b.lng) &&
		a.postcode == b.postcode && a.street == b.street && a.maxMetres == b.maxMetres &&
		slices.Equal(a.skills, b.skills) && a.vetting == b.vetting && a.hasExpire == b.hasExpire && a.expire == b.expire &&
		a.timeZone == b.timeZone && slices.Equal(a.weekly, b.weekly) && slices.Equal(a.away, b.away) &&
		a.capacity == b.capacity && a.active == b.active && a.pending == b.pending && a.paused == b.paused &&
		slices.Equal(a.recent, b.recent) &&
		slices.EqualFunc(a.commitments, b.commitments, func(x, y wireCommitment) bool {
			return x.request == y.request && x.start.Equal(y.start) && x.end.Equal(y.end) && slices.Equal(x.needs, y.needs) &&
				x.street == y.street && x.postcode == y.postcode
		})
}

// storedVolunteers are volunteers as a store keeps them, varied in every
// field, with what the engine does not read (organisation, times, address
// lines, a field from a newer version) set too, and contacts apart.
func storedVolunteers(n int) (records [][]byte, contacts []*pb.Contact) {
	rng := rand.New(rand.NewPCG(71, 72))
	for i := range n {
		v := tagMixVolunteer(i, rng)
		v.Commitments = nil // the few who hold jobs go the long way (TestDecodeCommitments)
		v.Etag = fmt.Sprint(rng.IntN(100000))
		v.Organisation = "aberdeen-mutual-aid"
		v.TravelMode = pb.TravelMode(rng.IntN(4))
		v.CreateTime = timestamppb.New(now.Add(-time.Duration(i) * time.Hour))
		v.UpdateTime = timestamppb.New(now)
		v.PendingOffers = int32(rng.IntN(2))
		v.Held = i%9 == 0 // with paused set or not
		v.UnansweredOffers = int32(rng.IntN(4))
		if v.UnansweredOffers > 0 {
			v.LastUnansweredTime = timestamppb.New(now.Add(-time.Duration(i) * time.Minute))
		}
		if i%4 == 0 {
			v.Home.AddressLines = []string{"Flat 2", "1 Union Street"}
			v.Home.CoordinatesSource = pb.CoordinatesSource_COORDINATES_SOURCE_POSTCODE_CENTROID
		}
		if i%5 == 0 {
			v.RecentAssignmentTimes = []*timestamppb.Timestamp{timestamppb.New(now.Add(-time.Hour)), {Seconds: -5, Nanos: 7}}
		}
		if i%7 == 0 {
			v.Home.LatLng = nil
		}
		if i%9 == 0 {
			v.Availability = nil
		}
		if i%11 == 0 {
			v.Vetting = &pb.Vetting{ExpireDate: &pb.Date{}} // present, though empty
		}
		c := v.Contact
		c.DisplayName = fmt.Sprintf("Neighbour %d", i)
		v.Contact = nil
		if i%13 == 0 {
			v.Contact = &pb.Contact{DisplayName: "stale", Phone: "+441224000000"} // the stored one wins
		}
		if i%17 == 0 {
			v.ProtoReflect().SetUnknown(protowire.AppendString(protowire.AppendTag(nil, 99, protowire.BytesType), "from a newer version"))
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(v)
		if err != nil {
			panic(err)
		}
		records, contacts = append(records, b), append(contacts, c)
	}
	return records, contacts
}

// longWay is what the long way makes of record.
func longWay(record []byte, contact *pb.Contact) (*Volunteer, error) {
	m := &pb.Volunteer{}
	if err := pb.UnmarshalTrusted(record, m); err != nil {
		return nil, err
	}
	m.Contact = contact
	var v Volunteer
	v.set(m, nil)
	return &v, nil
}

// TestDecodeVolunteerTakesTheShortWay: records as the store writes them
// decode without a message, to what a message gives, one after another
// into the same Volunteer, so that nothing carries over.
func TestDecodeVolunteerTakesTheShortWay(t *testing.T) {
	records, contacts := storedVolunteers(500)
	var v Volunteer
	for i, b := range records {
		if err := decodeVolunteer(b, &v); err != nil {
			t.Fatalf("record %d went the long way: %v", i, err)
		}
		v.displayName = contacts[i].GetDisplayName()
		want, err := longWay(b, contacts[i])
		if err != nil {
			t.Fatal(err)
		}
		if !equalVolunteer(&v, want) {
			t.Fatalf("record %d:\n short %+v\n long  %+v", i, v, *want)
		}
	}
}

// FuzzDecodeVolunteerAgrees: on any bytes, DecodeVolunteer gives what the
// long way gives, or fails where it fails; and where the short way
// answers at all, it agrees.
func FuzzDecodeVolunteerAgrees(f *testing.F) {
	records, _ := storedVolunteers(40)
	for _, b := range records {
		f.Add(b)
	}
	// A field twice (merged, or last one wins), and a field sent with
	// another wire type than its own.
	f.Add(append(slices.Clone(records[1]), records[2]...))
	f.Add(protowire.AppendVarint(protowire.AppendTag(slices.Clone(records[3]), 14, protowire.VarintType), 5))
	f.Add(protowire.AppendBytes(protowire.AppendTag(nil, 9, protowire.BytesType), []byte("x")))
	// Paused, then not: the last one written wins, and the same for held.
	for _, num := range []protowire.Number{10, 19} {
		b := protowire.AppendVarint(protowire.AppendTag(slices.Clone(records[4]), num, protowire.VarintType), 1)
		f.Add(protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), 0))
	}
	contact := &pb.Contact{DisplayName: "Ann"}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got Volunteer
		err := DecodeVolunteer(b, contact, &got)
		want, wantErr := longWay(b, contact)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("DecodeVolunteer: %v; the long way: %v", err, wantErr)
		}
		if err == nil && !equalVolunteer(&got, want) {
			t.Fatalf("got  %+v\nwant %+v", got, *want)
		}
		var short Volunteer
		if decodeVolunteer(b, &short) == nil {
			short.displayName = contact.DisplayName
			if wantErr != nil || !equalVolunteer(&short, want) {
				t.Fatalf("the short way answered %+v; the long way %+v, %v", short, want, wantErr)
			}
		}
	})
}

// BenchmarkDecodeVolunteer takes in stored records the short way, as the
// server's load does, and the long way, through a message.
func BenchmarkDecodeVolunteer(b *testing.B) {
	records, contacts := storedVolunteers(1000)
	b.Run("short", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			var v Volunteer
			if err := DecodeVolunteer(records[i%len(records)], contacts[i%len(records)], &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("long", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := longWay(records[i%len(records)], contacts[i%len(records)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestDecodersKnowEveryField: the short way reads fields by number,
// written for the fields below. A field added to one of these messages
// fails this test until decode.go handles it (or skips it, checked as
// the long way would) and the list is brought up to date.
func TestDecodersKnowEveryField(t *testing.T) {
	for _, tt := range []struct {
		m    proto.Message
		want []protowire.Number
	}{
		{&pb.Volunteer{}, []protowire.Number{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21}},
		{&pb.Location{}, []protowire.Number{1, 2, 3, 4, 5}},
		{&pb.LatLng{}, []protowire.Number{1, 2}},
		{&pb.Contact{}, []protowire.Number{1, 2}},
		{&pb.Vetting{}, []protowire.Number{1, 2}},
		{&pb.Availability{}, []protowire.Number{1, 2, 3}},
		{&pb.AvailabilitySlot{}, []protowire.Number{1, 2, 3}},
		{&pb.DateRange{}, []protowire.Number{1, 2}},
		{&pb.Date{}, []protowire.Number{1, 2, 3}},
		{&pb.TimeOfDay{}, []protowire.Number{1, 2}},
		{&timestamppb.Timestamp{}, []protowire.Number{1, 2}},
	} {
		fields := tt.m.ProtoReflect().Descriptor().Fields()
		var got []protowire.Number
		for i := range fields.Len() {
			got = append(got, fields.Get(i).Number())
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s has fields %v; the short way was written for %v", tt.m.ProtoReflect().Descriptor().FullName(), got, tt.want)
		}
	}
}

// TestDecodeCommitments: a record with commitments, which few have, goes
// the long way, and decodes to what a message gives.
func TestDecodeCommitments(t *testing.T) {
	rng := rand.New(rand.NewPCG(73, 74))
	for i := range 200 {
		m := tagMixVolunteer(i, rng)
		if len(m.Commitments) == 0 {
			continue
		}
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var v Volunteer
		if err := DecodeVolunteer(b, m.Contact, &v); err != nil {
			t.Fatal(err)
		}
		want, err := longWay(b, m.Contact)
		if err != nil {
			t.Fatal(err)
		}
		if !equalVolunteer(&v, want) || len(v.commitments) != len(m.Commitments) {
			t.Fatalf("record %d:\n got  %+v\n want %+v", i, v.commitments, want.commitments)
		}
	}
}
