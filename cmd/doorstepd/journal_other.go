//go:build !unix

package main

import "io"

// stderrIsJournal is false here: journald is Linux's.
func stderrIsJournal(io.Writer, string) bool { return false }
