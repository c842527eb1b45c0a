package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// ---------------------------------------------------------------------------
// Helpers.

var bg = context.Background()

const samplePath = "../testdata/onspd_aberdeen_sample.csv"

// openAt opens the store at path and closes it when the test ends (a second
// Close is harmless, so tests may close it themselves).
func openAt(t testing.TB, path string, opts ...Option) *BoltStore {
	t.Helper()
	s, err := Open(path, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// newStore opens a store in a new file. Its clock is a fakeClock unless
// opts give another: newHelpRequest's window lies in March 2026, and a
// request whose window has passed cannot be accepted.
func newStore(t testing.TB, opts ...Option) (*BoltStore, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doorstep.db")
	return openAt(t, path, append([]Option{WithClock(newFakeClock().now)}, opts...)...), path
}

// fakeClock advances one second on every reading, so that every create and
// update gets a distinct, known time.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func (c *fakeClock) last() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func newHelpRequest(org, ext, postcode, phone string) *pb.HelpRequest {
	return &pb.HelpRequest{
		Needs:          []pb.Need{pb.Need_NEED_GROCERY_SHOPPING, pb.Need_NEED_PRESCRIPTION_COLLECTION},
		Details:        "Weekly shop, and the prescription waiting at the pharmacy on Union Street.",
		RequiredSkills: []string{"driver"},
		Urgency:        pb.Urgency_URGENCY_HIGH,
		Timing: &pb.HelpRequest_Window{Window: &pb.TimeWindow{
			StartTime: timestamppb.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)),
			EndTime:   timestamppb.New(time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC)),
		}},
		Location: &pb.Location{
			Postcode:     postcode,
			Street:       "Union Street",
			AddressLines: []string{"Flat 2", "12 Union Street"},
			LatLng:       &pb.LatLng{Latitude: 57.1496, Longitude: -2.0969},
		},
		Requester:     &pb.Contact{DisplayName: "Morag", Phone: phone},
		Vulnerability: &pb.Vulnerability{},
		Organisation:  org,
		ExternalId:    ext,
	}
}

func newVolunteer(org, postcode, phone string, skills ...string) *pb.Volunteer {
	return &pb.Volunteer{
		Contact:           &pb.Contact{DisplayName: "Callum", Phone: phone},
		Home:              &pb.Location{Postcode: postcode, LatLng: &pb.LatLng{Latitude: 57.14, Longitude: -2.1}},
		MaxDistanceMetres: 5000,
		TravelMode:        pb.TravelMode_TRAVEL_MODE_CYCLING,
		Skills:            skills,
		Capacity:          2,
		Organisation:      org,
	}
}

func mustErr(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

func mustOK(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// checkName checks that name is prefix followed by a well-formed id and
// returns the id.
func checkName(t testing.TB, name, prefix string) string {
	t.Helper()
	id, ok := strings.CutPrefix(name, prefix)
	if !ok {
		t.Fatalf("name %q lacks prefix %q", name, prefix)
	}
	if len(id) != 26 {
		t.Fatalf("id %q has %d characters, want 26", id, len(id))
	}
	for _, r := range id {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z') {
			t.Fatalf("id %q has %q: want only lower-case letters and digits", id, r)
		}
	}
	if _, err := ParseID(id); err != nil {
		t.Fatalf("ParseID(%q): %v", id, err)
	}
	return id
}

func mustKey(t testing.TB, id string) []byte {
	t.Helper()
	k, err := ParseID(id)
	if err != nil {
		t.Fatalf("ParseID(%q): %v", id, err)
	}
	return k
}

// kind gives the generic tests what differs between help requests and
// volunteers.
type kind[T proto.Message] struct {
	col     *collection[T]
	make    func(i int, org, ext, postcode, phone string) T
	create  func(*BoltStore, context.Context, T, Idempotency) (T, error)
	get     func(*BoltStore, context.Context, string) (T, error)
	update  func(*BoltStore, context.Context, T) (T, error)
	remove  func(*BoltStore, context.Context, string, string) error
	contact func(T) *pb.Contact
	times   func(T) (created, updated *timestamppb.Timestamp)
	// postcode and setPostcode reach the indexed location.
	postcode    func(T) string
	setPostcode func(T, string)
	setPhone    func(T, string)
	setOrg      func(T, string)
	setCreated  func(T, *timestamppb.Timestamp)
	org         func(T) string
	// listByPostcode and listByPhone list by one filter, all pages.
	listByPostcode func(testing.TB, *BoltStore, string) []string
	listByPhone    func(testing.TB, *BoltStore, string) []string
	listAll        func(testing.TB, *BoltStore) []string
}

var hrKind = kind[*pb.HelpRequest]{
	col: helpRequests,
	make: func(i int, org, ext, postcode, phone string) *pb.HelpRequest {
		hr := newHelpRequest(org, ext, postcode, phone)
		hr.Details = fmt.Sprintf("request %d", i)
		return hr
	},
	create: (*BoltStore).CreateHelpRequest,
	get:    (*BoltStore).GetHelpRequest,
	update: func(s *BoltStore, ctx context.Context, hr *pb.HelpRequest) (*pb.HelpRequest, error) {
		return s.UpdateHelpRequest(ctx, hr)
	},
	remove:      (*BoltStore).DeleteHelpRequest,
	contact:     (*pb.HelpRequest).GetRequester,
	times:       func(r *pb.HelpRequest) (c, u *timestamppb.Timestamp) { return r.CreateTime, r.UpdateTime },
	postcode:    func(r *pb.HelpRequest) string { return r.GetLocation().GetPostcode() },
	setPostcode: func(r *pb.HelpRequest, p string) { r.Location.Postcode = p },
	setPhone:    func(r *pb.HelpRequest, p string) { r.Requester.Phone = p },
	setOrg:      func(r *pb.HelpRequest, o string) { r.Organisation = o },
	setCreated:  func(r *pb.HelpRequest, ts *timestamppb.Timestamp) { r.CreateTime = ts },
	org:         (*pb.HelpRequest).GetOrganisation,
	listByPostcode: func(t testing.TB, s *BoltStore, p string) []string {
		return names(listAllHR(t, s, HelpRequestFilter{PostcodePrefix: p}, 100))
	},
	listByPhone: func(t testing.TB, s *BoltStore, p string) []string {
		return names(listAllHR(t, s, HelpRequestFilter{Phone: p}, 100))
	},
	listAll: func(t testing.TB, s *BoltStore) []string { return names(listAllHR(t, s, HelpRequestFilter{}, 100)) },
}

var volKind = kind[*pb.Volunteer]{
	col: volunteers,
	make: func(i int, org, _, postcode, phone string) *pb.Volunteer {
		v := newVolunteer(org, postcode, phone, "driver")
		v.Capacity = int32(1 + i%20)
		return v
	},
	create:      (*BoltStore).CreateVolunteer,
	get:         (*BoltStore).GetVolunteer,
	update:      (*BoltStore).UpdateVolunteer,
	remove:      (*BoltStore).DeleteVolunteer,
	contact:     (*pb.Volunteer).GetContact,
	times:       func(r *pb.Volunteer) (c, u *timestamppb.Timestamp) { return r.CreateTime, r.UpdateTime },
	postcode:    func(r *pb.Volunteer) string { return r.GetHome().GetPostcode() },
	setPostcode: func(r *pb.Volunteer, p string) { r.Home.Postcode = p },
	setPhone:    func(r *pb.Volunteer, p string) { r.Contact.Phone = p },
	setOrg:      func(r *pb.Volunteer, o string) { r.Organisation = o },
	setCreated:  func(r *pb.Volunteer, ts *timestamppb.Timestamp) { r.CreateTime = ts },
	org:         (*pb.Volunteer).GetOrganisation,
	listByPostcode: func(t testing.TB, s *BoltStore, p string) []string {
		return names(listAllVol(t, s, VolunteerFilter{PostcodePrefix: p}, 100))
	},
	listByPhone: func(t testing.TB, s *BoltStore, p string) []string {
		return names(listAllVol(t, s, VolunteerFilter{Phone: p}, 100))
	},
	listAll: func(t testing.TB, s *BoltStore) []string { return names(listAllVol(t, s, VolunteerFilter{}, 100)) },
}

type named interface {
	proto.Message
	GetName() string
}

func names[T named](rs []T) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.GetName()
	}
	return out
}

// collectPages follows page tokens to the end. It checks that no page is
// larger than asked and that the walk ends.
func collectPages[T proto.Message](t testing.TB, size int, list func(Page) ([]T, string, error)) (all []T, pages int) {
	t.Helper()
	fail := t.Fatalf
	token := ""
	for {
		page, next, err := list(Page{Size: size, Token: token})
		if err != nil {
			fail("page %d: %v", pages+1, err)
		}
		pages++
		if len(page) > size {
			fail("page %d has %d records, asked for %d", pages, len(page), size)
		}
		all = append(all, page...)
		if next == "" {
			return all, pages
		}
		if next == token {
			fail("page %d returned the token it was given", pages)
		}
		token = next
		if pages > 100000 {
			fail("pagination does not end")
		}
	}
}

func listAllHR(t testing.TB, s *BoltStore, f HelpRequestFilter, size int) []*pb.HelpRequest {
	all, _ := collectPages(t, size, func(p Page) ([]*pb.HelpRequest, string, error) {
		return s.ListHelpRequests(bg, f, p)
	})
	return all
}

func listAllVol(t testing.TB, s *BoltStore, f VolunteerFilter, size int) []*pb.Volunteer {
	all, _ := collectPages(t, size, func(p Page) ([]*pb.Volunteer, string, error) {
		return s.ListVolunteers(bg, f, p)
	})
	return all
}

// verifyIndexes recomputes every index entry from the stored records and
// contacts and checks that the index buckets hold exactly those entries,
// that no record holds its contact and that records and contacts pair up;
// the offers' indexes too (verifyOffers).
func verifyIndexes(t testing.TB, s *BoltStore) {
	t.Helper()
	err := s.db.View(func(tx *bolt.Tx) error {
		sl := s.sealer(tx)
		verifyCollection(t, sl, tx, helpRequests, [][]byte{bByState, bByOrg, bByExternalID, bByPhone, bPhoneToken, bByPostcode})
		verifyCollection(t, sl, tx, volunteers, [][]byte{bByOrg, bByPhone, bByPostcode})
		verifyKeys(t, tx)
		verifyOffers(t, tx)
		return nil
	})
	mustOK(t, err, "view")
}

func verifyCollection[T proto.Message](t testing.TB, sl *sealer, tx *bolt.Tx, col *collection[T], indexBuckets [][]byte) {
	t.Helper()
	top := tx.Bucket(col.bucket)
	want := map[string]map[string]string{}
	for _, b := range indexBuckets {
		want[string(b)] = map[string]string{}
	}
	optional := map[string]map[string]string{}
	records, contacts := top.Bucket(bRecords), top.Bucket(bContacts)
	nSealed := 0
	err := records.ForEach(func(k, v []byte) error {
		r := col.newRec()
		if err := proto.Unmarshal(v, r); err != nil {
			return fmt.Errorf("record %x: %w", k, err)
		}
		if c := col.takeContact(r); c != nil {
			t.Errorf("%s %s: record bucket holds the contact %v", col.noun, idString(k), c)
		}
		if p := col.splitPersonal(proto.Clone(r).(T)); proto.Size(p) > 0 {
			t.Errorf("%s %s: record bucket holds personal fields %v", col.noun, idString(k), p)
		}
		c := &pb.Contact{}
		raw := contacts.Get(k)
		switch {
		case raw == nil && !col.removed(r):
			t.Errorf("%s %s: no contact stored", col.noun, idString(k))
		case raw != nil && col.removed(r):
			t.Errorf("%s %s: personal data kept after its removal", col.noun, idString(k))
		case raw != nil:
			nSealed++
			p, err := openPersonal(sl, col, k, raw)
			if err != nil {
				return fmt.Errorf("open contact %x: %w", k, err)
			}
			if pc := col.takeContact(p); pc != nil {
				c = pc
			}
		}
		if got, want := col.name(r), col.prefix+idString(k); got != want {
			t.Errorf("record under key %x is named %q, want %q", k, got, want)
		}
		// A rotation under way has put the entries under its epoch of
		// the records whose key it re-wrapped, and of those written
		// since it began (whose keys are under it too); others may have
		// theirs already, from an edit.
		wrapped := tx.Bucket(bKeys).Get(k)
		done := len(wrapped) == wrappedSize && binary.BigEndian.Uint32(wrapped) == sl.nextEpoch
		for _, ix := range col.indexes(sl, k, r, c) {
			b := string(ix.bucket)
			m := want
			if ix.in != nil {
				b = string(ix.in) + "/" + b
				if !done {
					m = optional
				}
			}
			if m[b] == nil {
				m[b] = map[string]string{}
			}
			m[b][string(ix.key)] = string(ix.value)
		}
		if u := col.unique(r); u != nil {
			want[string(u.bucket)][string(u.key)] = string(k)
		}
		return nil
	})
	mustOK(t, err, "walk records")
	if n := contacts.Stats().KeyN; n != nSealed {
		t.Errorf("%s: %d contacts for %d records with personal data", col.noun, n, nSealed)
	}
	paths := map[string]*bolt.Bucket{}
	for _, b := range indexBuckets {
		paths[string(b)] = top.Bucket(b)
	}
	if staged := top.Bucket(bRotation); staged != nil {
		for _, b := range col.phoneBuckets {
			paths[string(bRotation)+"/"+string(b)] = staged.Bucket(b)
		}
	}
	for b, bucket := range paths {
		got := map[string]string{}
		_ = bucket.ForEach(func(k, v []byte) error {
			got[string(k)] = string(v)
			return nil
		})
		w := want[b]
		for k, v := range w {
			if gv, ok := got[k]; !ok {
				t.Errorf("%s/%s: missing entry %q", col.bucket, b, k)
			} else if gv != v {
				t.Errorf("%s/%s: entry %q = %x, want %x", col.bucket, b, k, gv, v)
			}
		}
		for k, v := range got {
			if _, ok := w[k]; ok {
				continue
			}
			if ov, ok := optional[b][k]; !ok || ov != v {
				t.Errorf("%s/%s: stray entry %q", col.bucket, b, k)
			}
		}
	}
}

