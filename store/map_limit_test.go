package store

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// A data file past 2 GiB (grown on a 64-bit server, then moved to a Pi on
// 32-bit Raspberry Pi OS, or an old laptop on 32-bit Debian) cannot be
// mapped where an int is 32 bits: bbolt reads its size into an int, and
// one of 2 to 4 GiB reads as negative, "file size too small". Open took
// that for a file that is not bbolt's, or one cut short, and told the
// operator to put back a backup: all written since would be lost, and the
// backup, as large, would be refused the same. The file is whole; only
// the system is too small for it. The file here is made that large with
// a hole (truncate), as cheap as a small one.
func TestOpenSaysFileTooLargeForA32BitSystem(t *testing.T) {
	if math.MaxInt > math.MaxInt32 {
		t.Skip("a 64-bit system maps such a file; GOARCH=386 go test runs this")
	}
	path := closedStore(t, "+447700900902")
	for _, size := range []int64{math.MaxInt32 + 1, 3 << 30, 4<<30 + 1<<20} {
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path, WithOpenTimeout(100*time.Millisecond))
		if !errors.Is(err, ErrTooLargeToMap) || errors.Is(err, ErrNotDataFile) {
			t.Errorf("Open of a data file of %d bytes on a 32-bit system: %v, want %v and not %v", size, err, ErrTooLargeToMap, ErrNotDataFile)
			continue
		}
		if !strings.Contains(err.Error(), "64-bit") {
			t.Errorf("Open of a data file of %d bytes on a 32-bit system: %q names no 64-bit system to run it on", size, err)
		}
	}
}
