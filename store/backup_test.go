package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A backup taken while writes go on opens as the store was at its
// revision: whole, consistent, every personal field readable with the key
// file written beside it, even when an erasure rotated the keys (and
// dropped the epoch the snapshot is under) while it was being copied.
func TestBackupWhileWritingAndRotating(t *testing.T) {
	withRotateChunk(t, 3)
	s, _ := newStore(t)
	const erased = "+447700900910"
	var kept []*pb.HelpRequest
	for i := range 10 {
		hr, err := s.CreateHelpRequest(bg, personalRequest(fmt.Sprint(i), fmt.Sprintf("+4477009009%02d", 20+i)), Idempotency{})
		mustOK(t, err, "create")
		kept = append(kept, hr)
	}
	_, err := s.CreateHelpRequest(bg, personalRequest("gone", erased), Idempotency{})
	mustOK(t, err, "create")
	_, err = s.CreateVolunteer(bg, personalVolunteer("v", "+447700900990"), Idempotency{})
	mustOK(t, err, "create volunteer")

	// Writers run through the whole backup; the erasure and its rotation
	// run to the end between the snapshot and its copy.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.CreateHelpRequest(bg, personalRequest("w", fmt.Sprintf("+4477009%d%04d", 5+w, i%10000)), Idempotency{}); err != nil {
					t.Errorf("write during the backup: %v", err)
					return
				}
			}
		})
	}
	backupBegun = func() {
		_, err := s.ErasePerson(bg, erased, time.Now())
		mustOK(t, err, "erase during the backup")
	}
	t.Cleanup(func() { backupBegun = nil })
	dir := filepath.Join(t.TempDir(), "backup")
	info, err := s.Backup(bg, dir)
	close(stop)
	wg.Wait()
	mustOK(t, err, "backup")
	if epoch := keyEpoch(t, s); epoch == 1 {
		t.Fatal("the erasure did not rotate the keys: the test shows nothing")
	}

	core, logs := observer.New(zapcore.WarnLevel)
	b := openAt(t, filepath.Join(dir, "doorstep.db"), WithLogger(zap.New(core)))
	mustOK(t, b.Check(), "bbolt check of the backup")
	verifyAll(t, b)
	// Opened as a restore, it moves on past every revision the live store
	// may have handed out since, and sends every watcher to reload.
	rev, err := b.Revision()
	if err != nil || rev < info.Revision+restoreJump {
		t.Errorf("backup reported at revision %d, restored at %d, %v: want it at least %d on", info.Revision, rev, err, uint64(restoreJump))
	}
	if oldest, err := b.OldestEventRevision(); err != nil || oldest != rev+1 {
		t.Errorf("restored event log answers from revision %d, %v: want none before the jump, to %d", oldest, err, rev)
	}
	for _, hr := range kept {
		got, err := b.GetHelpRequest(bg, idOf(hr.Name))
		if err != nil || !proto.Equal(got, hr) {
			t.Errorf("%s in the backup: %v, %v", hr.Name, got, err)
		}
	}
	// Taken before the erasure committed, the backup still holds the
	// person, and its restore says so.
	if got := listAllHR(t, b, HelpRequestFilter{Phone: erased}, 10); len(got) != 1 {
		t.Errorf("the backup, taken before the erasure, holds %d requests of the erased number", len(got))
	}
	if n := logs.FilterMessageSnippet("restored from a backup").Len(); n != 1 {
		t.Errorf("opening the backup warned %d times that it undoes what came after it, want once", n)
	}
	mustOK(t, b.Close(), "close the backup")
	core2, logs2 := observer.New(zapcore.WarnLevel)
	openAt(t, filepath.Join(dir, "doorstep.db"), WithLogger(zap.New(core2)))
	if n := logs2.FilterMessageSnippet("restored from a backup").Len(); n != 0 {
		t.Errorf("the second start warned again of the restore")
	}
}

// A backup never writes into a directory that exists, and leaves nothing
// behind when it fails.
func TestBackupRefusesExistingDirAndCleansUp(t *testing.T) {
	s, _ := newStore(t)
	dir := t.TempDir()
	mustOK(t, os.WriteFile(filepath.Join(dir, "doorstep.db"), []byte("older backup"), 0o600), "write")
	_, err := s.Backup(bg, dir)
	if !errors.Is(err, os.ErrExist) {
		t.Errorf("backup into a directory that exists: %v, want it refused", err)
	}
	if string(readFile(t, filepath.Join(dir, "doorstep.db"))) != "older backup" {
		t.Error("the refused backup wrote over what was there")
	}

	ctx, cancel := context.WithCancel(bg)
	cancel()
	gone := filepath.Join(t.TempDir(), "cancelled")
	if _, err := s.Backup(ctx, gone); err == nil {
		t.Error("a cancelled backup reported success")
	}
	if _, err := os.Stat(gone); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed backup left its directory: %v", err)
	}
}

