package store

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// An operator who upgraded, ran the new version for a day and went back
// to the old binary met "schema 14, this version reads up to 13: data
// file was written by a newer version", and nothing said what to do: the
// file cannot be taken back to the older layout, and the way back is the
// backup taken before the upgrade, or the newer version again.
func TestOpenNewerSchemaSaysWhatToDo(t *testing.T) {
	for _, newer := range []uint64{SchemaVersion + 1, SchemaVersion + 50} {
		t.Run(fmt.Sprint(newer), func(t *testing.T) {
			path := t.TempDir() + "/doorstep.db"
			writeBoltFile(t, path, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket(bMeta)
				if err != nil {
					return err
				}
				return b.Put(kSchemaVersion, u64(newer))
			})
			_, err := Open(path, WithOpenTimeout(100*time.Millisecond))
			mustErr(t, err, ErrNewerSchema, "open of a newer file")
			for _, want := range []string{
				fmt.Sprintf("schema %d, this version reads up to %d", newer, SchemaVersion),
				"run the version that wrote it",
				"backup taken before the upgrade",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("refusal %q does not say %q", err, want)
				}
			}
		})
	}
}

// A data file gone from beside its key file (moved away in a restore
// done by hand, or a copy that failed on a full disk and left it empty)
// was taken for a new one: the server started as an empty store with a
// new first admin token, every request and volunteer out of sight, and
// took in new work over the loss. The key file is made at a file's first
// start, after bbolt has written its first pages, so it says there was
// data here.
func TestOpenRefusesDataFileGoneFromBesideItsKeyFile(t *testing.T) {
	for _, tt := range []struct {
		name string
		lose func(path string) error
	}{
		{"missing", os.Remove},
		{"empty", func(path string) error { return os.Truncate(path, 0) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := closedStore(t, "+447700900902")
			keys := readFile(t, path+".keys")
			mustOK(t, tt.lose(path), "lose the data file")

			_, err := Open(path, WithOpenTimeout(100*time.Millisecond))
			mustErr(t, err, ErrDataFileMissing, "open with the data file "+tt.name)
			if !strings.Contains(err.Error(), path+".keys") {
				t.Errorf("refusal %q does not name the key file", err)
			}
			if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
				t.Errorf("the refused open laid out a new store (%d bytes)", fi.Size())
			}
			if got := readFile(t, path+".keys"); !bytes.Equal(got, keys) {
				t.Error("the refused open changed the key file")
			}
		})
	}
}

// A file that is not a bbolt file at all in the data file's place (the
// key file copied over it, a backup still compressed, something else
// named doorstep.db) was refused as bbolt put it, "invalid database" or
// "file size too small 129", which says neither what the file is not nor
// what to put there.
func TestOpenRefusesFileThatIsNotADataFile(t *testing.T) {
	good := closedStore(t, "+447700900903")
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, err := w.Write(readFile(t, good))
	mustOK(t, err, "gzip")
	mustOK(t, w.Close(), "gzip close")

	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"the key file", readFile(t, good+".keys")},
		{"a compressed backup", gz.Bytes()},
		{"a short text file", bytes.Repeat([]byte("postcode,lat,lng\n"), 300)},
		{"a long text file", bytes.Repeat([]byte("postcode,lat,lng\n"), 3000)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "doorstep.db")
			mustOK(t, os.WriteFile(path, tt.data, 0o600), "write")
			copyFile(t, good+".keys", path+".keys")
			_, err := Open(path, WithOpenTimeout(100*time.Millisecond))
			mustErr(t, err, ErrNotDataFile, "open of "+tt.name)
			if !strings.Contains(err.Error(), "put back") {
				t.Errorf("refusal %q does not say what to put there", err)
			}
			if got := readFile(t, path); !bytes.Equal(got, tt.data) {
				t.Error("the refused open changed the file")
			}
		})
	}
}

