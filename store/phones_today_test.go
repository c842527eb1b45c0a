package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// Older versions stored "+353 (0)87 123 4567" and "+353 087 123 4567" as
// +3530871234567, which the server now stores as +353871234567: until
// every record was touched, a find, an erasure or an export by the number
// missed the records in the older form, and matching took them for
// another caller's. The upgrade to schema 14 gives them today's form,
// once, as an edit audited as the system's.
const (
	olderForm = "+3530871234567"
	todayForm = "+353871234567"
)

// phonesTodayFixture is a file at schema 13 holding requests and a
// volunteer on olderForm (one request closed), one request on todayForm,
// a number of a country that keeps its zero, and one the rule now refuses
// (two zeros after the country code).
type phonesTodayFixture struct {
	path                               string
	open, closed, today, italy, double *pb.HelpRequest
	vol                                *pb.Volunteer
	rev                                uint64
}

func newPhonesTodayFixture(t *testing.T) phonesTodayFixture {
	t.Helper()
	f := phonesTodayFixture{path: filepath.Join(t.TempDir(), "v13.db")}
	s := openAt(t, f.path)
	create := func(phone string) *pb.HelpRequest {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", phone), Idempotency{})
		mustOK(t, err, "create "+phone)
		return hr
	}
	// Through the store, which stores a number as it is given: as an
	// older server gave it.
	f.open, f.closed = create(olderForm), create(olderForm)
	lcMust(t, "cancel")(s.CancelHelpRequest(bg, idOf(f.closed.Name)))
	f.closed, _ = s.GetHelpRequest(bg, idOf(f.closed.Name))
	f.today, f.italy, f.double = create(todayForm), create("+390612345678"), create("+35300871234567")
	var err error
	f.vol, err = s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", olderForm), Idempotency{})
	mustOK(t, err, "create volunteer")
	// Read by a coordinator before the upgrade: on its trail.
	mustOK(t, s.RecordAudit(bg, []*pb.AuditRecord{{Action: "read", Resource: f.open.Name, Actor: "coordinator", Method: "GetHelpRequest"}}), "audit a read")
	// And indexed as an older version indexed them: under the number as
	// stored.
	mustOK(t, s.c.do(bg, func(w *writeTx) error {
		sl := s.sealer(w.tx)
		if err := keyAsOlder(w, sl, helpRequests); err != nil {
			return err
		}
		return keyAsOlder(w, sl, volunteers)
	}), "key the index as older versions did")
	f.rev, err = s.Revision()
	mustOK(t, err, "revision")
	mustOK(t, s.Close(), "close")
	writeBoltFile(t, f.path, func(tx *bolt.Tx) error {
		return tx.Bucket(bMeta).Put(kSchemaVersion, u64(13))
	})
	return f
}