// A restore first started with the wrong key file (the live one, rotated
// since the backup) is refused; put right, its start still warns of what
// the restore undid.
func TestRestoreWarnsAfterRefusedStart(t *testing.T) {
	s, path := newStore(t)
	_, err := s.CreateHelpRequest(bg, personalRequest("x", "+447700900930"), Idempotency{})
	mustOK(t, err, "create")
	dir := filepath.Join(t.TempDir(), "backup")
	_, err = s.Backup(bg, dir)
	mustOK(t, err, "backup")
	_, err = s.ErasePerson(bg, "+447700900930", time.Now())
	mustOK(t, err, "erase, which rotates the keys")
	mustOK(t, s.Close(), "close")

	restored := filepath.Join(t.TempDir(), "doorstep.db")
	copyFile(t, filepath.Join(dir, "doorstep.db"), restored)
	copyFile(t, path+".keys", restored+".keys")
	core, logs := observer.New(zapcore.WarnLevel)
	_, err = Open(restored, WithOpenTimeout(100*time.Millisecond), WithLogger(zap.New(core)))
	mustErr(t, err, ErrKeyFileMismatch, "open the backup beside the live, rotated key file")
	if n := logs.FilterMessageSnippet("restored from a backup").Len(); n != 0 {
		t.Error("the refused start warned of the restore, as if it had gone ahead")
	}

	copyFile(t, filepath.Join(dir, "doorstep.db.keys"), restored+".keys")
	core, logs = observer.New(zapcore.WarnLevel)
	openAt(t, restored, WithLogger(zap.New(core)))
	if n := logs.FilterMessageSnippet("restored from a backup").Len(); n == 0 {
		t.Error("the start put right did not warn that the restore undid what came after the backup")
	}
}

// A copy taken with the server stopped (or a disk snapshot) carries no
// backup's mark, so the store cannot tell it was put back. Opened
// WithRestored, it is treated as a restored backup: the revision moves on
// past any the live store handed out, and every watcher reloads. Without
// it, a restored cold copy hands its revisions out again.
func TestOpenWithRestoredColdCopy(t *testing.T) {
	path := closedStore(t, "+447700900940")
	cold := filepath.Join(t.TempDir(), "doorstep.db")
	copyFile(t, path, cold)
	copyFile(t, path+".keys", cold+".keys")
	before := func() uint64 {
		b := openAt(t, cold)
		rev, err := b.Revision()
		mustOK(t, err, "revision")
		mustOK(t, b.Close(), "close")
		return rev
	}()

	core, logs := observer.New(zapcore.WarnLevel)
	b := openAt(t, cold, WithRestored(), WithLogger(zap.New(core)))
	rev, err := b.Revision()
	if err != nil || rev < before+restoreJump {
		t.Errorf("a cold copy opened as restored is at revision %d, %v: want at least %d, %d on", rev, err, before+restoreJump, uint64(restoreJump))
	}
	if oldest, err := b.OldestEventRevision(); err != nil || oldest != rev+1 {
		t.Errorf("its event log answers from revision %d, %v: want none before the jump, to %d", oldest, err, rev)
	}
	if n := logs.FilterMessageSnippet("restored from a backup").Len(); n != 1 {
		t.Errorf("opening it as restored warned %d times, want once", n)
	}
}

// The same backup restored twice (a restore that went wrong, put back
// again a day later): the second restore must move past every revision the
// first restored server handed out, or its etags and watchers' positions
// would match other changes again.
func TestRestoreSameBackupTwice(t *testing.T) {
	s, _ := newStore(t)
	_, err := s.CreateHelpRequest(bg, personalRequest("x", "+447700900950"), Idempotency{})
	mustOK(t, err, "create")
	dir := filepath.Join(t.TempDir(), "backup")
	_, err = s.Backup(bg, dir)
	mustOK(t, err, "backup")

	clock := newFakeClock()
	restore := func() *BoltStore {
		to := filepath.Join(t.TempDir(), "doorstep.db")
		copyFile(t, filepath.Join(dir, "doorstep.db"), to)
		copyFile(t, filepath.Join(dir, "doorstep.db.keys"), to+".keys")
		return openAt(t, to, WithClock(clock.now))
	}
	first := restore()
	for i := range 20 {
		_, err := first.CreateHelpRequest(bg, personalRequest(fmt.Sprint(i), fmt.Sprintf("+4477009009%02d", 60+i)), Idempotency{})
		mustOK(t, err, "create on the first restore")
	}
	handedOut, err := first.Revision()
	mustOK(t, err, "revision")
	mustOK(t, first.Close(), "close")

	clock.advance(24 * time.Hour)
	second := restore()
	if rev, err := second.Revision(); err != nil || rev <= handedOut {
		t.Errorf("the second restore of one backup starts at revision %d, %v: the first restored server had handed out up to %d", rev, err, handedOut)
	}
}

// A backup whose caller gives up (the admin's Ctrl-C, a deadline) ends as
// cancelled, not as a failure the server logs as an internal error, and
// leaves nothing behind.
func TestBackupCancelled(t *testing.T) {
	s, _ := newStore(t)
	_, err := s.CreateHelpRequest(bg, personalRequest("x", "+447700900960"), Idempotency{})
	mustOK(t, err, "create")
	ctx, cancel := context.WithCancel(bg)
	backupBegun = cancel
	t.Cleanup(func() { backupBegun = nil })
	dir := filepath.Join(t.TempDir(), "backup")
	_, err = s.Backup(ctx, dir)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a backup cancelled as it began: %v, want context.Canceled", err)
	}
	if _, statErr := os.Stat(dir); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("the cancelled backup left %s: %v", dir, statErr)
	}
}