// A data file and key file put back as root, into a directory the
// server's user cannot write (a fresh machine's --data-dir made by the
// restore), opened and served; the first erasure then told its caller
// the person was erased while its key rotation could not rewrite the key
// file ("permission denied"), and so every purge after: the erased
// data's old keys stayed in the key file for as long as the server ran.
// Open refuses such a directory, saying what the key file needs.
func TestOpenRefusesKeyFileDirectoryItCannotWrite(t *testing.T) {
	path := closedStore(t, "+447700900904")
	readOnlyDir(t, filepath.Dir(path))

	_, err := Open(path, WithOpenTimeout(100*time.Millisecond))
	if err == nil {
		t.Fatal("Open served from a directory where the key file cannot be rewritten")
	}
	for _, want := range []string{filepath.Dir(path), "erasure", "write access"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
}

// readOnlyDir makes dir refuse new files until the test ends.
func readOnlyDir(t *testing.T, dir string) {
	t.Helper()
	readOnly(t, dir, 0o500, 0o700)
}

// readOnly makes path refuse writes until the test ends: by its mode (ro,
// rw after) for a user, and for root, whom modes do not stop, by the
// immutable attribute, skipping the test where that cannot be set.
func readOnly(t *testing.T, path string, ro, rw os.FileMode) {
	t.Helper()
	if os.Geteuid() != 0 {
		mustOK(t, os.Chmod(path, ro), "chmod")
		t.Cleanup(func() { _ = os.Chmod(path, rw) })
		return
	}
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Skipf("root, and chattr +i cannot make %s read-only: %v %s", path, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("chattr", "-i", path).CombinedOutput(); err != nil {
			t.Errorf("chattr -i %s: %v %s", path, err, out)
		}
	})
}

// A key file cut short by a failed copy was refused as "key file is
// damaged", and one a newer version wrote in a format of its own would be
// too, neither saying what to put back; the other key file refusals do.
func TestOpenKeyFileDamagedSaysWhatToPutBack(t *testing.T) {
	path := closedStore(t, "+447700900905")
	keys := readFile(t, path+".keys")
	newer := bytes.Clone(keys[:len(keys)-sha256.Size])
	newer[8] = keyFileVersion + 1
	sum := sha256.Sum256(newer)
	newer = append(newer, sum[:]...)

	for _, tt := range []struct {
		name string
		keys []byte
		want string
	}{
		{"empty", nil, "put back the key file saved with the data file"},
		{"cut short", keys[:60], "put back the key file saved with the data file"},
		{"a bit changed", append(bytes.Clone(keys[:40]), append([]byte{keys[40] ^ 1}, keys[41:]...)...), "put back the key file saved with the data file"},
		// Put back beside the upgraded data file, the old key file alone
		// would not open it: both of the backup's files go back.
		{"a newer format", newer, "written by a newer version: run that version, or put back both files of the backup taken before the upgrade"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mustOK(t, os.WriteFile(path+".keys", tt.keys, 0o600), "write key file")
			_, err := Open(path, WithOpenTimeout(100*time.Millisecond))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open with a key file %s: %v, want it to say %q", tt.name, err, tt.want)
			}
		})
	}
}

// closedStore is a store holding one request with personal data (its
// caller's phone given), closed: the pair of files a restore, a copy or a
// rollback starts from. It returns the data file's path.
func closedStore(t *testing.T, phone string) string {
	t.Helper()
	s, path := newStore(t)
	_, err := s.CreateHelpRequest(bg, personalRequest("x", phone), Idempotency{})
	mustOK(t, err, "create")
	mustOK(t, s.Close(), "close")
	return path
}

// storeToCopy is a closed store of 200 requests (names from name, phones
// from phone and four digits), for tests that cut or spoil copies of it:
// its path, its bytes, and the size and page size its last commit left.
func storeToCopy(t *testing.T, name, phone string) (path string, whole []byte, need int64, pageSize int) {
	t.Helper()
	s, path := newStore(t)
	for i := range 200 {
		_, err := s.CreateHelpRequest(bg, personalRequest(fmt.Sprint(name, i), fmt.Sprintf("%s%04d", phone, i)), Idempotency{})
		mustOK(t, err, "create")
	}
	mustOK(t, s.Close(), "close")
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	mustOK(t, err, "open read-only")
	mustOK(t, db.View(func(tx *bolt.Tx) error { need, pageSize = tx.Size(), tx.DB().Info().PageSize; return nil }), "size")
	mustOK(t, db.Close(), "close read-only")
	return path, readFile(t, path), need, pageSize
}

