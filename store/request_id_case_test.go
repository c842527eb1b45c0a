package store

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// Builds before schema 13 recorded a request_id as it was sent, and a
// partner whose store keeps UUIDs in capitals (SQL Server, .NET) sent its
// ids so. Since the server reads an id in either case as one, a retry of
// such a create after the upgrade, whether in capitals or not, must still
// find the record rather than store the person a second time.
func TestUpgradeFindsRequestIDsRecordedInCapitals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v12.db")
	s := openAt(t, path)
	const upper = "6F1C2B3A-4D5E-4F60-8A7B-9C0D1E2F3A4B"
	staff := Idempotency{RequestID: upper, Fingerprint: [32]byte{1}}
	partner := Idempotency{RequestID: upper, Scope: "org:org-a", Fingerprint: [32]byte{2}}
	vol := Idempotency{RequestID: upper, Fingerprint: [32]byte{3}}
	hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", "+447700900501"), staff)
	mustOK(t, err, "create as staff")
	hrP, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", "+447700900502"), partner)
	mustOK(t, err, "create as partner")
	v, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", "+447700900503"), vol)
	mustOK(t, err, "create volunteer")
	mustOK(t, s.Close(), "close")
	// As schema 12 wrote them: the ids as sent, in capitals.
	writeBoltFile(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket(bIdempotency)
		var keys [][]byte
		if err := b.ForEach(func(k, _ []byte) error {
			keys = append(keys, bytes.Clone(k))
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			v := bytes.Clone(b.Get(k))
			if err := b.Delete(k); err != nil {
				return err
			}
			if err := b.Put([]byte(strings.Replace(string(k), strings.ToLower(upper), upper, 1)), v); err != nil {
				return err
			}
		}
		return tx.Bucket(bMeta).Put(kSchemaVersion, u64(12))
	})
	s2 := openAt(t, path)
	for _, id := range []string{upper, strings.ToLower(upper)} {
		staff.RequestID, partner.RequestID, vol.RequestID = id, id, id
		if got, err := s2.HelpRequestByRequestID(bg, staff); err != nil || got.Name != hr.Name {
			t.Errorf("staff retry with %s after the upgrade: %s, %v; want %s", id, got.GetName(), err, hr.Name)
		}
		if got, err := s2.HelpRequestByRequestID(bg, partner); err != nil || got.Name != hrP.Name {
			t.Errorf("partner retry with %s after the upgrade: %s, %v; want %s", id, got.GetName(), err, hrP.Name)
		}
		if got, err := s2.VolunteerByRequestID(bg, vol); err != nil || got.Name != v.Name {
			t.Errorf("volunteer retry with %s after the upgrade: %s, %v; want %s", id, got.GetName(), err, v.Name)
		}
	}
	verifyAll(t, s2)
}
