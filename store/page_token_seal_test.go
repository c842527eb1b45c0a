package store

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
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
	for i := range 3 {
		_, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", fmt.Sprintf("+4477009003%02d", i)), Idempotency{})
		mustOK(t, err, "create")
	}
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
	var want []string
	for i := range 5 {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", fmt.Sprintf("+4477009004%02d", i)), Idempotency{})
		mustOK(t, err, "create")
		want = append(want, hr.Name)
	}
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
