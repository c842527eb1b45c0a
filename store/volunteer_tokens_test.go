package store

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// Deleting or erasing a volunteer revokes their tokens, and it read every
// token there is to find them, in the write's own transaction: with a
// million volunteers using the app, 190 ms a deletion and 2 s an erasure
// of ten under one number, every other write waiting. It reads theirs
// alone now. Another volunteer's token that cannot be read (damaged)
// stands here for all those it no longer reads.
func TestEndingAVolunteerReadsOnlyTheirTokens(t *testing.T) {
	for _, tc := range []struct {
		name, wantName string
		end            func(s *BoltStore, v *pb.Volunteer) error
	}{
		{"delete", deletedTokenName, func(s *BoltStore, v *pb.Volunteer) error {
			return s.DeleteVolunteer(bg, idOf(v.Name), "")
		}},
		{"erase", erasedTokenName, func(s *BoltStore, v *pb.Volunteer) error {
			_, err := s.ErasePerson(bg, v.Contact.Phone, time.Now())
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t)
			v, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", "+447700900001"), Idempotency{})
			mustOK(t, err, "create volunteer")
			other, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", "+447700900002"), Idempotency{})
			mustOK(t, err, "create other volunteer")
			hash := func(i int) [32]byte { return sha256.Sum256(fmt.Appendf(nil, "secret %d", i)) }
			for i, vol := range []*pb.Volunteer{v, other, v} {
				_, err := s.CreateToken(bg, &pb.Token{Volunteer: vol.Name, Role: pb.Role_ROLE_VOLUNTEER, DisplayName: "Callum"}, hash(i), false)
				mustOK(t, err, "create token")
			}
			otherTok, err := s.TokenByHash(bg, hash(1))
			mustOK(t, err, "other's token")
			mustOK(t, s.c.do(bg, func(w *writeTx) error {
				key, err := ParseID(idOf(otherTok.Name))
				if err != nil {
					return err
				}
				return w.put(w.tx.Bucket(bTokens).Bucket(bRecords), key, []byte{0xff})
			}), "damage the other's token")

			mustOK(t, tc.end(s, v), tc.name)
			for _, i := range []int{0, 2} {
				tok, err := s.TokenByHash(bg, hash(i))
				mustOK(t, err, "token")
				if tok.RevokeTime == nil || tok.DisplayName != tc.wantName {
					t.Errorf("token %d after the %s: revoked at %v, named %q", i, tc.name, tok.RevokeTime, tok.DisplayName)
				}
			}
		})
	}
}

// A file from before the index (schema 7 here, with Cat's token) has its
// tokens indexed by volunteer at the upgrade: deleting Cat afterwards
// still revokes hers.
func TestUpgradeIndexesTokensByVolunteer(t *testing.T) {
	s := openAt(t, fixtureAt(t, "schema7-ended-volunteer-tokens"))
	var cat *pb.Token
	for _, tk := range allTokens(t, s) {
		if tk.DisplayName == "Cat Example" {
			cat = tk
		}
	}
	if cat == nil {
		t.Fatal("no token of Cat's in the fixture")
	}
	mustOK(t, s.DeleteVolunteer(bg, idOf(cat.Volunteer), ""), "delete Cat")
	tk := allTokens(t, s)[cat.Name]
	if tk.RevokeTime == nil || tk.DisplayName != deletedTokenName {
		t.Errorf("Cat's token after her deletion: revoked at %v, named %q", tk.RevokeTime, tk.DisplayName)
	}
	verifyAll(t, s)
}
