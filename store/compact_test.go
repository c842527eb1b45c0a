package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// bbolt's lock is a flock on the open file, not on the name, and
// compactFile renames the compacted copy over the data file. An Open that
// queued for the lock on the old file must not be handed that file, now
// unlinked (every write it acknowledged would vanish with it): it lets go,
// queues on the file now named, which the first Open holds, and is told
// ErrInUse.
//
// Two Opens of a file that needs the sealing migration, started while a
// third party holds the lock (as a still-running old server would), race
// for it when it is released.
func TestCompactionKeepsSecondOpenOffUnlinkedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v3.db")
	writeV3(t, path, personalRequest("lock", "+447700900500"), personalVolunteer("lock", "+447700900501"))

	// The old server still holds the file.
	holder, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	mustOK(t, err, "hold the file")

	type opened struct {
		s   *BoltStore
		err error
	}
	results := make(chan opened, 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			s, err := Open(path, WithOpenTimeout(3*time.Second))
			results <- opened{s, err}
		})
	}
	waitForOpeners(t, path, 3) // the holder's and both Opens': both now wait for the lock
	mustOK(t, holder.Close(), "release the file")
	wg.Wait()
	close(results)

	var stores []*BoltStore
	for r := range results {
		switch {
		case r.err == nil:
			stores = append(stores, r.s)
		case errors.Is(r.err, ErrInUse):
		default:
			t.Fatalf("open: %v", r.err)
		}
	}
	// Whichever Opens succeeded each acknowledge a write, which must be in
	// the file under the name afterwards.
	var made []string
	for _, s := range stores {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", ""), Idempotency{})
		mustOK(t, err, "create")
		made = append(made, hr.Name)
	}
	for _, s := range stores {
		mustOK(t, s.Close(), "close")
	}
	if len(stores) != 1 {
		t.Errorf("%d Opens of one data file succeeded, want 1 (the other ErrInUse)", len(stores))
	}
	s := openAt(t, path)
	for _, name := range made {
		if _, err := s.GetHelpRequest(bg, idOf(name)); err != nil {
			t.Errorf("acknowledged write %s is lost after reopening: %v", name, err)
		}
	}
	mustOK(t, s.Close(), "close")
}

// waitForOpeners waits until the process has held the file at path open n
// times for 100 ms. bbolt keeps the file open while it polls for the lock,
// so an Open counted that long waits on the lock (the store's own check
// before it opens and closes the file within microseconds); a fixed sleep
// instead let a slow machine release the lock before an Open reached it,
// and the race the test is about never ran. Without /proc it falls back
// to a sleep.
func waitForOpeners(t *testing.T, path string, n int) {
	t.Helper()
	want, err := filepath.EvalSymlinks(path)
	mustOK(t, err, "resolve the data file")
	var since time.Time
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			time.Sleep(300 * time.Millisecond)
			return
		}
		open := 0
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && target == want {
				open++
			}
		}
		switch {
		case open < n:
			since = time.Time{}
		case since.IsZero():
			since = time.Now()
		case time.Since(since) >= 100*time.Millisecond:
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the data file is open %d times after a minute, want %d", open, n)
		}
	}
}

// The migration to schema 4 seals plain personal data in place, leaving
// the plain copies in the pages it freed, and marks the compaction due in
// its own transaction. If the compaction does not complete (a crash after
// the migration committed, or an error such as a full disk), the next Open
// finds the mark and compacts, and the compacted file no longer has it.
func TestMigrationCompactionRetriedAfterFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v3.db")
	const phone, vPhone = "+447700900410", "+447700900411"
	const canary = "AUDIT-MIGRATION-CANARY-9k"
	writeV3(t, path, personalRequest(canary, phone), personalVolunteer(canary, vPhone))

	// Make the compaction step fail after the migration transaction has
	// committed: compactFile cannot remove a non-empty directory in the
	// way of its temporary file. (A crash at this point has the same
	// effect: the migrated file is on disk, the compacted copy is not.)
	blocker := path + ".compact"
	if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(path, WithOpenTimeout(time.Second)); err == nil {
		_ = s.Close()
		t.Fatal("Open succeeded although the compaction could not run")
	}
	if err := os.RemoveAll(blocker); err != nil {
		t.Fatal(err)
	}

	// The next Open succeeds; the file must not hold the plain values.
	s := openAt(t, path)
	mustOK(t, s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bMeta).Get(kCompactionDue) != nil {
			t.Error("compaction_due is still set after the compaction")
		}
		return nil
	}), "view")
	mustOK(t, s.Close(), "close")
	raw := readFile(t, path)
	for _, secret := range []string{canary, phone, vPhone} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("after a failed compaction and a successful reopen, the data file still holds %q in the clear", secret)
		}
	}
}

// A file that needs no compaction is not compacted at every Open: the
// mark is set only by a migration that sealed something, and a compaction
// that completed leaves the file at the same inode from then on.
func TestOpenDoesNotCompactWithoutMark(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v3.db")
	writeV3(t, path, personalRequest("once", "+447700900420"), personalVolunteer("once", "+447700900421"))
	s := openAt(t, path)
	mustOK(t, s.Close(), "close")
	before, err := os.Stat(path)
	mustOK(t, err, "stat")
	s = openAt(t, path)
	mustOK(t, s.Close(), "close")
	after, err := os.Stat(path)
	mustOK(t, err, "stat")
	if !os.SameFile(before, after) {
		t.Error("the file was compacted again although no compaction was due")
	}
}

// A start that must compact the file (after an upgrade that took personal
// data out) writes a copy of it beside it: 4.6 s for a file of a million
// volunteers (1.1 GB) here, and room for up to its size again on disk.
// It said nothing of that until the store opened, and an operator
// watching the log saw a start stall. It says so before, and after.
func TestCompactionIsLogged(t *testing.T) {
	s, path := newStore(t)
	_, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", "+447700900001"), Idempotency{})
	mustOK(t, err, "create")
	mustOK(t, s.Close(), "close")
	writeBoltFile(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kCompactionDue, []byte{1}) })

	core, logs := observer.New(zap.InfoLevel)
	openAt(t, path, WithLogger(zap.New(core)))
	var msgs []string
	for _, e := range logs.All() {
		if strings.Contains(e.Message, "compact") {
			msgs = append(msgs, e.Message)
		}
	}
	if want := []string{"store compacting the file", "store file compacted"}; !slices.Equal(msgs, want) {
		t.Errorf("log of the compaction: %q, want %q", msgs, want)
	}
	if e := logs.FilterMessage("store compacting the file").All(); len(e) == 1 {
		if _, ok := e[0].ContextMap()["bytes"]; !ok {
			t.Errorf("the compaction's first word does not say how much room the copy needs: %v", e[0].ContextMap())
		}
	}
}
