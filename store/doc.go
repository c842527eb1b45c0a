// Package store keeps Doorstep's records durably.
//
// Store is the interface that server/ uses; BoltStore implements it on one
// bbolt file, and an etcd backend can implement it later without server/
// or matcher/ changing. Records are protobuf messages; contact details and
// the other personal fields are sealed in their own bucket, apart from the
// record they belong to, so that they can be protected, disclosed and
// erased on their own (see Personal data below).
//
// # Bucket layout (schema version 14)
//
//	meta/
//	    schema_version      -> uint64 big-endian
//	    revision            -> uint64 big-endian; bumped by every committed write,
//	                           and a record's etag is the revision that last wrote it;
//	                           moved on by the first start of a restored backup (restoredRevision)
//	    event_floor         -> uint64 big-endian; the oldest revision the event log
//	                           answers for (events before it were compacted)
//	    keyring_id          -> 16 bytes naming the key file this file needs
//	    key_epoch           -> uint32 big-endian; the epoch every data key and
//	                           phone hash is under
//	    key_rotation_due    -> present while the key rotation an erasure, purge or
//	                           deletion calls for is not done (a count, bumped by
//	                           every erasure or deletion)
//	    key_rotating        -> epoch(4) due: while a key rotation is under way, the
//	                           epoch it moves to and key_rotation_due as it began
//	    compaction_due      -> present from a migration that left plain personal data
//	                           in freed pages (sealing it, or taking names off tokens,
//	                           or sealing them)
//	                           until a compacted copy replaces the file
//	    backup_of           -> revision(8) unix nanos(8): only in a backup's copy, taken
//	                           off (with the revision's jump) by the first start of it
//	    page_token_key      -> 32 random bytes, made by the first Open of a version that
//	                           seals page tokens (version(2) nonce(12) AES-256-GCM of
//	                           the key to resume after, additional data the version
//	                           and the listing's filter key): a partner's
//	                           walk may stop on another group's record, which its token
//	                           must not name. Not in the key file: it guards positions
//	                           from callers, not data at rest, and must outlive the key
//	                           file's epochs, which every erasure and purge rotates;
//	                           here a backup carries it, and tokens go on after a restore
//	keys/
//	    id                  -> epoch(4) nonce(12) AES-256-GCM(master[epoch], data key)(48),
//	                           additional data the id; one per record with sealed data
//	help_requests/
//	    records/            id -> HelpRequest without requester, details,
//	                           location.address_lines and vulnerability
//	    contacts/           id -> 0x01 nonce(12) AES-256-GCM(data key, HelpRequest
//	                           holding just those fields), additional data the id;
//	                           absent once personal_data_removed_time is set
//	    by_state/           state(1) id -> ""
//	    by_org/             organisation 0x00 id -> ""
//	    by_external_id/     organisation 0x00 external_id -> id   (unique)
//	    by_phone/           HMAC-SHA256(index[key_epoch], phone)[:16] 0x00 id -> ""
//	    phone_token/        id -> the same 16-byte hash, so that matching finds the
//	                           requester's earlier requests without opening contacts/
//	    by_postcode/        postcode 0x00 id -> ""
//	    key_rotation/       while a key rotation is under way: by_phone/ and
//	                        phone_token/ under the epoch it moves to
//	volunteers/
//	    records/            id -> Volunteer without contact and home.address_lines
//	    contacts/           id -> sealed as for help requests (contact, home.address_lines)
//	    by_org/             organisation 0x00 id -> ""
//	    by_phone/           as for help requests
//	    by_postcode/        postcode 0x00 id -> ""
//	    key_rotation/       by_phone/, as for help requests
//	offers/
//	    records/            id -> Offer
//	    by_expiry/          expire_time(8, unix nanos big-endian) id -> ""
//	                        (PENDING offers only)
//	    by_request/         help_request_id(16) offer_id(16) -> ""
//	    by_volunteer/       volunteer_id(16) offer_id(16) -> ""
//	idempotency/
//	    kind 0x00 [scope "/"] request_id -> id(16) fingerprint(32)
//	                        (request_id in lower case)
//	                        (scope: "org:" and a partner's organisation; none
//	                        for staff)
//	postcodes/
//	    postcode            -> latitude(8) longitude(8), IEEE 754 big-endian
//	events/
//	    revision(8) seq(4)  -> Event (names of records, never their contents)
//	tokens/
//	    records/            id -> Token (never its secret; a volunteer's token
//	                           without its display name)
//	    by_hash/            sha256(secret) -> id
//	    names/              id -> a volunteer's token's display name, sealed as
//	                           contacts/ are, under that volunteer's data key,
//	                           additional data the token's id
//	    by_volunteer/       volunteer_id(16) token_id(16) -> ""   (a volunteer's
//	                           tokens, which their deletion or erasure revokes,
//	                           without reading every token)
//	organisations/
//	    slug                -> Organisation
//	audit/
//	    id(16)              -> AuditRecord (who, what, which fields; never values)
//	audit_by_resource/
//	    resource 0x00 id(16) -> ""   (a record's trail without walking the log)
//
// tokens/, organisations/ and audit/ are created at every Open if missing
// (auth.go), so they take no schema step to be made; what older files
// wrote into them that needs converting does (versions 8 and 9).
//
// An id is a 16-byte ULID: a millisecond timestamp then randomness,
// monotonic within the process, so keys sort by creation time. Outside the
// store it is written as 26 lower-case Crockford base32 characters. The
// buckets keyed by id or revision therefore grow at their end, and every
// write fills their pages to 90% before splitting them (packAppends), not
// to bbolt's default half.
//
// Every index entry is written and removed in the same transaction as its
// record. Open runs the migration steps from the file's schema version up
// to the current one, and refuses a file written by a newer version.
// Version 1 had no offers; version 2 adds the offers buckets; version 3
// adds the event log, which starts after the revision the file had then;
// version 4 seals personal data and hashes the phone index (records that
// already have a data key are left alone, so the step can run twice);
// version 5 indexes offers by volunteer, from the offers already stored;
// version 6 adds phone_token, filled from the sealed contacts; version 7
// notes on each volunteer the requests with a window they hold
// (commitments), from the offers stored; version 8 adds audit_by_resource,
// and Open then indexes the log already written, in transactions of
// 100,000 records (meta's audit_index_from, set by the step, says how far
// it got, so that a fill cut short goes on at the next Open); version 9
// changes no bucket: it revokes the tokens of volunteers whose record
// older versions deleted or erased while leaving their tokens working,
// and takes the name off them (and then compacts, as below); version 10
// seals the names of volunteers' tokens (names/; and then compacts);
// version 11 indexes the tokens by volunteer (tokens/by_volunteer/, about
// a second for a million tokens); version 12 changes no bucket: it takes
// the street off volunteers' commitments to calls from afar, which older
// versions noted at the caller's street as if a visit; version 13 changes
// no bucket: it keys in lower case the request ids older versions recorded
// in capitals, as they are read now; version 14 changes no bucket: it
// gives every stored number phone.Today's form (older versions kept the
// trunk zero after a country code, +3530871234567), each record changed
// as an edit is, with a new etag, its phone index entries moved, an
// update event and an audit record of actor "system" (phonesToday).
//
// # Personal data
//
// The personal fields (a request's requester, details, address lines and
// vulnerability; a volunteer's contact and address lines, and the display
// name of their tokens, which admins set to the volunteer's name) are
// encrypted at rest, with keys that erasure destroys. Street and postcode stay in the
// clear: the matcher and the staged disclosure to volunteers need them.
//
// A key file beside the data file (<datafile>.keys, mode 0600; WithKeyFile)
// holds the keyring: an id, and one or more epochs, each a 32-byte master
// key and a 32-byte index key. Its format is "DSKEYRNG" version(1)=1 id(16)
// count(4), then count times epoch(4) master(32) index(32), then the
// SHA-256 of all that; it is replaced atomically (write a temporary file,
// fsync, rename, fsync the directory). Each help request and volunteer has
// its own random 32-byte data key, wrapped under the master key of the
// file's key_epoch in keys/; its personal fields are sealed under that
// data key in contacts/. Reads open and merge them back, so callers see
// whole records. Phone index keys are keyed hashes under the epoch's index
// key, so the file holds no phone number.
//
// Open creates the key file for a data file with no encrypted data, and
// refuses (ErrKeyFileMissing, ErrKeyFileMismatch) a data file whose key
// file is missing, belongs to another file, or lacks an epoch in use: a new
// keyring would make every record unreadable while looking like success.
// It refuses too (ErrDataFileMissing) a data file that is missing or
// empty beside a key file, which only a data file's first start makes: a
// new store there would look like success over the loss of every record.
// And it refuses (ErrNotDataFile) a file that is not bbolt's, or is
// shorter than its last commit left it (a copy stopped part-way), which
// bbolt would open and then die of, reading a page past its end, or has
// zeros where pages its trees reach should be (a copy stopped part-way
// into a file made its full size first), which bbolt would die of too,
// or a page reached from two places (a copy taken while the server wrote
// it) or of two types at once (damage on the disk), which bbolt's check
// at open panics on. The pages are read with the file's lock shared, so a server writing it
// is still told apart (ErrInUse).
//
// Erasure (ErasePerson) and retention (PurgePersonalData) delete a request's
// data key and sealed data and set personal_data_removed_time (an erased
// OPEN request is also cancelled, since nobody could help it), or delete a
// volunteer whole. A request's coordinates given by the caller
// (COORDINATES_SOURCE_GIVEN), which are in the clear and pin the door,
// give way to the postcode's centre, or to none if the gazetteer does not
// know the postcode: only OPEN requests are matched, and an erased one
// never is. bbolt keeps stale copies of the deleted data keys and sealed
// data in its free pages, so each then rotates the epoch: a new epoch is
// added to the key file, write transactions of 10,000 records each
// re-wrap every remaining data key under it and fill a second set of
// phone indexes under it (key_rotation/), a last one puts those in place
// of the old and makes the new epoch the file's (and clears
// key_rotation_due, which the erasure set in its own transaction, as a
// deletion does, unless another erasure or deletion set it again
// meanwhile), and then the key file is rewritten without the old epoch.
// Other writes go on between the chunks: they wrap new data keys under
// the new epoch and keep both sets of phone indexes, while reads use
// those under the file's epoch. After that no key
// anywhere opens a stale copy of an erased data key, and no index key
// can confirm a guessed phone number against a stale index entry (which
// is why the index key rotates too: with one fixed index key, anyone
// holding both files could hash every UK number and find the erased one).
// Deleting a request or a volunteer drops its data key and sealed data
// too, and marks the rotation due without doing it (any partner may
// delete, and each rotation rewrites every data key): the next purge,
// which the server runs hourly whatever the retention, erasure, backup or
// Open does it. A backup copies the free pages too, so it runs the
// rotation due before its snapshot, holding rotateMu until the snapshot
// has begun; when that fails it is still taken, and says it holds what
// was erased (ErrKeyRotationPending).
// A crash before the first chunk commits leaves the rotation due but not
// under way, and Open starts it afresh under a new epoch. A crash after
// that, before the last transaction commits, leaves it due and under way,
// and Open takes it up where it stopped (keys under the new epoch are
// done), then rotates once more if an erasure or deletion came
// while it ran, as does the next erasure or purge, even one that finds
// nothing to remove (a retry after the rotation failed); a crash after it
// leaves an unused epoch, which Open drops, and so does a failure to
// rewrite the key file then (a full disk), which the next erasure or purge
// drops too.
// Read transactions hold a shared lock that dropping an epoch waits for, so
// no reader loses the key its snapshot needs.
//
// The migration to version 4 seals in place, which leaves the old plain
// values in the pages it freed, so when it sealed anything it sets
// compaction_due in its own transaction (as the migrations to version 9
// and 10 do when they take a name off a token or seal one, or find a
// token whose name an older version took off), and every Open that finds it
// compacts the file: a complete, synced copy, without the mark, renamed
// over it. A compaction that fails or is cut short is thus retried until
// one completes. bbolt's lock is on the open file, not the name, so Open
// checks, once it holds the lock, that its file still has the name, and
// queues again if a compaction renamed a copy over it in the meantime;
// the copy is locked before it takes the name.
//
// The rotation costs about 12-20 µs a record: at a million volunteers and
// 200,000 requests, 21 s on this project's 2-core VM, in which no other
// write waited more than half a second (as one transaction, it held them
// all up for 14 s). Dropping the old epoch waits for read transactions in
// flight. Each chunk's phone index entries are put in key order
// (putInOrder): bbolt holds a write's new entries in one node until
// commit, so keyed hashes put in random order cost time quadratic in
// their number. The last transaction is not the committer's: bbolt moves
// a bucket as it was when the transaction began, so nothing may have
// written to it earlier in the same one.
//
// Not covered: copies the filesystem or backups keep of an old key file or
// data file (blocks freed by a rename are not wiped), the process's
// memory, and stale copies of an erased request's record (its fields in
// the clear, given coordinates among them) in free pages not yet reused.
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
// declined or expires or the volunteer releases the assignment
// (ReleaseHelpRequest), and to CANCELLED or EXPIRED from OPEN or OFFERED
// (and CANCELLED from ASSIGNED). Each step changes the offer, the request
// and the volunteer's counts in one write, so that a request has at most
// one PENDING offer, named in its offer field while it is OFFERED, and a
// volunteer's active_assignments and pending_offers always count the
// ASSIGNED requests and PENDING offers they hold. The update path keeps
// these fields from the stored record, so only the lifecycle methods
// change them, and deletes that would strand them are refused. Deleting a
// help request deletes its offers with it.
//
// # Loading every volunteer
//
// The server's matching engine holds every volunteer, loaded when it
// starts (EachVolunteer). That read is the one that must be fast at a
// million: read transactions of a thousand records walk the records,
// contacts and keys buckets side by side (all keyed by id) and copy the
// bytes out into a buffer that later batches reuse, and opening the
// contacts and decoding, two thirds of the cost, runs on every processor,
// each batch with the keyring its transaction saw. The records go to the
// caller undecoded: the engine takes in what it needs of a record straight
// from its bytes (matcher.DecodeVolunteer), without making a message.
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
