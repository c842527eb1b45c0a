package matcher

import (
	"errors"
	"math"
	"runtime"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// Volunteer is a volunteer as the engine takes it in: what the rules,
// ranking and candidates read of a pb.Volunteer, and nothing else. It is
// filled from a message (UpsertVolunteer) or straight from a stored
// record's bytes (DecodeVolunteer), which spares the server's load at
// start the thirty-odd objects a full message costs per volunteer: at a
// million volunteers, decoding messages took a third of the load's CPU
// and made half its garbage.
type Volunteer struct {
	name, displayName, etag string
	hasLatLng               bool
	lat, lng                float64
	postcode, street        string
	maxMetres               int32
	skills                  []string
	vetting                 int32
	hasExpire               bool
	expire                  wireDate
	timeZone                string
	weekly                  []wireSlot
	away                    []wireDateRange
	capacity                int32
	active, pending         int32
	paused                  bool
	recent                  []wireTimestamp
	commitments             []wireCommitment
}

// The fields of the nested messages, as the wire carries them: the
// engine's conversions (civilDay, the slot's minutes) apply to these
// exactly as to the messages' getters.
type (
	wireDate struct{ year, month, day int32 }
	wireTime struct{ hours, minutes int32 }
	wireSlot struct {
		day        int32
		start, end wireTime
	}
	wireDateRange struct{ start, end wireDate }
	wireTimestamp struct {
		seconds int64
		nanos   int32
	}
	wireCommitment struct {
		request          string
		start, end       time.Time
		needs            []pb.Need
		street, postcode string
	}
)

// Name is the volunteer's resource name.
func (v *Volunteer) Name() string { return v.name }

// civil is the date's civilDay.
func (d wireDate) civil() int32 { return civilDay(int(d.year), time.Month(d.month), int(d.day)) }

// set fills v from a message, as UpsertVolunteer takes it, its weekly
// slots appended to room.
func (v *Volunteer) set(m *pb.Volunteer, room []wireSlot) {
	v.setFields(m)
	v.weekly = appendWeekly(room, m)
}

// setFields fills v from a message, but for its weekly slots.
func (v *Volunteer) setFields(m *pb.Volunteer) {
	*v = Volunteer{
		name: m.Name, displayName: m.GetContact().GetDisplayName(), etag: m.Etag,
		postcode: m.GetHome().GetPostcode(), street: m.GetHome().GetStreet(),
		maxMetres: m.MaxDistanceMetres, skills: m.Skills, vetting: int32(m.GetVetting().GetLevel()),
		timeZone: m.GetAvailability().GetTimeZone(), capacity: m.Capacity,
		active: m.ActiveAssignments, pending: m.PendingOffers, paused: m.Paused || m.Held,
	}
	if ll := m.GetHome().GetLatLng(); ll != nil {
		v.hasLatLng, v.lat, v.lng = true, ll.Latitude, ll.Longitude
	}
	if exp := m.GetVetting().GetExpireDate(); exp != nil {
		v.hasExpire, v.expire = true, dateOf(exp)
	}
	for _, a := range m.GetAvailability().GetAway() {
		v.away = append(v.away, wireDateRange{dateOf(a.GetStartDate()), dateOf(a.GetEndDate())})
	}
	for _, t := range m.RecentAssignmentTimes {
		v.recent = append(v.recent, wireTimestamp{t.GetSeconds(), t.GetNanos()})
	}
	for _, c := range m.Commitments {
		v.commitments = append(v.commitments, wireCommitment{c.HelpRequest, c.GetWindow().GetStartTime().AsTime(), c.GetWindow().GetEndTime().AsTime(), c.Needs,
			c.GetLocation().GetStreet(), c.GetLocation().GetPostcode()})
	}
}

// warmMessage reads ahead, level by level, the parts of m that setFields
// and upsert then read in turn: m's messages, then their strings' bytes,
// which upsert hashes before anything else. A message written to the
// store before it reaches the engine (a sync, some milliseconds, other
// calls' work between) is mostly out of the caches, and read field by
// field each part waited on the one before. The week's slots and their
// times, a level and two further, are read ahead beside the engine's
// first tables (Engine.warmUpsert), and taken in after them.
func warmMessage(m *pb.Volunteer) {
	if m == nil {
		return
	}
	c, h, a := m.Contact, m.Home, m.Availability
	sink := len(m.Skills) + firstByte(m.Name)
	if a != nil {
		sink += len(a.TimeZone) + len(a.Weekly)
	}
	if h != nil {
		sink += firstByte(h.Postcode) + firstByte(h.Street)
		if h.LatLng != nil {
			sink += int(h.LatLng.Latitude)
		}
	}
	if c != nil {
		sink += firstByte(c.DisplayName)
	}
	runtime.KeepAlive(sink) // the loads are the point
}

func firstByte(s string) int {
	if s == "" {
		return 0
	}
	return int(s[0])
}

// appendWeekly appends m's weekly slots to room.
func appendWeekly(room []wireSlot, m *pb.Volunteer) []wireSlot {
	for _, s := range m.GetAvailability().GetWeekly() {
		room = append(room, wireSlot{day: int32(s.Day), start: timeOf(s.GetStartTime()), end: timeOf(s.GetEndTime())})
	}
	return room
}

func dateOf(d *pb.Date) wireDate      { return wireDate{d.GetYear(), d.GetMonth(), d.GetDay()} }
func timeOf(t *pb.TimeOfDay) wireTime { return wireTime{t.GetHours(), t.GetMinutes()} }

// DecodeVolunteer fills v from a stored volunteer: record is the wire
// form of a pb.Volunteer (its contact, if any, is ignored), contact the
// contact stored apart from it. v's slices are reused, and nothing of
// record is kept. It is safe to call from several goroutines at once, on
// different v.
//
// The common case, a record as the store writes it, is decoded here
// field by field without making a message. Anything else (a field
// repeated, or sent with another wire type than its own, or bytes that do
// not parse) goes the long way, through a message decoded as the store
// decodes records, so that both ways agree on every input
// (FuzzDecodeVolunteerAgrees).
func DecodeVolunteer(record []byte, contact *pb.Contact, v *Volunteer) error {
	if decodeVolunteer(record, v) == nil {
		v.displayName = contact.GetDisplayName()
		return nil
	}
	m := &pb.Volunteer{}
	if err := pb.UnmarshalTrusted(record, m); err != nil {
		return err
	}
	m.Contact = contact
	v.set(m, v.weekly[:0])
	return nil
}

// errLongWay sends a record the long way (DecodeVolunteer).
var errLongWay = errors.New("matcher: record needs a full decode")

// schema is what the short way knows of a message, taken from its
// descriptor: each field's wire type (plus one; 0 for a number the
// message does not have, which is skipped) and which fields repeat. A
// known field sent with another wire type, or a singular one seen twice
// (which would be merged), goes the long way. Field numbers from 32 up
// are skipped too: none of these messages has one, and the engine reads
// none.
type schema struct {
	wire    [32]int8
	repeats uint32
}

func schemaOf(m proto.Message) *schema {
	s := &schema{}
	fields := m.ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		n := f.Number()
		if n >= protowire.Number(len(s.wire)) {
			continue
		}
		s.wire[n] = int8(wireType(f)) + 1
		if f.IsList() {
			s.repeats |= 1 << n
		}
	}
	return s
}

