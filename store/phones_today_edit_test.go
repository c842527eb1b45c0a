package store

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// The schema 14 step changes a number as an edit does, and must go on
// doing so whatever an edit comes to keep or write: a file upgraded by
// the step and its twin, whose same records were given the same numbers
// by ordinary updates at the same time, hold the same records, personal
// fields, index entries, events and revision, and the same audit records
// but for who made them and by what method. Among the records is a
// request closed before close_time was kept, which an edit gives its last
// change as its close (helpRequests.keep): the step once did not, and its
// caller's data was kept a second retention term (83e16e5).
func TestUpgradeWritesWhatAnEditWrites(t *testing.T) {
	dir := t.TempDir()
	stepPath, editPath := filepath.Join(dir, "step.db"), filepath.Join(dir, "edit.db")
	s := openAt(t, stepPath)
	create := func(phone string) *pb.HelpRequest {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", phone), Idempotency{})
		mustOK(t, err, "create "+phone)
		return hr
	}
	open, closed := create(olderForm), create(olderForm)
	lcMust(t, "cancel")(s.CancelHelpRequest(bg, idOf(closed.Name)))
	unchanged := create(todayForm)
	vol, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", olderForm), Idempotency{})
	mustOK(t, err, "create volunteer")
	mustOK(t, s.Close(), "close")
	for _, suffix := range []string{"", ".keys"} {
		raw, err := os.ReadFile(stepPath + suffix)
		mustOK(t, err, "read "+suffix)
		mustOK(t, os.WriteFile(editPath+suffix, raw, 0o600), "copy "+suffix)
	}
	closedID, err := ParseID(idOf(closed.Name))
	mustOK(t, err, "id")
	asBeforeCloseTime := func(tx *bolt.Tx) error { return dropCloseTime(tx, closedID) }
	// The step's file as an older version left it: indexed under the
	// numbers as stored, at schema 13. Both opened once, as the same.
	for _, path := range []string{stepPath, editPath} {
		s := openAt(t, path)
		if path == stepPath {
			mustOK(t, s.c.do(bg, func(w *writeTx) error {
				sl := s.sealer(w.tx)
				if err := keyAsOlder(w, sl, helpRequests); err != nil {
					return err
				}
				return keyAsOlder(w, sl, volunteers)
			}), "key the index as older versions did")
		}
		mustOK(t, s.Close(), "close")
		writeBoltFile(t, path, asBeforeCloseTime)
	}
	writeBoltFile(t, stepPath, func(tx *bolt.Tx) error {
		return tx.Bucket(bMeta).Put(kSchemaVersion, u64(13))
	})

	// A month on, one by the step, the other by hand, in the step's order.
	at := closed.UpdateTime.AsTime().Add(30 * 24 * time.Hour)
	clock := WithClock(func() time.Time { return at })
	step := openAt(t, stepPath, clock)
	edit := openAt(t, editPath, clock)
	for _, hr := range []*pb.HelpRequest{open, closed} {
		cur, err := edit.GetHelpRequest(bg, idOf(hr.Name))
		mustOK(t, err, "get")
		cur.Requester.Phone = todayForm
		ctx := WithAudit(bg, &pb.AuditRecord{Action: "update", Resource: hr.Name, Fields: []string{"requester"}, Method: "UpdateHelpRequest", Actor: "coordinator"})
		_, err = edit.UpdateHelpRequest(ctx, cur)
		mustOK(t, err, "update "+hr.Name)
	}
	cur, err := edit.GetVolunteer(bg, idOf(vol.Name))
	mustOK(t, err, "get volunteer")
	cur.Contact.Phone = todayForm
	ctx := WithAudit(bg, &pb.AuditRecord{Action: "update", Resource: vol.Name, Fields: []string{"contact"}, Method: "UpdateVolunteer", Actor: "coordinator"})
	_, err = edit.UpdateVolunteer(ctx, cur)
	mustOK(t, err, "update volunteer")

	stepped, edited := dumpForTwin(t, step), dumpForTwin(t, edit)
	for k, v := range edited {
		if w, ok := stepped[k]; !ok {
			t.Errorf("edited, not upgraded: %s = %s", k, v)
		} else if w != v {
			t.Errorf("%s: upgraded %s, edited %s", k, w, v)
		}
	}
	for k, v := range stepped {
		if _, ok := edited[k]; !ok {
			t.Errorf("upgraded, not edited: %s = %s", k, v)
		}
	}

	for _, name := range []string{open.Name, closed.Name, vol.Name, unchanged.Name} {
		if got, want := auditShape(t, step, name, "system"), auditShape(t, edit, name, "coordinator"); !slices.Equal(got, want) {
			t.Errorf("%s's audit records: upgraded %q, edited %q", name, got, want)
		}
	}
	verifyAll(t, step)
}

// dumpForTwin is every key and value of s's file but the audit log, with
// the sealed personal fields opened (their sealing differs every time).
func dumpForTwin(t *testing.T, s *BoltStore) map[string]string {
	t.Helper()
	out := map[string]string{}
	mustOK(t, s.db.View(func(tx *bolt.Tx) error {
		sl := s.sealer(tx)
		var walk func(path string, b *bolt.Bucket) error
		walk = func(path string, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				key := fmt.Sprintf("%s/%x", path, k)
				if v == nil {
					return walk(path+"/"+string(k), b.Bucket(k))
				}
				switch path {
				case "/help_requests/contacts":
					p, err := openPersonal(sl, helpRequests, k, v)
					if err != nil {
						return err
					}
					out[key] = prototext.Format(p)
				case "/volunteers/contacts":
					p, err := openPersonal(sl, volunteers, k, v)
					if err != nil {
						return err
					}
					out[key] = prototext.Format(p)
				case "/help_requests/records", "/volunteers/records", "/events":
					// Decoded, so that a difference reads as fields.
					m := map[string]proto.Message{"/help_requests/records": &pb.HelpRequest{}, "/volunteers/records": &pb.Volunteer{}, "/events": &pb.Event{}}[path]
					if err := proto.Unmarshal(v, m); err != nil {
						return err
					}
					out[key] = prototext.Format(m)
				default:
					out[key] = fmt.Sprintf("%x", v)
				}
				return nil
			})
		}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if n := string(name); n == string(bAudit) || n == string(bAuditByResource) {
				return nil
			}
			return walk("/"+string(name), b)
		})
	}), "dump")
	return out
}

// auditShape is what name's audit records by actor say, but who and how.
func auditShape(t *testing.T, s *BoltStore, name, actor string) []string {
	t.Helper()
	recs, _, err := s.ListAuditRecords(bg, AuditFilter{Resource: name, Actor: actor}, Page{Size: 10})
	mustOK(t, err, "audit of "+name)
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%s %s %v %s %s", r.Action, r.Resource, r.Fields, r.Role, r.Organisation))
	}
	return out
}
