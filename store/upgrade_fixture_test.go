package store

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// fixtureAt copies testdata/name.db.gz, a file an older build wrote (see
// testdata/README.md), and its key file, where that build made one, into a
// temporary directory, and returns the data file's path there.
func fixtureAt(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doorstep.db")
	f, err := os.Open(filepath.Join("testdata", name+".db.gz"))
	mustOK(t, err, "open fixture")
	defer f.Close()
	zr, err := gzip.NewReader(f)
	mustOK(t, err, "gunzip fixture")
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	mustOK(t, err, "create data file")
	_, err = io.Copy(out, zr)
	mustOK(t, err, "copy fixture")
	mustOK(t, out.Close(), "close data file")
	// A build before schema 4 sealed nothing and made no key file.
	keys, err := os.ReadFile(filepath.Join("testdata", name+".db.keys"))
	if errors.Is(err, fs.ErrNotExist) {
		return path
	}
	mustOK(t, err, "read fixture keys")
	mustOK(t, os.WriteFile(path+".keys", keys, 0o600), "write key file")
	return path
}

func allTokens(t *testing.T, s *BoltStore) map[string]*pb.Token {
	t.Helper()
	byName := map[string]*pb.Token{}
	for tok := ""; ; {
		page, next, err := s.ListTokens(bg, Page{Size: 100, Token: tok})
		mustOK(t, err, "list tokens")
		for _, tk := range page {
			byName[tk.Name] = tk
		}
		if tok = next; tok == "" {
			return byName
		}
	}
}

// A group upgrading from a build before volunteers' ends revoked their
// tokens (schema 7 at bdb3822) had, for each volunteer erased or deleted
// under it, a token that still signed their phone in and still bore their
// name in every token listing, and no erasure could find it again: their
// record was gone. The upgrade ends such tokens as an end does now.
func TestUpgradeEndsTokensOfVolunteersGoneBefore(t *testing.T) {
	path := fixtureAt(t, "schema7-ended-volunteer-tokens")
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s := openAt(t, path, WithClock(func() time.Time { return now }))
	byHolder := map[string]*pb.Token{}
	for _, tk := range allTokens(t, s) {
		if tk.Role == pb.Role_ROLE_VOLUNTEER {
			byHolder[tk.Volunteer] = tk
		}
	}
	if len(byHolder) != 3 {
		t.Fatalf("%d volunteers' tokens, want Ann's, Bob's and Cat's", len(byHolder))
	}
	for vol, tk := range byHolder {
		_, err := s.GetVolunteer(bg, idOf(vol))
		switch gone := err != nil; {
		case !gone && (tk.DisplayName != "Cat Example" || TokenUsable(tk, now) != nil):
			t.Errorf("the token of %s, still on record, became %q (usable: %v)", vol, tk.DisplayName, TokenUsable(tk, now))
		case gone && TokenUsable(tk, now) == nil:
			t.Errorf("the token of %s, whose record is gone, still works", vol)
		case gone && tk.DisplayName != deletedTokenName:
			t.Errorf("the token of %s, whose record is gone, still reads %q", vol, tk.DisplayName)
		}
	}
	verifyAll(t, s)
}

// The upgrade takes an erased or deleted volunteer's name off their
// tokens by writing the tokens anew, which leaves the old copies, name
// and all, in the pages bbolt freed: an erased person's name would stay
// in the file after the upgrade that says it took it off. As the seal of
// plain data does, it compacts the file when it took any name off.
func TestUpgradeLeavesNoGoneVolunteersNameInTheFile(t *testing.T) {
	path := fixtureAt(t, "schema7-ended-volunteer-tokens")
	raw, err := os.ReadFile(path)
	mustOK(t, err, "read fixture")
	for _, name := range []string{"Ann Example", "Bob Example"} {
		if !bytes.Contains(raw, []byte(name)) {
			t.Fatalf("the fixture holds no %q: the test shows nothing", name)
		}
	}
	s, err := Open(path)
	mustOK(t, err, "open")
	mustOK(t, s.Close(), "close")
	raw, err = os.ReadFile(path)
	mustOK(t, err, "read upgraded file")
	for _, name := range []string{"Ann Example", "Bob Example"} {
		if bytes.Contains(raw, []byte(name)) {
			t.Errorf("after the upgrade the file still holds %q, whose record is gone", name)
		}
	}
	// Cat, still on record, keeps her token's name (the test above reads
	// it back), sealed under her data key since schema 10: in the clear,
	// the data file alone would name her.
	if bytes.Contains(raw, []byte("Cat Example")) {
		t.Error("after the upgrade the file holds Cat Example's token name in the clear")
	}
	// The compaction is done: the next Open does not compact again.
	s = openAt(t, path)
	due, err := compactionDue(s.db)
	mustOK(t, err, "compaction due")
	if due {
		t.Error("compaction still due after the upgrade's Open")
	}
}

