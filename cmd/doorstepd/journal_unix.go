//go:build unix

package main

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// stderrIsJournal says whether stderr is journald's stream. systemd sets
// JOURNAL_STREAM to its device and inode for a service whose output goes
// to the journal (systemd.exec(5)); a process with its stderr elsewhere
// can inherit the variable, but not the stream.
func stderrIsJournal(stderr io.Writer, stream string) bool {
	f, ok := stderr.(*os.File)
	if !ok || stream == "" {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && stream == fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}
