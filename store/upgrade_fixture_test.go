package store

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// fixtureAt copies testdata/name.db.gz, a file an older build wrote (see
// testdata/README.md), and its key file into a temporary directory, and
// returns the data file's path there.
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
	keys, err := os.ReadFile(filepath.Join("testdata", name+".db.keys"))
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
