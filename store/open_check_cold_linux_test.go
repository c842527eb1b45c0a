package store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// The check at open read the pages its trees reach one at a time, in tree
// order, before bbolt's open read the file in order (populateFlags): after
// a reboot, with the page cache empty, a file of about a million records
// (1.1 GB) took 10-12 s to check where the open before it took 4-6 s, for
// a helpline waiting on the restart. The check reads the file in order
// first too, so the walk and the open after it find it in memory: the
// pages no tree reaches are in memory after it.
func TestOpenCheckReadsTheFileInOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doorstep.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoFreelistSync: true})
	mustOK(t, err, "open")
	big := bytes.Repeat([]byte("x"), 1000)
	mustOK(t, db.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{"gone", "kept"} {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			for i := range 4000 {
				if err := b.Put([]byte{byte(i >> 8), byte(i)}, big); err != nil {
					return err
				}
			}
		}
		return nil
	}), "fill")
	// Its pages, half of those in use, are free: no tree reaches them.
	mustOK(t, db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte("gone")) }), "delete")
	mustOK(t, db.Close(), "close")

	// The pages in use: those past them, bbolt's room to grow, are
	// holes no one reads.
	f, err := os.Open(path)
	mustOK(t, err, "open")
	meta, ok := readBoltMeta(f)
	mustOK(t, f.Close(), "close")
	if !ok || meta.pageSize != uint32(os.Getpagesize()) {
		t.Fatalf("meta page %+v (%v), not at the machine's page size", meta, ok)
	}
	resident := func() (in, of int) {
		f, err := os.Open(path)
		mustOK(t, err, "open")
		defer func() { _ = f.Close() }()
		m, err := unix.Mmap(int(f.Fd()), 0, int(meta.pgid)*int(meta.pageSize), unix.PROT_READ, unix.MAP_SHARED)
		mustOK(t, err, "map")
		defer func() { _ = unix.Munmap(m) }()
		vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
		if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
			t.Fatalf("mincore: %v", e)
		}
		for _, v := range vec {
			if v&1 != 0 {
				in++
			}
		}
		return in, len(vec)
	}
	evict := func() {
		f, err := os.Open(path)
		mustOK(t, err, "open")
		mustOK(t, f.Sync(), "sync")
		mustOK(t, unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED), "evict")
		mustOK(t, f.Close(), "close")
	}
	evict()
	if in, of := resident(); in > of/10 {
		t.Skipf("the file stays in memory after its eviction (%d of %d pages): tmpfs?", in, of)
	}
	start := time.Now()
	mustOK(t, checkPagesWritten(path, time.Second), "check")
	in, of := resident()
	t.Logf("after the check, %d of %d pages in use in memory (%v)", in, of, time.Since(start))
	if in < of*9/10 {
		t.Errorf("the check left %d of the file's %d pages in use in memory: it read the pages its trees reach, not the file in order", in, of)
	}
}
