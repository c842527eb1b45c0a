package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// The keyring is the one place that holds the keys protecting personal
// data; the data file holds only data keys wrapped under it. Destroying an
// epoch in this file is what makes every copy of a data key wrapped under
// it, including the stale copies bbolt leaves in free pages, useless.

// Errors of the key file. Open never makes a new keyring for a data file
// that already holds encrypted data: that would look like success and
// leave every record unreadable.
var (
	ErrKeyFileMissing  = errors.New("data file holds encrypted personal data but its key file is missing")
	ErrKeyFileMismatch = errors.New("key file does not belong to this data file")
	// ErrDataFileMissing refuses a data file that is missing or empty
	// beside a key file, which only a data file's first start makes:
	// taken for a new file, it would start as an empty store over the
	// loss.
	ErrDataFileMissing = errors.New("data file is missing or empty beside its key file")
)

const (
	keyFileMagic   = "DSKEYRNG"
	keyFileVersion = 1
	keySize        = 32
	// epochRecord is epoch(4) master(32) index(32).
	epochRecord = 4 + 2*keySize
)

// epochKeys are the keys of one epoch: the master key that wraps data keys
// and the index key that turns phone numbers into index keys. Both rotate
// together, because an erased phone number's index entry also lingers in
// free pages, and with a key that never changed anyone holding the files
// could confirm a guessed number against it.
type epochKeys struct {
	master [keySize]byte
	index  [keySize]byte
	aead   cipher.AEAD
}

func newEpochKeys() (*epochKeys, error) {
	var master, index [keySize]byte
	if _, err := rand.Read(master[:]); err != nil {
		return nil, err
	}
	if _, err := rand.Read(index[:]); err != nil {
		return nil, err
	}
	return makeEpochKeys(master, index)
}