// openInChild opens path in a child process (TestOpenChild) and returns
// what Open said, failing the test if the child died first: an Open that
// crashes its process then fails one test, not the whole run.
func openInChild(t *testing.T, path, what string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenChild$")
	cmd.Env = append(os.Environ(), envOpenChild+"="+path)
	out, _ := cmd.CombinedOutput()
	got := string(out)
	i := strings.Index(got, "OPEN: ")
	if i < 0 {
		t.Fatalf("Open of %s did not return:\n%.600s", what, out)
	}
	return strings.TrimSpace(strings.SplitN(got[i+len("OPEN: "):], "\n", 2)[0])
}

const envOpenChild = "DOORSTEP_OPEN_CHILD_PATH"

// TestOpenChild is TestOpenRefusesDataFileCutShort's child process: it
// opens the file it is given and prints what Open said, so that an Open
// that kills its process fails the test rather than the whole run.
func TestOpenChild(t *testing.T) {
	path := os.Getenv(envOpenChild)
	if path == "" {
		t.Skip("only runs as TestOpenRefusesDataFileCutShort's child process")
	}
	s, err := Open(path, WithOpenTimeout(time.Second))
	if err == nil {
		_ = s.Close()
	}
	fmt.Printf("OPEN: %v\n", err)
}

// A data file whose copy stopped part-way (a full disk, a transfer cut
// off) keeps its first pages whole, and bbolt opened it: rebuilding the
// free list read a page past the file's end, and the server died of
// SIGBUS with a trace of every goroutine, naming neither the file nor
// what to put back.
func TestOpenRefusesDataFileCutShort(t *testing.T) {
	path, whole, need, pageSize := storeToCopy(t, "cut", "+44770091")

	for _, size := range []int64{need / 2, need - int64(pageSize), 3 * int64(pageSize)} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			mustOK(t, os.WriteFile(path, whole[:size], 0o600), "cut the file short")
			got := openInChild(t, path, fmt.Sprintf("a file cut short to %d of %d bytes", size, need))
			for _, want := range []string{ErrNotDataFile.Error(), "cut short", "put back doorstep.db"} {
				if !strings.Contains(got, want) {
					t.Errorf("refusal %q does not say %q", got, want)
				}
			}
			if !bytes.Equal(readFile(t, path), whole[:size]) {
				t.Error("the refused open changed the file")
			}
		})
	}
	mustOK(t, os.WriteFile(path, whole, 0o600), "put the file back")
	openAt(t, path) // the file put back opens, and is closed at the test's end
}

// A fresh machine given only the data file (the key file left behind, or
// kept apart and not brought back), or given another store's key file,
// was refused as "data file holds encrypted personal data but its key
// file is missing" or "key file does not belong to this data file",
// saying nothing of what to put back, as the other key file refusals do.
func TestOpenKeyFileMissingOrOthersSaysWhatToPutBack(t *testing.T) {
	path := closedStore(t, "+447700900906")
	other, otherPath := newStore(t)
	mustOK(t, other.Close(), "close the other store")

	for _, tt := range []struct {
		name   string
		keys   []byte // nil: none
		target error
	}{
		{"missing", nil, ErrKeyFileMissing},
		{"another store's", readFile(t, otherPath+".keys"), ErrKeyFileMismatch},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_ = os.Remove(path + ".keys")
			if tt.keys != nil {
				mustOK(t, os.WriteFile(path+".keys", tt.keys, 0o600), "write key file")
			}
			_, err := Open(path, WithOpenTimeout(100*time.Millisecond))
			mustErr(t, err, tt.target, "open with the key file "+tt.name)
			for _, want := range []string{path + ".keys", "put back the key file saved with the data file"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("refusal %q does not say %q", err, want)
				}
			}
		})
	}
}

