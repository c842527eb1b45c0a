package store

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// idGen makes time-ordered ids. Monotonic entropy keeps ids made in the
// same millisecond in order, so that keys sort by creation.
type idGen struct {
	mu      sync.Mutex
	entropy *ulid.MonotonicEntropy
	lastMS  uint64 // the timestamp of the last id made
}

func newIDGen() *idGen {
	return &idGen{entropy: ulid.Monotonic(rand.Reader, 0)}
}

// after makes every later id sort after those made in millisecond ms,
// whatever the clock says: the entropy of a new process starts afresh, so
// ms itself is passed over.
func (g *idGen) after(ms uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lastMS = max(g.lastMS, ms+1)
}

// floor is the earliest time an id made from now on can bear, whatever
// the clock says: ids made before it bear earlier times.
func (g *idGen) floor(now time.Time) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return ulid.Time(max(ulid.Timestamp(now), g.lastMS))
}

func (g *idGen) next(now time.Time) (ulid.ULID, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	// A wall clock stepped back must not make an id sort before those
	// already made: stay in the last millisecond used until it catches up.
	ms := max(ulid.Timestamp(now), g.lastMS)
	id, err := ulid.New(ms, g.entropy)
	if err != nil {
		return ulid.ULID{}, fmt.Errorf("new id: %w", err)
	}
	g.lastMS = ms
	return id, nil
}

// idString is the external form: lower case, as AIP-122 prefers.
func idString(id []byte) string {
	var u ulid.ULID
	copy(u[:], id)
	return strings.ToLower(u.String())
}

// idTime is the time an id was made, to the millisecond.
func idTime(id []byte) time.Time {
	var u ulid.ULID
	copy(u[:], id)
	return ulid.Time(u.Time())
}

// ErrBadID is returned by ParseID for text that cannot be an id.
var ErrBadID = errors.New("not a valid id")

// ParseID turns the external form of an id into its key. It is exported so
// that server/ can reject a malformed name before touching the store.
func ParseID(s string) ([]byte, error) {
	u, err := parseULID(s)
	if err != nil {
		return nil, err
	}
	return u[:], nil
}

// ValidID says whether ParseID takes s, without making its key: server/
// checks every name a request carries, and the key it threw away was an
// allocation of every such call.
func ValidID(s string) bool {
	_, err := parseULID(s)
	return err == nil
}

func parseULID(s string) (ulid.ULID, error) {
	if len(s) != ulid.EncodedSize {
		return ulid.ULID{}, ErrBadID
	}
	// ParseStrict reads each lower case letter as its upper case
	// (TestParseIDCase), so ids, which are written in lower case
	// (idString), are parsed as they come: upper-casing them first was an
	// allocation of every call. A byte that is not ASCII is refused
	// either way.
	u, err := ulid.ParseStrict(s)
	if err != nil {
		return ulid.ULID{}, ErrBadID
	}
	return u, nil
}