func TestUpgradeGivesStoredNumbersTodaysForm(t *testing.T) {
	f := newPhonesTodayFixture(t)
	s := openAt(t, f.path)
	for _, tc := range []struct {
		r    *pb.HelpRequest
		want string
	}{{f.open, todayForm}, {f.closed, todayForm}, {f.today, todayForm}, {f.italy, "+390612345678"}, {f.double, "+35300871234567"}} {
		got, err := s.GetHelpRequest(bg, idOf(tc.r.Name))
		mustOK(t, err, "get")
		if got.GetRequester().GetPhone() != tc.want {
			t.Errorf("%s stored as %s: %s after the upgrade, want %s", tc.r.Name, tc.r.GetRequester().GetPhone(), got.GetRequester().GetPhone(), tc.want)
		}
		// A changed record has a new etag, as for any write, so that an
		// edit made on the copy read before fails as stale.
		if changed := tc.r.GetRequester().GetPhone() != tc.want; (got.Etag != tc.r.Etag) != changed {
			t.Errorf("%s: etag %s, was %s; changed %v", tc.r.Name, got.Etag, tc.r.Etag, changed)
		}
	}
	v, err := s.GetVolunteer(bg, idOf(f.vol.Name))
	mustOK(t, err, "get volunteer")
	if v.GetContact().GetPhone() != todayForm || v.Etag == f.vol.Etag {
		t.Errorf("volunteer after the upgrade: %s, etag %s (was %s)", v.GetContact().GetPhone(), v.Etag, f.vol.Etag)
	}

	// One person: a find by the number, in either form, has the closed
	// request too.
	for _, form := range []string{todayForm, olderForm} {
		hrs, _, err := s.ListHelpRequests(bg, HelpRequestFilter{Phone: form}, Page{Size: 10})
		mustOK(t, err, "list by phone")
		if got, want := names(hrs), []string{f.open.Name, f.closed.Name, f.today.Name}; !slices.Equal(got, want) {
			t.Errorf("requests on %s: %v, want %v", form, got, want)
		}
		vs, _, err := s.ListVolunteers(bg, VolunteerFilter{Phone: form}, Page{Size: 10})
		mustOK(t, err, "list volunteers by phone")
		if len(vs) != 1 || vs[0].Name != f.vol.Name {
			t.Errorf("volunteers on %s: %v", form, vs)
		}
		exp, err := s.ExportPerson(bg, form)
		mustOK(t, err, "export")
		if len(exp.HelpRequests) != 3 || len(exp.Volunteers) != 1 {
			t.Errorf("export by %s: %d requests, %d volunteers; want 3 and 1", form, len(exp.HelpRequests), len(exp.Volunteers))
		}
	}

	// Every index entry is the record's as it is now, and none is left
	// under the older form's hash.
	verifyAll(t, s)
	mustOK(t, s.db.View(func(tx *bolt.Tx) error {
		sl := s.sealer(tx)
		old := join(phoneToken(sl.cur, olderForm), nil)
		for _, col := range [][]byte{bHelpRequests, bVolunteers} {
			k, _ := tx.Bucket(col).Bucket(bByPhone).Cursor().Seek(old)
			if bytes.HasPrefix(k, old) {
				t.Errorf("%s: by_phone still has an entry under %s's hash", col, olderForm)
			}
		}
		return tx.Bucket(bHelpRequests).Bucket(bPhoneToken).ForEach(func(_, tok []byte) error {
			if bytes.Equal(tok, old[:len(old)-1]) {
				t.Errorf("phone_token still holds %s's hash", olderForm)
			}
			return nil
		})
	}), "view")

	// Each change is on the record's trail as the system's, and in the
	// event log that a coordinator's app resumes from.
	changed := map[string]string{f.open.Name: "requester", f.closed.Name: "requester", f.vol.Name: "contact"}
	for name, field := range changed {
		recs, _, err := s.ListAuditRecords(bg, AuditFilter{Resource: name, Actor: "system"}, Page{Size: 10})
		mustOK(t, err, "audit")
		if len(recs) != 1 || recs[0].Action != "update" || !slices.Equal(recs[0].Fields, []string{field}) || recs[0].Method != phonesTodayMethod {
			t.Errorf("%s: system's audit records %v, want one update of %s by %s", name, recs, field, phonesTodayMethod)
		}
	}
	for _, name := range []string{f.today.Name, f.italy.Name, f.double.Name} {
		recs, _, err := s.ListAuditRecords(bg, AuditFilter{Resource: name, Actor: "system"}, Page{Size: 10})
		mustOK(t, err, "audit")
		if len(recs) != 0 {
			t.Errorf("%s, unchanged: system's audit records %v", name, recs)
		}
	}
	page, err := s.ReadEvents(bg, f.rev+1, 100)
	mustOK(t, err, "events")
	updated := map[string]bool{}
	for _, ev := range page.Events {
		switch ev.Type {
		case pb.Event_TYPE_HELP_REQUEST_UPDATED:
			updated[ev.HelpRequest] = true
		case pb.Event_TYPE_VOLUNTEER_UPDATED:
			updated[ev.Volunteer] = true
		}
	}
	if len(updated) != len(changed) {
		t.Errorf("update events after the upgrade for %v, want %v", updated, changed)
	}
	for name := range changed {
		if !updated[name] {
			t.Errorf("no update event for %s", name)
		}
	}

	// Once: a second open changes nothing.
	rev, err := s.Revision()
	mustOK(t, err, "revision")
	mustOK(t, s.Close(), "close")
	s = openAt(t, f.path)
	if again, err := s.Revision(); err != nil || again != rev {
		t.Errorf("second open: revision %d, %v; want %d", again, err, rev)
	}

	// And the erasure of the person takes all their records.
	res, err := s.ErasePerson(bg, olderForm, s.now())
	if err != nil {
		t.Fatalf("erase: %v", err)
	}
	if len(res.HelpRequests) != 3 || len(res.Volunteers) != 1 {
		t.Errorf("erasure by %s: %d requests, %d volunteers; want 3 and 1", olderForm, len(res.HelpRequests), len(res.Volunteers))
	}
	verifyAll(t, s)
}

