package store

import (
	"fmt"
	"path/filepath"
	"testing"
)

// A backup whose snapshot falls inside a key rotation a crash cut short
// (the new epoch in the key file, some data keys re-wrapped under it, a
// request stored meanwhile, the rotation not marked due, so the backup
// does not finish it first) must carry both epochs and restore whole: a
// key file short of either opens a copy whose records cannot be read or
// found by number, which an operator learns only on the day they restore
// it. snapshotKeys keeps the new epoch twice over, as the rotation's and
// as one the re-wrapped keys use, so this fails only when both go; a
// rotation's epoch no key uses yet is not needed to restore (Open makes
// the rotation afresh), so no test tells the first reason apart.
func TestBackupInsideARotationCarriesBothEpochs(t *testing.T) {
	withRotateChunk(t, 10)
	s, _ := newStore(t)
	phonedRequests(t, s, 40)
	old := keyEpoch(t, s)
	epoch := beginCutShort(t, s)
	// A request stored meanwhile is indexed by number under both epochs.
	_, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", "+447700900777"), Idempotency{})
	mustOK(t, err, "create during the rotation")

	dir := filepath.Join(t.TempDir(), "backup")
	_, err = s.Backup(bg, dir)
	mustOK(t, err, "backup")
	r, err := readKeyFile(filepath.Join(dir, "doorstep.db.keys"))
	mustOK(t, err, "read the backup's key file")
	for _, e := range []uint32{old, epoch} {
		if r.epochs[e] == nil {
			t.Errorf("the backup's key file lacks epoch %d (file's %d, rotation's %d)", e, old, epoch)
		}
	}

	b := openAt(t, filepath.Join(dir, "doorstep.db"))
	verifyAll(t, b)
	for i := range 41 {
		phone := fmt.Sprintf("+4477009%05d", i)
		if i == 40 {
			phone = "+447700900777"
		}
		rs, _, err := b.ListHelpRequests(bg, HelpRequestFilter{Phone: phone}, Page{Size: 10})
		mustOK(t, err, "find by number in the restored copy")
		if len(rs) != 1 || rs[0].GetRequester().GetPhone() != phone {
			t.Fatalf("the restored copy finds %d requests by %s, want its one", len(rs), phone)
		}
	}
}