// referencesTo lists every key in the collection's buckets that ends with
// id or whose value is id.
func referencesTo(t testing.TB, s *BoltStore, bucket, id []byte) []string {
	t.Helper()
	var refs []string
	err := s.db.View(func(tx *bolt.Tx) error {
		top := tx.Bucket(bucket)
		return top.ForEachBucket(func(sub []byte) error {
			return top.Bucket(sub).ForEach(func(k, v []byte) error {
				if bytes.HasSuffix(k, id) || bytes.Equal(v, id) {
					refs = append(refs, fmt.Sprintf("%s/%s/%q", bucket, sub, k))
				}
				return nil
			})
		})
	})
	mustOK(t, err, "view")
	return refs
}

// blockCommitter holds the committer inside a write until release is
// called, so that the writes queued meanwhile are all taken into the next
// batch together.
func blockCommitter(t testing.TB, s *BoltStore) (release func()) {
	t.Helper()
	started, unblock := make(chan struct{}), make(chan struct{})
	var once sync.Once
	errc := make(chan error, 1)
	go func() {
		errc <- s.c.do(bg, func(w *writeTx) error {
			once.Do(func() { close(started) })
			<-unblock
			return nil
		})
	}()
	<-started
	var releaseOnce sync.Once
	release = func() {
		releaseOnce.Do(func() {
			close(unblock)
			if err := <-errc; err != nil {
				t.Errorf("blocking write: %v", err)
			}
		})
	}
	t.Cleanup(release)
	return release
}

// waitQueued waits until n writes are waiting for the committer.
func waitQueued(t testing.TB, s *BoltStore, n int) {
	t.Helper()
	for len(s.c.ops) < n {
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
	}
	if got := len(s.c.ops); got != n {
		t.Fatalf("%d writes queued, want %d", got, n)
	}
}

// waitGroup waits for wg, failing the test if that takes absurdly long: the
// point is to report a hang clearly, not to measure anything.
func waitGroup(t testing.TB, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: still waiting after a minute; something hangs", what)
	}
}

// ---------------------------------------------------------------------------
// 1, 2. Create, get, update, delete.

func TestCRUD(t *testing.T) {
	t.Run("help request", func(t *testing.T) { testCRUD(t, hrKind) })
	t.Run("volunteer", func(t *testing.T) { testCRUD(t, volKind) })
}

func testCRUD[T named](t *testing.T, k kind[T]) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))

	in := k.make(1, "aberdeen-mutual-aid", "ext-1", "AB10 1AB", "+441224000001")
	inBefore := proto.Clone(in)
	created, err := k.create(s, bg, in, Idempotency{})
	mustOK(t, err, "create")
	if !proto.Equal(in, inBefore) {
		t.Errorf("create changed its argument")
	}
	name := k.col.name(created)
	id := checkName(t, name, k.col.prefix)
	etag1 := k.col.etag(created)
	if etag1 == "" {
		t.Errorf("created record has no etag")
	}
	ct, ut := k.times(created)
	createdAt := clock.last()
	if !ct.AsTime().Equal(createdAt) || !ut.AsTime().Equal(createdAt) {
		t.Errorf("create/update time = %v/%v, want both %v", ct.AsTime(), ut.AsTime(), createdAt)
	}
	if got, want := ulid.MustParseStrict(strings.ToUpper(id)).Time(), uint64(createdAt.UnixMilli()); got != want {
		t.Errorf("id timestamp = %d ms, want the create time %d ms", got, want)
	}
	if !proto.Equal(k.contact(created), k.contact(in)) {
		t.Errorf("created contact = %v, want %v", k.contact(created), k.contact(in))
	}
	// The returned record is the caller's own; the input is not kept.
	k.contact(created).DisplayName = "changed by caller"
	k.contact(in).Phone = "+440000000000"

	got, err := k.get(s, bg, id)
	mustOK(t, err, "get")
	if k.contact(got).GetDisplayName() == "changed by caller" || k.contact(got).GetPhone() != "+441224000001" {
		t.Errorf("stored contact follows the caller's copies: %v", k.contact(got))
	}
	k.contact(created).DisplayName = k.contact(got).DisplayName
	if !proto.Equal(got, created) {
		t.Errorf("get = %v\nwant %v", got, created)
	}

	// The contact is kept apart from the record.
	key := mustKey(t, id)
	err = s.db.View(func(tx *bolt.Tx) error {
		top := tx.Bucket(k.col.bucket)
		r := k.col.newRec()
		if ok, err := getProto(top.Bucket(bRecords), key, r); !ok || err != nil {
			t.Fatalf("raw record: %v, %v", ok, err)
		}
		if k.contact(r) != nil {
			t.Errorf("record bucket holds the contact: %v", k.contact(r))
		}
		sealed := top.Bucket(bContacts).Get(key)
		if sealed == nil {
			t.Fatalf("no sealed contact")
		}
		if bytes.Contains(sealed, []byte("+441224000001")) {
			t.Errorf("sealed contact holds the phone number in the clear")
		}
		p, err := openPersonal(s.sealer(tx), k.col, key, sealed)
		if err != nil {
			t.Fatalf("open sealed contact: %v", err)
		}
		c := k.contact(p)
		if c.GetPhone() != "+441224000001" || c.GetDisplayName() == "" {
			t.Errorf("raw contact = %v", c)
		}
		return nil
	})
	mustOK(t, err, "view")

	// Update: new etag, new update time, kept name and create time, the
	// contact replaced.
	upd := proto.Clone(got).(T)
	k.setPostcode(upd, "AB11 5BN")
	k.setPhone(upd, "+441224000002")
	k.setCreated(upd, timestamppb.New(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)))
	updated, err := k.update(s, bg, upd)
	mustOK(t, err, "update")
	etag2 := k.col.etag(updated)
	if etag2 == "" || etag2 == etag1 {
		t.Errorf("etag after update = %q, before %q: want a new one", etag2, etag1)
	}
	if k.col.name(updated) != name {
		t.Errorf("name after update = %q, want %q", k.col.name(updated), name)
	}
	ct2, ut2 := k.times(updated)
	if !ct2.AsTime().Equal(createdAt) {
		t.Errorf("create time after update = %v, want the stored %v", ct2.AsTime(), createdAt)
	}
	if !ut2.AsTime().Equal(clock.last()) || !ut2.AsTime().After(createdAt) {
		t.Errorf("update time = %v, want %v", ut2.AsTime(), clock.last())
	}
	if k.contact(updated).GetPhone() != "+441224000002" || k.postcode(updated) != "AB11 5BN" {
		t.Errorf("update did not take: %v", updated)
	}
	got, err = k.get(s, bg, id)
	mustOK(t, err, "get after update")
	if !proto.Equal(got, updated) {
		t.Errorf("get after update = %v\nwant %v", got, updated)
	}

	// Every write makes a new etag.
	seen := map[string]bool{etag1: true, etag2: true}
	cur := updated
	for i := range 3 {
		next := proto.Clone(cur).(T)
		k.setPostcode(next, fmt.Sprintf("AB1%d 6RN", i))
		cur, err = k.update(s, bg, next)
		mustOK(t, err, "update again")
		if e := k.col.etag(cur); seen[e] {
			t.Errorf("update %d reused etag %q", i, e)
		}
		seen[k.col.etag(cur)] = true
	}

	// A stale etag changes nothing.
	rev, err := s.Revision()
	mustOK(t, err, "revision")
	stale := proto.Clone(cur).(T)
	k.setPostcode(stale, "AB12 4YA")
	stale.ProtoReflect().Set(stale.ProtoReflect().Descriptor().Fields().ByName("etag"), protoreflect.ValueOfString(etag2))
	_, err = k.update(s, bg, stale)
	mustErr(t, err, ErrEtagMismatch, "update with a stale etag")
	got, err = k.get(s, bg, id)
	mustOK(t, err, "get after stale update")
	if !proto.Equal(got, cur) {
		t.Errorf("stale update changed the record:\n%v\nwant %v", got, cur)
	}
	if rev2, _ := s.Revision(); rev2 != rev {
		t.Errorf("revision %d after a refused update, was %d", rev2, rev)
	}

	// An update without an etag is refused too: the store replaces only the
	// version the caller read (the server fills in the etag it read).
	noEtag := proto.Clone(cur).(T)
	noEtag.ProtoReflect().Clear(noEtag.ProtoReflect().Descriptor().Fields().ByName("etag"))
	_, err = k.update(s, bg, noEtag)
	mustErr(t, err, ErrEtagMismatch, "update without an etag")

	// Unknown and malformed ids.
	absent := idString(ulid.Make().Bytes())
	for _, bad := range []string{
		absent, "", "abc", name, id + "0", id[:25],
		"8zzzzzzzzzzzzzzzzzzzzzzzzz", // overflows 128 bits
		"0123456789abcdefghjkmnpqru", // u is not Crockford base32
	} {
		if _, err := k.get(s, bg, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("get(%q): err = %v, want ErrNotFound", bad, err)
		}
		if err := k.remove(s, bg, bad, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete(%q): err = %v, want ErrNotFound", bad, err)
		}
	}
	for _, badName := range []string{"", id, k.col.prefix, k.col.prefix + absent, "other/" + id, k.col.prefix + "x"} {
		r := proto.Clone(cur).(T)
		r.ProtoReflect().Set(r.ProtoReflect().Descriptor().Fields().ByName("name"), protoreflect.ValueOfString(badName))
		if _, err := k.update(s, bg, r); !errors.Is(err, ErrNotFound) {
			t.Errorf("update(name %q): err = %v, want ErrNotFound", badName, err)
		}
	}

	// Delete: a wrong etag changes nothing; the right one removes all.
	mustErr(t, k.remove(s, bg, id, etag1), ErrEtagMismatch, "delete with a stale etag")
	if _, err := k.get(s, bg, id); err != nil {
		t.Fatalf("record gone after a refused delete: %v", err)
	}
	mustOK(t, k.remove(s, bg, id, k.col.etag(cur)), "delete")
	_, err = k.get(s, bg, id)
	mustErr(t, err, ErrNotFound, "get after delete")
	mustErr(t, k.remove(s, bg, id, ""), ErrNotFound, "second delete")
	_, err = k.update(s, bg, cur)
	mustErr(t, err, ErrNotFound, "update after delete")
	if refs := referencesTo(t, s, k.col.bucket, key); len(refs) > 0 {
		t.Errorf("deleted record still referenced: %v", refs)
	}
	verifyIndexes(t, s)
	mustOK(t, s.Check(), "check")
}