// BenchmarkUpgradePhonesToday measures Open of a schema 13 file of
// 200,000 volunteers, 1% of them on numbers in the older form: the
// schema 14 step opens every sealed contact to find them. The file is
// built once (about a minute); each iteration opens a fresh copy.
//
//	go test -run '^$' -bench UpgradePhonesToday -benchtime 3x ./store/
func BenchmarkUpgradePhonesToday(b *testing.B) {
	const n, older = 200_000, 100 // one in older
	dir := b.TempDir()
	src := filepath.Join(dir, "v13.db")
	s, err := Open(src)
	if err != nil {
		b.Fatal(err)
	}
	fill(b, n, func(i int) (string, error) {
		num := fmt.Sprintf("+4477009%05d", i%100_000)
		if i%older == 0 {
			num = fmt.Sprintf("+3530871%06d", i)
		}
		v, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", num), Idempotency{})
		return v.GetName(), err
	})
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	writeBoltFile(b, src, func(tx *bolt.Tx) error {
		return tx.Bucket(bMeta).Put(kSchemaVersion, u64(13))
	})
	var reopen time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		dst := filepath.Join(dir, fmt.Sprintf("copy%d.db", i))
		for _, suffix := range []string{"", ".keys"} {
			raw, err := os.ReadFile(src + suffix)
			if err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(dst+suffix, raw, 0o600); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		s, err := Open(dst)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		vs, _, err := s.ListVolunteers(bg, VolunteerFilter{Phone: "+353871000000"}, Page{Size: 10})
		if err != nil || len(vs) != 1 {
			b.Fatalf("volunteer 0 by today's form: %v, %v", vs, err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		// The same file opened again, upgraded: what the step adds is
		// the difference.
		start := time.Now()
		if s, err = Open(dst); err != nil {
			b.Fatal(err)
		}
		reopen += time.Since(start)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(reopen.Seconds()/float64(b.N), "s/reopen")
}

// The upgrade may be the first start after a reboot whose clock reads
// behind the records (a flat CMOS battery, NTP not yet caught up): its
// audit records still come after what was on a record's trail before
// it, as every write's after a start does, and not a day back among the
// older ones, where the trail reads that the system changed the number
// before a coordinator ever read the request.
func TestUpgradeAuditsAfterTheTrailWhateverTheClock(t *testing.T) {
	f := newPhonesTodayFixture(t)
	s := openAt(t, f.path, WithClock(func() time.Time { return time.Now().Add(-24 * time.Hour) }))
	recs, _, err := s.ListAuditRecords(bg, AuditFilter{Resource: f.open.Name}, Page{Size: 10})
	mustOK(t, err, "audit")
	var got []string
	for _, r := range recs {
		got = append(got, r.Actor+" "+r.Action)
	}
	// Newest first.
	if want := []string{"system update", "coordinator read"}; !slices.Equal(got, want) {
		t.Errorf("%s's trail after the upgrade, newest first: %q, want %q", f.open.Name, got, want)
	}
}

// A request closed by a version before close_time was kept is purged by
// its last change, which stands for its close: the upgrade's change of
// its number is not a new close, and must not start its retention
// again (an edit does not: helpRequests.keep), or a caller's data would
// be kept a second term for a digit nobody typed.
func TestUpgradeKeepsRetentionOfRequestClosedBeforeCloseTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v13.db")
	clock := newFakeClock()
	s := openAt(t, path, WithClock(clock.now))
	hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", olderForm), Idempotency{})
	mustOK(t, err, "create")
	lcMust(t, "cancel")(s.CancelHelpRequest(bg, idOf(hr.Name)))
	closed, err := s.GetHelpRequest(bg, idOf(hr.Name))
	mustOK(t, err, "get")
	mustOK(t, s.Close(), "close")
	id, err := ParseID(idOf(hr.Name))
	mustOK(t, err, "id")
	writeBoltFile(t, path, func(tx *bolt.Tx) error {
		if err := dropCloseTime(tx, id); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kSchemaVersion, u64(13))
	})

	// A month on, the upgrade; the retention ended a day after the close.
	later := closed.UpdateTime.AsTime().Add(30 * 24 * time.Hour)
	s = openAt(t, path, WithClock(func() time.Time { return later }))
	got, err := s.GetHelpRequest(bg, idOf(hr.Name))
	mustOK(t, err, "get after the upgrade")
	if got.GetRequester().GetPhone() != todayForm {
		t.Fatalf("number after the upgrade: %s, want %s", got.GetRequester().GetPhone(), todayForm)
	}
	n, err := s.PurgePersonalData(bg, closed.UpdateTime.AsTime().Add(24*time.Hour), 10)
	mustOK(t, err, "purge")
	if n != 1 {
		t.Errorf("purge a day past its close, after the upgrade: %d purged, want 1 (close time %v)", n, got.GetCloseTime().AsTime())
	}
}

// The step is in the upgrade's one transaction: a record it cannot read
// (its sealed contact without a data key, which no version leaves) fails
// the start, naming the record and no number, and leaves the file as it
// was, the requests already given today's form in it included; the start
// once the key is back makes every change once.
func TestUpgradeFailedLeavesFileAsItWas(t *testing.T) {
	f := newPhonesTodayFixture(t)
	id, err := ParseID(idOf(f.vol.Name))
	mustOK(t, err, "id")
	var wrapped []byte
	writeBoltFile(t, f.path, func(tx *bolt.Tx) error {
		wrapped = bytes.Clone(tx.Bucket(bKeys).Get(id))
		return tx.Bucket(bKeys).Delete(id)
	})
	_, err = Open(f.path)
	if err == nil {
		t.Fatal("Open of a volunteer with no data key: no error")
	}
	if strings.Contains(err.Error(), "0871234567") || !strings.Contains(err.Error(), idString(id)) {
		t.Errorf("Open's error %q: want the volunteer's id and no number", err)
	}
	writeBoltFile(t, f.path, func(tx *bolt.Tx) error {
		if v := tx.Bucket(bMeta).Get(kSchemaVersion); !bytes.Equal(v, u64(13)) {
			t.Errorf("schema after the failed upgrade: %x, want 13", v)
		}
		if rev := currentRevision(tx); rev != f.rev {
			t.Errorf("revision after the failed upgrade: %d, want %d", rev, f.rev)
		}
		return tx.Bucket(bKeys).Put(id, wrapped)
	})
	s := openAt(t, f.path)
	for _, name := range []string{f.open.Name, f.closed.Name, f.vol.Name} {
		recs, _, err := s.ListAuditRecords(bg, AuditFilter{Resource: name, Actor: "system"}, Page{Size: 10})
		mustOK(t, err, "audit")
		if len(recs) != 1 {
			t.Errorf("%s: %d audit records of the system, want 1", name, len(recs))
		}
	}
	got, err := s.GetHelpRequest(bg, idOf(f.open.Name))
	mustOK(t, err, "get")
	if got.GetRequester().GetPhone() != todayForm {
		t.Errorf("number after the upgrade: %s", got.GetRequester().GetPhone())
	}
	verifyAll(t, s)
}
