package store

// SetAckBeforeCommit makes s answer writers before it commits their
// transaction: the bug the crash test must be able to catch.
func SetAckBeforeCommit(s *BoltStore) { s.c.ackBeforeCommit.Store(true) }
