package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/geo"
	"github.com/doorstep-aid/doorstep/phone"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

var helpRequests = &collection[*pb.HelpRequest]{
	bucket:   bHelpRequests,
	prefix:   helpRequestPrefix,
	idemKind: kindHelpRequest,
	noun:     "help request",
	newRec:   func() *pb.HelpRequest { return &pb.HelpRequest{} },
	takeContact: func(r *pb.HelpRequest) *pb.Contact {
		c := r.Requester
		r.Requester = nil
		return c
	},
	setContact: func(r *pb.HelpRequest, c *pb.Contact) { r.Requester = c },
	name:       (*pb.HelpRequest).GetName,
	etag:       (*pb.HelpRequest).GetEtag,
	stamp: func(r *pb.HelpRequest, name, etag string, created, updated *timestamppb.Timestamp) {
		r.Name, r.Etag, r.UpdateTime = name, etag, updated
		if created != nil {
			r.CreateTime = created
		}
	},
	// An update changes what people typed; the lifecycle fields belong to
	// offers and assignments, so an update can never clobber them.
	keep: func(dst, stored *pb.HelpRequest) {
		dst.Organisation, dst.ExternalId, dst.CreateTime = stored.Organisation, stored.ExternalId, stored.CreateTime
		dst.State, dst.Offer, dst.AssignedVolunteer, dst.DeclinedVolunteers = stored.State, stored.Offer, stored.AssignedVolunteer, stored.DeclinedVolunteers
		dst.PersonalDataRemovedTime, dst.CloseTime = stored.PersonalDataRemovedTime, stored.CloseTime
		if dst.CloseTime == nil && ClosedState(stored.State) {
			// Closed before close_time was kept: its last change, at or
			// after the close, stands for it, as the purge would take
			// it; this edit must not start the retention again.
			dst.CloseTime = stored.UpdateTime
		}
	},
	onCreate: func(r *pb.HelpRequest) {
		r.State = pb.HelpRequest_STATE_OPEN
		r.Offer, r.AssignedVolunteer, r.DeclinedVolunteers = "", "", nil
		r.PersonalDataRemovedTime, r.CloseTime = nil, nil
	},
	splitPersonal: func(r *pb.HelpRequest) *pb.HelpRequest {
		p := &pb.HelpRequest{Details: r.Details, Vulnerability: r.Vulnerability}
		r.Details, r.Vulnerability = "", nil
		if lines := r.GetLocation().GetAddressLines(); len(lines) > 0 {
			p.Location = &pb.Location{AddressLines: lines}
			r.Location.AddressLines = nil
		}
		return p
	},
	mergePersonal: func(r, p *pb.HelpRequest) {
		r.Details, r.Vulnerability = p.Details, p.Vulnerability
		if p.Location != nil {
			if r.Location == nil {
				r.Location = &pb.Location{}
			}
			r.Location.AddressLines = p.Location.AddressLines
		}
	},
	removed: func(r *pb.HelpRequest) bool { return r.PersonalDataRemovedTime != nil },
	indexes: func(sl *sealer, id []byte, r *pb.HelpRequest, c *pb.Contact) []index {
		ix := []index{
			{bucket: bByState, key: append([]byte{byte(r.State)}, id...)},
			{bucket: bByOrg, key: join([]byte(r.Organisation), id)},
			{bucket: bByPostcode, key: join([]byte(r.GetLocation().GetPostcode()), id)},
		}
		return append(ix, sl.requesterIndex(c.GetPhone(), id)...)
	},
	phoneIndex:   (*sealer).requesterIndex,
	phoneBuckets: [][]byte{bByPhone, bPhoneToken},
	unique: func(r *pb.HelpRequest) *index {
		if r.ExternalId == "" {
			return nil
		}
		return &index{bucket: bByExternalID, key: join([]byte(r.Organisation), []byte(r.ExternalId))}
	},
	deletable: func(r *pb.HelpRequest) error {
		switch r.State {
		case pb.HelpRequest_STATE_OFFERED, pb.HelpRequest_STATE_ASSIGNED:
			return fmt.Errorf("help request is %v: %w", r.State, ErrHasCommitments)
		}
		return nil
	},
	// A request's offers are its history and go with it.
	onRemove: func(w *writeTx, id []byte, _ time.Time) error { return deleteOffersOf(w, id) },
	event:    helpRequestEvent,
	concerns: requestConcerns,
	created:  pb.Event_TYPE_HELP_REQUEST_CREATED,
	updated:  pb.Event_TYPE_HELP_REQUEST_UPDATED,
	deleted:  pb.Event_TYPE_HELP_REQUEST_DELETED,
}