// wireType is the wire type a field is written with.
func wireType(f protoreflect.FieldDescriptor) protowire.Type {
	if f.IsPacked() {
		return protowire.BytesType
	}
	switch f.Kind() {
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return protowire.BytesType
	case protoreflect.GroupKind:
		return protowire.StartGroupType
	case protoreflect.DoubleKind, protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return protowire.Fixed64Type
	case protoreflect.FloatKind, protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		return protowire.Fixed32Type
	}
	return protowire.VarintType
}

// The schemas of the messages a volunteer's record holds. The decoders
// below name fields by number, with their names beside them, and were
// written for the fields these messages have now:
// TestDecodersKnowEveryField fails when one gains a field, so that the
// short way is taught it (or told to skip it) before it is misread.
var (
	volunteerSchema    = schemaOf(&pb.Volunteer{})
	locationSchema     = schemaOf(&pb.Location{})
	latLngSchema       = schemaOf(&pb.LatLng{})
	contactSchema      = schemaOf(&pb.Contact{})
	vettingSchema      = schemaOf(&pb.Vetting{})
	availabilitySchema = schemaOf(&pb.Availability{})
	slotSchema         = schemaOf(&pb.AvailabilitySlot{})
	dateRangeSchema    = schemaOf(&pb.DateRange{})
	dateSchema         = schemaOf(&pb.Date{})
	timeSchema         = schemaOf(&pb.TimeOfDay{})
	timestampSchema    = schemaOf(&timestamppb.Timestamp{})
)