func TestCreateSetsStateAndIgnoresOutputFields(t *testing.T) {
	s, _ := newStore(t)
	in := newHelpRequest("org-a", "e1", "AB10 1AB", "+441224000001")
	in.State = pb.HelpRequest_STATE_FULFILLED
	in.Name = "helpRequests/01arz3ndektsv4rrffq69g5fav"
	in.Etag = "999"
	in.CreateTime = timestamppb.New(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
	hr, err := s.CreateHelpRequest(bg, in, Idempotency{})
	mustOK(t, err, "create")
	if hr.State != pb.HelpRequest_STATE_OPEN {
		t.Errorf("state = %v, want OPEN", hr.State)
	}
	if hr.Name == in.Name || hr.Etag == in.Etag || hr.CreateTime.AsTime().Year() == 2001 {
		t.Errorf("create kept output-only fields from the caller: %v", hr)
	}
	checkName(t, hr.Name, helpRequestPrefix)

	v, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", "+441224000002"), Idempotency{})
	mustOK(t, err, "create volunteer")
	checkName(t, v.Name, volunteerPrefix)
	if hr.Etag == v.Etag {
		t.Errorf("two writes share etag %q", v.Etag)
	}
}

func TestUpdateKeepsImmutableFields(t *testing.T) {
	s, _ := newStore(t)
	hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "ext-1", "AB10 1AB", "+441224000001"), Idempotency{})
	mustOK(t, err, "create")
	// Give the request and a volunteer lifecycle fields: one volunteer
	// declines it, another accepts it and holds an offer of a second one.
	decliner := lcVolunteer(t, s, 1)
	helper := lcVolunteer(t, s, 2)
	lcMust(t, "decline")(s.DeclineOffer(bg, idOf(lcOffer(t, s, hr, decliner).Offer.Name)))
	hr = lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, hr, helper).Offer.Name))).HelpRequest
	helperV := lcOffer(t, s, lcRequest(t, s), helper).Volunteer
	if hr.State != pb.HelpRequest_STATE_ASSIGNED || helperV.ActiveAssignments != 1 || helperV.PendingOffers != 1 || len(helperV.RecentAssignmentTimes) != 1 {
		t.Fatalf("setup: request %v, volunteer %v", hr, helperV)
	}

	upd := proto.Clone(hr).(*pb.HelpRequest)
	upd.Organisation = "org-b"
	upd.ExternalId = "ext-2"
	upd.CreateTime = timestamppb.Now()
	upd.State = pb.HelpRequest_STATE_OPEN
	upd.Offer = "offers/01arz3ndektsv4rrffq69g5fav"
	upd.AssignedVolunteer = ""
	upd.DeclinedVolunteers = nil
	upd.Details = "changed"
	got, err := s.UpdateHelpRequest(bg, upd)
	mustOK(t, err, "update")
	if got.Organisation != "org-a" || got.ExternalId != "ext-1" || !proto.Equal(got.CreateTime, hr.CreateTime) {
		t.Errorf("update changed immutable fields: org %q ext %q created %v", got.Organisation, got.ExternalId, got.CreateTime.AsTime())
	}
	if got.State != pb.HelpRequest_STATE_ASSIGNED || got.Offer != "" || got.AssignedVolunteer != helper.Name ||
		!slices.Equal(got.DeclinedVolunteers, []string{decliner.Name}) {
		t.Errorf("update changed lifecycle fields: state %v offer %q assigned %q declined %v",
			got.State, got.Offer, got.AssignedVolunteer, got.DeclinedVolunteers)
	}
	if got.Details != "changed" {
		t.Errorf("update lost mutable fields: %v", got)
	}
	// The external id still belongs to the record under its old org.
	_, err = s.CreateHelpRequest(bg, newHelpRequest("org-a", "ext-1", "AB10 1AB", ""), Idempotency{})
	mustErr(t, err, ErrExternalIDExists, "reuse of the kept external id")
	if _, err := s.CreateHelpRequest(bg, newHelpRequest("org-b", "ext-2", "AB10 1AB", ""), Idempotency{}); err != nil {
		t.Errorf("the refused external id was taken anyway: %v", err)
	}
	if list := listAllHR(t, s, HelpRequestFilter{Organisation: "org-b"}, 10); len(list) != 1 || list[0].Name == hr.Name {
		t.Errorf("org-b lists %v: the updated record must stay in org-a", names(list))
	}

	v, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", "+441224000003"), Idempotency{})
	mustOK(t, err, "create volunteer")
	uv := proto.Clone(v).(*pb.Volunteer)
	uv.Organisation = "org-b"
	uv.CreateTime = timestamppb.Now()
	uv.Paused = true
	gv, err := s.UpdateVolunteer(bg, uv)
	mustOK(t, err, "update volunteer")
	if gv.Organisation != "org-a" || !proto.Equal(gv.CreateTime, v.CreateTime) || !gv.Paused {
		t.Errorf("volunteer update = %v", gv)
	}

	uh := proto.Clone(helperV).(*pb.Volunteer)
	uh.ActiveAssignments, uh.PendingOffers, uh.RecentAssignmentTimes = 0, 7, nil
	uh.Capacity = 5
	gh, err := s.UpdateVolunteer(bg, uh)
	mustOK(t, err, "update volunteer with lifecycle fields")
	if gh.ActiveAssignments != 1 || gh.PendingOffers != 1 || len(gh.RecentAssignmentTimes) != 1 ||
		!proto.Equal(gh.RecentAssignmentTimes[0], helperV.RecentAssignmentTimes[0]) {
		t.Errorf("update changed lifecycle fields: active %d pending %d recent %v",
			gh.ActiveAssignments, gh.PendingOffers, gh.RecentAssignmentTimes)
	}
	if gh.Capacity != 5 {
		t.Errorf("update lost capacity: %d", gh.Capacity)
	}
	verifyIndexes(t, s)
	checkLifecycle(t, s)
}

func TestUpdateMovesIndexes(t *testing.T) {
	t.Run("help request", func(t *testing.T) { testUpdateMovesIndexes(t, hrKind) })
	t.Run("volunteer", func(t *testing.T) { testUpdateMovesIndexes(t, volKind) })

	t.Run("help request state", func(t *testing.T) {
		s, _ := newStore(t)
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", ""), Idempotency{})
		mustOK(t, err, "create")
		byState := func(st pb.HelpRequest_State) []string {
			return names(listAllHR(t, s, HelpRequestFilter{State: st}, 10))
		}
		if got := byState(pb.HelpRequest_STATE_OPEN); !slices.Equal(got, []string{hr.Name}) {
			t.Fatalf("OPEN lists %v", got)
		}
		_, err = s.CancelHelpRequest(bg, idOf(hr.Name))
		mustOK(t, err, "cancel")
		if got := byState(pb.HelpRequest_STATE_OPEN); len(got) != 0 {
			t.Errorf("OPEN still lists %v", got)
		}
		if got := byState(pb.HelpRequest_STATE_CANCELLED); !slices.Equal(got, []string{hr.Name}) {
			t.Errorf("CANCELLED lists %v", got)
		}
		verifyIndexes(t, s)
	})
}

func testUpdateMovesIndexes[T named](t *testing.T, k kind[T]) {
	tests := []struct {
		name     string
		change   func(T)
		list     func(testing.TB, *BoltStore, string) []string
		old, new string
	}{
		{"postcode", func(r T) { k.setPostcode(r, "AB11 5BN") }, k.listByPostcode, "AB10 1AB", "AB11 5BN"},
		{"postcode district", func(r T) { k.setPostcode(r, "AB11 5BN") }, k.listByPostcode, "AB10 ", "AB11 "},
		{"phone", func(r T) { k.setPhone(r, "+447700900123") }, k.listByPhone, "+441224000001", "+447700900123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t)
			// A bystander that keeps the old values.
			other, err := k.create(s, bg, k.make(0, "org-a", "", "AB10 1AB", "+441224000001"), Idempotency{})
			mustOK(t, err, "create bystander")
			r, err := k.create(s, bg, k.make(1, "org-a", "", "AB10 1AB", "+441224000001"), Idempotency{})
			mustOK(t, err, "create")
			if got := tt.list(t, s, tt.old); !slices.Equal(got, []string{other.GetName(), r.GetName()}) {
				t.Fatalf("before update, %q lists %v", tt.old, got)
			}
			tt.change(r)
			_, err = k.update(s, bg, r)
			mustOK(t, err, "update")
			if got := tt.list(t, s, tt.old); !slices.Equal(got, []string{other.GetName()}) {
				t.Errorf("after update, old value %q lists %v, want only the bystander", tt.old, got)
			}
			if got := tt.list(t, s, tt.new); !slices.Equal(got, []string{r.GetName()}) {
				t.Errorf("after update, new value %q lists %v, want %v", tt.new, got, r.GetName())
			}
			verifyIndexes(t, s)
		})
	}
}

func TestDeleteRemovesEverything(t *testing.T) {
	s, _ := newStore(t)
	keep, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "ext-keep", "AB10 1AB", "+441224000001"),
		Idempotency{RequestID: "keep", Fingerprint: [32]byte{1}})
	mustOK(t, err, "create")
	gone, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "ext-gone", "AB10 1AB", "+441224000001"), Idempotency{})
	mustOK(t, err, "create")
	goneID := checkName(t, gone.Name, helpRequestPrefix)
	goneKey := mustKey(t, goneID)
	if refs := referencesTo(t, s, bHelpRequests, goneKey); len(refs) != 8 {
		// records, contacts, by_state, by_org, by_external_id, by_phone,
		// phone_token, by_postcode
		t.Fatalf("before delete, %d references: %v", len(refs), refs)
	}

	mustOK(t, s.DeleteHelpRequest(bg, goneID, ""), "delete with no etag")
	if refs := referencesTo(t, s, bHelpRequests, goneKey); len(refs) > 0 {
		t.Errorf("after delete, still referenced: %v", refs)
	}
	if refs := referencesTo(t, s, bHelpRequests, mustKey(t, checkName(t, keep.Name, helpRequestPrefix))); len(refs) != 8 {
		t.Errorf("the other record lost entries: %v", refs)
	}
	verifyIndexes(t, s)

	// The external id is free again; the other one is not.
	again, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "ext-gone", "AB10 1AB", ""), Idempotency{})
	mustOK(t, err, "reuse a deleted record's external id")
	if again.Name == gone.Name {
		t.Errorf("new record reuses the deleted name %s", gone.Name)
	}
	_, err = s.CreateHelpRequest(bg, newHelpRequest("org-a", "ext-keep", "AB10 1AB", ""), Idempotency{})
	mustErr(t, err, ErrExternalIDExists, "reuse of a live record's external id")

	// Volunteers too.
	v, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", "+441224000009", "driver"), Idempotency{})
	mustOK(t, err, "create volunteer")
	vid := checkName(t, v.Name, volunteerPrefix)
	if refs := referencesTo(t, s, bVolunteers, mustKey(t, vid)); len(refs) != 5 {
		t.Fatalf("volunteer has %d references: %v", len(refs), refs)
	}
	mustOK(t, s.DeleteVolunteer(bg, vid, v.Etag), "delete volunteer")
	if refs := referencesTo(t, s, bVolunteers, mustKey(t, vid)); len(refs) > 0 {
		t.Errorf("deleted volunteer still referenced: %v", refs)
	}
	verifyIndexes(t, s)
	mustOK(t, s.Check(), "check")
}

// Many writers updating one record with the etag they all read: one wins.
func TestConcurrentUpdatesOneEtag(t *testing.T) {
	s, _ := newStore(t)
	hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", "+441224000001"), Idempotency{})
	mustOK(t, err, "create")
	const n = 50
	var wg sync.WaitGroup
	var ok, mismatch atomic.Int32
	for i := range n {
		wg.Go(func() {
			u := proto.Clone(hr).(*pb.HelpRequest)
			u.Details = strconv.Itoa(i)
			_, err := s.UpdateHelpRequest(bg, u)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrEtagMismatch):
				mismatch.Add(1)
			default:
				t.Errorf("update: %v", err)
			}
		})
	}
	waitGroup(t, &wg, "updates")
	if ok.Load() != 1 || mismatch.Load() != n-1 {
		t.Errorf("%d updates succeeded and %d were refused, want 1 and %d", ok.Load(), mismatch.Load(), n-1)
	}
}

// ---------------------------------------------------------------------------
// 3. External ids.

func TestExternalIDUniquePerOrganisation(t *testing.T) {
	s, _ := newStore(t)
	_, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "ref-1", "AB10 1AB", ""), Idempotency{})
	mustOK(t, err, "first create")
	tests := []struct {
		org, ext string
		want     error
	}{
		{"org-a", "ref-1", ErrExternalIDExists},
		{"org-b", "ref-1", nil},
		{"org-b", "ref-1", ErrExternalIDExists},
		{"org-a", "ref-2", nil},
		{"org-a", "REF-1", nil}, // case matters
		{"org-a", "", nil},      // no external id: no uniqueness
		{"org-a", "", nil},
		{"org-a", "ref-1", ErrExternalIDExists},
	}
	for i, tt := range tests {
		_, err := s.CreateHelpRequest(bg, newHelpRequest(tt.org, tt.ext, "AB10 1AB", ""), Idempotency{})
		if !errors.Is(err, tt.want) {
			t.Errorf("%d: create %s/%q: err = %v, want %v", i, tt.org, tt.ext, err, tt.want)
		}
	}
	if got := listAllHR(t, s, HelpRequestFilter{}, 100); len(got) != 6 {
		t.Errorf("%d records, want 6", len(got))
	}
	verifyIndexes(t, s)
}

func TestExternalIDConcurrent(t *testing.T) {
	s, _ := newStore(t)
	const n = 60
	var wg sync.WaitGroup
	var ok, exists atomic.Int32
	for range n {
		wg.Go(func() {
			_, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "same", "AB10 1AB", ""), Idempotency{})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrExternalIDExists):
				exists.Add(1)
			default:
				t.Errorf("create: %v", err)
			}
		})
	}
	waitGroup(t, &wg, "creates")
	if ok.Load() != 1 || exists.Load() != n-1 {
		t.Errorf("%d creates succeeded, %d refused; want 1 and %d", ok.Load(), exists.Load(), n-1)
	}
	if got := listAllHR(t, s, HelpRequestFilter{}, 100); len(got) != 1 {
		t.Errorf("%d records, want 1", len(got))
	}
}

// ---------------------------------------------------------------------------
// 4. Idempotency.

func TestIdempotency(t *testing.T) {
	t.Run("help request", func(t *testing.T) { testIdempotency(t, hrKind) })
	t.Run("volunteer", func(t *testing.T) { testIdempotency(t, volKind) })
}

