package store

import (
	"crypto/sha256"
	"fmt"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestEndedTokensLeaveTheCache: a server runs for months while tokens
// are issued to volunteers' phones and partners and later revoked, or end
// with their volunteer. The cache of tokens read kept every one it had
// ever read, stale after the first revocation and never read again, with
// the volunteer's name each bore: for as long as the process ran. What is
// cached must be the tokens in use, not every token ever used.
func TestEndedTokensLeaveTheCache(t *testing.T) {
	const churn = 100
	cases := []struct {
		name string
		end  func(t *testing.T, s *BoltStore, tok *pb.Token, vol *pb.Volunteer)
	}{
		{"revoked", func(t *testing.T, s *BoltStore, tok *pb.Token, _ *pb.Volunteer) {
			_, err := s.RevokeToken(bg, idOf(tok.Name))
			mustOK(t, err, "revoke")
		}},
		{"volunteer deleted", func(t *testing.T, s *BoltStore, _ *pb.Token, vol *pb.Volunteer) {
			mustOK(t, s.DeleteVolunteer(bg, idOf(vol.Name), ""), "delete")
		}},
		{"volunteer erased", func(t *testing.T, s *BoltStore, _ *pb.Token, vol *pb.Volunteer) {
			g, err := s.GetVolunteer(bg, idOf(vol.Name))
			mustOK(t, err, "get")
			_, err = s.ErasePerson(bg, g.Contact.Phone, s.now())
			mustOK(t, err, "erase")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := newStore(t)
			hKept := sha256.Sum256([]byte("the coordinator's"))
			_, err := s.CreateToken(bg, &pb.Token{DisplayName: "coordinators' desk", Role: pb.Role_ROLE_COORDINATOR}, hKept, false)
			mustOK(t, err, "token")
			for i := range churn {
				vol := lcVolunteer(t, s, 1)
				h := sha256.Sum256(fmt.Appendf(nil, "phone %d", i))
				tok, err := s.CreateToken(bg, &pb.Token{DisplayName: fmt.Sprintf("Volunteer %d", i), Role: pb.Role_ROLE_VOLUNTEER, Volunteer: vol.Name}, h, false)
				mustOK(t, err, "token")
				for _, h := range [][32]byte{h, hKept} { // each call reads its token
					_, err := s.TokenByHash(bg, h)
					mustOK(t, err, "token by hash")
				}
				c.end(t, s, tok, vol)
			}
			s.tokens.mu.RLock()
			n := len(s.tokens.byHash)
			s.tokens.mu.RUnlock()
			// The coordinator's token, and the last one ended if it was read
			// again after.
			if n > 2 {
				t.Errorf("after %d tokens used and ended, one in use, the cache holds %d", churn, n)
			}
			if tok, err := s.TokenByHash(bg, hKept); err != nil || tok.RevokeTime != nil {
				t.Errorf("the token in use after: %v (%v)", tok, err)
			}
		})
	}
}

// TestTokenReadAcrossAnEndIsNotKept: a call that read a volunteer's token
// just before an erasure ended it puts it in the cache after the erasure
// cleared it. Never used again (its generation is past), it stayed in
// memory, the erased volunteer's name with it, until the next revocation,
// which on a quiet server may be months away.
func TestTokenReadAcrossAnEndIsNotKept(t *testing.T) {
	var c tokenCache
	h := sha256.Sum256([]byte("phone"))
	if tok, _ := c.get(h); tok != nil {
		t.Fatal("an empty cache holds a token")
	}
	_, gen := c.get(h) // a call misses, and reads the token...
	c.invalidate()     // ...while an erasure ends it and commits
	c.put(h, &pb.Token{DisplayName: "Ada Lovelace", Volunteer: "volunteers/1", Role: pb.Role_ROLE_VOLUNTEER}, gen)
	c.mu.RLock()
	n := len(c.byHash)
	c.mu.RUnlock()
	if n != 0 {
		t.Errorf("a token read before its end, cached after it, stays in the cache (%d entries)", n)
	}
	if tok, _ := c.get(h); tok != nil {
		t.Errorf("a token read before its end is served after it: %v", tok)
	}
}