// A copy into a file made its full size first (Windows' copy, rsync
// --preallocate, a download tool) that stopped part-way is whole by its
// size, with zeros where the rest of the data should be. bbolt opened it
// and, rebuilding the free list, panicked on a page that did not name
// itself, in a goroutine nothing can recover: the server died with a
// trace of every goroutine, naming neither the file nor what to put back.
// Files bbolt wrote whole still open: one whose newer meta page a crash
// tore, one made at another page size, one padded past its pages.
func TestOpenRefusesDataFileCopiedPartWayIntoItsFullSize(t *testing.T) {
	path, whole, need, pageSize := storeToCopy(t, "pre", "+44770092")

	for _, written := range []int64{4 * int64(pageSize), need / 2, need - int64(pageSize)} {
		t.Run(fmt.Sprint(written), func(t *testing.T) {
			b := make([]byte, len(whole))
			copy(b, whole[:written])
			mustOK(t, os.WriteFile(path, b, 0o600), "copy part-way")
			got := openInChild(t, path, fmt.Sprintf("a file written to %d of its %d bytes", written, len(whole)))
			for _, want := range []string{ErrNotDataFile.Error(), "never written", "put back doorstep.db"} {
				if !strings.Contains(got, want) {
					t.Errorf("refusal %q does not say %q", got, want)
				}
			}
		})
	}

	// Torn: a crash while the meta page of the last commit was written
	// leaves the other, older one, which bbolt opens at.
	txid := func(i int) uint64 { return binary.NativeEndian.Uint64(whole[i*pageSize+16+48:]) }
	newest := 0
	if txid(1) > txid(0) {
		newest = 1
	}
	torn := bytes.Clone(whole)
	torn[newest*pageSize+16+20] ^= 0xff
	for _, tc := range []struct {
		name string
		file func() []byte
	}{
		{"its newer meta page torn", func() []byte { return torn }},
		{"padded past its pages", func() []byte { return append(bytes.Clone(whole), make([]byte, 1<<20)...) }},
		{"made at a page size of 16384", func() []byte {
			other := filepath.Join(t.TempDir(), "doorstep.db")
			src, err := bolt.Open(path+".whole", 0o600, nil)
			mustOK(t, err, "open the whole file")
			dst, err := bolt.Open(other, 0o600, &bolt.Options{PageSize: 16384, NoFreelistSync: true})
			mustOK(t, err, "open a file at 16384")
			mustOK(t, bolt.Compact(dst, src, 0), "copy at 16384")
			mustOK(t, src.Close(), "close")
			mustOK(t, dst.Close(), "close")
			return readFile(t, other)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustOK(t, os.WriteFile(path+".whole", whole, 0o600), "write the whole file")
			mustOK(t, os.WriteFile(path, tc.file(), 0o600), "write the file")
			if got := openInChild(t, path, tc.name); got != "<nil>" {
				t.Errorf("Open of a data file %s: %s", tc.name, got)
			}
		})
	}
	// A copy stops where its last write did, not at a page's edge: a
	// download tool writes what the network gave it, rsync what its
	// buffer held. The page it stopped in names itself, with zeros after.
	for _, written := range []int64{need - int64(pageSize) + 100, need/2/int64(pageSize)*int64(pageSize) + 100} {
		t.Run(fmt.Sprint("mid-page ", written), func(t *testing.T) {
			b := make([]byte, len(whole))
			copy(b, whole[:written])
			mustOK(t, os.WriteFile(path, b, 0o600), "copy part-way")
			got := openInChild(t, path, fmt.Sprintf("a file written to %d of its %d bytes", written, len(whole)))
			for _, want := range []string{ErrNotDataFile.Error(), "put back doorstep.db"} {
				if !strings.Contains(got, want) {
					t.Errorf("refusal %q does not say %q", got, want)
				}
			}
		})
	}
	mustOK(t, os.WriteFile(path, whole, 0o600), "put the file back")
	openAt(t, path) // running, and closed at the test's end
	// A second start beside a running one is still told it is in use.
	_, err := Open(path, WithOpenTimeout(100*time.Millisecond))
	mustErr(t, err, ErrInUse, "open beside a running store")
}