// msg reads one message's fields in turn.
type msg struct {
	b    []byte
	s    *schema
	seen uint32
}

// next reads the next field's tag: ok is false at the end. A field the
// schema does not know is skipped; one it refuses is errLongWay.
func (m *msg) next() (num protowire.Number, ok bool, err error) {
	for len(m.b) > 0 {
		var typ protowire.Type
		var n int
		if c := m.b[0]; c < 0x80 && c >= 8 {
			num, typ, n = protowire.Number(c>>3), protowire.Type(c&7), 1
		} else if num, typ, n = protowire.ConsumeTag(m.b); n < 0 {
			return 0, false, errLongWay
		}
		m.b = m.b[n:]
		if num >= protowire.Number(len(m.s.wire)) || m.s.wire[num] == 0 {
			if n = protowire.ConsumeFieldValue(num, typ, m.b); n < 0 {
				return 0, false, errLongWay
			}
			m.b = m.b[n:]
			continue
		}
		bit := uint32(1) << num
		if protowire.Type(m.s.wire[num]-1) != typ || (m.s.repeats&bit == 0 && m.seen&bit != 0) {
			return 0, false, errLongWay
		}
		m.seen |= bit
		return num, true, nil
	}
	return 0, false, nil
}

func (m *msg) varint() (uint64, error) {
	if len(m.b) > 0 && m.b[0] < 0x80 {
		x := uint64(m.b[0])
		m.b = m.b[1:]
		return x, nil
	}
	x, n := protowire.ConsumeVarint(m.b)
	if n < 0 {
		return 0, errLongWay
	}
	m.b = m.b[n:]
	return x, nil
}

func (m *msg) int32() (int32, error) {
	x, err := m.varint()
	return int32(x), err
}

func (m *msg) bytes() ([]byte, error) {
	l, err := m.varint()
	if err != nil || l > uint64(len(m.b)) {
		return nil, errLongWay
	}
	b := m.b[:l]
	m.b = m.b[l:]
	return b, nil
}

func (m *msg) double() (float64, error) {
	x, n := protowire.ConsumeFixed64(m.b)
	if n < 0 {
		return 0, errLongWay
	}
	m.b = m.b[n:]
	return math.Float64frombits(x), nil
}

// decodeVolunteer is the short way: record's fields straight into v, or
// errLongWay.
func decodeVolunteer(record []byte, v *Volunteer) error {
	*v = Volunteer{skills: v.skills[:0], weekly: v.weekly[:0], away: v.away[:0], recent: v.recent[:0]}
	m := msg{b: record, s: volunteerSchema}
	for {
		num, ok, err := m.next()
		if err != nil || !ok {
			return err
		}
		switch num {
		case 4:
			v.maxMetres, err = m.int32()
		case 5: // travel_mode: the reach comes with max_distance_metres
			_, err = m.varint()
		case 9:
			v.capacity, err = m.int32()
		case 10, 19: // paused, held: either way they are offered nothing (each is read once: next sends a field twice the long way)
			var x uint64
			x, err = m.varint()
			v.paused = v.paused || x != 0
		case 15:
			v.active, err = m.int32()
		case 16:
			v.pending, err = m.int32()
		case 20: // unanswered_offers: a pause it brought is in paused
			_, err = m.varint()
		default:
			var b []byte
			if b, err = m.bytes(); err != nil {
				return err
			}
			switch num {
			case 1:
				v.name = string(b)
			case 2: // the stored contact replaces the record's own
				err = skipContact(b)
			case 3:
				err = decodeLocation(b, v)
			case 6:
				v.skills = append(v.skills, string(b))
			case 7:
				err = decodeVetting(b, v)
			case 8:
				err = decodeAvailability(b, v)
			case 11: // organisation
			case 12, 13, 21: // create_time, update_time, last_unanswered_time
				_, err = varints(b, timestampSchema)
			case 14:
				v.etag = string(b)
			case 17:
				var t wireTimestamp
				err = decodeTimestamp(b, &t)
				v.recent = append(v.recent, t)
			case 18: // commitments: few hold any, and those the long way
				err = errLongWay
			}
		}
		if err != nil {
			return err
		}
	}
}

