package server_test

import (
	"bytes"
	"os"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestErasureWhoseKeyRotationFailedSaysSo: an erasure ends by replacing
// the master key, so that the key file no longer opens the copies of the
// erased data keys bbolt leaves in free pages. When that last step failed
// (the data directory made unwritable after the start, a full disk), the
// admin was told the person was erased, as after a complete erasure, and
// a backup taken then still held them. The reply says the step is still
// to do; erasing the same number again once the directory is mended
// finishes it, and until then says it is still to do rather than failing
// or saying nothing was held.
func TestErasureWhoseKeyRotationFailedSaysSo(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	h.createHR(shopping(callerPhone("07700 900777")))
	h.createVol(matchVolunteer("Same Person", "AB10 1AF", phoned("07700 900777")))
	// The key file cannot be replaced while its temporary name is taken,
	// as when the directory or disk refuses a new file.
	block := h.path + ".keys.tmp"
	if err := os.Mkdir(block, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name           string
		mend           bool
		requests, vols int32
		pending        bool
	}{
		{name: "erasure", requests: 1, vols: 1, pending: true},
		{name: "again, directory still unwritable", pending: true},
		{name: "again, directory mended", mend: true, pending: false},
	} {
		keysBefore := readFile(t, h.path+".keys")
		if step.mend {
			if err := os.Remove(block); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := admin.ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "07700 900777"})
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if resp.HelpRequestsErased != step.requests || resp.VolunteersErased != step.vols || resp.KeyRotationPending != step.pending {
			t.Errorf("%s: erased %d requests, %d volunteers, key rotation pending %v; want %d, %d, %v",
				step.name, resp.HelpRequestsErased, resp.VolunteersErased, resp.KeyRotationPending, step.requests, step.vols, step.pending)
		}
		// The key file is rewritten by a rotation that is done, and by
		// nothing else here.
		if rotated := !bytes.Equal(readFile(t, h.path+".keys"), keysBefore); rotated == step.pending {
			t.Errorf("%s: key file rewritten %v, yet the reply says the rotation is pending %v", step.name, rotated, step.pending)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