func testIdempotency[T named](t *testing.T, k kind[T]) {
	s, _ := newStore(t)
	idem := Idempotency{RequestID: "7f8e2c1a-request", Fingerprint: [32]byte{1, 2, 3}}
	const n = 100
	results := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := k.create(s, bg, k.make(i, "org-a", "ext-1", "AB10 1AB", "+441224000001"), idem)
			if err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			if k.contact(r).GetPhone() != "+441224000001" {
				t.Errorf("create %d: contact %v", i, k.contact(r))
			}
			results[i] = r.GetName()
		})
	}
	waitGroup(t, &wg, "creates")
	all := k.listAll(t, s)
	if len(all) != 1 {
		t.Fatalf("%d records after %d idempotent creates, want 1", len(all), n)
	}
	for i, name := range results {
		if name != all[0] {
			t.Errorf("create %d returned %q, want %q", i, name, all[0])
		}
	}

	// Same request id for different content.
	other := idem
	other.Fingerprint[0] = 9
	_, err := k.create(s, bg, k.make(0, "org-a", "", "AB10 1AB", ""), other)
	mustErr(t, err, ErrRequestIDReused, "request id with another fingerprint")

	// A retry after an update returns the record as it is now.
	id := strings.TrimPrefix(all[0], k.col.prefix)
	cur, err := k.get(s, bg, id)
	mustOK(t, err, "get")
	k.setPostcode(cur, "AB11 5BN")
	cur, err = k.update(s, bg, cur)
	mustOK(t, err, "update")
	retry, err := k.create(s, bg, k.make(0, "org-a", "ext-1", "AB10 1AB", ""), idem)
	mustOK(t, err, "retry")
	if !proto.Equal(retry, cur) {
		t.Errorf("retry = %v\nwant the stored %v", retry, cur)
	}

	// Request ids are scoped by kind: the same id creates a different kind.
	if _, ok := any(k.col).(*collection[*pb.HelpRequest]); ok {
		v, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", ""), idem)
		mustOK(t, err, "volunteer with the same request id")
		checkName(t, v.Name, volunteerPrefix)
	}

	// After the record is deleted.
	mustOK(t, k.remove(s, bg, id, ""), "delete")
	_, err = k.create(s, bg, k.make(0, "org-a", "ext-1", "AB10 1AB", ""), idem)
	mustErr(t, err, ErrRequestIDGone, "retry after delete")
	_, err = k.create(s, bg, k.make(0, "org-a", "ext-1", "AB10 1AB", ""), other)
	mustErr(t, err, ErrRequestIDReused, "other content after delete")
	if got := k.listAll(t, s); len(got) != 0 {
		t.Errorf("retries after delete created %v", got)
	}

	// No request id: no idempotency.
	for i := range 2 {
		_, err := k.create(s, bg, k.make(i, "org-a", "", "AB10 1AB", ""), Idempotency{Fingerprint: [32]byte{1}})
		mustOK(t, err, "create without request id")
	}
	if got := k.listAll(t, s); len(got) != 2 {
		t.Errorf("%d records from two creates without request id, want 2", len(got))
	}
}

// A create refused for its external id records no request id, so a retry
// with the conflict resolved succeeds.
func TestIdempotencyNotRecordedOnFailure(t *testing.T) {
	s, _ := newStore(t)
	first, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "ref", "AB10 1AB", ""), Idempotency{})
	mustOK(t, err, "create")
	idem := Idempotency{RequestID: "r1", Fingerprint: [32]byte{7}}
	_, err = s.CreateHelpRequest(bg, newHelpRequest("org-a", "ref", "AB10 1AB", ""), idem)
	mustErr(t, err, ErrExternalIDExists, "conflicting create")
	mustOK(t, s.DeleteHelpRequest(bg, strings.TrimPrefix(first.Name, helpRequestPrefix), ""), "delete")
	second, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "ref", "AB10 1AB", ""), idem)
	mustOK(t, err, "retry once the external id is free")
	third, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "ref", "AB10 1AB", ""), idem)
	mustOK(t, err, "second retry")
	if second.Name != third.Name {
		t.Errorf("retries returned %s and %s", second.Name, third.Name)
	}
}

// ---------------------------------------------------------------------------
// 5. Group commit.

// txProbe is a write that notes the transactions it ran in.
type txProbe struct {
	mu  sync.Mutex
	txs []*bolt.Tx
}

func (p *txProbe) fn(w *writeTx) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.txs = append(p.txs, w.tx)
	return nil
}

func (p *txProbe) runs() []*bolt.Tx {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.txs)
}

func TestGroupCommitCleanFailureFailsAlone(t *testing.T) {
	s, _ := newStore(t)
	taken, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "taken", "AB10 1AB", ""), Idempotency{})
	mustOK(t, err, "create")
	rev0, _ := s.Revision()

	release := blockCommitter(t, s)
	var wg sync.WaitGroup
	queued := 0
	var first, last txProbe
	var probeErrs [2]error
	wg.Go(func() { probeErrs[0] = s.c.do(bg, first.fn) })
	queued++
	waitQueued(t, s, queued)

	const good = 30
	goodErrs := make([]error, good)
	for i := range good {
		wg.Go(func() {
			_, goodErrs[i] = s.CreateHelpRequest(bg, newHelpRequest("org-a", fmt.Sprintf("good-%d", i), "AB10 1AB", ""), Idempotency{})
		})
	}
	queued += good
	var takenErr, staleErr error
	wg.Go(func() {
		_, takenErr = s.CreateHelpRequest(bg, newHelpRequest("org-a", "taken", "AB10 1AB", ""), Idempotency{})
	})
	wg.Go(func() {
		stale := proto.Clone(taken).(*pb.HelpRequest)
		stale.Etag = "0"
		_, staleErr = s.UpdateHelpRequest(bg, stale)
	})
	dupErrs := make([]error, 2)
	for i := range dupErrs {
		wg.Go(func() {
			_, dupErrs[i] = s.CreateHelpRequest(bg, newHelpRequest("org-b", "dup", "AB10 1AB", ""), Idempotency{})
		})
	}
	queued += 4
	waitQueued(t, s, queued)
	wg.Go(func() { probeErrs[1] = s.c.do(bg, last.fn) })
	queued++
	waitQueued(t, s, queued)
	release()
	waitGroup(t, &wg, "batch")

	// All ran once, in one transaction.
	f, l := first.runs(), last.runs()
	if len(f) != 1 || len(l) != 1 || f[0] != l[0] {
		t.Fatalf("probes ran in %d and %d transactions (same: %v): the writes did not share one batch",
			len(f), len(l), len(f) == 1 && len(l) == 1 && f[0] == l[0])
	}
	for i, err := range goodErrs {
		if err != nil {
			t.Errorf("good create %d: %v", i, err)
		}
	}
	for _, err := range probeErrs {
		mustOK(t, err, "probe")
	}
	mustErr(t, takenErr, ErrExternalIDExists, "create with a taken external id")
	mustErr(t, staleErr, ErrEtagMismatch, "update with a stale etag")
	nOK, nExists := 0, 0
	for _, err := range dupErrs {
		switch {
		case err == nil:
			nOK++
		case errors.Is(err, ErrExternalIDExists):
			nExists++
		default:
			t.Errorf("dup create: %v", err)
		}
	}
	if nOK != 1 || nExists != 1 {
		t.Errorf("two creates of one external id in a batch: %d succeeded, %d refused", nOK, nExists)
	}
	if got := listAllHR(t, s, HelpRequestFilter{}, 100); len(got) != 1+good+1 {
		t.Errorf("%d records, want %d", len(got), 1+good+1)
	}
	if rev, _ := s.Revision(); rev != rev0+good+1 {
		t.Errorf("revision %d, want %d", rev, rev0+good+1)
	}
	verifyIndexes(t, s)
}

func TestGroupCommitDirtyFailureRollsBack(t *testing.T) {
	s, _ := newStore(t)
	rev0, _ := s.Revision()
	errDirty := errors.New("failed half-way")
	dirtyKey := []byte("dirty-write")

	release := blockCommitter(t, s)
	var wg sync.WaitGroup
	const half = 25
	type result struct {
		hr  *pb.HelpRequest
		err error
	}
	results := make([]result, 2*half)
	createAll := func(from int) {
		for i := from; i < from+half; i++ {
			wg.Go(func() {
				hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", fmt.Sprintf("e-%d", i), "AB10 1AB", "+44122400"+strconv.Itoa(1000+i)),
					Idempotency{RequestID: fmt.Sprintf("req-%d", i)})
				results[i] = result{hr, err}
			})
		}
	}
	var before, after txProbe
	var probeErrs [2]error
	// Queue in a known order: probe, creates, the dirty write, creates, probe.
	wg.Go(func() { probeErrs[0] = s.c.do(bg, before.fn) })
	waitQueued(t, s, 1)
	createAll(0)
	waitQueued(t, s, 1+half)
	var dirtyErr error
	var dirtyRuns atomic.Int32
	wg.Go(func() {
		dirtyErr = s.c.do(bg, func(w *writeTx) error {
			dirtyRuns.Add(1)
			if err := w.put(w.tx.Bucket(bMeta), dirtyKey, []byte("must not survive")); err != nil {
				return err
			}
			// Change a record-bearing bucket too.
			if _, err := bumpRevision(w); err != nil {
				return err
			}
			return errDirty
		})
	})
	waitQueued(t, s, 2+half)
	createAll(half)
	waitQueued(t, s, 2+2*half)
	wg.Go(func() { probeErrs[1] = s.c.do(bg, after.fn) })
	waitQueued(t, s, 3+2*half)
	release()
	waitGroup(t, &wg, "batch")

	mustErr(t, dirtyErr, errDirty, "dirty write")
	for _, err := range probeErrs {
		mustOK(t, err, "probe")
	}
	// The batch was rolled back and rerun write by write: the write before
	// the dirty one ran twice, in different transactions; the one after it
	// once. The dirty write ran once in the batch and once alone.
	if b := before.runs(); len(b) != 2 || b[0] == b[1] {
		t.Errorf("write before the dirty one ran %d times: want 2 (batch, then alone)", len(b))
	}
	if a := after.runs(); len(a) != 1 {
		t.Errorf("write after the dirty one ran %d times: want 1", len(a))
	}
	if n := dirtyRuns.Load(); n != 2 {
		t.Errorf("dirty write ran %d times, want 2", n)
	}

	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bMeta).Get(dirtyKey); v != nil {
			t.Errorf("dirty write's key survived: %q", v)
		}
		return nil
	})
	mustOK(t, err, "view")
	etags := map[string]bool{}
	for i, r := range results {
		if r.err != nil {
			t.Errorf("create %d: %v", i, r.err)
			continue
		}
		got, err := s.GetHelpRequest(bg, strings.TrimPrefix(r.hr.Name, helpRequestPrefix))
		if err != nil {
			t.Errorf("create %d acknowledged but not stored: %v", i, err)
		} else if !proto.Equal(got, r.hr) {
			t.Errorf("create %d returned %v\nbut stored %v", i, r.hr, got)
		}
		etags[r.hr.Etag] = true
	}
	if len(etags) != 2*half {
		t.Errorf("%d distinct etags for %d creates", len(etags), 2*half)
	}
	if got := listAllHR(t, s, HelpRequestFilter{}, 100); len(got) != 2*half {
		t.Errorf("%d records, want %d", len(got), 2*half)
	}
	// The rolled-back revision bumps are gone: one per committed create.
	if rev, _ := s.Revision(); rev != rev0+2*half {
		t.Errorf("revision %d, want %d", rev, rev0+2*half)
	}
	// The idempotency records of the rerun creates point at what they made.
	for i, r := range results {
		retry, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "x", "AB10 1AB", ""), Idempotency{RequestID: fmt.Sprintf("req-%d", i)})
		if err != nil || retry.Name != r.hr.GetName() {
			t.Errorf("retry of create %d: %v, %v; want %s", i, retry.GetName(), err, r.hr.GetName())
		}
	}
	verifyIndexes(t, s)
	mustOK(t, s.Check(), "check")
}

// A dirty write on its own is rolled back too.
func TestDirtyFailureAlone(t *testing.T) {
	s, _ := newStore(t)
	errDirty := errors.New("half-way")
	err := s.c.do(bg, func(w *writeTx) error {
		if err := w.put(w.tx.Bucket(bPostcodes), []byte("ZZ1 1ZZ"), make([]byte, 16)); err != nil {
			return err
		}
		return errDirty
	})
	mustErr(t, err, errDirty, "dirty write")
	_, err = s.LookupPostcode(bg, "ZZ1 1ZZ")
	mustErr(t, err, ErrNotFound, "lookup of the rolled-back postcode")
}

// ---------------------------------------------------------------------------
// 6. Lists.

var (
	testOrgs      = []string{"aberdeen-mutual-aid", "torry-helpers", "city-foodbank"}
	testPostcodes = []string{"AB10 1AB", "AB10 1AF", "AB10 6RN", "AB11 5BN", "AB1 0AA", "AB12 4YA"}
	testPhones    = []string{"+441224000001", "+441224000002", "+441224000003", "+447700900001", "+447700900002", "+447700900003", "+447700900004"}
	testStates    = []pb.HelpRequest_State{pb.HelpRequest_STATE_OPEN, pb.HelpRequest_STATE_OPEN, pb.HelpRequest_STATE_ASSIGNED, pb.HelpRequest_STATE_CANCELLED}
)

// createMany runs fn(i) for i in [0, n) from a few goroutines.
func createMany(t testing.TB, n, workers int, fn func(i int) error) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					t.Errorf("%d: %v", i, err)
					return
				}
			}
		})
	}
	waitGroup(t, &wg, "creates")
	if t.Failed() {
		t.FailNow()
	}
}

