//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/doorstep-aid/doorstep/store"
)

// journalStream is a file standing in for journald's stream, and the
// JOURNAL_STREAM systemd would set for it.
func journalStream(t *testing.T) (*os.File, string) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "journal"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return f, fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

// TestStderrIsJournalOnlyForItsOwnStream: JOURNAL_STREAM is inherited by
// whatever a service starts and can be set by anyone; only the value
// naming stderr's own device and inode means the journal. Anything else
// (garbage, half a value, numbers past 64 bits, a stderr that is no file)
// leaves the token shown on stderr, as before systemd was looked for.
func TestStderrIsJournalOnlyForItsOwnStream(t *testing.T) {
	f, stream := journalStream(t)
	dev, ino, _ := strings.Cut(stream, ":")
	var typedNil *os.File
	for _, tc := range []struct {
		name   string
		stderr io.Writer
		stream string
		want   bool
	}{
		{"its own device and inode", f, stream, true},
		{"unset", f, "", false},
		{"garbage", f, "journal", false},
		{"no colon", f, dev + ino, false},
		{"device only", f, dev + ":", false},
		{"inode only", f, ":" + ino, false},
		{"spaces", f, " " + stream + " ", false},
		{"past 64 bits", f, "18446744073709551616:" + ino, false},
		{"another inode", f, dev + ":" + ino + "0", false},
		{"stderr a buffer", new(bytes.Buffer), stream, false},
		{"stderr nil", nil, stream, false},
		{"stderr a nil file", typedNil, stream, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := stderrIsJournal(tc.stderr, tc.stream); got != tc.want {
				t.Errorf("stderrIsJournal(%T, %q) = %v, want %v", tc.stderr, tc.stream, got, tc.want)
			}
		})
	}
}

// TestJournalRefusalChangesNothing: a start refused because its token
// would go to the journal, first or --new-admin-token, leaves the data
// file as it found it: no token, no audit record of one, and no secret on
// stderr.
func TestJournalRefusalChangesNothing(t *testing.T) {
	dir := t.TempDir()
	journal, stream := journalStream(t)
	getenv := func(k string) string {
		if k == "JOURNAL_STREAM" {
			return stream
		}
		return ""
	}
	counts := func() (tokens, audit int) {
		t.Helper()
		st, err := store.Open(filepath.Join(dir, "doorstep.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		toks, _, err := st.ListTokens(context.Background(), store.Page{Size: 100})
		if err != nil {
			t.Fatal(err)
		}
		recs, _, err := st.ListAuditRecords(context.Background(), store.AuditFilter{}, store.Page{Size: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(toks), len(recs)
	}

	if err := run(context.Background(), nil, []string{"--listen", "127.0.0.1:0", "--data-dir", dir}, getenv, journal, nil); err == nil {
		t.Fatal("first start under journald without --admin-token-file served")
	}
	if tokens, audit := counts(); tokens != 0 || audit != 0 {
		t.Errorf("refused first start left %d tokens and %d audit records, want none", tokens, audit)
	}

	_, stop := start(t, "--data-dir", dir, "--admin-token-file", filepath.Join(t.TempDir(), "admin.token"))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	tokens, audit := counts()
	if err := run(context.Background(), nil, []string{"--data-dir", dir, "--new-admin-token"}, getenv, journal, nil); err == nil ||
		!strings.Contains(err.Error(), "--admin-token-file") {
		t.Errorf("--new-admin-token under journald without --admin-token-file: %v, want a refusal naming --admin-token-file", err)
	}
	if t2, a2 := counts(); t2 != tokens || a2 != audit {
		t.Errorf("refused --new-admin-token: %d tokens and %d audit records, want %d and %d as before", t2, a2, tokens, audit)
	}
	said, err := os.ReadFile(journal.Name())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(said), "keep it safe") {
		t.Errorf("a secret went to the journal:\n%s", said)
	}
}
