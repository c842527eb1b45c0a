package server_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"os"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// openedFromFile is what someone holding both the data file and its key
// file (a stolen disk, a backup, which the README says takes both) can
// decrypt from anywhere in the data file, free pages included: every
// data key wrapped under an epoch the key file holds (keys/: id then
// epoch(4) nonce(12) sealed(48), additional data the id, as store/doc.go
// describes), and every sealed value (0x01 nonce(12) sealed) stored right
// after the id of such a key.
func openedFromFile(t *testing.T, path string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kf, err := os.ReadFile(path + ".keys")
	if err != nil {
		t.Fatal(err)
	}
	gcm := func(key []byte) cipher.AEAD {
		b, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		a, err := cipher.NewGCM(b)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	body := kf[:len(kf)-32] // "DSKEYRNG" version id(16) count(4) {epoch(4) master(32) index(32)}, sha256
	masters := map[uint32]cipher.AEAD{}
	for rest := body[29:]; len(rest) >= 68; rest = rest[68:] {
		masters[binary.BigEndian.Uint32(rest)] = gcm(rest[4:36])
	}
	var out [][]byte
	for i := 0; i+80 <= len(raw); i++ {
		m := masters[binary.BigEndian.Uint32(raw[i+16:])]
		if m == nil {
			continue
		}
		id, w := raw[i:i+16], raw[i+16:i+80]
		dk, err := m.Open(nil, w[4:16], w[16:], id)
		if err != nil {
			continue
		}
		a := gcm(dk)
		for off := 0; ; {
			j := bytes.Index(raw[off:], id)
			if j < 0 {
				break
			}
			p := off + j + 16
			off = p
			if p+13+16 > len(raw) || raw[p] != 1 {
				continue
			}
			for l := 16; l < 4096 && p+13+l <= len(raw); l++ {
				if pt, err := a.Open(nil, raw[p+1:p+13], raw[p+13:p+13+l], id); err == nil {
					out = append(out, pt)
					break
				}
			}
		}
	}
	return out
}

// A coordinator deletes a volunteer who has left, or a request taken by
// mistake: the store drops their data keys, but bbolt keeps the old
// wrapped keys and sealed contacts in its free pages, and the master key
// that opens them stays in the key file until some erasure or purge
// rotates it. Anyone with a later backup read the deleted person's name,
// phone and address. Within the hour (the next purge) they no longer can,
// whatever the retention, none (0) included.
func TestDeletedPersonalDataCannotBeOpenedFromTheFile(t *testing.T) {
	for _, retention := range []time.Duration{48 * time.Hour, 0} {
		t.Run(retention.String(), func(t *testing.T) { testDeletedPersonalData(t, retention) })
	}
}

func testDeletedPersonalData(t *testing.T, retention time.Duration) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock, server.WithPersonalDataRetention(retention))
	h.srv.Sweep(h.ctx) // the first purge, with nothing to purge
	const canary = "Deleted-Canary"
	kept := h.createVol(matchVolunteer("Kept Volunteer", "AB10 1AF"))
	vol := h.createVol(matchVolunteer(canary+" Volunteer", "AB10 1AF", func(v *pb.Volunteer) {
		v.Contact.Phone = "07700 900472"
		v.Home.AddressLines = []string{"3 " + canary + " Lane"}
	}))
	req := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Requester = &pb.Contact{DisplayName: canary + " Requester", Phone: "07700 900462"}
		r.Details = "Ring twice, " + canary
	}))
	if _, err := h.vol.DeleteVolunteer(h.ctx, &pb.DeleteVolunteerRequest{Name: vol.Name}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.hr.DeleteHelpRequest(h.ctx, &pb.DeleteHelpRequestRequest{Name: req.Name}); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Hour + time.Minute)
	h.srv.Sweep(h.ctx)
	found := false
	for _, pt := range openedFromFile(t, h.path) {
		if bytes.Contains(pt, []byte(canary)) {
			t.Errorf("an hour after the deletions, the key file still opens deleted personal data in the data file: %q", pt)
		}
		found = found || bytes.Contains(pt, []byte("Kept Volunteer"))
	}
	if !found {
		t.Error("the reader found nothing of a volunteer still on record: the test shows nothing")
	}
	if got := h.getVol(kept.Name); got.Contact.GetDisplayName() != "Kept Volunteer" {
		t.Errorf("volunteer on record reads %v", got.Contact)
	}
}