func TestListHelpRequests(t *testing.T) {
	s, _ := newStore(t)
	const n = 250
	model := map[string]*pb.HelpRequest{}
	var mu sync.Mutex
	createMany(t, n, 16, func(i int) error {
		in := newHelpRequest(testOrgs[i%3], fmt.Sprintf("ref-%d", i), testPostcodes[i%6], testPhones[i%7])
		// Every urgency, and none: stored without one, as before the
		// server filled it in, a request counts as normal.
		in.Urgency = pb.Urgency(i % 5)
		hr, err := s.CreateHelpRequest(bg, in, Idempotency{})
		if err != nil {
			return err
		}
		switch testStates[i%4] {
		case pb.HelpRequest_STATE_ASSIGNED:
			v, err := s.CreateVolunteer(bg, newVolunteer(testOrgs[i%3], testPostcodes[i%6], ""), Idempotency{})
			if err != nil {
				return err
			}
			off, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(v.Name), Lease: time.Hour, SecondVolunteerOK: true}) // the fixture repeats doors: not what this tests
			if err != nil {
				return err
			}
			res, err := s.AcceptOffer(bg, idOf(off.Offer.Name))
			if err != nil {
				return err
			}
			hr = res.HelpRequest
		case pb.HelpRequest_STATE_CANCELLED:
			res, err := s.CancelHelpRequest(bg, idOf(hr.Name))
			if err != nil {
				return err
			}
			hr = res.HelpRequest
		}
		mu.Lock()
		model[hr.Name] = hr
		mu.Unlock()
		return nil
	})

	const (
		open      = pb.HelpRequest_STATE_OPEN
		offered   = pb.HelpRequest_STATE_OFFERED
		assigned  = pb.HelpRequest_STATE_ASSIGNED
		cancelled = pb.HelpRequest_STATE_CANCELLED
	)
	inHand := []pb.HelpRequest_State{open, offered, assigned}
	tests := []struct {
		name string
		f    HelpRequestFilter
		// postcodes the filter admits, spelled out rather than derived from
		// the prefix so that a prefix bug shows; nil admits all.
		postcodes []string
		wantNone  bool
	}{
		{name: "all"},
		{name: "state open", f: HelpRequestFilter{State: open}},
		{name: "state cancelled", f: HelpRequestFilter{State: cancelled}},
		{name: "state fulfilled", f: HelpRequestFilter{State: pb.HelpRequest_STATE_FULFILLED}, wantNone: true},
		{name: "postcode full", f: HelpRequestFilter{PostcodePrefix: "AB10 1AB"}, postcodes: []string{"AB10 1AB"}},
		{name: "postcode sector", f: HelpRequestFilter{PostcodePrefix: "AB10 1"}, postcodes: []string{"AB10 1AB", "AB10 1AF"}},
		{name: "postcode district", f: HelpRequestFilter{PostcodePrefix: "AB10 "}, postcodes: []string{"AB10 1AB", "AB10 1AF", "AB10 6RN"}},
		{name: "postcode district AB1", f: HelpRequestFilter{PostcodePrefix: "AB1 "}, postcodes: []string{"AB1 0AA"}},
		{name: "postcode district AB11", f: HelpRequestFilter{PostcodePrefix: "AB11 "}, postcodes: []string{"AB11 5BN"}},
		{name: "postcode unknown", f: HelpRequestFilter{PostcodePrefix: "AB99 "}, postcodes: []string{}, wantNone: true},
		{name: "organisation", f: HelpRequestFilter{Organisation: testOrgs[1]}},
		{name: "organisation unknown", f: HelpRequestFilter{Organisation: "nobody"}, wantNone: true},
		{name: "organisation prefix is not a match", f: HelpRequestFilter{Organisation: "torry"}, wantNone: true},
		{name: "phone", f: HelpRequestFilter{Phone: testPhones[3]}},
		{name: "phone prefix is not a match", f: HelpRequestFilter{Phone: "+4412240000"}, wantNone: true},
		{name: "phone and state", f: HelpRequestFilter{Phone: testPhones[2], State: cancelled}},
		{name: "phone and postcode", f: HelpRequestFilter{Phone: testPhones[0], PostcodePrefix: "AB10 "}, postcodes: []string{"AB10 1AB", "AB10 1AF", "AB10 6RN"}},
		{name: "postcode and organisation", f: HelpRequestFilter{PostcodePrefix: "AB10 1", Organisation: testOrgs[0]}, postcodes: []string{"AB10 1AB", "AB10 1AF"}},
		{name: "organisation and state", f: HelpRequestFilter{Organisation: testOrgs[2], State: open}},
		{name: "district, organisation and state", f: HelpRequestFilter{PostcodePrefix: "AB10 ", Organisation: testOrgs[1], State: cancelled}, postcodes: []string{"AB10 1AB", "AB10 1AF", "AB10 6RN"}},
		{name: "all four", f: HelpRequestFilter{Phone: testPhones[1], PostcodePrefix: "AB1", Organisation: testOrgs[0], State: open}, postcodes: []string{"AB10 1AB", "AB10 1AF", "AB10 6RN", "AB11 5BN", "AB1 0AA", "AB12 4YA"}},
		{name: "in hand", f: HelpRequestFilter{States: inHand}},
		{name: "in hand, one as state", f: HelpRequestFilter{State: assigned, States: []pb.HelpRequest_State{open, offered}}},
		{name: "open or cancelled", f: HelpRequestFilter{States: []pb.HelpRequest_State{cancelled, open}}},
		{name: "offered only, none", f: HelpRequestFilter{States: []pb.HelpRequest_State{offered}}, wantNone: true},
		{name: "high and above", f: HelpRequestFilter{MinUrgency: pb.Urgency_URGENCY_HIGH}},
		{name: "critical", f: HelpRequestFilter{MinUrgency: pb.Urgency_URGENCY_CRITICAL}},
		{name: "normal and above, unset counts", f: HelpRequestFilter{MinUrgency: pb.Urgency_URGENCY_NORMAL}},
		{name: "in hand and critical", f: HelpRequestFilter{States: inHand, MinUrgency: pb.Urgency_URGENCY_CRITICAL}},
		{name: "in hand, organisation, high", f: HelpRequestFilter{States: inHand, Organisation: testOrgs[1], MinUrgency: pb.Urgency_URGENCY_HIGH}},
		{name: "in hand in a sector, high", f: HelpRequestFilter{States: inHand, PostcodePrefix: "AB10 1", MinUrgency: pb.Urgency_URGENCY_HIGH}, postcodes: []string{"AB10 1AB", "AB10 1AF"}},
		{name: "in hand by phone", f: HelpRequestFilter{States: inHand, Phone: testPhones[4]}},
		{name: "open or cancelled in a district", f: HelpRequestFilter{States: []pb.HelpRequest_State{open, cancelled}, PostcodePrefix: "AB10 "}, postcodes: []string{"AB10 1AB", "AB10 1AF", "AB10 6RN"}},
	}
	for _, tt := range tests {
		var want []*pb.HelpRequest
		for _, hr := range model {
			f := tt.f
			states := f.States
			if f.State != 0 {
				states = append(slices.Clone(states), f.State)
			}
			urgency := hr.Urgency
			if urgency == pb.Urgency_URGENCY_UNSPECIFIED {
				urgency = pb.Urgency_URGENCY_NORMAL
			}
			if (len(states) == 0 || slices.Contains(states, hr.State)) && urgency >= f.MinUrgency &&
				(tt.postcodes == nil || slices.Contains(tt.postcodes, hr.Location.Postcode)) &&
				(f.Organisation == "" || hr.Organisation == f.Organisation) &&
				(f.Phone == "" || hr.Requester.Phone == f.Phone) {
				want = append(want, hr)
			}
		}
		// The walk follows the postcode index (postcode, then id) when that
		// is the index chosen, and id order otherwise.
		byPostcode := tt.f.Phone == "" && tt.f.PostcodePrefix != ""
		slices.SortFunc(want, func(a, b *pb.HelpRequest) int {
			if byPostcode {
				if c := strings.Compare(a.Location.Postcode, b.Location.Postcode); c != 0 {
					return c
				}
			}
			return strings.Compare(a.Name, b.Name)
		})
		if tt.wantNone != (len(want) == 0) {
			t.Fatalf("%s: the data set gives %d matches; fix the test", tt.name, len(want))
		}
		for _, size := range []int{1, 7, 100} {
			t.Run(fmt.Sprintf("%s/size=%d", tt.name, size), func(t *testing.T) {
				got, pages := collectPages(t, size, func(p Page) ([]*pb.HelpRequest, string, error) {
					return s.ListHelpRequests(bg, tt.f, p)
				})
				if !slices.Equal(names(got), names(want)) {
					t.Fatalf("listed %d: %v\nwant %d: %v", len(got), names(got), len(want), names(want))
				}
				for i := range got {
					if !proto.Equal(got[i], want[i]) {
						t.Errorf("listed %v\nwant %v", got[i], want[i])
					}
				}
				if reflect.ValueOf(tt.f).IsZero() {
					if wantPages := (n + size - 1) / size; pages != wantPages {
						t.Errorf("%d pages of %d, want %d", pages, size, wantPages)
					}
				}
			})
		}
	}

	// Ids sort by creation: the unfiltered list is in creation order.
	all := listAllHR(t, s, HelpRequestFilter{}, 1000)
	for i := 1; i < len(all); i++ {
		if all[i-1].CreateTime.AsTime().After(all[i].CreateTime.AsTime()) {
			t.Errorf("%s created after %s but listed first", all[i-1].Name, all[i].Name)
		}
	}
}

func TestListVolunteers(t *testing.T) {
	s, _ := newStore(t)
	const n = 120
	skillsOf := func(i int) []string {
		var sk []string
		if i%2 == 0 {
			sk = append(sk, "driver")
		}
		if i%3 == 0 {
			sk = append(sk, "welsh")
		}
		if i%5 == 0 {
			sk = append(sk, "dog-friendly")
		}
		return sk
	}
	model := map[string]*pb.Volunteer{}
	var mu sync.Mutex
	createMany(t, n, 8, func(i int) error {
		v, err := s.CreateVolunteer(bg, newVolunteer(testOrgs[i%3], testPostcodes[i%6], testPhones[i%7], skillsOf(i)...), Idempotency{})
		if err != nil {
			return err
		}
		mu.Lock()
		model[v.Name] = v
		mu.Unlock()
		return nil
	})
	tests := []struct {
		name      string
		f         VolunteerFilter
		postcodes []string
		wantNone  bool
	}{
		{name: "all"},
		{name: "skill", f: VolunteerFilter{Skill: "welsh"}},
		{name: "skill unknown", f: VolunteerFilter{Skill: "gaelic"}, wantNone: true},
		{name: "skill prefix is not a match", f: VolunteerFilter{Skill: "dog"}, wantNone: true},
		{name: "postcode full", f: VolunteerFilter{PostcodePrefix: "AB10 6RN"}, postcodes: []string{"AB10 6RN"}},
		{name: "postcode sector", f: VolunteerFilter{PostcodePrefix: "AB10 1"}, postcodes: []string{"AB10 1AB", "AB10 1AF"}},
		{name: "postcode district", f: VolunteerFilter{PostcodePrefix: "AB10 "}, postcodes: []string{"AB10 1AB", "AB10 1AF", "AB10 6RN"}},
		{name: "postcode district AB1", f: VolunteerFilter{PostcodePrefix: "AB1 "}, postcodes: []string{"AB1 0AA"}},
		{name: "organisation", f: VolunteerFilter{Organisation: testOrgs[0]}},
		{name: "phone", f: VolunteerFilter{Phone: testPhones[5]}},
		{name: "skill and district", f: VolunteerFilter{Skill: "driver", PostcodePrefix: "AB10 "}, postcodes: []string{"AB10 1AB", "AB10 1AF", "AB10 6RN"}},
		{name: "skill and organisation", f: VolunteerFilter{Skill: "dog-friendly", Organisation: testOrgs[1]}},
		{name: "phone and skill", f: VolunteerFilter{Phone: testPhones[0], Skill: "welsh"}},
		{name: "all four", f: VolunteerFilter{Phone: testPhones[0], Skill: "driver", Organisation: testOrgs[1], PostcodePrefix: "AB1"}, postcodes: testPostcodes},
	}
	for _, tt := range tests {
		var want []*pb.Volunteer
		for _, v := range model {
			f := tt.f
			if (tt.postcodes == nil || slices.Contains(tt.postcodes, v.Home.Postcode)) &&
				(f.Organisation == "" || v.Organisation == f.Organisation) &&
				(f.Skill == "" || slices.Contains(v.Skills, f.Skill)) &&
				(f.Phone == "" || v.Contact.Phone == f.Phone) {
				want = append(want, v)
			}
		}
		byPostcode := tt.f.Phone == "" && tt.f.PostcodePrefix != ""
		slices.SortFunc(want, func(a, b *pb.Volunteer) int {
			if byPostcode {
				if c := strings.Compare(a.Home.Postcode, b.Home.Postcode); c != 0 {
					return c
				}
			}
			return strings.Compare(a.Name, b.Name)
		})
		if tt.wantNone != (len(want) == 0) {
			t.Fatalf("%s: the data set gives %d matches; fix the test", tt.name, len(want))
		}
		for _, size := range []int{1, 7, 100} {
			t.Run(fmt.Sprintf("%s/size=%d", tt.name, size), func(t *testing.T) {
				got, _ := collectPages(t, size, func(p Page) ([]*pb.Volunteer, string, error) {
					return s.ListVolunteers(bg, tt.f, p)
				})
				if !slices.Equal(names(got), names(want)) {
					t.Fatalf("listed %d: %v\nwant %d: %v", len(got), names(got), len(want), names(want))
				}
				for i := range got {
					if !proto.Equal(got[i], want[i]) {
						t.Errorf("listed %v\nwant %v", got[i], want[i])
					}
				}
			})
		}
	}
}

