package server_test

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// evictFromPageCache drops the file at path from the kernel's page cache,
// as a reboot would, and reports the fraction of its pages still cached
// afterwards (pages in use elsewhere, or dirty, stay).
func evictFromPageCache(path string) (resident float64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fd := int(f.Fd())
	if err := unix.Fdatasync(fd); err != nil {
		return 0, fmt.Errorf("fdatasync: %w", err)
	}
	if err := unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED); err != nil {
		return 0, fmt.Errorf("fadvise: %w", err)
	}
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return 0, err
	}
	// mincore says which pages of a mapping are in memory; mapping the
	// file without touching it reads none of it.
	m, err := unix.Mmap(fd, 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return 0, fmt.Errorf("mmap: %w", err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	// x/sys has no wrapper for mincore on Linux.
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		return 0, fmt.Errorf("mincore: %w", errno)
	}
	in := 0
	for _, v := range vec {
		in += int(v & 1)
	}
	return float64(in) / float64(len(vec)), nil
}