// An upgrade to schema 9 whose compaction cannot run (here a directory in
// the way of its copy, as a full disk would be) stops the start, and the
// operator is told what could not be done: "compact after sealing" named
// a sealing that this upgrade never did, and not why the file must be
// compacted before the server may start.
func TestUpgradeCompactionFailureSaysWhy(t *testing.T) {
	path := fixtureAt(t, "schema7-ended-volunteer-tokens")
	blocker := path + ".compact"
	mustOK(t, os.MkdirAll(filepath.Join(blocker, "x"), 0o700), "block the copy")
	s, err := Open(path)
	if err == nil {
		_ = s.Close()
		t.Fatal("Open succeeded although the compaction could not run")
	}
	if msg := err.Error(); strings.Contains(msg, "sealing") || !strings.Contains(msg, "personal data") {
		t.Errorf("Open: %v; want no word of sealing, and why the file must be compacted", err)
	}
	mustOK(t, os.RemoveAll(blocker), "unblock")
	s = openAt(t, path)
	due, err := compactionDue(s.db)
	mustOK(t, err, "compaction due")
	if due {
		t.Error("compaction still due after the Open that could compact")
	}
}

// Under schema 9 a deleted volunteer's tokens lost the name they bore by
// being written anew, which left the old copy, name in the clear, in a
// page bbolt freed and no later write happened to reuse. The upgrade to
// schema 10 says volunteers' token names are sealed from then on; a file
// whose only named tokens were such ended ones had nothing to seal, was
// not compacted, and still named the deleted volunteers to anyone with
// the data file alone.
func TestUpgradeLeavesNoNameOfVolunteersDeletedUnderSchema9(t *testing.T) {
	path := fixtureAt(t, "schema9-deleted-volunteer-tokens")
	raw, err := os.ReadFile(path)
	mustOK(t, err, "read fixture")
	names := []string{"Dee Example", "Eve Example", "Fay Example", "Gil Example"}
	held := 0
	for _, name := range names {
		if bytes.Contains(raw, []byte(name)) {
			held++
		}
	}
	if held == 0 {
		t.Fatal("the fixture holds none of the deleted volunteers' names: the test shows nothing")
	}
	s, err := Open(path)
	mustOK(t, err, "open")
	for _, tk := range allTokens(t, s) {
		if tk.Role == pb.Role_ROLE_VOLUNTEER && tk.DisplayName != deletedTokenName {
			t.Errorf("token %s of a deleted volunteer reads %q", tk.Name, tk.DisplayName)
		}
	}
	mustOK(t, s.Close(), "close")
	raw, err = os.ReadFile(path)
	mustOK(t, err, "read upgraded file")
	for _, name := range names {
		if bytes.Contains(raw, []byte(name)) {
			t.Errorf("after the upgrade the file still holds %q, deleted under schema 9", name)
		}
	}
	s = openAt(t, path)
	due, err := compactionDue(s.db)
	mustOK(t, err, "compaction due")
	if due {
		t.Error("compaction still due after the upgrade's Open")
	}
}

// allRequests reads every help request f selects, by requester name,
// postcode and first need ("Mo Shared AB10 1AH hot meal").
func allRequests(t *testing.T, s *BoltStore, f HelpRequestFilter) map[string]*pb.HelpRequest {
	t.Helper()
	out := map[string]*pb.HelpRequest{}
	for tok := ""; ; {
		page, next, err := s.ListHelpRequests(bg, f, Page{Size: 7, Token: tok})
		mustOK(t, err, "list help requests")
		for _, hr := range page {
			need := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(hr.GetNeeds()[0].String(), "NEED_"), "_", " "))
			key := hr.GetRequester().GetDisplayName() + " " + hr.GetLocation().GetPostcode() + " " + need
			if _, twice := out[key]; twice {
				t.Errorf("list %+v gives %s twice", f, key)
			}
			out[key] = hr
		}
		if tok = next; tok == "" {
			return out
		}
	}
}