func TestPageTokens(t *testing.T) {
	s, _ := newStore(t)
	for range 6 {
		_, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", "+441224000001"), Idempotency{})
		mustOK(t, err, "create")
		_, err = s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", "+441224000001", "driver"), Idempotency{})
		mustOK(t, err, "create volunteer")
	}
	hrFirst := func(f HelpRequestFilter) string {
		t.Helper()
		page, next, err := s.ListHelpRequests(bg, f, Page{Size: 1})
		mustOK(t, err, "first page")
		if len(page) != 1 || next == "" {
			t.Fatalf("first page: %d records, token %q", len(page), next)
		}
		return next
	}
	volFirst := func(f VolunteerFilter) string {
		t.Helper()
		page, next, err := s.ListVolunteers(bg, f, Page{Size: 1})
		mustOK(t, err, "first page")
		if len(page) != 1 || next == "" {
			t.Fatalf("first page: %d records, token %q", len(page), next)
		}
		return next
	}

	t.Run("help request filters differ", func(t *testing.T) {
		base := HelpRequestFilter{Organisation: "org-a", PostcodePrefix: "AB10 ", Phone: "+441224000001", State: pb.HelpRequest_STATE_OPEN}
		tok := hrFirst(base)
		if _, _, err := s.ListHelpRequests(bg, base, Page{Size: 1, Token: tok}); err != nil {
			t.Fatalf("token with its own filter: %v", err)
		}
		for _, change := range []func(*HelpRequestFilter){
			func(f *HelpRequestFilter) { f.Organisation = "org-b" },
			func(f *HelpRequestFilter) { f.PostcodePrefix = "AB10 1" },
			func(f *HelpRequestFilter) { f.Phone = "" },
			func(f *HelpRequestFilter) { f.State = pb.HelpRequest_STATE_CANCELLED },
			func(f *HelpRequestFilter) { *f = HelpRequestFilter{} },
		} {
			f := base
			change(&f)
			_, _, err := s.ListHelpRequests(bg, f, Page{Size: 1, Token: tok})
			mustErr(t, err, ErrBadPageToken, fmt.Sprintf("token with filter %+v", f))
		}
		_, _, err := s.ListVolunteers(bg, VolunteerFilter{}, Page{Size: 1, Token: hrFirst(HelpRequestFilter{})})
		mustErr(t, err, ErrBadPageToken, "help request token for volunteers")
	})
	t.Run("volunteer filters differ", func(t *testing.T) {
		base := VolunteerFilter{Organisation: "org-a", PostcodePrefix: "AB10 ", Phone: "+441224000001", Skill: "driver"}
		tok := volFirst(base)
		if _, _, err := s.ListVolunteers(bg, base, Page{Size: 1, Token: tok}); err != nil {
			t.Fatalf("token with its own filter: %v", err)
		}
		for _, change := range []func(*VolunteerFilter){
			func(f *VolunteerFilter) { f.Organisation = "org-b" },
			func(f *VolunteerFilter) { f.PostcodePrefix = "AB10 1" },
			func(f *VolunteerFilter) { f.Phone = "" },
			func(f *VolunteerFilter) { f.Skill = "welsh" },
		} {
			f := base
			change(&f)
			_, _, err := s.ListVolunteers(bg, f, Page{Size: 1, Token: tok})
			mustErr(t, err, ErrBadPageToken, fmt.Sprintf("token with filter %+v", f))
		}
		_, _, err := s.ListHelpRequests(bg, HelpRequestFilter{}, Page{Size: 1, Token: volFirst(VolunteerFilter{})})
		mustErr(t, err, ErrBadPageToken, "volunteer token for help requests")
	})
	t.Run("garbage", func(t *testing.T) {
		good := hrFirst(HelpRequestFilter{})
		raw, err := base64.RawURLEncoding.DecodeString(good)
		mustOK(t, err, "decode")
		wrongVersion := bytes.Clone(raw)
		wrongVersion[0]++
		for _, tok := range []string{
			"garbage!",
			"%%%",
			"abc",      // decodes to two bytes
			good + "=", // padding is not url-raw
			base64.RawURLEncoding.EncodeToString(wrongVersion),
			base64.RawURLEncoding.EncodeToString(raw[:4]),
			base64.StdEncoding.EncodeToString([]byte{0xfb, 0xff, 0xff, 0xff, 0xff, 0xff}),
		} {
			_, _, err := s.ListHelpRequests(bg, HelpRequestFilter{}, Page{Size: 1, Token: tok})
			mustErr(t, err, ErrBadPageToken, fmt.Sprintf("token %q", tok))
		}
	})
	t.Run("page size", func(t *testing.T) {
		for _, size := range []int{0, -1} {
			if _, _, err := s.ListHelpRequests(bg, HelpRequestFilter{}, Page{Size: size}); err == nil {
				t.Errorf("page size %d accepted", size)
			}
			if _, _, err := s.ListVolunteers(bg, VolunteerFilter{}, Page{Size: size}); err == nil {
				t.Errorf("volunteer page size %d accepted", size)
			}
		}
	})
	t.Run("token does not hold the filter values", func(t *testing.T) {
		tok := hrFirst(HelpRequestFilter{Phone: "+441224000001", Organisation: "org-a"})
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		mustOK(t, err, "decode")
		for _, secret := range []string{"+441224000001", "441224000001", "org-a"} {
			if bytes.Contains(raw, []byte(secret)) {
				t.Errorf("token %q holds %q", tok, secret)
			}
		}
	})
}

// Records deleted or added between pages neither repeat nor hide others.
func TestPaginationAcrossWrites(t *testing.T) {
	s, _ := newStore(t)
	var made []string
	for range 10 {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", ""), Idempotency{})
		mustOK(t, err, "create")
		made = append(made, hr.Name)
	}
	page, tok, err := s.ListHelpRequests(bg, HelpRequestFilter{}, Page{Size: 3})
	mustOK(t, err, "page 1")
	if !slices.Equal(names(page), made[:3]) || tok == "" {
		t.Fatalf("page 1 = %v, %q", names(page), tok)
	}
	// Delete the record the token stopped at, and the next one.
	for _, name := range made[2:4] {
		mustOK(t, s.DeleteHelpRequest(bg, strings.TrimPrefix(name, helpRequestPrefix), ""), "delete")
	}
	added, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", ""), Idempotency{})
	mustOK(t, err, "create")
	rest, _ := collectPages(t, 3, func(p Page) ([]*pb.HelpRequest, string, error) {
		if p.Token == "" {
			p.Token = tok
		}
		return s.ListHelpRequests(bg, HelpRequestFilter{}, p)
	})
	want := append(slices.Clone(made[4:]), added.Name)
	if !slices.Equal(names(rest), want) {
		t.Errorf("after page 1: %v\nwant %v", names(rest), want)
	}
}

// One List call reads at most maxScanned keys: a selective residual filter
// gets short pages with tokens, and following them finds every match.
func TestListScanBound(t *testing.T) {
	if testing.Short() {
		t.Skip("creates more than maxScanned records")
	}
	s, _ := newStore(t)
	n := maxScanned + 20
	createMany(t, n, 64, func(int) error {
		_, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", "", "driver"), Idempotency{})
		return err
	})
	all := listAllVol(t, s, VolunteerFilter{}, 1000)
	if len(all) != n {
		t.Fatalf("%d volunteers, want %d", len(all), n)
	}
	// Give the rare skill to the first and last keys a call may read, the
	// first it may not, and the last of all.
	var want []string
	for _, pos := range []int{0, maxScanned - 1, maxScanned, n - 1} {
		v := all[pos]
		v.Skills = append(v.Skills, "sign-language")
		_, err := s.UpdateVolunteer(bg, v)
		mustOK(t, err, "update")
		want = append(want, v.Name)
	}

	f := VolunteerFilter{Skill: "sign-language"}
	page, tok, err := s.ListVolunteers(bg, f, Page{Size: 10})
	mustOK(t, err, "first page")
	if !slices.Equal(names(page), want[:2]) || tok == "" {
		t.Fatalf("first page = %v, token %q; want %v and a token (the scan stops after %d keys)", names(page), tok, want[:2], maxScanned)
	}
	page, tok, err = s.ListVolunteers(bg, f, Page{Size: 10, Token: tok})
	mustOK(t, err, "second page")
	if !slices.Equal(names(page), want[2:]) || tok != "" {
		t.Fatalf("second page = %v, token %q; want %v and no token", names(page), tok, want[2:])
	}
	// With pages smaller than the matches, tokens still find every match.
	if got := names(listAllVol(t, s, f, 1)); !slices.Equal(got, want) {
		t.Errorf("following tokens found %v, want %v", got, want)
	}
}

// ---------------------------------------------------------------------------
// 7. Open, reopen, schema.

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doorstep.db")
	clock := newFakeClock() // the requests' window lies in March 2026
	s1 := openAt(t, path, WithClock(clock.now))
	var hrs []*pb.HelpRequest
	for i := range 5 {
		hr, err := s1.CreateHelpRequest(bg, newHelpRequest("org-a", fmt.Sprintf("ref-%d", i), testPostcodes[i], testPhones[i]),
			Idempotency{RequestID: fmt.Sprintf("req-%d", i), Fingerprint: [32]byte{byte(i)}})
		mustOK(t, err, "create")
		hrs = append(hrs, hr)
	}
	v, err := s1.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", "+441224000001", "driver"), Idempotency{})
	mustOK(t, err, "create volunteer")
	off, err := s1.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hrs[1].Name), VolunteerID: idOf(v.Name), Lease: time.Hour})
	mustOK(t, err, "create offer")
	acc, err := s1.AcceptOffer(bg, idOf(off.Offer.Name))
	mustOK(t, err, "accept offer")
	hrs[1], v = acc.HelpRequest, acc.Volunteer
	mustOK(t, s1.DeleteHelpRequest(bg, strings.TrimPrefix(hrs[4].Name, helpRequestPrefix), ""), "delete")
	rev1, err := s1.Revision()
	mustOK(t, err, "revision")
	if rev1 != 9 {
		t.Errorf("revision after 9 writes = %d", rev1)
	}
	mustOK(t, s1.Close(), "close")
	mustOK(t, s1.Close(), "second close")

	s2 := openAt(t, path, WithClock(clock.now))
	mustOK(t, s2.Check(), "check")
	if rev, _ := s2.Revision(); rev != rev1 {
		t.Errorf("revision after reopen = %d, want %d", rev, rev1)
	}
	for _, want := range hrs[:4] {
		got, err := s2.GetHelpRequest(bg, strings.TrimPrefix(want.Name, helpRequestPrefix))
		mustOK(t, err, "get after reopen")
		if !proto.Equal(got, want) {
			t.Errorf("after reopen: %v\nwant %v", got, want)
		}
	}
	_, err = s2.GetHelpRequest(bg, strings.TrimPrefix(hrs[4].Name, helpRequestPrefix))
	mustErr(t, err, ErrNotFound, "deleted record after reopen")
	gv, err := s2.GetVolunteer(bg, strings.TrimPrefix(v.Name, volunteerPrefix))
	mustOK(t, err, "get volunteer after reopen")
	if !proto.Equal(gv, v) {
		t.Errorf("volunteer after reopen: %v\nwant %v", gv, v)
	}
	if got := names(listAllHR(t, s2, HelpRequestFilter{State: pb.HelpRequest_STATE_ASSIGNED}, 10)); !slices.Equal(got, []string{hrs[1].Name}) {
		t.Errorf("ASSIGNED after reopen lists %v", got)
	}
	if got, err := s2.GetOffer(bg, idOf(acc.Offer.Name)); err != nil || !proto.Equal(got, acc.Offer) {
		t.Errorf("offer after reopen: %v, %v\nwant %v", got, err, acc.Offer)
	}
	checkLifecycle(t, s2)
	// Uniqueness and idempotency survive.
	_, err = s2.CreateHelpRequest(bg, newHelpRequest("org-a", "ref-0", "AB10 1AB", ""), Idempotency{})
	mustErr(t, err, ErrExternalIDExists, "external id after reopen")
	retry, err := s2.CreateHelpRequest(bg, newHelpRequest("org-a", "x", "AB10 1AB", ""), Idempotency{RequestID: "req-2", Fingerprint: [32]byte{2}})
	mustOK(t, err, "retry after reopen")
	if retry.Name != hrs[2].Name {
		t.Errorf("retry after reopen made %s, want %s", retry.Name, hrs[2].Name)
	}
	_, err = s2.CreateHelpRequest(bg, newHelpRequest("org-a", "x", "AB10 1AB", ""), Idempotency{RequestID: "req-4", Fingerprint: [32]byte{4}})
	mustErr(t, err, ErrRequestIDGone, "retry of a deleted create after reopen")

	// The revision goes on from where it was, and new ids sort last.
	hr, err := s2.CreateHelpRequest(bg, newHelpRequest("org-a", "new", "AB10 1AB", ""), Idempotency{})
	mustOK(t, err, "create after reopen")
	if hr.Etag != strconv.FormatUint(rev1+1, 10) {
		t.Errorf("etag after reopen = %s, want %d", hr.Etag, rev1+1)
	}
	if rev, _ := s2.Revision(); rev != rev1+1 {
		t.Errorf("revision = %d, want %d", rev, rev1+1)
	}
	all := names(listAllHR(t, s2, HelpRequestFilter{}, 100))
	if all[len(all)-1] != hr.Name {
		t.Errorf("new record %s is not last in %v", hr.Name, all)
	}
	verifyIndexes(t, s2)
}

