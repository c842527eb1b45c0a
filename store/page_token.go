package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"

	bolt "go.etcd.io/bbolt"
)

// Page tokens are issued and taken by the lists in collection.go,
// records.go, auth.go and lifecycle.go alike; their layouts, the key they
// are sealed under and where meta keeps it are here, apart from any one
// list, so that a change to a token is made and read in one place.

const (
	// pageTokenClear is the release before's token: version(1)
	// filter-hash(4) resume-suffix, in clear. One in flight across an
	// upgrade is still taken for its one listing: a forged suffix keeps a
	// caller to what its filter selects, so taking it tells nothing.
	pageTokenClear = 1
	// pageTokenSealed is version(1) nonce(12) AES-256-GCM(resume-suffix),
	// additional data the version byte and the filter key. The suffix is
	// the last key read, which may be a record the caller's filter
	// refuses (another organisation's postcode and id, where a partner's
	// walk stopped at maxScanned), so the caller must not read it. The
	// filter key is bound whole, not by a 32-bit hash, so that no two
	// filters take each other's tokens.
	pageTokenSealed = 2
)

// kPageTokenKey is the meta key of the key page tokens are sealed under
// (see the package doc).
var kPageTokenKey = []byte("page_token_key")

// pageSealer seals page tokens. The nonce is an HMAC of the filter key
// and the suffix, not random: the same page read twice gives the same
// token, and two tokens share a nonce only if they seal the same suffix
// for the same filter.
type pageSealer struct {
	aead     cipher.AEAD
	nonceKey []byte
}

// pageTokenKey reads the page-token key from tx's meta, making it if the
// file has none (a new file, or one written by an older version).
func pageTokenKey(tx *bolt.Tx) (*pageSealer, error) {
	meta := tx.Bucket(bMeta)
	key := meta.Get(kPageTokenKey)
	switch len(key) {
	case 32:
	case 0:
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("page token key: %w", err)
		}
		if err := meta.Put(kPageTokenKey, key); err != nil {
			return nil, fmt.Errorf("page token key: %w", err)
		}
	default:
		// No version writes another length: the file is damaged, and
		// the operator reads this at a start that does not happen.
		return nil, fmt.Errorf("%w: the data file's meta holds a page token key of %d bytes, not 32: its meta is damaged "+
			"(a copy made while the server was writing to it? damage on the disk?); restore the data file and its key file "+
			"from a backup (doorstep admin backup, or a copy taken with the server stopped)", errInconsistent, len(key))
	}
	// One key for two uses: each gets its own, derived from it.
	derive := func(use string) []byte {
		m := hmac.New(sha256.New, key)
		_, _ = m.Write([]byte(use))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(derive("page token seal"))
	if err != nil {
		return nil, fmt.Errorf("page token key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("page token key: %w", err)
	}
	return &pageSealer{aead: aead, nonceKey: derive("page token nonce")}, nil
}

// encodeToken seals the suffix, the part of the last key read after the
// scan prefix, bound to the filter key.
func (s *BoltStore) encodeToken(filterKey string, suffix []byte) string {
	ad := append([]byte{pageTokenSealed}, filterKey...)
	m := hmac.New(sha256.New, s.pages.nonceKey)
	// The filter key's length first: the same bytes split another way
	// between key and suffix must not give the same nonce, under which
	// GCM would seal another suffix with other additional data.
	_, _ = m.Write(binary.AppendUvarint([]byte{pageTokenSealed}, uint64(len(filterKey))))
	_, _ = m.Write([]byte(filterKey))
	_, _ = m.Write(suffix)
	nonce := m.Sum(nil)[:s.pages.aead.NonceSize()]
	b := append([]byte{pageTokenSealed}, nonce...)
	return base64.RawURLEncoding.EncodeToString(s.pages.aead.Seal(b, nonce, suffix, ad))
}

// decodeToken is the suffix token holds, if it was issued for filterKey.
func (s *BoltStore) decodeToken(token, filterKey string) ([]byte, error) {
	if token == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 1 {
		return nil, ErrBadPageToken
	}
	switch b[0] {
	case pageTokenClear:
		if len(b) < 5 || binary.BigEndian.Uint32(b[1:]) != filterHash(filterKey) {
			return nil, ErrBadPageToken
		}
		return b[5:], nil
	case pageTokenSealed:
		n := s.pages.aead.NonceSize()
		if len(b) < 1+n+s.pages.aead.Overhead() {
			return nil, ErrBadPageToken
		}
		ad := append([]byte{pageTokenSealed}, filterKey...)
		// Into a slice, never nil, as the clear token's: an empty
		// suffix resumes after the prefix, where nil starts the walk.
		suffix, err := s.pages.aead.Open([]byte{}, b[1:1+n], b[1+n:], ad)
		if err != nil {
			return nil, ErrBadPageToken
		}
		return suffix, nil
	default:
		return nil, ErrBadPageToken
	}
}

func filterHash(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return h.Sum32()
}