var volunteers = &collection[*pb.Volunteer]{
	bucket:   bVolunteers,
	prefix:   volunteerPrefix,
	idemKind: kindVolunteer,
	noun:     "volunteer",
	newRec:   func() *pb.Volunteer { return &pb.Volunteer{} },
	takeContact: func(r *pb.Volunteer) *pb.Contact {
		c := r.Contact
		r.Contact = nil
		return c
	},
	setContact: func(r *pb.Volunteer, c *pb.Contact) { r.Contact = c },
	name:       (*pb.Volunteer).GetName,
	etag:       (*pb.Volunteer).GetEtag,
	stamp: func(r *pb.Volunteer, name, etag string, created, updated *timestamppb.Timestamp) {
		r.Name, r.Etag, r.UpdateTime = name, etag, updated
		if created != nil {
			r.CreateTime = created
		}
	},
	keep: func(dst, stored *pb.Volunteer) {
		dst.Organisation, dst.CreateTime = stored.Organisation, stored.CreateTime
		dst.ActiveAssignments, dst.PendingOffers, dst.RecentAssignmentTimes = stored.ActiveAssignments, stored.PendingOffers, stored.RecentAssignmentTimes
		dst.Commitments = stored.Commitments
		// A resume starts the count again: otherwise their next lapse,
		// a phone left in a coat, would pause them at once. So does a
		// pause of their own (or a coordinator's): paused with a count
		// above 0 is how staff and their app tell the server's pause from
		// theirs, and "resume them when they can answer offers again"
		// is no word for someone away for a week.
		dst.UnansweredOffers, dst.LastUnansweredTime = stored.UnansweredOffers, stored.LastUnansweredTime
		if stored.Paused != dst.Paused {
			dst.UnansweredOffers, dst.LastUnansweredTime = 0, nil
		}
	},
	onCreate: func(r *pb.Volunteer) {
		r.ActiveAssignments, r.PendingOffers, r.RecentAssignmentTimes, r.Commitments = 0, 0, nil, nil
		r.UnansweredOffers, r.LastUnansweredTime = 0, nil
	},
	// The street and postcode stay in the clear: the matcher and the
	// staged disclosure to volunteers need them.
	splitPersonal: func(r *pb.Volunteer) *pb.Volunteer {
		p := &pb.Volunteer{}
		if lines := r.GetHome().GetAddressLines(); len(lines) > 0 {
			p.Home = &pb.Location{AddressLines: lines}
			r.Home.AddressLines = nil
		}
		return p
	},
	mergePersonal: func(r, p *pb.Volunteer) {
		if p.Home != nil {
			if r.Home == nil {
				r.Home = &pb.Location{}
			}
			r.Home.AddressLines = p.Home.AddressLines
		}
	},
	// An erased volunteer is deleted, never kept without personal data.
	removed: func(*pb.Volunteer) bool { return false },
	indexes: func(sl *sealer, id []byte, r *pb.Volunteer, c *pb.Contact) []index {
		ix := []index{
			{bucket: bByOrg, key: join([]byte(r.Organisation), id)},
			{bucket: bByPostcode, key: join([]byte(r.GetHome().GetPostcode()), id)},
		}
		return append(ix, sl.phoneIndex(c.GetPhone(), id)...)
	},
	phoneIndex:   (*sealer).phoneIndex,
	phoneBuckets: [][]byte{bByPhone},
	unique:       func(*pb.Volunteer) *index { return nil },
	deletable: func(r *pb.Volunteer) error {
		if r.ActiveAssignments > 0 || r.PendingOffers > 0 {
			return fmt.Errorf("volunteer has %d active assignments and %d pending offers: %w",
				r.ActiveAssignments, r.PendingOffers, ErrHasCommitments)
		}
		return nil
	},
	// A deleted volunteer's tokens stop working with them: a phone left
	// signed in must not go on reading offers in their name. They lose
	// the name too, as the record loses its contact details.
	onRemove: func(w *writeTx, id []byte, now time.Time) error {
		return endVolunteerTokens(w, volunteerPrefix+idString(id), now, deletedTokenName)
	},
	event:   volunteerEvent,
	created: pb.Event_TYPE_VOLUNTEER_CREATED,
	updated: pb.Event_TYPE_VOLUNTEER_UPDATED,
	deleted: pb.Event_TYPE_VOLUNTEER_DELETED,
}