func TestOpenInUse(t *testing.T) {
	s, path := newStore(t)
	_, err := Open(path, WithOpenTimeout(100*time.Millisecond))
	mustErr(t, err, ErrInUse, "second open")
	// The first is unharmed.
	_, err = s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", ""), Idempotency{})
	mustOK(t, err, "create")
	mustOK(t, s.Close(), "close")
	s2 := openAt(t, path, WithOpenTimeout(100*time.Millisecond))
	if got := listAllHR(t, s2, HelpRequestFilter{}, 10); len(got) != 1 {
		t.Errorf("%d records after reopen, want 1", len(got))
	}
}

func TestOpenOptions(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  Option
	}{
		{"zero timeout", WithOpenTimeout(0)},
		{"negative timeout", WithOpenTimeout(-time.Second)},
		{"nil clock", WithClock(nil)},
		{"nil logger", WithLogger(nil)},
	} {
		path := filepath.Join(t.TempDir(), "x.db")
		if s, err := Open(path, tt.opt); err == nil {
			_ = s.Close()
			t.Errorf("%s: Open succeeded", tt.name)
		}
	}
}

func writeBoltFile(t testing.TB, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	mustOK(t, err, "bolt open")
	mustOK(t, db.Update(fn), "bolt update")
	mustOK(t, db.Close(), "bolt close")
}

// dropCloseTime makes the request at id look as a version before
// close_time was kept stored it.
func dropCloseTime(tx *bolt.Tx, id []byte) error {
	records := tx.Bucket(bHelpRequests).Bucket(bRecords)
	r := &pb.HelpRequest{}
	if err := proto.Unmarshal(records.Get(id), r); err != nil {
		return err
	}
	r.CloseTime = nil
	raw, err := proto.Marshal(r)
	if err != nil {
		return err
	}
	return records.Put(id, raw)
}

// rewindSchema makes the closed file at path look as one written before
// schema version+1 added bucket under parent: the bucket dropped and the
// version set back, for a migration to fill in again.
func rewindSchema(t *testing.T, path string, version uint64, parent, bucket []byte) {
	t.Helper()
	writeBoltFile(t, path, func(tx *bolt.Tx) error {
		if err := tx.Bucket(parent).DeleteBucket(bucket); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kSchemaVersion, u64(version))
	})
}

func TestOpenNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "newer.db")
	writeBoltFile(t, path, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bMeta)
		if err != nil {
			return err
		}
		return b.Put(kSchemaVersion, u64(SchemaVersion+1))
	})
	_, err := Open(path, WithOpenTimeout(100*time.Millisecond))
	mustErr(t, err, ErrNewerSchema, "open of a newer file")
	// Open let go of the file and changed nothing in it.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 100 * time.Millisecond})
	mustOK(t, err, "bolt open after refused Open")
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bMeta).Get(kSchemaVersion); !bytes.Equal(v, u64(SchemaVersion+1)) {
			t.Errorf("schema version now %x", v)
		}
		if tx.Bucket(bHelpRequests) != nil {
			t.Errorf("refused Open created buckets")
		}
		return nil
	})
	mustOK(t, err, "view")
}

// every bucket of the current schema version, as the package doc lists
// them.
var layout = map[string][]string{
	"meta":              nil,
	"idempotency":       nil,
	"postcodes":         nil,
	"help_requests":     {"records", "contacts", "by_state", "by_org", "by_external_id", "by_phone", "phone_token", "by_postcode"},
	"volunteers":        {"records", "contacts", "by_org", "by_phone", "by_postcode"},
	"offers":            {"records", "by_expiry", "by_request", "by_volunteer"},
	"events":            nil,
	"keys":              nil,
	"tokens":            {"records", "by_hash", "names", "by_volunteer"},
	"organisations":     nil,
	"audit":             nil,
	"audit_by_resource": nil,
}

// checkLayout checks that the file holds exactly the current buckets and
// schema version.
func checkLayout(t *testing.T, tx *bolt.Tx) {
	t.Helper()
	var tops []string
	_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		tops = append(tops, string(name))
		return nil
	})
	for top, subs := range layout {
		b := tx.Bucket([]byte(top))
		if b == nil {
			t.Errorf("bucket %s missing", top)
			continue
		}
		var got []string
		_ = b.ForEachBucket(func(k []byte) error {
			got = append(got, string(k))
			return nil
		})
		if !slices.Equal(got, slices.Sorted(slices.Values(subs))) {
			t.Errorf("bucket %s holds buckets %v, want %v", top, got, subs)
		}
	}
	if len(tops) != len(layout) {
		t.Errorf("top-level buckets %v", tops)
	}
	if v := tx.Bucket(bMeta).Get(kSchemaVersion); !bytes.Equal(v, u64(SchemaVersion)) {
		t.Errorf("schema version %x, want %d", v, SchemaVersion)
	}
}

func TestOpenMigratesFromZero(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
	}{
		{"no file", func(*testing.T, string) {}},
		{"empty file", func(t *testing.T, path string) {
			mustOK(t, os.WriteFile(path, nil, 0o600), "write")
		}},
		{"bolt file without buckets", func(t *testing.T, path string) {
			writeBoltFile(t, path, func(*bolt.Tx) error { return nil })
		}},
		{"meta without a version", func(t *testing.T, path string) {
			writeBoltFile(t, path, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket(bMeta)
				if err != nil {
					return err
				}
				return b.Put([]byte("unrelated"), []byte("kept"))
			})
		}},
		{"some buckets already there", func(t *testing.T, path string) {
			writeBoltFile(t, path, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket(bHelpRequests)
				if err != nil {
					return err
				}
				_, err = b.CreateBucket(bRecords)
				return err
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "old.db")
			tt.prepare(t, path)
			s := openAt(t, path)
			err := s.db.View(func(tx *bolt.Tx) error {
				checkLayout(t, tx)
				if tt.name == "meta without a version" && string(tx.Bucket(bMeta).Get([]byte("unrelated"))) != "kept" {
					t.Errorf("migration lost an existing key")
				}
				return nil
			})
			mustOK(t, err, "view")
			mustOK(t, s.Check(), "check")
			// The migrated store works.
			hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "r", "AB10 1AB", "+441224000001"), Idempotency{RequestID: "x"})
			mustOK(t, err, "create")
			if hr.Etag != "1" {
				t.Errorf("first etag = %q, want 1", hr.Etag)
			}
			verifyIndexes(t, s)
			// A second open finds the current version and migrates nothing.
			mustOK(t, s.Close(), "close")
			s2 := openAt(t, path)
			if _, err := s2.GetHelpRequest(bg, strings.TrimPrefix(hr.Name, helpRequestPrefix)); err != nil {
				t.Errorf("get after reopen: %v", err)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 8. Postcodes.

func readSample(t testing.TB) []geo.PostcodeEntry {
	t.Helper()
	f, err := os.Open(samplePath)
	mustOK(t, err, "open sample")
	defer f.Close()
	var entries []geo.PostcodeEntry
	_, err = geo.ReadONSPD(f, func(e geo.PostcodeEntry) error {
		entries = append(entries, e)
		return nil
	})
	mustOK(t, err, "read sample")
	return entries
}

func updatesFrom(entries []geo.PostcodeEntry) func() (PostcodeUpdate, bool, error) {
	i := 0
	return func() (PostcodeUpdate, bool, error) {
		if i == len(entries) {
			return PostcodeUpdate{}, false, nil
		}
		e := entries[i]
		i++
		return PostcodeUpdate{Postcode: e.Postcode, At: LatLng{Lat: e.Lat, Lng: e.Lng}, Remove: e.Terminated}, true, nil
	}
}

func readONSPDString(t *testing.T, csv string) []geo.PostcodeEntry {
	t.Helper()
	var entries []geo.PostcodeEntry
	_, err := geo.ReadONSPD(strings.NewReader(csv), func(e geo.PostcodeEntry) error {
		entries = append(entries, e)
		return nil
	})
	mustOK(t, err, "read csv")
	return entries
}

func TestPostcodes(t *testing.T) {
	s, _ := newStore(t)
	entries := readSample(t)
	live := 0
	for _, e := range entries {
		if !e.Terminated {
			live++
		}
	}
	st, err := s.LoadPostcodes(bg, updatesFrom(entries))
	mustOK(t, err, "load")
	if st.Stored != live || st.Removed != 0 {
		t.Errorf("first load: %+v, want %d stored and none removed", st, live)
	}
	at, err := s.LookupPostcode(bg, "AB10 1AB")
	mustOK(t, err, "lookup AB10 1AB")
	if at != (LatLng{Lat: 57.149606, Lng: -2.096916}) {
		t.Errorf("AB10 1AB at %v", at)
	}
	for _, pc := range []string{"AB1 0AA", "AB1 0AB", "ZZ99 9ZZ", "", "ab10 1ab"} {
		_, err := s.LookupPostcode(bg, pc)
		mustErr(t, err, ErrNotFound, fmt.Sprintf("lookup %q", pc))
	}
	// Every live entry reads back exactly.
	for _, e := range entries {
		if e.Terminated {
			continue
		}
		at, err := s.LookupPostcode(bg, e.Postcode)
		if err != nil || at != (LatLng{Lat: e.Lat, Lng: e.Lng}) {
			t.Fatalf("lookup %s = %v, %v; want %v,%v", e.Postcode, at, err, e.Lat, e.Lng)
		}
	}

	// A rerun converges.
	st, err = s.LoadPostcodes(bg, updatesFrom(entries))
	mustOK(t, err, "second load")
	if st.Stored != live || st.Removed != 0 {
		t.Errorf("rerun: %+v", st)
	}

	// A later file terminates two held postcodes and one never held, moves
	// one, and adds one.
	later := readONSPDString(t, "pcds,lat,long,doterm\n"+
		"AB10 1AB,57.149606,-2.096916,202405\n"+
		"AB10 1AF,57.14959,-2.096923,202405\n"+
		"AB1 0AA,57.101474,-2.242851,199606\n"+
		"AB10 6RN,57.2,-2.2,\n"+
		"AB10 7ZZ,57.1,-2.1,\n")
	st, err = s.LoadPostcodes(bg, updatesFrom(later))
	mustOK(t, err, "later load")
	if st.Removed != 2 || st.Stored != 2 {
		t.Errorf("later load: %+v, want 2 removed and 2 stored", st)
	}
	for _, pc := range []string{"AB10 1AB", "AB10 1AF"} {
		_, err := s.LookupPostcode(bg, pc)
		mustErr(t, err, ErrNotFound, "lookup of a terminated postcode")
	}
	if at, err := s.LookupPostcode(bg, "AB10 6RN"); err != nil || at != (LatLng{57.2, -2.2}) {
		t.Errorf("moved postcode at %v, %v", at, err)
	}
	if _, err := s.LookupPostcode(bg, "AB10 7ZZ"); err != nil {
		t.Errorf("added postcode: %v", err)
	}
	mustOK(t, s.Check(), "check")
}

func TestLoadPostcodesChunks(t *testing.T) {
	s, _ := newStore(t)
	n := 2*postcodeChunk + 3
	pc := func(i int) string { return fmt.Sprintf("ZZ%d %dAA", i/10, i%10) }
	gen := func(remove bool, stopAt int, stopErr error) func() (PostcodeUpdate, bool, error) {
		i := 0
		return func() (PostcodeUpdate, bool, error) {
			if i == stopAt {
				return PostcodeUpdate{}, false, stopErr
			}
			if i == n {
				return PostcodeUpdate{}, false, nil
			}
			u := PostcodeUpdate{Postcode: pc(i), At: LatLng{Lat: 50 + float64(i)/1e6, Lng: -2}, Remove: remove}
			i++
			return u, true, nil
		}
	}
	st, err := s.LoadPostcodes(bg, gen(false, -1, nil))
	mustOK(t, err, "load")
	if st.Stored != n {
		t.Errorf("stored %d, want %d", st.Stored, n)
	}
	for _, i := range []int{0, postcodeChunk - 1, postcodeChunk, 2 * postcodeChunk, n - 1} {
		at, err := s.LookupPostcode(bg, pc(i))
		if err != nil || at.Lat != 50+float64(i)/1e6 {
			t.Errorf("lookup %s: %v, %v", pc(i), at, err)
		}
	}

	// A load that fails part-way keeps the chunks before the failure.
	stop := errors.New("read failed")
	st, err = s.LoadPostcodes(bg, gen(true, postcodeChunk+10, stop))
	mustErr(t, err, stop, "failing load")
	if st.Removed != postcodeChunk {
		t.Errorf("failing load removed %d, want the first chunk of %d", st.Removed, postcodeChunk)
	}
	if _, err := s.LookupPostcode(bg, pc(0)); !errors.Is(err, ErrNotFound) {
		t.Errorf("first chunk not applied: %v", err)
	}
	if _, err := s.LookupPostcode(bg, pc(postcodeChunk+5)); err != nil {
		t.Errorf("the unfinished chunk was applied: %v", err)
	}
	// A cancelled context stops a load.
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err = s.LoadPostcodes(ctx, gen(true, -1, nil))
	mustErr(t, err, context.Canceled, "cancelled load")
	// The rerun converges.
	st, err = s.LoadPostcodes(bg, gen(true, -1, nil))
	mustOK(t, err, "rerun")
	if st.Removed != n-postcodeChunk {
		t.Errorf("rerun removed %d, want %d", st.Removed, n-postcodeChunk)
	}
}

// ---------------------------------------------------------------------------
// 9. Close.

// Writes racing Close either commit or fail with ErrClosed; none hang, and
// every acknowledged write is in the file afterwards.
func TestCloseWithWritesInFlight(t *testing.T) {
	s, path := newStore(t)
	const writers = 32
	var acked sync.Map
	var nAcked atomic.Int64
	var wg sync.WaitGroup
	var running atomic.Int32
	running.Store(writers)
	for w := range writers {
		wg.Go(func() {
			defer running.Add(-1)
			for i := 0; ; i++ {
				var name string
				var err error
				if w%2 == 0 {
					var hr *pb.HelpRequest
					hr, err = s.CreateHelpRequest(bg, newHelpRequest("org-a", fmt.Sprintf("w%d-%d", w, i), "AB10 1AB", "+441224000001"), Idempotency{})
					name = hr.GetName()
				} else {
					var v *pb.Volunteer
					v, err = s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", "+441224000001"), Idempotency{})
					name = v.GetName()
				}
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("writer %d: %v, want success or ErrClosed", w, err)
					}
					return
				}
				acked.Store(name, true)
				nAcked.Add(1)
			}
		})
	}
	for nAcked.Load() < 200 && running.Load() > 0 {
		time.Sleep(time.Millisecond)
	}
	mustOK(t, s.Close(), "close")
	waitGroup(t, &wg, "writers after Close")

	// Every write method now fails with ErrClosed.
	hr := newHelpRequest("org-a", "", "AB10 1AB", "")
	hr.Name = helpRequestPrefix + idString(ulid.Make().Bytes())
	v := newVolunteer("org-a", "AB10 1AB", "")
	v.Name = volunteerPrefix + idString(ulid.Make().Bytes())
	id := idString(ulid.Make().Bytes())
	for name, err := range map[string]error{
		"create help request": func() error { _, err := s.CreateHelpRequest(bg, hr, Idempotency{}); return err }(),
		"update help request": func() error { _, err := s.UpdateHelpRequest(bg, hr); return err }(),
		"delete help request": s.DeleteHelpRequest(bg, id, ""),
		"create volunteer":    func() error { _, err := s.CreateVolunteer(bg, v, Idempotency{}); return err }(),
		"update volunteer":    func() error { _, err := s.UpdateVolunteer(bg, v); return err }(),
		"delete volunteer":    s.DeleteVolunteer(bg, id, ""),
	} {
		mustErr(t, err, ErrClosed, name+" after Close")
	}

	s2 := openAt(t, path)
	stored := map[string]bool{}
	for _, name := range names(listAllHR(t, s2, HelpRequestFilter{}, 1000)) {
		stored[name] = true
	}
	for _, name := range names(listAllVol(t, s2, VolunteerFilter{}, 1000)) {
		stored[name] = true
	}
	n := 0
	acked.Range(func(k, _ any) bool {
		n++
		if !stored[k.(string)] {
			t.Errorf("%s was acknowledged but is not in the file", k)
		}
		return true
	})
	if n < 200 {
		t.Errorf("only %d acknowledged writes", n)
	}
	verifyIndexes(t, s2)
	mustOK(t, s2.Check(), "check")
}