// A group that last updated before personal data was sealed (schema 3, at
// 8a4b1f8) upgrades straight to today's: every step runs on one file its
// helpline wrote in a day's use, not on a current file made to look old.
// Each request is read back in the state that build left it in, by state,
// by number (shared by three requests of one caller and another's, one
// Irish number stored with its zero) and by postcode; offers by
// volunteer; a create retried with the capitals its request_id was first
// sent in finds its request; the names it held in the clear are sealed
// and gone from the file; and a second start changes nothing.
func TestUpgradeFromSchema3KeepsADaysRecords(t *testing.T) {
	path := fixtureAt(t, "schema3-helpline-day")
	raw, err := os.ReadFile(path)
	mustOK(t, err, "read fixture")
	clear := []string{"Mo Shared", "Alice Walker", "Nan Dublin", "Milk and bread"}
	for _, text := range clear {
		if !bytes.Contains(raw, []byte(text)) {
			t.Fatalf("the fixture holds no %q in the clear: the test shows nothing", text)
		}
	}
	now := time.Date(2026, 11, 28, 7, 15, 0, 0, time.UTC)
	s, err := Open(path, WithClock(func() time.Time { return now }))
	mustOK(t, err, "open")
	verifyAll(t, s)

	const shop = " grocery shopping"
	want := map[string]pb.HelpRequest_State{
		"Kim Late AB10 1AB" + shop:                   pb.HelpRequest_STATE_EXPIRED,
		"Lee Waiting AB10 1AF" + shop:                pb.HelpRequest_STATE_OPEN, // its offer lapsed
		"Mo Shared AB10 1AG" + shop:                  pb.HelpRequest_STATE_OPEN,
		"Mo Shared AB10 1AH prescription collection": pb.HelpRequest_STATE_OPEN,
		"Mo Shared AB10 1AH hot meal":                pb.HelpRequest_STATE_OPEN, // a batch row
		"Rex Retry AB10 1AU dog walking":             pb.HelpRequest_STATE_OPEN,
		"Nan Dublin AB10 1AL" + shop:                 pb.HelpRequest_STATE_OPEN,
		"Ola Lonely AB10 1AN befriending call":       pb.HelpRequest_STATE_OPEN,
		"Pat Accept AB10 1AP" + shop:                 pb.HelpRequest_STATE_OFFERED,
		"Quin Decline AB10 1AQ" + shop:               pb.HelpRequest_STATE_OFFERED,
		"Ros Later AB10 1AS" + shop:                  pb.HelpRequest_STATE_OFFERED,
		"Sam Assigned AB10 1AU" + shop:               pb.HelpRequest_STATE_ASSIGNED,
		"Tia Done AB10 1AW" + shop:                   pb.HelpRequest_STATE_FULFILLED,
		"Uma Cancel AB10 1AB" + shop:                 pb.HelpRequest_STATE_CANCELLED,
		"Vic Declined AB10 1AF" + shop:               pb.HelpRequest_STATE_OPEN,
		"Gail Erased AB10 1AP" + shop:                pb.HelpRequest_STATE_OPEN,
		"Finn Leaving AB10 1AN" + shop:               pb.HelpRequest_STATE_OPEN,
		"Wyn South AB10 1AW" + shop:                  pb.HelpRequest_STATE_OPEN,
		"Xan Edited AB10 1AB" + shop:                 pb.HelpRequest_STATE_OPEN,
		"Zed Batch AB10 1AG food parcel":             pb.HelpRequest_STATE_OPEN,
	}
	all := allRequests(t, s, HelpRequestFilter{})
	if len(all) != len(want) {
		t.Errorf("%d requests after the upgrade, want %d", len(all), len(want))
	}
	byState := map[pb.HelpRequest_State]int{}
	for key, st := range want {
		hr, ok := all[key]
		switch {
		case !ok:
			t.Errorf("%s: the request is gone", key)
		case hr.State != st:
			t.Errorf("%s: the request is %v, want %v", key, hr.State, st)
		case strings.HasSuffix(key, shop) && !strings.HasPrefix(key, "Xan") && hr.GetDetails() != "Milk and bread for "+hr.GetRequester().GetDisplayName()+", side door":
			t.Errorf("%s: the request's details read %q", key, hr.GetDetails())
		}
		byState[st]++
	}
	for st, n := range byState {
		if got := len(allRequests(t, s, HelpRequestFilter{State: st})); got != n {
			t.Errorf("%d requests listed %v, want %d", got, st, n)
		}
	}
	if got := all["Xan Edited AB10 1AB"+shop].GetDetails(); got != "Changed: also stamps" {
		t.Errorf("the edited request reads %q", got)
	}

	for _, c := range []struct {
		phone string
		want  []string
	}{
		{"+447700900103", []string{"Mo Shared AB10 1AG" + shop, "Mo Shared AB10 1AH hot meal", "Mo Shared AB10 1AH prescription collection", "Wyn South AB10 1AW" + shop}},
		{"+353877654321", []string{"Nan Dublin AB10 1AL" + shop}},
		{"+3530877654321", []string{"Nan Dublin AB10 1AL" + shop}},
		{"+447700900007", []string{"Gail Erased AB10 1AP" + shop}},
	} {
		got := allRequests(t, s, HelpRequestFilter{Phone: c.phone})
		var keys []string
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if !slices.Equal(keys, c.want) {
			t.Errorf("requests by %s: %v, want %v", c.phone, keys, c.want)
		}
	}
	if got := all["Nan Dublin AB10 1AL"+shop].GetRequester().GetPhone(); got != "+353877654321" {
		t.Errorf("the Irish number stored with its zero reads %s, want today's form", got)
	}
	if got := allRequests(t, s, HelpRequestFilter{PostcodePrefix: "AB10 1AB"}); len(got) != 3 {
		t.Errorf("%d requests at AB10 1AB, want Kim's, Uma's and Xan's", len(got))
	}

	vols := map[string]*pb.Volunteer{}
	for tok := ""; ; {
		page, next, err := s.ListVolunteers(bg, VolunteerFilter{}, Page{Size: 4, Token: tok})
		mustOK(t, err, "list volunteers")
		for _, v := range page {
			vols[v.GetContact().GetDisplayName()] = v
		}
		if tok = next; tok == "" {
			break
		}
	}
	if len(vols) != 9 {
		t.Errorf("%d volunteers after the upgrade, want the 9 not deleted", len(vols))
	}
	if v := vols["Ben Paused"]; !v.GetPaused() {
		t.Error("Ben, paused, is not paused after the upgrade")
	}
	if got := vols["Hal Dublin"].GetContact().GetPhone(); got != "+353871234567" {
		t.Errorf("Hal's Irish number reads %s, want today's form", got)
	}
	offers, _, err := s.ListOffers(bg, OfferFilter{VolunteerID: idOf(vols["Jon Spare"].GetName())}, Page{Size: 10})
	mustOK(t, err, "list Jon's offers")
	var states []string
	for _, o := range offers {
		states = append(states, o.State.String())
	}
	sort.Strings(states)
	if want := []string{"STATE_ACCEPTED", "STATE_DECLINED", "STATE_EXPIRED"}; !slices.Equal(states, want) {
		t.Errorf("Jon's offers: %v, want %v", states, want)
	}

	retry := all["Rex Retry AB10 1AU dog walking"]
	for _, id := range []string{"165E6D21-E0A2-4C9E-BB32-CA05F90E0FA7", "165e6d21-e0a2-4c9e-bb32-ca05f90e0fa7"} {
		// The fixture's create is not at hand to fingerprint: a request
		// found with other content is still a request found.
		hr, err := s.HelpRequestByRequestID(bg, Idempotency{RequestID: id})
		if err != nil && !errors.Is(err, ErrRequestIDReused) {
			t.Errorf("request_id %s: %v, want Rex's request", id, err)
		} else if err == nil && hr.Name != retry.GetName() {
			t.Errorf("request_id %s: %s, want Rex's %s", id, hr.Name, retry.GetName())
		}
	}
	mustOK(t, s.Close(), "close")

	raw, err = os.ReadFile(path)
	mustOK(t, err, "read upgraded file")
	for _, text := range clear {
		if bytes.Contains(raw, []byte(text)) {
			t.Errorf("after the upgrade the file still holds %q in the clear", text)
		}
	}
	s = openAt(t, path, WithClock(func() time.Time { return now }))
	again := allRequests(t, s, HelpRequestFilter{})
	for key, hr := range all {
		if again[key].GetEtag() != hr.GetEtag() {
			t.Errorf("the second start changed %s's request (etag %s, then %s)", key, hr.GetEtag(), again[key].GetEtag())
		}
	}
}