// A copy taken while the server wrote the file (cp of a live
// doorstep.db) can hold a leaf from after a commit that names a page the
// older half of the copy gave to another tree: one page reached from two
// places. Every page there names itself and its keys are in order, so it
// passed the check, and bbolt's own check at open panicked ("multiple
// references"), killing the server with a trace of every goroutine.
func TestOpenRefusesDataFileWithAPageReachedTwice(t *testing.T) {
	path, whole, _, pageSize := storeToCopy(t, "twice", "+44770093")

	// Point the offers bucket at help_requests' root page, in the root
	// leaf that names both.
	var root, hrs uint64
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	mustOK(t, err, "open read-only")
	mustOK(t, db.View(func(tx *bolt.Tx) error {
		hrs = uint64(tx.Bucket(bHelpRequests).RootPage())
		return nil
	}), "find help_requests' root")
	mustOK(t, db.Close(), "close read-only")
	f, err := os.Open(path)
	mustOK(t, err, "open")
	m, ok := readBoltMeta(f)
	mustOK(t, f.Close(), "close")
	if root = m.root; !ok || hrs == 0 {
		t.Fatalf("no meta page (%v), or help_requests inline (page %d)", ok, hrs)
	}
	b := bytes.Clone(whole)
	p := b[int(root)*pageSize:]
	ne, patched := binary.NativeEndian, false
	if ne.Uint16(p[8:])&0x02 == 0 {
		t.Fatalf("the root, page %d, is not a leaf", root)
	}
	for i := range int(ne.Uint16(p[10:])) {
		e := p[16+i*16:]
		kpos := 16 + i*16 + int(ne.Uint32(e[4:]))
		ksize := int(ne.Uint32(e[8:]))
		if bytes.Equal(p[kpos:kpos+ksize], bOffers) {
			ne.PutUint64(p[kpos+ksize:], hrs)
			patched = true
		}
	}
	if !patched {
		t.Fatal("no offers bucket in the root")
	}
	mustOK(t, os.WriteFile(path, b, 0o600), "write the file")
	got := openInChild(t, path, "a file with a page reached twice")
	for _, want := range []string{ErrNotDataFile.Error(), "reached from two places", "while the server wrote the file", "put back doorstep.db"} {
		if !strings.Contains(got, want) {
			t.Errorf("refusal %q does not say %q", got, want)
		}
	}
}

// A page whose header names it but sets two of bbolt's page types at once
// (a bit flipped on the disk) passed the check at open as the type its
// walk looked for, and bbolt, which takes a page for exactly one type,
// panicked on it in a goroutine of its own at open, killing the server
// with a trace of every goroutine.
func TestOpenRefusesDataFileWithAPageOfTwoTypes(t *testing.T) {
	path, whole, _, pageSize := storeToCopy(t, "types", "+44770094")
	f, err := os.Open(path)
	mustOK(t, err, "open")
	m, ok := readBoltMeta(f)
	mustOK(t, f.Close(), "close")
	if !ok {
		t.Fatal("no meta page")
	}
	for _, flags := range []uint16{0x03, 0x12} {
		t.Run(fmt.Sprintf("%#x", flags), func(t *testing.T) {
			b := bytes.Clone(whole)
			at := int(m.root)*pageSize + 8
			if got := binary.NativeEndian.Uint16(b[at:]); got != 0x02 {
				t.Fatalf("the root, page %d, has flags %#x, not a leaf's", m.root, got)
			}
			binary.NativeEndian.PutUint16(b[at:], flags)
			mustOK(t, os.WriteFile(path, b, 0o600), "write the file")
			got := openInChild(t, path, fmt.Sprintf("a file whose root page has flags %#x", flags))
			for _, want := range []string{ErrNotDataFile.Error(), "two types", "damage on the disk", "put back doorstep.db"} {
				if !strings.Contains(got, want) {
					t.Errorf("refusal %q does not say %q", got, want)
				}
			}
		})
	}
}

// A data file restored as another user (root, mode 0600), or made
// immutable, was refused as bbolt put it, "open …: permission denied",
// saying nothing of the access the server needs or that a restore left
// the file so; the key file's directory check says both.
func TestOpenRefusesDataFileItCannotWrite(t *testing.T) {
	path := closedStore(t, "+447700900905")
	readOnly(t, path, 0o400, 0o600)

	_, err := Open(path, WithOpenTimeout(100*time.Millisecond))
	if err == nil {
		t.Fatal("Open served a data file it cannot write")
	}
	for _, want := range []string{path, "read and write access", "restored as another user"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
}

// A first start in a --data-dir the server's user cannot write (made by
// root, or a read-only mount) was refused as for a data file restored as
// another user: "give that user read and write access to it and its key
// file", neither of which is there to be given access to, and the
// directory, the one thing to mend, went unnamed.
func TestOpenRefusesNewDataFileInDirectoryItCannotWrite(t *testing.T) {
	dir := t.TempDir()
	readOnlyDir(t, dir)
	path := filepath.Join(dir, "doorstep.db")

	_, err := Open(path, WithOpenTimeout(100*time.Millisecond))
	if err == nil {
		t.Fatal("Open made a data file in a directory it cannot write")
	}
	for _, want := range []string{dir, "write access to that directory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "read and write access to it and its key file") {
		t.Errorf("refusal %q asks for access to files that are not there", err)
	}
}
