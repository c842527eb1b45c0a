package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

func TestTokens(t *testing.T) {
	s, _ := newStore(t)
	h1 := sha256.Sum256([]byte("secret-one"))
	tok, err := s.CreateToken(bg, &pb.Token{DisplayName: "desk 1", Role: pb.Role_ROLE_HELPLINE, Name: "ignored"}, h1, false)
	mustOK(t, err, "create")
	if tok.Name == "ignored" || tok.CreateTime == nil {
		t.Errorf("created %v", tok)
	}
	got, err := s.TokenByHash(bg, h1)
	mustOK(t, err, "by hash")
	if got.Name != tok.Name || got.Role != pb.Role_ROLE_HELPLINE {
		t.Errorf("by hash: %v", got)
	}
	if _, err := s.TokenByHash(bg, sha256.Sum256([]byte("other"))); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown hash: %v", err)
	}
	if _, err := s.CreateToken(bg, &pb.Token{Role: pb.Role_ROLE_ADMIN}, h1, false); !errors.Is(err, ErrExists) {
		t.Errorf("same secret twice: %v", err)
	}
	if _, err := s.CreateToken(bg, &pb.Token{Role: pb.Role_ROLE_ADMIN}, sha256.Sum256([]byte("x")), true); !errors.Is(err, ErrExists) {
		t.Errorf("bootstrap with a token present: %v", err)
	}
	revoked, err := s.RevokeToken(bg, idOf(tok.Name))
	mustOK(t, err, "revoke")
	if revoked.RevokeTime == nil || TokenUsable(revoked, time.Now()) == nil {
		t.Errorf("revoked token %v is usable", revoked)
	}
	// The token was read (and cached) above: the revocation must show from
	// the next read.
	if got, err := s.TokenByHash(bg, h1); err != nil || got.RevokeTime == nil {
		t.Errorf("by hash after revoke: %v %v", got, err)
	}
	if _, err := s.RevokeToken(bg, idOf(tok.Name)); !errors.Is(err, ErrWrongState) {
		t.Errorf("revoke twice: %v", err)
	}
	if _, err := s.RevokeToken(bg, "01arz3ndektsv4rrffq69g5fav"); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke unknown: %v", err)
	}
	for i := range 5 {
		_, err := s.CreateToken(bg, &pb.Token{DisplayName: fmt.Sprint(i), Role: pb.Role_ROLE_COORDINATOR}, sha256.Sum256(fmt.Append(nil, i)), false)
		mustOK(t, err, "create more")
	}
	var names []string
	for tok := ""; ; {
		page, next, err := s.ListTokens(bg, Page{Size: 2, Token: tok})
		mustOK(t, err, "list")
		for _, p := range page {
			names = append(names, p.DisplayName)
		}
		if tok = next; tok == "" {
			break
		}
	}
	if fmt.Sprint(names) != "[desk 1 0 1 2 3 4]" {
		t.Errorf("listed %v", names)
	}
}