// GetHelpRequestByExternalID implements Store.
func (s *BoltStore) GetHelpRequestByExternalID(_ context.Context, organisation, externalID string) (*pb.HelpRequest, error) {
	var out *pb.HelpRequest
	err := s.view(func(tx *bolt.Tx) error {
		top := tx.Bucket(bHelpRequests)
		id := top.Bucket(bByExternalID).Get(join([]byte(organisation), []byte(externalID)))
		if id == nil {
			return ErrNotFound
		}
		r, c, err := helpRequests.read(s.sealer(tx), top, id)
		if err != nil {
			return err
		}
		helpRequests.setContact(r, c)
		out = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: get help request by external id: %w", err)
	}
	return out, nil
}

// CreateHelpRequest implements Store.
func (s *BoltStore) CreateHelpRequest(ctx context.Context, hr *pb.HelpRequest, idem Idempotency) (*pb.HelpRequest, error) {
	return helpRequests.create(ctx, s, hr, idem)
}

// GetHelpRequest implements Store.
func (s *BoltStore) GetHelpRequest(_ context.Context, id string) (*pb.HelpRequest, error) {
	return helpRequests.get(s, id)
}

// HelpRequestByRequestID implements Store.
func (s *BoltStore) HelpRequestByRequestID(_ context.Context, idem Idempotency) (*pb.HelpRequest, error) {
	return helpRequests.byRequestID(s, idem)
}

// maxPreviousHelpers bounds the requests helped with (helped) that
// MatchingInputs reads for one requester, so that a prolific requester
// cannot make every search for them slow.
const maxPreviousHelpers = 50

// MatchingInputs implements Store. It reads in one transaction what
// matching needs, and opens no sealed field: the requester's earlier
// requests are found by the hash their phone is indexed under, and read
// in the clear part of their records (see matchingInput).
func (s *BoltStore) MatchingInputs(ctx context.Context, id string) (*pb.HelpRequest, []string, error) {
	in, err := s.MatchingInput(ctx, id)
	return in.HelpRequest, in.PreviousHelpers, err
}

// MatchingInput implements Store.
func (s *BoltStore) MatchingInput(_ context.Context, id string) (MatchingInput, error) {
	key, err := ParseID(id)
	if err != nil {
		return MatchingInput{}, fmt.Errorf("store: matching inputs: %w", ErrNotFound)
	}
	var in MatchingInput
	err = s.view(func(tx *bolt.Tx) error {
		var err error
		in, err = matchingInput(tx, key, s.now(), nil)
		return err
	})
	if err != nil {
		return MatchingInput{}, fmt.Errorf("store: matching inputs: %w", err)
	}
	return in, nil
}

// MatchingInput is what matching one request needs (see MatchingInputs).
type MatchingInput struct {
	HelpRequest     *pb.HelpRequest // without its personal fields
	PreviousHelpers []string
	// Requester tells one requester's requests from others' (a keyed hash
	// of their phone, in hex; "" without one), so that dispatch sends one
	// volunteer to one door at one time.
	Requester string
	// Accompany is the volunteer holding another of the requester's
	// requests at the same place, offered or assigned, whose window meets
	// this one's: the one already going to that door then. Only visits
	// count (visits): it is "" for a remote request, and a remote
	// request's volunteer is going to no door.
	Accompany string
	// Crowded says that more than one volunteer holds such requests: two
	// are already going to that door at times meeting this one's, and a
	// dispatch adds nobody to them.
	Crowded bool
	// Door names the street of the request's door, as samePlace judges
	// it, for dispatch to group the caller's requests by: the key of its
	// own street, or for a request without one, of the one street the
	// caller's live requests at its postcode name; NoStreet when neither
	// tells. It is set whenever Requester is.
	Door string
	// Own names the requester's own volunteer records (indexed under the
	// same phone hash): a volunteer who asks for help is not to be sent
	// to their own door.
	Own []string
}

// NoStreet is MatchingInput.Door for a request whose street is not known.
const NoStreet = "-"

// ListOpenMatchingInputs implements Store: the dispatcher's read of every
// OPEN request, a page at a time so that no read transaction stays open
// across a large store, and without decrypting anything.
func (s *BoltStore) ListOpenMatchingInputs(_ context.Context, p Page) ([]MatchingInput, string, error) {
	const filterKey = "matching|open"
	if p.Size < 1 {
		return nil, "", fmt.Errorf("store: list open matching inputs: page size %d", p.Size)
	}
	resume, err := s.decodeToken(p.Token, filterKey)
	if err != nil {
		return nil, "", fmt.Errorf("store: list open matching inputs: %w", err)
	}
	var (
		out  []MatchingInput
		next string
	)
	now := s.now()
	err = s.view(func(tx *bolt.Tx) error {
		out, next = nil, ""
		top := tx.Bucket(bHelpRequests)
		// Requester is the phone's hash under the key epoch, which every
		// erasure and purge rotates: a pass whose pages straddle a
		// rotation would see one caller as two, and dispatch would send
		// two volunteers to their door. Such a pass must start again.
		epoch := tx.Bucket(bMeta).Get(kKeyEpoch)
		if len(epoch) != 4 {
			return fmt.Errorf("no key epoch: %w", errInconsistent)
		}
		after := resume
		if after != nil {
			if len(after) < 4 || !bytes.Equal(after[:4], epoch) {
				return ErrPassStale
			}
			after = after[4:]
		}
		// One caller's requests are read once a page, not once for each of
		// them: n requests under one number would cost n² reads.
		siblings := map[string]siblingSet{}
		prefix := []byte{byte(pb.HelpRequest_STATE_OPEN)}
		cur := top.Bucket(bByState).Cursor()
		start := append(bytes.Clone(prefix), after...)
		k, _ := cur.Seek(start)
		if after != nil && bytes.Equal(k, start) {
			k, _ = cur.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
			if len(out) == p.Size {
				next = s.encodeToken(filterKey, append(bytes.Clone(epoch), after...))
				return nil
			}
			after = bytes.Clone(k[len(prefix):])
			in, err := matchingInput(tx, k[len(prefix):], now, siblings)
			if err != nil {
				return err
			}
			out = append(out, in)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list open matching inputs: %w", err)
	}
	return out, next, nil
}

// matchingInput reads request key's matching input within a transaction.
// The requester's other requests are found by the hash their phone is
// indexed under (phone_token), so matching never opens personal data;
// cache, if not nil, keeps them by that hash for the transaction's other
// reads.
func matchingInput(tx *bolt.Tx, key []byte, now time.Time, cache map[string]siblingSet) (MatchingInput, error) {
	top := tx.Bucket(bHelpRequests)
	r, err := helpRequests.readRecord(top, key)
	if err != nil {
		return MatchingInput{}, err
	}
	in := MatchingInput{HelpRequest: r}
	tok := top.Bucket(bPhoneToken).Get(key)
	if tok == nil {
		return in, nil // no phone, or erased: nobody to be continuous with
	}
	in.Requester = hex.EncodeToString(tok)
	// The index prefix and, below, the list of the caller's requests
	// start on the stack: a search reads them only within this call, and
	// two of its allocations were theirs. Only the dispatcher's cache of
	// siblings keeps a list beyond it, and takes a copy.
	var prefixBuf [40]byte // a phone hash (32 bytes) and its separator
	prefix := append(append(prefixBuf[:0], tok...), 0)
	cur := tx.Bucket(bVolunteers).Bucket(bByPhone).Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		in.Own = append(in.Own, volunteerPrefix+idString(k[len(prefix):]))
	}
	set, ok := cache[string(tok)]
	if !ok {
		var sibBuf [4]sibling
		sibs, err := readSiblings(tx, top, prefix, now, key, r, sibBuf[:0])
		if err != nil {
			return MatchingInput{}, err
		}
		streets := doorStreets(func(yield func(*pb.HelpRequest) bool) {
			for _, sib := range sibs {
				if !yield(sib.r) {
					return
				}
			}
		})
		set = siblingSet{sibs: sibs, streets: streets}
		if cache != nil {
			cache[string(tok)] = siblingSet{sibs: slices.Clone(sibs), streets: streets}
		}
	}
	// The caller's newest requests and this one, whether or not it is
	// among them, as volunteerComing reads them.
	at := streetAt(set.streets, r)
	in.Door = doorOf(r, at)
	if in.Door == "" {
		in.Door = NoStreet
	}
	seen := 0
	for _, sib := range set.sibs {
		if bytes.Equal(sib.id, key) {
			continue
		}
		o := sib.r
		// A call from afar neither waits for the volunteer at the door
		// nor brings its own there.
		if sib.holder != "" && visits(r) && visits(o) && windowsMeet(r, o) && samePlace(r, o, at) {
			switch in.Accompany {
			case "":
				in.Accompany = sib.holder
			case sib.holder:
			default:
				in.Crowded = true
			}
		}
		// One number can be several people's (a care worker's work
		// mobile, a warden's line, a daughter ringing for her mother and
		// her aunt): a volunteer who went to another postcode for it has
		// not met this caller, and is not to be ranked up, nor named to
		// staff, as having helped them before.
		if !helped(o, now) || o.GetLocation().GetPostcode() != r.GetLocation().GetPostcode() {
			continue
		}
		if seen++; seen > maxPreviousHelpers {
			break
		}
		if o.AssignedVolunteer != "" && !slices.Contains(in.PreviousHelpers, o.AssignedVolunteer) {
			in.PreviousHelpers = append(in.PreviousHelpers, o.AssignedVolunteer)
		}
	}
	return in, nil
}

// helped says whether r's volunteer has helped its requester: r is
// FULFILLED, or ASSIGNED with its time over. Volunteers often forget to
// mark a job done, and the sweep marks it only after the assignment
// grace, a week by default: counted only once fulfilled, last week's
// helper would lose the continuity bonus for this week's request, taken
// within that week.
func helped(r *pb.HelpRequest, now time.Time) bool {
	return r.State == pb.HelpRequest_STATE_FULFILLED ||
		r.State == pb.HelpRequest_STATE_ASSIGNED && RequestEnded(r, now)
}

// UpdateHelpRequest implements Store.
func (s *BoltStore) UpdateHelpRequest(ctx context.Context, hr *pb.HelpRequest, checks ...AcceptCheck) (*pb.HelpRequest, error) {
	return helpRequests.update(ctx, s, hr, checks...)
}

// DeleteHelpRequest implements Store.
func (s *BoltStore) DeleteHelpRequest(ctx context.Context, id, etag string) error {
	return helpRequests.remove(ctx, s, id, etag)
}

// ListHelpRequests implements Store. It walks the most selective index the
// filter allows (phone, then postcode, states all still in hand, or the
// organisation where it has had fewer requests than are in those states,
// organisation, any other states) and checks the rest of the filter, the
// urgency always among it, on each record. Urgency has no index of its
// own: the requests in hand are few, and read whole; over the whole
// history it is the short pages of maxScanned that keep a read short.
func (s *BoltStore) ListHelpRequests(_ context.Context, f HelpRequestFilter, p Page) ([]*pb.HelpRequest, string, error) {
	sts := f.states()
	number := phoneOf(f.Phone)
	pre := func(r *pb.HelpRequest) bool {
		return (len(sts) == 0 || slices.Contains(sts, r.State)) &&
			urgencyAtLeast(r.Urgency, f.MinUrgency) &&
			hasPrefix(r.GetLocation().GetPostcode(), f.PostcodePrefix) &&
			(f.Organisation == "" || r.Organisation == f.Organisation)
	}
	sc := scan[*pb.HelpRequest]{
		filterKey: helpRequestFilterKey(f, sts),
		pre:       pre,
		match: func(r *pb.HelpRequest, c *pb.Contact) bool {
			return pre(r) && (number == "" || phone.Today(c.GetPhone()) == number)
		},
	}
	live := len(sts) > 0 && !slices.ContainsFunc(sts, func(st pb.HelpRequest_State) bool { return !liveState(st) })
	switch {
	case number != "":
		sc.index, sc.phone = bByPhone, number
	case f.PostcodePrefix != "" && live && s.fewInStates(sts):
		return s.listLiveByPostcode(f, sts, sc, p)
	case f.PostcodePrefix != "":
		sc.index, sc.prefix = bByPostcode, []byte(f.PostcodePrefix)
	case live && f.Organisation != "" && s.orgFewerThanStates(f.Organisation, sts):
		// Another group's backlog (a food bank's intake, thousands open)
		// is not this organisation's to walk: its whole history is the
		// shorter walk. Both walks go oldest first and resume after an id,
		// so a page token from either is taken up by the other.
		sc.index, sc.prefix = bByOrg, join([]byte(f.Organisation), nil)
	case live:
		// The requests in hand now are few whatever the history: an
		// organisation's (a partner's token always lists by it) open
		// ones come after every request it ever closed in by_org, and
		// were reached only after page upon empty page. Both walks go
		// oldest first; several states are walked together, by id.
		sc.index, sc.prefixes = bByState, statePrefixes(sts)
	case f.Organisation != "":
		sc.index, sc.prefix = bByOrg, join([]byte(f.Organisation), nil)
	case len(sts) > 0:
		sc.index, sc.prefixes = bByState, statePrefixes(sts)
	}
	return helpRequests.list(s, sc, p)
}

// states is f's states, State and States together, in order and each
// once; none when it selects any state.
func (f HelpRequestFilter) states() []pb.HelpRequest_State {
	var out []pb.HelpRequest_State
	for _, st := range append([]pb.HelpRequest_State{f.State}, f.States...) {
		if st != pb.HelpRequest_STATE_UNSPECIFIED {
			out = append(out, st)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// helpRequestFilterKey is what a page token is bound to. A filter of one
// state and no urgency has the key it had before states and urgencies
// could be given, so that a token handed out then is taken up now; the
// same states in any order, or one as State, are one filter.
func helpRequestFilterKey(f HelpRequestFilter, sts []pb.HelpRequest_State) string {
	state := "0"
	if len(sts) > 0 {
		words := make([]string, len(sts))
		for i, st := range sts {
			words[i] = strconv.Itoa(int(st))
		}
		state = strings.Join(words, "+")
	}
	key := fmt.Sprintf("hr|%s|%s|%s|%s", state, f.PostcodePrefix, f.Organisation, phoneOf(f.Phone))
	if f.MinUrgency != pb.Urgency_URGENCY_UNSPECIFIED {
		key += fmt.Sprintf("|urgency>=%d", f.MinUrgency)
	}
	return key
}

// urgencyAtLeast says whether urgency u is at least least; a request stored
// without one is URGENCY_NORMAL, as its field says.
func urgencyAtLeast(u, least pb.Urgency) bool {
	if u == pb.Urgency_URGENCY_UNSPECIFIED {
		u = pb.Urgency_URGENCY_NORMAL
	}
	return u >= least
}

// statePrefixes are the by_state prefixes of sts.
func statePrefixes(sts []pb.HelpRequest_State) [][]byte {
	out := make([][]byte, len(sts))
	for i, st := range sts {
		out[i] = []byte{byte(st)}
	}
	return out
}

// listLiveByPostcode lists the requests in states still in hand (sts) at
// a postcode, sector or district in by_postcode's order (postcode, then
// age) and with its page tokens, but from by_state: by_postcode holds every
// request ever made there, and after a year the helpline's "open
// requests in AB10" read 35,000 of them over four calls to find fifteen.
// The requests in hand are few, so all of them are read and sorted.
func (s *BoltStore) listLiveByPostcode(f HelpRequestFilter, sts []pb.HelpRequest_State, sc scan[*pb.HelpRequest], p Page) ([]*pb.HelpRequest, string, error) {
	if p.Size < 1 {
		return nil, "", fmt.Errorf("store: list help request: page size %d", p.Size)
	}
	resume, err := s.decodeToken(p.Token, sc.filterKey)
	if err != nil {
		return nil, "", fmt.Errorf("store: list help request: %w", err)
	}
	prefix := []byte(f.PostcodePrefix)
	type found struct {
		key []byte // as in by_postcode
		id  []byte
		r   *pb.HelpRequest
	}
	var out []*pb.HelpRequest
	var next string
	err = s.view(func(tx *bolt.Tx) error {
		top := tx.Bucket(bHelpRequests)
		var all []found
		for _, st := range sts {
			state := []byte{byte(st)}
			cur := top.Bucket(bByState).Cursor()
			for k, _ := cur.Seek(state); k != nil && bytes.HasPrefix(k, state); k, _ = cur.Next() {
				r, err := helpRequests.readRecord(top, k[1:])
				if err != nil {
					return err
				}
				key := join([]byte(r.GetLocation().GetPostcode()), k[1:])
				if sc.pre(r) && bytes.HasPrefix(key, prefix) && bytes.Compare(key[len(prefix):], resume) > 0 {
					all = append(all, found{key, k[1:], r})
				}
			}
		}
		slices.SortFunc(all, func(a, b found) int { return bytes.Compare(a.key, b.key) })
		sl := s.sealer(tx)
		for i, fd := range all {
			if len(out) == p.Size {
				next = s.encodeToken(sc.filterKey, all[i-1].key[len(prefix):])
				return nil
			}
			c, err := helpRequests.openInto(sl, top, fd.id, fd.r)
			if err != nil {
				return err
			}
			if sc.match(fd.r, c) {
				helpRequests.setContact(fd.r, c)
				out = append(out, fd.r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list help request: %w", err)
	}
	return out, next, nil
}

// maxLiveSort bounds the requests listLiveByPostcode reads and sorts for
// one page: past it (a city's whole backlog open at once) a page by
// by_postcode, which is bounded by maxScanned, costs less.
var maxLiveSort = 5000 // a variable so that tests can lower it

// fewInStates says whether no more than maxLiveSort requests are in the
// states sts together, counting keys only.
func (s *BoltStore) fewInStates(sts []pb.HelpRequest_State) bool {
	n := 0
	_ = s.view(func(tx *bolt.Tx) error {
		for _, st := range sts {
			state := []byte{byte(st)}
			cur := tx.Bucket(bHelpRequests).Bucket(bByState).Cursor()
			for k, _ := cur.Seek(state); k != nil && bytes.HasPrefix(k, state) && n <= maxLiveSort; k, _ = cur.Next() {
				n++
			}
		}
		return nil
	})
	return n <= maxLiveSort
}

// orgFewerThanStates says whether organisation org has had fewer requests
// than are now in the states sts together, counting keys of both indexes
// in step, so that the count costs no more than the shorter of the two.
func (s *BoltStore) orgFewerThanStates(org string, sts []pb.HelpRequest_State) bool {
	fewer := false
	_ = s.view(func(tx *bolt.Tx) error {
		top := tx.Bucket(bHelpRequests)
		orgPrefix := join([]byte(org), nil)
		oc := top.Bucket(bByOrg).Cursor()
		ok, _ := oc.Seek(orgPrefix)
		// The states' keys together: only their number counts here.
		states := newMergedCursor(top.Bucket(bByState), statePrefixes(sts), nil)
		sk, _ := states.next()
		for {
			orgDone, stateDone := !bytes.HasPrefix(ok, orgPrefix), sk == nil
			if orgDone || stateDone {
				fewer = orgDone && !stateDone
				return nil
			}
			ok, _ = oc.Next()
			sk, _ = states.next()
		}
	})
	return fewer
}

// liveState says whether requests in state st are still in hand (OPEN,
// OFFERED, ASSIGNED): as many as the work of the moment, where the closed
// grow with every day of use.
func liveState(st pb.HelpRequest_State) bool {
	return st == pb.HelpRequest_STATE_OPEN || st == pb.HelpRequest_STATE_OFFERED || st == pb.HelpRequest_STATE_ASSIGNED
}

// CreateVolunteer implements Store.
func (s *BoltStore) CreateVolunteer(ctx context.Context, v *pb.Volunteer, idem Idempotency) (*pb.Volunteer, error) {
	return volunteers.create(ctx, s, v, idem)
}

// GetVolunteer implements Store.
func (s *BoltStore) GetVolunteer(_ context.Context, id string) (*pb.Volunteer, error) {
	return volunteers.get(s, id)
}

// VolunteerByRequestID implements Store.
func (s *BoltStore) VolunteerByRequestID(_ context.Context, idem Idempotency) (*pb.Volunteer, error) {
	return volunteers.byRequestID(s, idem)
}

// UpdateVolunteer implements Store.
func (s *BoltStore) UpdateVolunteer(ctx context.Context, v *pb.Volunteer) (*pb.Volunteer, error) {
	return volunteers.update(ctx, s, v)
}

// DeleteVolunteer implements Store.
func (s *BoltStore) DeleteVolunteer(ctx context.Context, id, etag string) error {
	err := volunteers.remove(ctx, s, id, etag)
	s.tokens.invalidate() // after the commit: their tokens are revoked
	if errors.Is(err, ErrHasCommitments) {
		// Named, as an erasure's refusal is, so that the caller is told
		// to end the volunteer's offers and jobs (hold them, hand the
		// jobs back), not the requests' own lives (cancel, complete).
		return commitmentsOf(volunteerPrefix+id, err)
	}
	return err
}

// ListVolunteers implements Store, as ListHelpRequests.
func (s *BoltStore) ListVolunteers(_ context.Context, f VolunteerFilter, p Page) ([]*pb.Volunteer, string, error) {
	pre := func(r *pb.Volunteer) bool {
		return hasPrefix(r.GetHome().GetPostcode(), f.PostcodePrefix) &&
			(f.Organisation == "" || r.Organisation == f.Organisation) &&
			(f.Skill == "" || slices.Contains(r.Skills, f.Skill))
	}
	number := phoneOf(f.Phone)
	sc := scan[*pb.Volunteer]{
		filterKey: fmt.Sprintf("vol|%s|%s|%s|%s", f.PostcodePrefix, f.Organisation, f.Skill, number),
		pre:       pre,
		match: func(r *pb.Volunteer, c *pb.Contact) bool {
			return pre(r) && (number == "" || phone.Today(c.GetPhone()) == number)
		},
	}
	switch {
	case number != "":
		sc.index, sc.phone = bByPhone, number
	case f.PostcodePrefix != "":
		sc.index, sc.prefix = bByPostcode, []byte(f.PostcodePrefix)
	case f.Organisation != "":
		sc.index, sc.prefix = bByOrg, join([]byte(f.Organisation), nil)
	}
	return volunteers.list(s, sc, p)
}

// phoneOf is a filter's phone in its form today (the phone index's
// key), or "" for none. A page token's filter key names it as it named
// the one form in the list of forms this was once, so that a token
// issued then is taken up now.
func phoneOf(number string) string {
	if number == "" {
		return ""
	}
	return phone.Today(number)
}

func hasPrefix(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

// sibling is one of a requester's requests, as matchingInput reads them.
type sibling struct {
	id     []byte
	r      *pb.HelpRequest // as stored, without personal fields
	holder string          // the volunteer coming for it (holderOf), or ""
}

// siblingSet is one caller's requests and the streets they name at each
// postcode (doorStreets).
type siblingSet struct {
	sibs    []sibling
	streets map[string]string
}

// maxSiblings bounds the requests read under one phone number, the newest:
// a number shared by thousands (an office's) would otherwise make every
// read of theirs slow.
const maxSiblings = 1000

// readSiblings reads the requests indexed under prefix (a phone hash
// and its separator) in top (the help requests' bucket), newest first
// (ids are ULIDs): someone helped weekly for a year keeps the bonus for
// whoever helps them now, not for their first helpers. Request key among
// them is r, read already in tx. The index is walked backwards from its
// end rather than listed first, and the ids are the transaction's own
// bytes (valid while it lasts, as the siblings are kept): with one request
// per number, as most callers have, the list and the copy were two of
// FindCandidates' allocations. They are appended to out.
func readSiblings(tx *bolt.Tx, top *bolt.Bucket, prefix []byte, now time.Time, key []byte, r *pb.HelpRequest, out []sibling) ([]sibling, error) {
	cur := top.Bucket(bByPhone).Cursor()
	for k := lastUnder(cur, prefix); k != nil; k = prevUnder(cur, prefix) {
		if len(out) == maxSiblings {
			break
		}
		id := k[len(prefix):]
		// Request key, read already as r in this transaction, is not
		// decoded again: with one request per number, as most callers
		// have, it would be this read's only other record.
		o := r
		if !bytes.Equal(id, key) {
			var err error
			if o, err = helpRequests.readRecord(top, id); err != nil {
				return nil, err
			}
		}
		holder, err := holderOf(tx, o, id, now)
		if err != nil {
			return nil, err
		}
		out = append(out, sibling{id: id, r: o, holder: holder})
	}
	return out, nil
}

// lastUnder moves cur to the last key starting with prefix, and returns
// it; or nil when there is none. prefix ends in a 0 separator (join).
func lastUnder(cur *bolt.Cursor, prefix []byte) []byte {
	var after [64]byte // every key that follows those under prefix
	end := append(after[:0], prefix...)
	end[len(end)-1]++
	k, _ := cur.Seek(end)
	if k == nil {
		k, _ = cur.Last()
	} else {
		k, _ = cur.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return nil
	}
	return k
}

// prevUnder moves cur back one key, and returns it while it starts with
// prefix; else nil.
func prevUnder(cur *bolt.Cursor, prefix []byte) []byte {
	k, _ := cur.Prev()
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return nil
	}
	return k
}

// visits says whether r's volunteer comes to the caller's door, for the
// rule of one volunteer to one door at one time: every request's does but
// a remote one's, which is helped from wherever they are. Remote is
// matcher.Remote, judged from the request as stored (remote_ok, every need
// one met from afar, nobody going inside), so that the store and dispatch
// judge a request alike: one stored before the server refused remote_ok
// with shopping is still a visit.
func visits(r *pb.HelpRequest) bool {
	fromAfar := func(n pb.Need) bool { // matcher.FromAfar
		return n == pb.Need_NEED_BEFRIENDING_CALL || n == pb.Need_NEED_OTHER
	}
	remote := r.GetRemoteOk() && !r.GetEntersHome() && len(r.GetNeeds()) > 0 &&
		!slices.ContainsFunc(r.GetNeeds(), func(n pb.Need) bool { return !fromAfar(n) })
	return !remote
}

// windowsMeet says whether two requests have windows (not deadlines) that
// overlap.
func windowsMeet(a, b *pb.HelpRequest) bool {
	wa, wb := a.GetWindow(), b.GetWindow()
	return wa != nil && wb != nil &&
		wa.GetStartTime().AsTime().Before(wb.GetEndTime().AsTime()) && wb.GetStartTime().AsTime().Before(wa.GetEndTime().AsTime())
}

// samePlace says whether two of one caller's requests are at one door, as
// far as the clear part of their records tells: the same postcode and
// street (one number can serve several homes: a partner's office). A
// request without a street is at at, the one street the caller's live
// requests name at that postcode (streetAt), if they name one; a street
// not known may be any at the postcode, and is judged as the door, so
// that no second volunteer is sent to it (a coordinator who knows better
// offers with allow_second_volunteer, or writes the street).
func samePlace(a, b *pb.HelpRequest, at string) bool {
	if a.GetLocation().GetPostcode() != b.GetLocation().GetPostcode() {
		return false
	}
	da, db := doorOf(a, at), doorOf(b, at)
	return da == db || da == "" || db == ""
}

// doorStreets maps each postcode at which the caller's live requests
// (open, offered or assigned, of those all yields) name a street to that
// street's key, or to "" where they name more than one.
// It is nil (which reads as empty) until a request names a street: most
// requests reaching matching name none, and the map was one of
// FindCandidates' allocations.
func doorStreets(all iter.Seq[*pb.HelpRequest]) map[string]string {
	var streets map[string]string
	for o := range all {
		streets = noteStreet(streets, o)
	}
	return streets
}

// streetAt is the one street the caller's live requests name at r's
// postcode, r among them (streets being the others'): its key, or "" when
// they name none or several.
func streetAt(streets map[string]string, r *pb.HelpRequest) string {
	had, ok := streets[r.GetLocation().GetPostcode()]
	switch k := liveStreetKey(r); {
	case k == "" || k == had:
		return had
	case !ok:
		return k
	}
	return "" // r names another street there, or they named several
}

// doorOf is the key of the street r's door is on, or at, the caller's one
// street at its postcode, when r names none (see samePlace).
func doorOf(r *pb.HelpRequest, at string) string {
	if k := geo.StreetKey(r.GetLocation().GetStreet()); k != "" {
		return k
	}
	return at
}

// liveStreetKey is the key of o's street if o is live (open, offered or
// assigned), else "".
func liveStreetKey(o *pb.HelpRequest) string {
	switch o.State {
	case pb.HelpRequest_STATE_OPEN, pb.HelpRequest_STATE_OFFERED, pb.HelpRequest_STATE_ASSIGNED:
		return geo.StreetKey(o.GetLocation().GetStreet())
	}
	return ""
}

func noteStreet(streets map[string]string, o *pb.HelpRequest) map[string]string {
	k := liveStreetKey(o)
	if k == "" {
		return streets
	}
	if streets == nil {
		streets = map[string]string{}
	}
	pc := o.GetLocation().GetPostcode()
	if had, ok := streets[pc]; !ok {
		streets[pc] = k
	} else if had != k {
		streets[pc] = ""
	}
	return streets
}

// comerFor is the volunteer coming for r, with id r's id: the one it is
// assigned to, or offered to while the offer's lease runs (a lapsed one,
// the sweep not yet come, sends nobody); nobody if neither. byRequest is
// offers/by_request and offerOf reads an offer, so that a change reads
// the offers as it has left them.
func comerFor(r *pb.HelpRequest, id []byte, now time.Time, byRequest *bolt.Bucket, offerOf func(id []byte) (*pb.Offer, error)) (comer, error) {
	switch r.State {
	case pb.HelpRequest_STATE_ASSIGNED:
		// The offer accepted says whether they come by the caller's leave.
		x := comer{name: r.AssignedVolunteer}
		for _, oid := range idsUnder(byRequest, id) {
			o, err := offerOf(oid)
			if err != nil {
				return comer{}, err
			}
			if o.State == pb.Offer_STATE_ACCEPTED && o.Volunteer == r.AssignedVolunteer {
				x.byLeave = o.AllowSecondVolunteer
				break
			}
		}
		return x, nil
	case pb.HelpRequest_STATE_OFFERED:
		oid, err := idFromName(r.Offer, offerPrefix)
		if err != nil {
			return comer{}, fmt.Errorf("offer %q: %w", r.Offer, err)
		}
		o, err := offerOf(oid)
		if errors.Is(err, ErrNotFound) {
			return comer{}, fmt.Errorf("%s is OFFERED with %s, which is missing: %w", r.Name, r.Offer, errInconsistent)
		}
		if err != nil {
			return comer{}, err
		}
		if !now.Before(o.GetExpireTime().AsTime()) {
			return comer{}, nil
		}
		return comer{name: o.Volunteer, byLeave: o.AllowSecondVolunteer}, nil
	}
	return comer{}, nil
}

// holderOf is the volunteer coming for r (comerFor), read from tx.
func holderOf(tx *bolt.Tx, r *pb.HelpRequest, id []byte, now time.Time) (string, error) {
	if r.State == pb.HelpRequest_STATE_ASSIGNED {
		return r.AssignedVolunteer, nil // whether by leave matters only to doorAllows
	}
	if r.State != pb.HelpRequest_STATE_OFFERED {
		// Nobody is coming (comerFor), and the offers' buckets, which a
		// read-only transaction opens afresh each time, need not be.
		return "", nil
	}
	offers := tx.Bucket(bOffers)
	x, err := comerFor(r, id, now, offers.Bucket(bByRequest), func(oid []byte) (*pb.Offer, error) {
		o := &pb.Offer{}
		ok, err := getProto(offers.Bucket(bRecords), oid, o)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrNotFound
		}
		return o, nil
	})
	return x.name, err
}

// ClosedState says whether a request in state st is closed for good:
// fulfilled, cancelled or expired.
func ClosedState(st pb.HelpRequest_State) bool {
	return st == pb.HelpRequest_STATE_FULFILLED || st == pb.HelpRequest_STATE_CANCELLED || st == pb.HelpRequest_STATE_EXPIRED
}
