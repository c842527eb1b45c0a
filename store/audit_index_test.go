package store

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// auditTrail follows every page of a filtered audit listing.
func auditTrail(t *testing.T, s *BoltStore, f AuditFilter, size int) (names []string, pages int) {
	t.Helper()
	for tok := ""; ; {
		recs, next, err := s.ListAuditRecords(bg, f, Page{Size: size, Token: tok})
		mustOK(t, err, "list audit records")
		pages++
		for _, r := range recs {
			names = append(names, r.Resource+" "+r.Action)
		}
		if tok = next; tok == "" {
			return names, pages
		}
	}
}

// A record's audit trail, and a person's (the export's AnyResource), is
// read from the record's own entries: after a year the log holds millions
// of reads of other records, and a subject access export walked them all
// (4.4 s over 320 pages for a file of 3.2 million), the trail's first
// pages coming back empty.
func TestAuditTrailSkipsOtherRecords(t *testing.T) {
	defer func(n int) { maxScanned = n }(maxScanned)
	maxScanned = 20
	s, _ := newStore(t)
	rec := func(res, action string) *pb.AuditRecord {
		return &pb.AuditRecord{Action: action, Resource: res, Actor: "tokens/desk", Role: pb.Role_ROLE_HELPLINE}
	}
	mine, theirs := "helpRequests/01kjmdj1d8nr097k7ydddp8n04", "volunteers/01kjmdj2cgqpf79xr0q90m96wr"
	mustOK(t, s.RecordAudit(bg, []*pb.AuditRecord{rec(mine, "create"), rec(theirs, "create")}), "audit")
	var others []*pb.AuditRecord
	for i := range 5 * maxScanned {
		others = append(others, rec(fmt.Sprintf("helpRequests/other%d", i), "read_contact"))
	}
	mustOK(t, s.RecordAudit(bg, others), "audit others")
	mustOK(t, s.RecordAudit(bg, []*pb.AuditRecord{rec(mine, "read_contact"), rec("phone", "export")}), "audit")
	mustOK(t, s.RecordAudit(bg, others[:3]), "audit others")
	mustOK(t, s.RecordAudit(bg, []*pb.AuditRecord{rec(theirs, "update")}), "audit")

	check := func(what string) {
		t.Helper()
		got, pages := auditTrail(t, s, AuditFilter{AnyResource: []string{mine, theirs}}, 10)
		want := []string{theirs + " update", mine + " read_contact", theirs + " create", mine + " create"}
		if !slices.Equal(got, want) || pages != 1 {
			t.Errorf("%s: trail = %v in %d pages, want %v in one", what, got, pages, want)
		}
		// A page at a time, newest first, nothing twice.
		if got, _ := auditTrail(t, s, AuditFilter{AnyResource: []string{mine, theirs}}, 1); !slices.Equal(got, want) {
			t.Errorf("%s: one at a time = %v, want %v", what, got, want)
		}
		got, _ = auditTrail(t, s, AuditFilter{Resource: mine, Action: "create"}, 10)
		if want := []string{mine + " create"}; !slices.Equal(got, want) {
			t.Errorf("%s: resource and action = %v, want %v", what, got, want)
		}
		got, _ = auditTrail(t, s, AuditFilter{Resource: "phone"}, 10)
		if want := []string{"phone export"}; !slices.Equal(got, want) {
			t.Errorf("%s: by phone = %v, want %v", what, got, want)
		}
		if got, _ := auditTrail(t, s, AuditFilter{Resource: "helpRequests/other1"}, 10); len(got) != 2 {
			t.Errorf("%s: other1's trail = %v, want its two reads", what, got)
		}
	}
	check("as written")

	// A file whose log predates the index (schema 7) gains it at Open, a
	// chunk at a time.
	path := s.db.Path()
	mustOK(t, s.Close(), "close")
	asSchema7(t, path, nil)
	defer func(n int) { auditIndexChunk = n }(auditIndexChunk)
	auditIndexChunk = 7
	s = openAt(t, path, WithClock(newFakeClock().now))
	check("after reopening a file without the index")
}

