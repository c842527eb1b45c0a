//go:build unix

package matcher

import (
	"syscall"
	"testing"
)

// BenchmarkMachineFreshMemory measures what the first touch of fresh
// memory costs here: the kernel's page fault, zeroing, and on a VM the
// hypervisor's share. A process that grows its heap pays it once a page,
// and the server's start, which grows a heap of a gigabyte or so at a
// million volunteers, pays it some 400,000 times (BenchmarkServerStart's
// faults/volunteer). One op maps 64 MB afresh, writes a byte to each 4 KB
// page, and unmaps it.
//
//	go test -run '^$' -bench MachineFreshMemory -benchtime 20x ./matcher/
func BenchmarkMachineFreshMemory(b *testing.B) {
	const size, page = 64 << 20, 4096
	for b.Loop() {
		m, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < size; i += page {
			m[i] = 1
		}
		if err := syscall.Munmap(m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e6/float64(b.N)/(size/page), "µs/page")
}