// Close commits the writes already queued before it returns.
func TestCloseCommitsQueuedWrites(t *testing.T) {
	s, path := newStore(t)
	release := blockCommitter(t, s)
	// More than one batch, so that the committer needs the file again after
	// its first commit.
	const n = maxBatch + 20
	errs := make([]error, n)
	made := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", strconv.Itoa(i), "AB10 1AB", ""), Idempotency{})
			errs[i], made[i] = err, hr.GetName()
		})
	}
	waitQueued(t, s, n)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for {
		s.c.mu.RLock()
		c := s.c.closed
		s.c.mu.RUnlock()
		if c {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	_, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "late", "AB10 1AB", ""), Idempotency{})
	mustErr(t, err, ErrClosed, "create while closing")
	// Give Close time to reach the file, were it not waiting for the
	// committer: then the queued writes would find the file closed. This
	// only widens that window; nothing here depends on timing when Close is
	// right.
	time.Sleep(5 * time.Millisecond)
	release()
	mustOK(t, <-closed, "close")
	waitGroup(t, &wg, "queued writes")
	for i, err := range errs {
		if err != nil {
			t.Errorf("queued create %d: %v", i, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	s2 := openAt(t, path)
	got := names(listAllHR(t, s2, HelpRequestFilter{}, 1000))
	if len(got) != n {
		t.Errorf("%d records after close, want %d", len(got), n)
	}
	for _, name := range made {
		if _, ok := slices.BinarySearch(got, name); !ok {
			t.Errorf("queued write %s lost", name)
		}
	}
}

// ---------------------------------------------------------------------------
// Ids.

func TestParseID(t *testing.T) {
	u := ulid.Make()
	lower := idString(u.Bytes())
	tests := []struct {
		in string
		ok bool
	}{
		{lower, true},
		{strings.ToUpper(lower), true},
		{"", false},
		{lower[:25], false},
		{lower + "a", false},
		{"0123456789abcdefghjkmnpqru", false},
		{"8zzzzzzzzzzzzzzzzzzzzzzzzz", false},
		{"7zzzzzzzzzzzzzzzzzzzzzzzzz", true},
		{"helpRequests/" + lower, false},
	}
	for _, tt := range tests {
		k, err := ParseID(tt.in)
		if tt.ok != (err == nil) {
			t.Errorf("ParseID(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil && !errors.Is(err, ErrBadID) {
			t.Errorf("ParseID(%q) err = %v, want ErrBadID", tt.in, err)
		}
		if err == nil && (len(k) != 16 || idString(k) != strings.ToLower(tt.in)) {
			t.Errorf("ParseID(%q) = %x, round trip %q", tt.in, k, idString(k))
		}
	}
	if lower != strings.ToLower(lower) || !bytes.Equal(mustKey(t, lower), u.Bytes()) {
		t.Errorf("idString(%x) = %q", u.Bytes(), lower)
	}
}

func TestIDsAreMonotonic(t *testing.T) {
	g := newIDGen()
	now := time.Now()
	prev, err := g.next(now)
	mustOK(t, err, "next")
	for range 10000 {
		id, err := g.next(now) // the same millisecond throughout
		mustOK(t, err, "next")
		if bytes.Compare(prev[:], id[:]) >= 0 || idString(prev[:]) >= idString(id[:]) {
			t.Fatalf("id %s not after %s", idString(id[:]), idString(prev[:]))
		}
		prev = id
	}
}

// Ids follow creation even when the wall clock steps back, as it may when
// it is corrected: the package promises ids monotonic within the process,
// and lists and page tokens rely on it.
func TestIDsFollowCreationWhenClockStepsBack(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	times := []time.Time{t0, t0.Add(-2 * time.Second), t0.Add(-time.Second), t0.Add(time.Second)}
	var mu sync.Mutex
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now := times[0]
		if len(times) > 1 {
			times = times[1:]
		}
		return now
	}
	s, _ := newStore(t, WithClock(clock))
	var made []string
	for i := range 4 {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", ""), Idempotency{})
		mustOK(t, err, "create")
		made = append(made, hr.Name)
		if i > 0 && made[i] <= made[i-1] {
			t.Errorf("create %d got %s, which sorts before the earlier %s", i, made[i], made[i-1])
		}
	}
	// Lists walk in id order, which is creation order.
	if got := names(listAllHR(t, s, HelpRequestFilter{}, 100)); !slices.Equal(got, made) {
		t.Errorf("list = %v\nwant creation order %v", got, made)
	}
}

// TestReadsAfterCloseSayClosed: the server maps ErrClosed to UNAVAILABLE,
// so reads after Close must return it rather than bbolt's own error.
func TestReadsAfterCloseSayClosed(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	hr, err := s.CreateHelpRequest(ctx, newHelpRequest("org-a", "", "AB10 1AB", "+441224000001"), Idempotency{})
	mustOK(t, err, "create")
	mustOK(t, s.Close(), "close")
	id := strings.TrimPrefix(hr.Name, helpRequestPrefix)
	_, err = s.GetHelpRequest(ctx, id)
	mustErr(t, err, ErrClosed, "get after close")
	_, _, err = s.ListHelpRequests(ctx, HelpRequestFilter{}, Page{Size: 10})
	mustErr(t, err, ErrClosed, "list after close")
	_, err = s.LookupPostcode(ctx, "AB10 1AB")
	mustErr(t, err, ErrClosed, "lookup after close")
	_, err = s.LoadPostcodes(ctx, updatesFrom([]geo.PostcodeEntry{{Postcode: "AB10 1AB", Lat: 57, Lng: -2}}))
	mustErr(t, err, ErrClosed, "load after close")
}

// The buckets keyed by id or revision take every new key at their end;
// their pages are packed (packAppends), where bbolt's default would leave
// each half empty. The indexes keyed by postcode are not.
func TestAppendedBucketsArePacked(t *testing.T) {
	s, _ := newStore(t)
	createMany(t, 600, 16, func(i int) error { // 16 writers share transactions, as under load
		v := newVolunteer("torry-helpers", fmt.Sprintf("AB%d %dXY", i%37, i%9), fmt.Sprintf("+4477008%05d", i))
		_, err := s.CreateVolunteer(bg, v, Idempotency{})
		return err
	})
	err := s.db.View(func(tx *bolt.Tx) error {
		vols := tx.Bucket(bVolunteers)
		for _, c := range []struct {
			name string
			b    *bolt.Bucket
		}{
			{"volunteers/records", vols.Bucket(bRecords)},
			{"volunteers/contacts", vols.Bucket(bContacts)},
			{"keys", tx.Bucket(bKeys)},
			{"events", tx.Bucket(bEvents)},
		} {
			f, pages := leafFill(c.b)
			if pages < 4 {
				t.Fatalf("%s: %d leaf pages, too few to judge", c.name, pages)
			}
			if f < 0.8 {
				t.Errorf("%s: leaf pages %.0f%% full, want at least 80%%", c.name, 100*f)
			}
			t.Logf("%s: %d leaf pages, %.0f%% full", c.name, pages, 100*f)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// leafFill is the share of b's leaf pages in use, and how many there are.
func leafFill(b *bolt.Bucket) (float64, int) {
	st := b.Stats()
	return float64(st.LeafInuse) / float64(st.LeafAlloc), st.LeafPageN
}

// A write's error must mean it was not written: the server keeps the
// matching index in step with what each write returns, so a write that
// committed behind an error (its caller's deadline passing in the queue)
// would leave a volunteer fully booked in the index, or free, until a
// restart. A write abandoned while queued never runs; one already begun
// holds its caller until it commits, and reports success.
func TestWriteErrorMeansNothingWritten(t *testing.T) {
	s, _ := newStore(t)
	release := blockCommitter(t, s)

	ctx, cancel := context.WithCancel(bg)
	errc := make(chan error, 1)
	go func() {
		_, err := s.CreateHelpRequest(ctx, newHelpRequest("org-a", "abandoned", "AB10 1AB", ""), Idempotency{})
		errc <- err
	}()
	waitQueued(t, s, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("queued write whose caller gave up: err = %v, want context.Canceled", err)
	}
	release()
	if _, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "after", "AB10 1AB", ""), Idempotency{}); err != nil {
		t.Fatalf("the next write: %v", err)
	}
	if _, err := s.GetHelpRequestByExternalID(bg, "org-a", "abandoned"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the abandoned write was stored after its caller had an error (lookup: %v)", err)
	}

	// Begun, then abandoned: the caller waits, and learns that it committed.
	ctx, cancel = context.WithCancel(bg)
	begun, unblock := make(chan struct{}), make(chan struct{})
	go func() {
		errc <- s.c.do(ctx, func(w *writeTx) error {
			close(begun)
			<-unblock
			return nil
		})
	}()
	<-begun
	cancel()
	select {
	case err := <-errc:
		t.Fatalf("a begun write returned (%v) before its commit", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(unblock)
	if err := <-errc; err != nil {
		t.Fatalf("a begun write whose caller gave up: err = %v, want its commit's nil", err)
	}
}
