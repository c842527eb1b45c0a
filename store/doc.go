// Package store keeps Doorstep's records durably.
//
// Store is the interface that server/ uses; BoltStore implements it on one
// bbolt file, and an etcd backend can implement it later without server/
// or matcher/ changing. Records are protobuf messages; contact details are
// kept in their own bucket, apart from the record they belong to, so that
// later work can protect, disclose and erase them on their own.
//
// # Bucket layout (schema version 3)
//
//	meta/
//	    schema_version      -> uint64 big-endian
//	    revision            -> uint64 big-endian; bumped by every committed write,
//	                           and a record's etag is the revision that last wrote it
//	    event_floor         -> uint64 big-endian; the oldest revision the event log
//	                           answers for (events before it were compacted)
//	help_requests/
//	    records/            id -> HelpRequest (requester cleared)
//	    contacts/           id -> Contact (the requester)
//	    by_state/           state(1) id -> ""
//	    by_org/             organisation 0x00 id -> ""
//	    by_external_id/     organisation 0x00 external_id -> id   (unique)
//	    by_phone/           phone 0x00 id -> ""
//	    by_postcode/        postcode 0x00 id -> ""
//	volunteers/
//	    records/            id -> Volunteer (contact cleared)
//	    contacts/           id -> Contact
//	    by_org/             organisation 0x00 id -> ""
//	    by_phone/           phone 0x00 id -> ""
//	    by_postcode/        postcode 0x00 id -> ""
//	offers/
//	    records/            id -> Offer
//	    by_expiry/          expire_time(8, unix nanos big-endian) id -> ""
//	                        (PENDING offers only)
//	    by_request/         help_request_id(16) offer_id(16) -> ""
//	idempotency/
//	    kind 0x00 request_id -> id(16) fingerprint(32)
//	postcodes/
//	    postcode            -> latitude(8) longitude(8), IEEE 754 big-endian
//	events/
//	    revision(8) seq(4)  -> Event (names of records, never their contents)
//
// An id is a 16-byte ULID: a millisecond timestamp then randomness,
// monotonic within the process, so keys sort by creation time. Outside the
// store it is written as 26 lower-case Crockford base32 characters.
//
// Every index entry is written and removed in the same transaction as its
// record. Open runs the migration steps from the file's schema version up
// to the current one, and refuses a file written by a newer version.
// Version 1 had no offers; version 2 adds the offers buckets; version 3
// adds the event log, which starts after the revision the file had then.
//
// # Event log
//
// Every write that bumps the revision appends the events that describe it
// to events/, in the same transaction, keyed by that revision: a create,
// update or delete logs one event; a lifecycle change logs its offers'
// events, then its requests' state changes, then any assignment that ended.
// ReadEvents never splits a revision between pages, so a reader that has
// handled revision R resumes at R+1 and misses nothing. CompactEvents
// deletes whole revisions older than a cutoff and raises event_floor; a
// read from below the floor is a CompactedError. After each commit the
// committer rings a bell (Changes) that live readers wait on.
//
// # Matching lifecycle
//
// A request goes OPEN -> OFFERED (CreateOffer) -> ASSIGNED (AcceptOffer)
// -> FULFILLED (CompleteHelpRequest), back to OPEN when the offer is
// declined or expires, and to CANCELLED or EXPIRED from OPEN or OFFERED
// (and CANCELLED from ASSIGNED). Each step changes the offer, the request
// and the volunteer's counts in one write, so that a request has at most
// one PENDING offer, named in its offer field while it is OFFERED, and a
// volunteer's active_assignments and pending_offers always count the
// ASSIGNED requests and PENDING offers they hold. The update path keeps
// these fields from the stored record, so only the lifecycle methods
// change them, and deletes that would strand them are refused. Deleting a
// help request deletes its offers with it.
//
// # Group commit
//
// All writes go through one committer goroutine. It takes whatever writes
// are waiting, applies them in order in one read-write transaction and
// commits it with fsync, then answers every caller; a write is acknowledged
// only after its transaction has committed. A lone caller is committed at
// once, with no batching timer, while under load many writes share one
// fsync. A write that fails its checks before changing anything fails alone;
// one that fails after changing something makes the committer roll the batch
// back and run each write in a transaction of its own.
package store
