package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnfinishedBackupIsNamedAtStart: a server killed while a backup
// copies (kill -9, a power cut, the OOM killer, systemd's SIGKILL after
// TimeoutStopSec) cannot remove what it wrote, and README said such a
// backup leaves nothing behind: its directory keeps doorstep.db.tmp, part
// or all of a copy of everyone's data, perhaps with the key file beside
// it, and no audit record names it. The next start names each one; a
// finished backup, or anything else under --backup-dir, is not named.
func TestUnfinishedBackupIsNamedAtStart(t *testing.T) {
	backups := t.TempDir()
	unfinished := filepath.Join(backups, "doorstep-20261128T135100.000Z")
	finished := filepath.Join(backups, "doorstep-20261128T120000.000Z")
	for path, body := range map[string]string{
		filepath.Join(unfinished, "doorstep.db.tmp"): "part of a copy",
		filepath.Join(finished, "doorstep.db"):       "a copy",
		filepath.Join(finished, "doorstep.db.keys"):  "its keys",
		filepath.Join(backups, "notes.txt"):          "the operator's",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logs := startAndStopLogged(t, "--data-dir", t.TempDir(), "--backup-dir", backups, "--admin-token-file", t.TempDir()+"/admin.token")
	var named []string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "unfinished backup") {
			named = append(named, line)
		}
	}
	if len(named) != 1 || !strings.Contains(named[0], `"dir":"`+unfinished+`"`) || !strings.Contains(named[0], `"level":"warn"`) {
		t.Fatalf("the start's warnings of unfinished backups: %q, want one naming %s:\n%s", named, unfinished, logs)
	}
	if _, err := os.Stat(filepath.Join(unfinished, "doorstep.db.tmp")); err != nil {
		t.Errorf("the unfinished backup was touched (another server may be writing it): %v", err)
	}
}
