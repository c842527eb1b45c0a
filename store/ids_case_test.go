package store

import (
	"bytes"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"
)

// ParseID parses ids as they come, without upper-casing them first: it
// must take and refuse exactly what ulid.ParseStrict took of the upper
// case, whatever byte stands at whatever place, and ValidID must agree.
func TestParseIDCase(t *testing.T) {
	for _, base := range []string{"01kb1z6q4j2n3m5p7r9t1v3x5z", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"} {
		for i := range len(base) {
			for c := range 256 {
				s := []byte(base)
				s[i] = byte(c)
				want, wantErr := ulid.ParseStrict(strings.ToUpper(string(s)))
				got, err := ParseID(string(s))
				if (err == nil) != (wantErr == nil) || (err == nil && !bytes.Equal(got, want[:])) {
					t.Fatalf("ParseID(%q) = %x, %v; upper-cased, ParseStrict gave %x, %v", s, got, err, want, wantErr)
				}
				if ValidID(string(s)) != (err == nil) {
					t.Fatalf("ValidID(%q) = %v, ParseID's error %v", s, !(err == nil), err)
				}
			}
		}
	}
	// A letter whose upper case is another length: refused as before.
	for _, s := range []string{"ı1kb1z6q4j2n3m5p7r9t1v3x5", "01kb1z6q4j2n3m5p7r9t1v3xſ"} {
		if _, err := ParseID(s); err == nil {
			t.Errorf("ParseID(%q) took it", s)
		}
	}
}
