package store

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"slices"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A partner's list by postcode walks by_postcode over every group's
// requests, and a page that stops at the scan bound resumes after the
// last key read, which may be another group's. The token must tell the
// partner nothing of it: not that someone has a request at AB10 1AB, nor
// that request's id (the millisecond it was made).
func TestPartnerPageTokenNamesNoOtherGroupsRequest(t *testing.T) {
	defer func(n int) { maxScanned = n }(maxScanned)
	maxScanned = 20
	s, _ := newStore(t)
	own, err := s.CreateHelpRequest(bg, newHelpRequest("org-b", "", "AB10 1AA", "+447700900100"), Idempotency{})
	mustOK(t, err, "create org-b's")
	var others [][]byte
	for i := range 30 {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", fmt.Sprintf("+4477009002%02d", i)), Idempotency{})
		mustOK(t, err, "create org-a's")
		id, err := ParseID(idOf(hr.Name))
		mustOK(t, err, "id")
		others = append(others, id)
	}
	var got []string
	tokens := 0
	for token := ""; ; {
		page, next, err := s.ListHelpRequests(bg, HelpRequestFilter{PostcodePrefix: "AB10 ", Organisation: "org-b"}, Page{Size: 10, Token: token})
		mustOK(t, err, "list")
		got = append(got, names(page)...)
		if next == "" {
			break
		}
		tokens++
		raw, err := base64.RawURLEncoding.DecodeString(next)
		mustOK(t, err, "token's base64")
		if bytes.Contains(raw, []byte("1AB")) {
			t.Errorf("token %d %q holds org-a's postcode unit 1AB", tokens, raw)
		}
		for _, id := range others {
			if bytes.Contains(raw, id) {
				t.Errorf("token %d %q holds org-a's request id %x", tokens, raw, id)
			}
		}
		token = next
	}
	if tokens == 0 {
		t.Fatal("the listing stopped at no scan bound: the test shows nothing")
	}
	if !slices.Equal(got, []string{own.Name}) {
		t.Errorf("org-b listed %v, want its own %s only", got, own.Name)
	}
}

// A page token with any byte changed is refused, as a token not of this
// listing is, and lists nothing.
func TestTamperedPageTokenRefused(t *testing.T) {
	s, _ := newStore(t)
	orgARequests(t, s, 3, 3)
	f := HelpRequestFilter{PostcodePrefix: "AB10 "}
	_, token, err := s.ListHelpRequests(bg, f, Page{Size: 1})
	mustOK(t, err, "first page")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	mustOK(t, err, "token's base64")
	for i := range raw {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			tampered := bytes.Clone(raw)
			tampered[i] ^= flip
			page, _, err := s.ListHelpRequests(bg, f, Page{Size: 10, Token: base64.RawURLEncoding.EncodeToString(tampered)})
			if !errors.Is(err, ErrBadPageToken) {
				t.Errorf("byte %d of %d ^ %#x: listed %v (%v), want %v", i, len(raw), flip, names(page), err, ErrBadPageToken)
			}
		}
	}
}

