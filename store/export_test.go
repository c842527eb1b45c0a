package store

// SetAckBeforeCommit makes s answer writers before it commits their
// transaction: the bug the crash test must be able to catch.
func SetAckBeforeCommit(s *BoltStore) { s.c.ackBeforeCommit.Store(true) }

// WithMaxSize bounds the data file at n bytes in place of mappableSize, so
// that a test on any system meets the bound a 32-bit one has at 2 GiB.
func WithMaxSize(n int) Option { return func(o *options) { o.maxSize = n } }