func TestTokenUsable(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		tok  *pb.Token
		ok   bool
	}{
		{"no expiry", &pb.Token{}, true},
		{"expires later", &pb.Token{ExpireTime: timestamp(now.Add(time.Minute))}, true},
		{"expired", &pb.Token{ExpireTime: timestamp(now.Add(-time.Minute))}, false},
		{"expires now", &pb.Token{ExpireTime: timestamp(now)}, false},
		{"revoked", &pb.Token{RevokeTime: timestamp(now)}, false},
	}
	for _, tt := range tests {
		if err := TokenUsable(tt.tok, now); (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

// TestBootstrapTokenOnce races servers making the first admin token.
func TestBootstrapTokenOnce(t *testing.T) {
	s, _ := newStore(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	made := 0
	for i := range 16 {
		wg.Go(func() {
			_, err := s.CreateToken(bg, &pb.Token{Role: pb.Role_ROLE_ADMIN, Creator: "bootstrap"}, sha256.Sum256(fmt.Append(nil, i)), true)
			if err == nil {
				mu.Lock()
				made++
				mu.Unlock()
			} else if !errors.Is(err, ErrExists) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if made != 1 {
		t.Errorf("%d first tokens made", made)
	}
}

func TestOrganisations(t *testing.T) {
	s, _ := newStore(t)
	_, err := s.CreateOrganisation(bg, &pb.Organisation{Name: "organisations/b-org", DisplayName: "B"}, "b-org")
	mustOK(t, err, "create b")
	_, err = s.CreateOrganisation(bg, &pb.Organisation{Name: "organisations/a-org", DisplayName: "A"}, "a-org")
	mustOK(t, err, "create a")
	if _, err := s.CreateOrganisation(bg, &pb.Organisation{Name: "organisations/a-org"}, "a-org"); !errors.Is(err, ErrExists) {
		t.Errorf("twice: %v", err)
	}
	got, err := s.GetOrganisation(bg, "a-org")
	mustOK(t, err, "get")
	if got.DisplayName != "A" || got.CreateTime == nil {
		t.Errorf("got %v", got)
	}
	if _, err := s.GetOrganisation(bg, "c-org"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	list, next, err := s.ListOrganisations(bg, Page{Size: 10})
	mustOK(t, err, "list")
	if len(list) != 2 || list[0].DisplayName != "A" || next != "" {
		t.Errorf("list %v %q", list, next)
	}
}

func TestAuditInTheSameWrite(t *testing.T) {
	s, _ := newStore(t)
	actor := &pb.AuditRecord{Actor: "tokens/x", Role: pb.Role_ROLE_HELPLINE, Action: "create", Fields: []string{"requester"}, Method: "/m/Create"}
	ctx := WithAudit(bg, actor)
	hr, err := s.CreateHelpRequest(ctx, newHelpRequest("org-a", "e1", "AB10 1AB", "+447700900001"), Idempotency{})
	mustOK(t, err, "create")
	// A refused write records nothing.
	if _, err := s.CreateHelpRequest(ctx, newHelpRequest("org-a", "e1", "AB10 1AB", "+447700900001"), Idempotency{}); !errors.Is(err, ErrExternalIDExists) {
		t.Fatalf("duplicate: %v", err)
	}
	read := &pb.AuditRecord{Actor: "tokens/y", Action: "read_contact", Resource: hr.Name, Fields: []string{"requester"}}
	mustOK(t, s.RecordAudit(bg, []*pb.AuditRecord{read, read}), "record reads")
	all, _, err := s.ListAuditRecords(bg, AuditFilter{}, Page{Size: 10})
	mustOK(t, err, "list")
	if len(all) != 3 || all[2].Action != "create" || all[2].Resource != hr.Name || all[0].Action != "read_contact" {
		t.Fatalf("audit log %v", all)
	}
	for _, r := range all {
		if r.Name == "" || r.Time == nil {
			t.Errorf("record without name or time: %v", r)
		}
	}
	byActor, _, err := s.ListAuditRecords(bg, AuditFilter{Actor: "tokens/x"}, Page{Size: 10})
	mustOK(t, err, "by actor")
	if len(byActor) != 1 || byActor[0].Method != "/m/Create" {
		t.Errorf("by actor %v", byActor)
	}
	// Paging newest first over the filter.
	var got []string
	for tok := ""; ; {
		page, next, err := s.ListAuditRecords(bg, AuditFilter{Resource: hr.Name}, Page{Size: 1, Token: tok})
		mustOK(t, err, "page")
		for _, r := range page {
			got = append(got, r.Action)
		}
		if tok = next; tok == "" {
			break
		}
	}
	if fmt.Sprint(got) != "[read_contact read_contact create]" {
		t.Errorf("paged %v", got)
	}
	if _, _, err := s.ListAuditRecords(bg, AuditFilter{Actor: "tokens/x"}, Page{Size: 1, Token: "bogus"}); !errors.Is(err, ErrBadPageToken) {
		t.Errorf("bad token: %v", err)
	}
}

// TestTokenRevocationUnderConcurrentReads revokes tokens while other
// goroutines read them as fast as they can, as the server does on every
// call: once RevokeToken returns, no read may see the token unrevoked.
func TestTokenRevocationUnderConcurrentReads(t *testing.T) {
	s, _ := newStore(t)
	const n = 20
	var hashes [n][32]byte
	ids := make([]string, n)
	for i := range n {
		hashes[i] = sha256.Sum256(fmt.Appendf(nil, "secret-%d", i))
		tok, err := s.CreateToken(bg, &pb.Token{DisplayName: fmt.Sprint(i), Role: pb.Role_ROLE_HELPLINE}, hashes[i], false)
		mustOK(t, err, "create")
		ids[i] = idOf(tok.Name)
	}
	var revoked [n]atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := g; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				i := j % n
				was := revoked[i].Load() // read before the lookup starts
				got, err := s.TokenByHash(bg, hashes[i])
				if err != nil {
					t.Error(err)
					return
				}
				if was && got.RevokeTime == nil {
					t.Errorf("token %d read unrevoked after its revocation returned", i)
					return
				}
			}
		}()
	}
	for i := range n {
		_, err := s.RevokeToken(bg, ids[i])
		mustOK(t, err, "revoke")
		revoked[i].Store(true)
	}
	close(stop)
	wg.Wait()
}

// TestVolunteerTokensEndWithTheVolunteer: deleting or erasing a volunteer
// revokes the tokens that act as them, at once (the cache included), and
// replaces the display name, which is usually their own name; other
// volunteers' tokens are untouched.
func TestVolunteerTokensEndWithTheVolunteer(t *testing.T) {
	for _, erase := range []bool{false, true} {
		clock := newFakeClock()
		s, _ := newStore(t, WithClock(clock.now))
		gone, kept := lcVolunteer(t, s, 1), lcVolunteer(t, s, 1)
		hGone, hKept := sha256.Sum256([]byte("gone")), sha256.Sum256([]byte("kept"))
		_, err := s.CreateToken(bg, &pb.Token{DisplayName: "Callum Reid", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: gone.Name}, hGone, false)
		mustOK(t, err, "token")
		_, err = s.CreateToken(bg, &pb.Token{DisplayName: "Aileen Watt", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: kept.Name}, hKept, false)
		mustOK(t, err, "token")
		for _, h := range [][32]byte{hGone, hKept} { // cached before
			_, err := s.TokenByHash(bg, h)
			mustOK(t, err, "token by hash")
		}
		if erase {
			g, err := s.GetVolunteer(bg, idOf(gone.Name))
			mustOK(t, err, "get")
			_, err = s.ErasePerson(bg, g.Contact.Phone, clock.now())
			mustOK(t, err, "erase")
		} else {
			mustOK(t, s.DeleteVolunteer(bg, idOf(gone.Name), ""), "delete")
		}
		tok, err := s.TokenByHash(bg, hGone)
		mustOK(t, err, "gone's token")
		if tok.RevokeTime == nil || (erase && tok.DisplayName != erasedTokenName) || (!erase && tok.DisplayName != deletedTokenName) {
			t.Errorf("erase %v: the volunteer's token after: revoked %v, name %q", erase, tok.RevokeTime, tok.DisplayName)
		}
		if tok, err := s.TokenByHash(bg, hKept); err != nil || tok.RevokeTime != nil || tok.DisplayName != "Aileen Watt" {
			t.Errorf("erase %v: another volunteer's token: %v (%v)", erase, tok, err)
		}
		if erase {
			// No live record, in any bucket, keeps the name.
			mustOK(t, s.view(func(tx *bolt.Tx) error {
				var walk func(path string, b *bolt.Bucket) error
				walk = func(path string, b *bolt.Bucket) error {
					return b.ForEach(func(k, v []byte) error {
						if v == nil {
							return walk(path+"/"+string(k), b.Bucket(k))
						}
						if bytes.Contains(v, []byte("Callum Reid")) {
							t.Errorf("%s/%x still holds the erased volunteer's name", path, k)
						}
						return nil
					})
				}
				return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(string(name), b) })
			}), "walk")
		}
	}
}

// TestVolunteerTokenInCapitalsEndsWithTheVolunteer: a token stored
// naming its volunteer in capitals (as CreateToken once wrote an id
// given so) ends with them too, and loses their name.
func TestVolunteerTokenInCapitalsEndsWithTheVolunteer(t *testing.T) {
	s, _ := newStore(t)
	gone := lcVolunteer(t, s, 1)
	h := sha256.Sum256([]byte("caps"))
	caps := volunteerPrefix + strings.ToUpper(idOf(gone.Name))
	_, err := s.CreateToken(bg, &pb.Token{DisplayName: "Callum Reid", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: caps}, h, false)
	mustOK(t, err, "token")
	mustOK(t, s.DeleteVolunteer(bg, idOf(gone.Name), ""), "delete")
	tok, err := s.TokenByHash(bg, h)
	mustOK(t, err, "token by hash")
	if tok.RevokeTime == nil || tok.DisplayName != deletedTokenName {
		t.Errorf("the deleted volunteer's token: revoked %v, name %q", tok.RevokeTime, tok.DisplayName)
	}
}
