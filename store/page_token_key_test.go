package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// The key page tokens are sealed under lives in the data file's meta, and
// every way the file is rewritten or reopened must keep it, or a listing
// read across it is refused half-way. A file that lost it (written by an
// older version, then a token from a newer one) gets a new key: the old
// tokens are refused as not of this listing, never taken, and the
// release before's clear tokens still read on.
func TestPageTokenKeyThroughTheFilesLife(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, path string)
		goesOn bool
	}{
		{"reopened", func(*testing.T, string) {}, true},
		{"compacted", func(t *testing.T, path string) {
			writeBoltFile(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kCompactionDue, []byte{1}) })
		}, true},
		{"key lost", func(t *testing.T, path string) {
			writeBoltFile(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Delete(kPageTokenKey) })
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, path := newStore(t)
			want := orgARequests(t, s, 5, 5)
			f := HelpRequestFilter{Organisation: "org-a"}
			first, token, err := s.ListHelpRequests(bg, f, Page{Size: 2})
			mustOK(t, err, "first page")
			mustOK(t, s.Close(), "close")
			tc.change(t, path)
			// Twice: the first start compacts, and its sealer is the one
			// migrate read before; the second reads the key the file kept.
			st, err := Open(path)
			mustOK(t, err, "first start")
			mustOK(t, st.Close(), "close")
			st = openAt(t, path)
			if !tc.goesOn {
				page, _, err := st.ListHelpRequests(bg, f, Page{Size: 2, Token: token})
				if !errors.Is(err, ErrBadPageToken) {
					t.Errorf("a token sealed under a lost key: listed %v (%v), want %v", names(page), err, ErrBadPageToken)
				}
				id, err := ParseID(idOf(first[1].Name))
				mustOK(t, err, "id")
				// The release before's token of the same page.
				token = clearPageToken(helpRequestFilterKey(f, nil), id)
			}
			got := names(first)
			for token != "" {
				var page []*pb.HelpRequest
				page, token, err = st.ListHelpRequests(bg, f, Page{Size: 2, Token: token})
				mustOK(t, err, "next page")
				got = append(got, names(page)...)
			}
			if !slices.Equal(got, want) {
				t.Errorf("listed %v, want %v", got, want)
			}
		})
	}
}

// A stored key of another length is a damaged file: Open refuses it
// rather than seal under a key nobody made.
func TestPageTokenKeyOfWrongLengthRefused(t *testing.T) {
	s, path := newStore(t)
	mustOK(t, s.Close(), "close")
	writeBoltFile(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kPageTokenKey, []byte("short")) })
	if st, err := Open(path); !errors.Is(err, errInconsistent) {
		if st != nil {
			_ = st.Close()
		}
		t.Errorf("Open with a 5-byte page token key: %v, want %v", err, errInconsistent)
	}
}

// The release before's clear tokens are still taken, and anyone can write
// one for their own filter: whatever position it names, a partner's list
// by postcode (the history's walk and the walk of those in hand) and by a
// number shared with another group lists that partner's records only.
func TestForgedClearPageTokenKeepsPartnerToItsOwn(t *testing.T) {
	s, _ := newStore(t)
	const shared = "+447700900600"
	own := map[string]bool{}
	var otherIDs [][]byte
	for i := range 6 {
		org, unit := "org-a", "AB10 1AB"
		if i%3 == 0 {
			org, unit = "org-b", "AB10 1AA"
		}
		hr, err := s.CreateHelpRequest(bg, newHelpRequest(org, "", unit, shared), Idempotency{})
		mustOK(t, err, "create")
		id, err := ParseID(idOf(hr.Name))
		mustOK(t, err, "id")
		if org == "org-b" {
			own[hr.Name] = true
		} else {
			otherIDs = append(otherIDs, id)
		}
	}
	suffixes := map[string][]byte{
		"empty":      {},
		"0x00":       {0},
		"0xff":       {0xff},
		"zero id":    make([]byte, 16),
		"before 1AB": []byte("1AA\xff"),
	}
	for i, id := range otherIDs {
		suffixes[fmt.Sprintf("org-a's id %d", i)] = id
		suffixes[fmt.Sprintf("1AB and org-a's id %d", i)] = append([]byte("1AB\x00"), id...)
	}
	for fname, f := range map[string]HelpRequestFilter{
		"postcode, history": {PostcodePrefix: "AB10 ", Organisation: "org-b"},
		"postcode, in hand": {PostcodePrefix: "AB10 ", Organisation: "org-b", State: pb.HelpRequest_STATE_OPEN},
		"shared number":     {Phone: shared, Organisation: "org-b"},
	} {
		for sname, suffix := range suffixes {
			for token := clearPageToken(helpRequestFilterKey(f, f.states()), suffix); token != ""; {
				page, next, err := s.ListHelpRequests(bg, f, Page{Size: 1, Token: token})
				mustOK(t, err, fname+", "+sname)
				for _, hr := range page {
					if !own[hr.Name] {
						t.Errorf("%s, forged suffix %s: org-b listed %s, org-a's", fname, sname, hr.Name)
					}
				}
				token = next
			}
		}
	}
}

// Tokens are sealed deterministically (the same page read twice gives the
// same token), so two partners whose walks by postcode stop at the scan
// bound on the same record of a third group must still get tokens that
// differ: equal ones, compared, would tell them they stopped at the same
// key.
func TestPartnersStoppingAtOneKeyGetTokensThatDiffer(t *testing.T) {
	defer func(n int) { maxScanned = n }(maxScanned)
	maxScanned = 20
	s, _ := newStore(t)
	for i := range 30 {
		_, err := s.CreateHelpRequest(bg, newHelpRequest("org-c", "", "AB10 1AB", fmt.Sprintf("+4477009007%02d", i)), Idempotency{})
		mustOK(t, err, "create org-c's")
	}
	tokens := map[string]string{}
	for _, org := range []string{"org-a", "org-b"} {
		page, next, err := s.ListHelpRequests(bg, HelpRequestFilter{PostcodePrefix: "AB10 ", Organisation: org}, Page{Size: 10})
		mustOK(t, err, org+" lists")
		if len(page) != 0 || next == "" {
			t.Fatalf("%s: listed %v, token %q: want nothing, and to stop at the scan bound", org, names(page), next)
		}
		tokens[org] = next
	}
	if tokens["org-a"] == tokens["org-b"] {
		t.Errorf("org-a and org-b, stopped at the same org-c request, both got %q", tokens["org-a"])
	}
}