// The first Open of a file whose audit log predates the index holds the
// file while the log is indexed (a year's 3.2 million records: 33 s, 67 s
// on a busy disk), and the server neither serves nor lets
// "doorstepd --new-admin-token" in meanwhile: the log says so when the
// fill begins, and how far it has got after each chunk, not only once it
// is over.
func TestAuditIndexFillSaysWhyOpenWaits(t *testing.T) {
	s, _ := newStore(t)
	var recs []*pb.AuditRecord
	for i := range 30 {
		recs = append(recs, &pb.AuditRecord{Action: "read_contact", Resource: fmt.Sprintf("helpRequests/r%d", i%4)})
	}
	mustOK(t, s.RecordAudit(bg, recs), "audit")
	path := s.db.Path()
	mustOK(t, s.Close(), "close")
	asSchema7(t, path, nil)
	defer func(n int) { auditIndexChunk = n }(auditIndexChunk)
	auditIndexChunk = 7

	core, logs := observer.New(zap.InfoLevel)
	s = openAt(t, path, WithLogger(zap.New(core)))
	var msgs []string
	for _, e := range logs.All() {
		if strings.Contains(e.Message, "audit") {
			msgs = append(msgs, e.Message)
		}
	}
	want := []string{"store indexing audit log by record"}
	for range 30 / 7 {
		want = append(want, "store audit log indexing")
	}
	want = append(want, "store audit log indexed by record")
	if !slices.Equal(msgs, want) {
		t.Errorf("log while the audit log was indexed: %q, want %q", msgs, want)
	}
	if got, _ := auditTrail(t, s, AuditFilter{Resource: "helpRequests/r1"}, 100); len(got) != 8 {
		t.Errorf("r1's trail: %d records, want 8", len(got))
	}

	// A file already indexed says nothing of it.
	mustOK(t, s.Close(), "close")
	core, logs = observer.New(zap.InfoLevel)
	s2, err := Open(path, WithLogger(zap.New(core)))
	mustOK(t, err, "reopen")
	defer s2.Close()
	for _, e := range logs.All() {
		if strings.Contains(e.Message, "audit") {
			t.Errorf("reopened an indexed file: logged %q", e.Message)
		}
	}
}

// One damaged audit record in a file whose log predates the index stopped
// the whole service from starting ("index audit log by resource: audit
// record ..."), where before it only broke audit listings. It is passed
// over with a warning, and the other records are indexed.
func TestAuditIndexFillPassesOverADamagedRecord(t *testing.T) {
	s, _ := newStore(t)
	var recs []*pb.AuditRecord
	for i := range 6 {
		recs = append(recs, &pb.AuditRecord{Action: "read_contact", Resource: fmt.Sprintf("helpRequests/r%d", i%2)})
	}
	mustOK(t, s.RecordAudit(bg, recs), "audit")
	path := s.db.Path()
	mustOK(t, s.Close(), "close")
	asSchema7(t, path, func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bAudit).Cursor().First()
		return tx.Bucket(bAudit).Put(bytes.Clone(k), []byte{0xff, 0xff, 0xff})
	})
	core, logs := observer.New(zap.InfoLevel)
	s2, err := Open(path, WithLogger(zap.New(core)))
	mustOK(t, err, "open with a damaged audit record")
	defer s2.Close()
	if n := logs.FilterMessage("store audit record unreadable, not indexed").Len(); n != 1 {
		t.Errorf("%d warnings of the damaged record, want 1", n)
	}
	if got, _ := auditTrail(t, s2, AuditFilter{Resource: "helpRequests/r1"}, 100); len(got) != 3 {
		t.Errorf("r1's trail: %d records, want 3", len(got))
	}
}

// asSchema7 turns the closed file at path back into one written before
// the audit log was indexed (schema 7), after edit, if any.
func asSchema7(t *testing.T, path string, edit func(*bolt.Tx) error) {
	t.Helper()
	writeBoltFile(t, path, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bAuditByResource); err != nil {
			return err
		}
		if edit != nil {
			if err := edit(tx); err != nil {
				return err
			}
		}
		return tx.Bucket(bMeta).Put(kSchemaVersion, u64(7))
	})
}