func makeEpochKeys(master, index [keySize]byte) (*epochKeys, error) {
	aead, err := newGCM(master[:])
	if err != nil {
		return nil, err
	}
	return &epochKeys{master: master, index: index, aead: aead}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// keyring is immutable once published: a change makes a new one, so that
// readers can use the one they loaded without a lock.
type keyring struct {
	id     [16]byte // names the data file the keyring belongs to
	epochs map[uint32]*epochKeys
}

func newKeyring() (*keyring, error) {
	r := &keyring{epochs: map[uint32]*epochKeys{}}
	if _, err := rand.Read(r.id[:]); err != nil {
		return nil, err
	}
	ek, err := newEpochKeys()
	if err != nil {
		return nil, err
	}
	r.epochs[1] = ek
	return r, nil
}

func (r *keyring) latest() uint32 { return slices.Max(slices.Collect(maps.Keys(r.epochs))) }

// with is r plus one more epoch.
func (r *keyring) with(epoch uint32, ek *epochKeys) *keyring {
	n := &keyring{id: r.id, epochs: maps.Clone(r.epochs)}
	n.epochs[epoch] = ek
	return n
}

// only is r with just the epochs keep holds.
func (r *keyring) only(keep map[uint32]bool) *keyring {
	n := &keyring{id: r.id, epochs: map[uint32]*epochKeys{}}
	for e, ek := range r.epochs {
		if keep[e] {
			n.epochs[e] = ek
		}
	}
	return n
}

// The key file is magic(8) version(1) keyring-id(16) count(4), then count
// times epoch(4) master(32) index(32), then the SHA-256 of everything
// before it, so that a torn or damaged file is refused rather than read as
// wrong keys.
func (r *keyring) marshal() []byte {
	b := make([]byte, 0, 8+1+16+4+len(r.epochs)*epochRecord+sha256.Size)
	b = append(b, keyFileMagic...)
	b = append(b, keyFileVersion)
	b = append(b, r.id[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.epochs)))
	for _, e := range slices.Sorted(maps.Keys(r.epochs)) {
		ek := r.epochs[e]
		b = binary.BigEndian.AppendUint32(b, e)
		b = append(b, ek.master[:]...)
		b = append(b, ek.index[:]...)
	}
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

var errKeyFileDamaged = errors.New("key file is damaged (cut short by a copy that failed?): " +
	"put back the key file saved with the data file (a backup's, beside its doorstep.db)")

func parseKeyring(b []byte) (*keyring, error) {
	const head = 8 + 1 + 16 + 4
	if len(b) < head+sha256.Size {
		return nil, errKeyFileDamaged
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if want := sha256.Sum256(body); !hmac.Equal(sum, want[:]) {
		return nil, errKeyFileDamaged
	}
	if string(body[:8]) == keyFileMagic && body[8] > keyFileVersion {
		// Whole, by its sum: a rollback's, as a data file of a newer
		// schema is (migrate).
		return nil, fmt.Errorf("key file format %d, this version reads up to %d: written by a newer version: run that version, "+
			"or put back both files of the backup taken before the upgrade (the key file alone does not open the upgraded data file; what was written since is lost)", body[8], keyFileVersion)
	}
	if string(body[:8]) != keyFileMagic || body[8] != keyFileVersion {
		return nil, fmt.Errorf("key file format: %w", errKeyFileDamaged)
	}
	r := &keyring{epochs: map[uint32]*epochKeys{}}
	copy(r.id[:], body[9:25])
	n := binary.BigEndian.Uint32(body[25:29])
	rest := body[head:]
	if n == 0 || uint64(len(rest)) != uint64(n)*epochRecord {
		return nil, errKeyFileDamaged
	}
	for ; len(rest) > 0; rest = rest[epochRecord:] {
		var master, index [keySize]byte
		copy(master[:], rest[4:4+keySize])
		copy(index[:], rest[4+keySize:epochRecord])
		ek, err := makeEpochKeys(master, index)
		if err != nil {
			return nil, err
		}
		r.epochs[binary.BigEndian.Uint32(rest)] = ek
	}
	return r, nil
}

// readKeyFile reads a keyring; a missing file is fs.ErrNotExist.
func readKeyFile(path string) (*keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseKeyring(b)
}

// writeKeyFile replaces the key file atomically: a crash leaves either the
// old file or the new one, never a mixture, and once it returns the new
// one survives a power cut.
func writeKeyFile(path string, r *keyring) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(r.marshal())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncFile is f.Sync. A test replaces it to see which directories are
// synced, and when: an order kill -9 cannot show, as the page cache
// outlives the process, and only a power cut does.
var syncFile = (*os.File).Sync

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = syncFile(d)
	if errors.Is(err, syscall.EINVAL) {
		// The file system cannot sync a directory at all (some network
		// and FUSE ones): there is nothing more to be had of it, and
		// refusing would stop every start there. PostgreSQL and SQLite
		// take it the same way.
		err = nil
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncPutBack syncs a file this process did not write, and the directory
// naming it: one put back by a copy (cp syncs nothing) may be in the page
// cache alone, and a power cut would take it.
func syncPutBack(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = syncFile(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// removeStaleTemp deletes a temporary key file left by a crash: it may
// hold an epoch that has since been destroyed.
func removeStaleTemp(path string) error {
	err := os.Remove(path + ".tmp")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Wrapped data keys and sealed personal data. Both bind the record id as
// additional data, so that a value copied under another record's key does
// not open.

const (
	nonceSize   = 12
	wrappedSize = 4 + nonceSize + keySize + 16 // epoch nonce ciphertext tag
	sealVersion = 1
)

func randomNonce() ([]byte, error) {
	n := make([]byte, nonceSize)
	_, err := rand.Read(n)
	return n, err
}

// wrap encrypts a data key under an epoch's master key:
// epoch(4) nonce(12) AES-256-GCM(dataKey)(48).
func wrap(ek *epochKeys, epoch uint32, id, dataKey []byte) ([]byte, error) {
	nonce, err := randomNonce()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, wrappedSize)
	out = binary.BigEndian.AppendUint32(out, epoch)
	out = append(out, nonce...)
	return ek.aead.Seal(out, nonce, dataKey, id), nil
}

var errKeyEpochUnknown = errors.New("data key is wrapped under an epoch the key file lacks")

// unwrap is wrap's inverse.
func (r *keyring) unwrap(id, wrapped []byte) ([]byte, error) {
	if len(wrapped) != wrappedSize {
		return nil, fmt.Errorf("wrapped data key of %d bytes: %w", len(wrapped), errInconsistent)
	}
	epoch := binary.BigEndian.Uint32(wrapped)
	ek := r.epochs[epoch]
	if ek == nil {
		return nil, fmt.Errorf("epoch %d: %w", epoch, errKeyEpochUnknown)
	}
	dk, err := ek.aead.Open(nil, wrapped[4:4+nonceSize], wrapped[4+nonceSize:], id)
	if err != nil {
		return nil, fmt.Errorf("unwrap data key: %w", err)
	}
	return dk, nil
}

// seal encrypts plain under a data key: version(1) nonce(12) ciphertext.
func seal(dataKey, id, plain []byte) ([]byte, error) {
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	nonce, err := randomNonce()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 1+nonceSize+len(plain)+aead.Overhead())
	out = append(append(out, sealVersion), nonce...)
	return aead.Seal(out, nonce, plain, id), nil
}

func unseal(dataKey, id, sealed []byte) ([]byte, error) {
	if len(sealed) < 1+nonceSize || sealed[0] != sealVersion {
		return nil, fmt.Errorf("sealed value of %d bytes: %w", len(sealed), errInconsistent)
	}
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], id)
	if err != nil {
		return nil, fmt.Errorf("open sealed value: %w", err)
	}
	return plain, nil
}

// phoneTokenSize is the truncated HMAC kept in phone index keys: 128 bits
// is far beyond any chance collision among a group's phone numbers, and
// the caller checks the decrypted phone anyway.
const phoneTokenSize = 16

func phoneToken(ek *epochKeys, phone string) []byte {
	m := hmac.New(sha256.New, ek.index[:])
	m.Write([]byte(phone))
	return m.Sum(nil)[:phoneTokenSize]
}

// sameKeyring says whether a key file's id is the one the data file names.
func sameKeyring(r *keyring, id []byte) bool { return bytes.Equal(r.id[:], id) }
