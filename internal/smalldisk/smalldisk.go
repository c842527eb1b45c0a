// Package smalldisk gives tests a real file system that fills up: a
// small tmpfs. Tests of what a full disk does (the server's answers, the
// CLI's words, doorstepd's files) use it in three packages; a real one,
// rather than a process-wide file size limit, leaves the test binary's own
// files (go test's log of them) alone, and fails writes with ENOSPC as a
// full disk does.
package smalldisk

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Mount mounts a tmpfs of size bytes at a new directory and returns it,
// or skips the test where that cannot be done (not root, or no mount
// allowed). It is unmounted when the test ends.
func Mount(t testing.TB, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v %s", err, out)
		}
	})
	return dir
}

// Fill writes a file over all the space left in dir and returns its path:
// remove it to make room again.
func Fill(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			return path
		}
	}
}