// A listing goes on with the token its last page gave after a restart and
// in the store restored from a backup taken after that page: the key that
// seals tokens is the data file's, made once.
func TestPageTokenGoesOnAfterRestartAndRestore(t *testing.T) {
	s, path := newStore(t)
	want := orgARequests(t, s, 5, 4)
	f := HelpRequestFilter{Organisation: "org-a"}
	first, token, err := s.ListHelpRequests(bg, f, Page{Size: 2})
	mustOK(t, err, "first page")
	dir := filepath.Join(t.TempDir(), "backup")
	_, err = s.Backup(bg, dir)
	mustOK(t, err, "backup")
	mustOK(t, s.Close(), "close")
	for what, st := range map[string]*BoltStore{
		"restarted": openAt(t, path),
		"restored":  openAt(t, filepath.Join(dir, "doorstep.db"), WithRestored()),
	} {
		got := names(first)
		for token := token; token != ""; {
			var page []*pb.HelpRequest
			page, token, err = st.ListHelpRequests(bg, f, Page{Size: 2, Token: token})
			mustOK(t, err, what+": next page")
			got = append(got, names(page)...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: listed %v, want %v", what, got, want)
		}
	}
}

// A sealed token is bound to its filter's whole key, not to a 32-bit
// hash of it: two filters whose FNV-1a hashes are equal must not take
// each other's tokens. The pair of organisations was found by trying
// org-0, org-1, ... in turn (a second under the race detector is more
// than a test should take each run); that their keys' hashes are equal
// is checked here. The release before's clear tokens keep the hash, and
// what replaying one across such a pair can do is what forging one can
// (TestForgedClearPageTokenKeepsPartnerToItsOwn).
func TestSealedPageTokenOfACollidingFilterRefused(t *testing.T) {
	const orgA, orgB = "org-579599", "org-762382"
	keyA := helpRequestFilterKey(HelpRequestFilter{Organisation: orgA}, nil)
	keyB := helpRequestFilterKey(HelpRequestFilter{Organisation: orgB}, nil)
	if fnv32a(keyA) != fnv32a(keyB) {
		t.Fatalf("the filter keys %q and %q no longer share an FNV-1a hash: find another pair", keyA, keyB)
	}
	s, _ := newStore(t)
	for _, org := range []string{orgA, orgA, orgB} {
		_, err := s.CreateHelpRequest(bg, newHelpRequest(org, "", "AB10 1AB", "+447700900100"), Idempotency{})
		mustOK(t, err, "create")
	}
	_, token, err := s.ListHelpRequests(bg, HelpRequestFilter{Organisation: orgA}, Page{Size: 1})
	mustOK(t, err, "first page")
	if page, _, err := s.ListHelpRequests(bg, HelpRequestFilter{Organisation: orgB}, Page{Size: 1, Token: token}); !errors.Is(err, ErrBadPageToken) {
		t.Errorf("%s's token, its filter's hash equal to %s's: %s listed %v (%v), want %v", orgA, orgB, orgB, names(page), err, ErrBadPageToken)
	}
	page, _, err := s.ListHelpRequests(bg, HelpRequestFilter{Organisation: orgA}, Page{Size: 1, Token: token})
	mustOK(t, err, orgA+"'s next page")
	if len(page) != 1 {
		t.Errorf("%s's next page: %v, want its second request", orgA, names(page))
	}
}

// The sealed layout the version before this one issued (never released:
// the filter's FNV-1a hash sealed with the suffix, the version byte alone
// as additional data) is refused as not of the listing, never taken and
// never a panic: a listing read across the upgrade starts again.
func TestPageTokenOfTheFirstSealedLayoutRefused(t *testing.T) {
	s, _ := newStore(t)
	orgARequests(t, s, 3, 1)
	f := HelpRequestFilter{Organisation: "org-a"}
	first, _, err := s.ListHelpRequests(bg, f, Page{Size: 1})
	mustOK(t, err, "first page")
	id, err := ParseID(idOf(first[0].Name))
	mustOK(t, err, "id")
	firstSealed := func(filterKey string, suffix []byte) string {
		plain := binary.BigEndian.AppendUint32(nil, fnv32a(filterKey))
		plain = append(plain, suffix...)
		ad := []byte{pageTokenSealed}
		m := hmac.New(sha256.New, s.pages.nonceKey)
		_, _ = m.Write(ad)
		_, _ = m.Write(plain)
		nonce := m.Sum(nil)[:s.pages.aead.NonceSize()]
		return base64.RawURLEncoding.EncodeToString(append(append(ad, nonce...), s.pages.aead.Seal(nil, nonce, plain, ad)...))
	}
	for name, suffix := range map[string][]byte{"the first page's last id": id, "empty": {}} {
		token := firstSealed(helpRequestFilterKey(f, nil), suffix)
		if page, _, err := s.ListHelpRequests(bg, f, Page{Size: 1, Token: token}); !errors.Is(err, ErrBadPageToken) {
			t.Errorf("a token in the first sealed layout, suffix %s: listed %v (%v), want %v", name, names(page), err, ErrBadPageToken)
		}
	}
}

func fnv32a(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return h.Sum32()
}

// orgARequests makes n of org-a's requests at AB10 1AB, each on its own
// number of the series (its tests' numbers stay apart), and gives their
// names, oldest first.
func orgARequests(t *testing.T, s *BoltStore, n, series int) []string {
	t.Helper()
	var names []string
	for i := range n {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", fmt.Sprintf("+447700900%d%02d", series, i)), Idempotency{})
		mustOK(t, err, "create")
		names = append(names, hr.Name)
	}
	return names
}