// skipContact checks a record's own contact, which the engine does not
// read, as the long way would decode it.
func skipContact(b []byte) error {
	m := msg{b: b, s: contactSchema}
	for {
		_, ok, err := m.next()
		if err != nil || !ok {
			return err
		}
		if _, err = m.bytes(); err != nil {
			return err
		}
	}
}

func decodeLocation(b []byte, v *Volunteer) error {
	m := msg{b: b, s: locationSchema}
	for {
		num, ok, err := m.next()
		if err != nil || !ok {
			return err
		}
		if num == 5 { // coordinates_source
			if _, err = m.varint(); err != nil {
				return err
			}
			continue
		}
		var b []byte
		if b, err = m.bytes(); err != nil {
			return err
		}
		switch num {
		case 1:
			v.postcode = string(b)
		case 2:
			v.street = string(b)
		case 4:
			v.hasLatLng = true
			err = decodeLatLng(b, v)
		}
		if err != nil {
			return err
		}
	}
}

func decodeLatLng(b []byte, v *Volunteer) error {
	m := msg{b: b, s: latLngSchema}
	for {
		num, ok, err := m.next()
		if err != nil || !ok {
			return err
		}
		if num == 1 {
			v.lat, err = m.double()
		} else {
			v.lng, err = m.double()
		}
		if err != nil {
			return err
		}
	}
}

func decodeVetting(b []byte, v *Volunteer) error {
	m := msg{b: b, s: vettingSchema}
	for {
		num, ok, err := m.next()
		if err != nil || !ok {
			return err
		}
		if num == 1 {
			v.vetting, err = m.int32()
		} else {
			var b []byte
			if b, err = m.bytes(); err == nil {
				v.hasExpire = true
				err = decodeDate(b, &v.expire)
			}
		}
		if err != nil {
			return err
		}
	}
}

// varints reads a message of varints only (Date, TimeOfDay, Timestamp),
// each field's value at its number; absent fields are 0.
func varints(b []byte, s *schema) (x [4]uint64, err error) {
	m := msg{b: b, s: s}
	for {
		num, ok, err := m.next()
		if err != nil || !ok {
			return x, err
		}
		var v uint64
		if v, err = m.varint(); err != nil {
			return x, err
		}
		if int(num) < len(x) {
			x[num] = v
		}
	}
}

func decodeDate(b []byte, d *wireDate) error {
	x, err := varints(b, dateSchema)
	*d = wireDate{int32(x[1]), int32(x[2]), int32(x[3])}
	return err
}

func decodeTime(b []byte, t *wireTime) error {
	x, err := varints(b, timeSchema)
	*t = wireTime{int32(x[1]), int32(x[2])}
	return err
}

func decodeTimestamp(b []byte, t *wireTimestamp) error {
	x, err := varints(b, timestampSchema)
	*t = wireTimestamp{int64(x[1]), int32(x[2])}
	return err
}

func decodeAvailability(b []byte, v *Volunteer) error {
	m := msg{b: b, s: availabilitySchema}
	for {
		num, ok, err := m.next()
		if err != nil || !ok {
			return err
		}
		var b []byte
		if b, err = m.bytes(); err != nil {
			return err
		}
		switch num {
		case 1:
			var sl wireSlot
			err = decodeSlot(b, &sl)
			v.weekly = append(v.weekly, sl)
		case 2:
			v.timeZone = string(b)
		case 3:
			var r wireDateRange
			err = decodeDateRange(b, &r)
			v.away = append(v.away, r)
		}
		if err != nil {
			return err
		}
	}
}

func decodeSlot(b []byte, sl *wireSlot) error {
	m := msg{b: b, s: slotSchema}
	for {
		num, ok, err := m.next()
		if err != nil || !ok {
			return err
		}
		if num == 1 {
			sl.day, err = m.int32()
		} else {
			var b []byte
			if b, err = m.bytes(); err == nil {
				if num == 2 {
					err = decodeTime(b, &sl.start)
				} else {
					err = decodeTime(b, &sl.end)
				}
			}
		}
		if err != nil {
			return err
		}
	}
}

func decodeDateRange(b []byte, r *wireDateRange) error {
	m := msg{b: b, s: dateRangeSchema}
	for {
		num, ok, err := m.next()
		if err != nil || !ok {
			return err
		}
		var b []byte
		if b, err = m.bytes(); err == nil {
			if num == 1 {
				err = decodeDate(b, &r.start)
			} else {
				err = decodeDate(b, &r.end)
			}
		}
		if err != nil {
			return err
		}
	}
}
