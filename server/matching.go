package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/doorstep-aid/doorstep/geo"
	"github.com/doorstep-aid/doorstep/matcher"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

const offerPrefix = "offers/"

// Lease bounds: long enough to reach a volunteer, short enough that a
// request is not held by someone who is not answering. doorstepd checks
// its flag against them too, to fail naming the flag.
const (
	DefaultLease = 30 * time.Minute
	MinLease     = time.Minute
	MaxLease     = 7 * 24 * time.Hour
)

// buildIndex loads every volunteer into the matching engine
// (store.EachVolunteer reads in short transactions, and each record is
// taken in straight from its bytes, on every processor).
func (s *Server) buildIndex(ctx context.Context) error {
	n, err := s.store.CountVolunteers(ctx)
	if err != nil {
		return fmt.Errorf("server: build matching index: %w", err)
	}
	s.engine.Reserve(n)
	err = s.store.EachVolunteer(ctx, func(record []byte, c *pb.Contact) (func() error, error) {
		v := new(matcher.Volunteer)
		if err := matcher.DecodeVolunteer(record, c, v); err != nil {
			return nil, err
		}
		return func() error {
			if err := s.engine.Upsert(v); err != nil {
				s.logger.Warn("volunteer left out of matching", zap.String("volunteer", v.Name()), zap.Error(err))
			}
			return nil
		}, nil
	})
	if err != nil {
		return fmt.Errorf("server: build matching index: %w", err)
	}
	s.engine.Compact()
	return nil
}

// deleted remembers volunteers deleted lately. Writes reach the engine
// after they commit, so an update that committed before a delete can
// arrive after it; the engine's etag check cannot stop that, as it no
// longer holds the volunteer, and the deleted volunteer would be offered
// work again. Names are never reused, so a deletion is final; a late write
// arrives within moments, so a name is remembered for deletedFor.
type deleted struct {
	mu    sync.Mutex
	names map[string]time.Time
}

const deletedFor = time.Hour

// track keeps the engine in step with a volunteer as stored.
func (s *Server) track(v *pb.Volunteer) {
	if v == nil {
		return
	}
	s.deleted.mu.Lock()
	defer s.deleted.mu.Unlock()
	if _, gone := s.deleted.names[v.Name]; gone {
		return
	}
	if err := s.engine.UpsertVolunteer(v); err != nil {
		s.logger.Warn("volunteer left out of matching", zap.String("volunteer", v.Name), zap.Error(err))
	}
}

// untrack takes deleted volunteers out of the engine for good.
func (s *Server) untrack(names ...string) {
	if len(names) == 0 {
		return
	}
	now := time.Now()
	s.deleted.mu.Lock()
	defer s.deleted.mu.Unlock()
	if s.deleted.names == nil {
		s.deleted.names = map[string]time.Time{}
	}
	for name, when := range s.deleted.names {
		if now.Sub(when) > deletedFor {
			delete(s.deleted.names, name)
		}
	}
	for _, name := range names {
		s.deleted.names[name] = now
		s.engine.RemoveVolunteer(name)
	}
}

// FindCandidates implements pb.MatchingServiceServer.
func (s *Server) FindCandidates(ctx context.Context, req *pb.FindCandidatesRequest) (*pb.FindCandidatesResponse, error) {
	var v violations
	id := parseName(&v, "help_request", req.GetHelpRequest(), helpRequestPrefix)
	k := int(req.GetPageSize())
	switch {
	case k < 0 || k > 100:
		v.add("page_size", "must be from 1 to 100")
	case k == 0:
		k = defaultPageSize
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	in, err := s.store.MatchingInput(ctx, id)
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, helpRequestNotFound(id))
	}
	now := s.now()
	if store.Expirable(in.HelpRequest, now) {
		// Still in hand until the sweep comes to it; the engine would say
		// only that nobody is free then, and staff would look for someone
		// who is, for a time gone, as CreateOffer refuses it.
		return nil, s.errs.toStatus(ctx, store.ErrRequestEnded, notFound{})
	}
	res, err := s.engine.FindCandidates(in.HelpRequest, in.PreviousHelpers, k+len(in.Own), now)
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	defer res.Release() // the reply copies what it needs
	if len(in.Own) > 0 {
		// The requester's own volunteer records are passed over (see
		// withoutOwn) without a word: counted as having declined, staff
		// would read that someone had, of a request nobody was offered.
		// The search was asked for len(Own) more, so whether the page is
		// short is judged on what is left of it.
		res.Candidates = slices.DeleteFunc(res.Candidates, func(c matcher.Candidate) bool { return slices.Contains(in.Own, c.Volunteer) })
		if res.Short = len(res.Candidates) < k; !res.Short {
			res.Candidates, res.Exclusions = res.Candidates[:k], nil
		} else {
			res.Exclusions, _ = s.uncount(in, in.Own, res.Exclusions, now)
		}
	}
	if holder := s.holderOf(ctx, in.HelpRequest); res.Short && holder != "" &&
		!slices.ContainsFunc(res.Candidates, func(c matcher.Candidate) bool { return c.Volunteer == holder }) {
		// The volunteer holding the request's offer, or assigned it, full
		// with it, is not one of those in reach who cannot help: "1 is
		// fully booked" would have staff look for another volunteer near,
		// and, uncounted, "no volunteer lives within" would deny the one
		// who does. A remote request's holder is somebody however far
		// off, past the 50 km its counts take in and uncounted: "no
		// volunteer is registered who could help" would deny them too.
		var taken bool
		res.Exclusions, taken = s.uncount(in, []string{holder}, res.Exclusions, now)
		res.Holder = taken || res.Reach == 0
	}
	n := len(res.Candidates)
	var out *pb.FindCandidatesResponse
	var page []scored
	switch {
	case n > 0 && n <= defaultPageSize:
		// The reply and its list of candidates in one allocation, where
		// they were two. (The candidates themselves stay apart: with them,
		// the allocation would fall in a size class some 500 bytes larger.)
		r := &replyPage{}
		out, page = &r.out, make([]scored, n)
		out.Candidates = r.ptrs[:n:n]
	case n > 0:
		out = &pb.FindCandidatesResponse{}
		page, out.Candidates = make([]scored, n), make([]*pb.Candidate, n)
	default:
		out = &pb.FindCandidatesResponse{}
	}
	out.Summary, out.ReachMetres, out.VolunteerComing = res.Summary(), res.Reach, in.Accompany
	if n > 0 {
		warmNames(res.Candidates)
		// And one string for all the sentences, each a piece of it, where
		// a string apiece was the call's most numerous allocation.
		var textBuf [2048]byte
		var endsBuf [32]int
		text, ends := textBuf[:0], endsBuf[:0]
		for _, c := range res.Candidates {
			text = c.AppendExplain(text)
			ends = append(ends, len(text))
		}
		all := string(text)
		for i, c := range res.Candidates {
			p := &page[i].p
			p.Distance, p.SameStreet, p.SamePostcode = c.Parts.Distance, c.Parts.SameStreet, c.Parts.SamePostcode
			p.Fairness, p.Continuity = c.Parts.Fairness, c.Parts.Continuity
			pc := &page[i].c
			pc.Volunteer, pc.DisplayName, pc.DistanceMetres = c.Volunteer, c.DisplayName, c.Metres
			pc.SameStreet, pc.SamePostcode, pc.Score = c.SameStreet, c.SamePostcode, c.Score
			start := 0
			if i > 0 {
				start = ends[i-1]
			}
			pc.ScoreParts, pc.Explanation = p, all[start:ends[i]]
			out.Candidates[i] = pc
		}
	}
	for _, x := range res.Exclusions {
		out.Exclusions = append(out.Exclusions, &pb.Exclusion{Reason: string(x.Reason), Detail: x.Detail, Count: int32(x.Count)})
	}
	return out, nil
}

// scored is a candidate of a reply and its score parts, side by side:
// the page's candidates are one allocation rather than two apiece, in the
// hottest response the server builds.
type scored struct {
	c pb.Candidate
	p pb.ScoreParts
}

// defaultPageSize is FindCandidates' page size when none is asked for.
const defaultPageSize = 20

// replyPage is a FindCandidates reply with room for a list of up to
// defaultPageSize candidates.
type replyPage struct {
	out  pb.FindCandidatesResponse
	ptrs [defaultPageSize]*pb.Candidate
}

// uncount takes volunteers out of ex, the exclusions counted for in's
// request: the requester's own volunteer records ("1 has paused" would be
// the caller themselves), or the volunteer holding its offer. Each is
// judged again by the rule that turned it away; one beyond the request's
// reach was never counted. taken says whether one was taken out.
func (s *Server) uncount(in store.MatchingInput, names []string, ex []matcher.Exclusion, now time.Time) (_ []matcher.Exclusion, taken bool) {
	for _, name := range names {
		ok, why, err := s.engine.Eligible(in.HelpRequest, in.PreviousHelpers, name, now)
		if err != nil || ok || why.OutOfReach {
			continue
		}
		i := slices.IndexFunc(ex, func(x matcher.Exclusion) bool {
			// Counts of how far volunteers travel carry no detail.
			return x.Reason == why.Reason && (x.Detail == why.Detail || why.Reason == matcher.TooFar)
		})
		if i < 0 {
			continue
		}
		if ex[i].Count--; ex[i].Count == 0 {
			ex = slices.Delete(ex, i, i+1)
		}
		taken = true
	}
	matcher.SortExclusions(ex) // most common first, as Summary says them
	return ex, taken
}

// holderOf names the volunteer holding hr: its pending offer's, or the
// one it is assigned to (whose accepted offer fills them as much); or is "".
func (s *Server) holderOf(ctx context.Context, hr *pb.HelpRequest) string {
	if hr.GetState() == pb.HelpRequest_STATE_ASSIGNED {
		return hr.GetAssignedVolunteer()
	}
	if hr.GetState() != pb.HelpRequest_STATE_OFFERED || !strings.HasPrefix(hr.GetOffer(), offerPrefix) {
		return ""
	}
	o, err := s.store.GetOffer(ctx, hr.GetOffer()[len(offerPrefix):])
	if err != nil {
		return "" // the counts stay as the search made them
	}
	return o.GetVolunteer()
}

// withoutOwn is in's request for dispatch, its requester's own volunteer
// records counted among those who declined it: living at the door, a
// volunteer who asks for help would be the nearest candidate for their
// own request, and dispatch would offer it to them. The request is the
// caller's own copy (store.Store), never written back.
func withoutOwn(in store.MatchingInput) *pb.HelpRequest {
	if len(in.Own) > 0 {
		in.HelpRequest.DeclinedVolunteers = slices.Concat(in.HelpRequest.DeclinedVolunteers, in.Own)
	}
	return in.HelpRequest
}

// CreateOffer implements pb.MatchingServiceServer.
func (s *Server) CreateOffer(ctx context.Context, req *pb.CreateOfferRequest) (resp *pb.CreateOfferResponse, err error) {
	var v violations
	hrID := parseName(&v, "help_request", req.GetHelpRequest(), helpRequestPrefix)
	volID := parseName(&v, "volunteer", req.GetVolunteer(), volunteerPrefix)
	lease := s.lease
	if req.GetLease() != nil {
		if err := req.GetLease().CheckValid(); err != nil {
			v.add("lease", "is not a valid duration")
		} else if lease = req.GetLease().AsDuration(); lease < MinLease || lease > MaxLease {
			v.add("lease", "must be from 1 minute to 7 days")
		}
	}
	idem := idempotency(ctx, &v, req.GetRequestId(), &pb.CreateOfferRequest{HelpRequest: req.GetHelpRequest(), Volunteer: req.GetVolunteer(), Lease: req.GetLease(), AllowSecondVolunteer: req.GetAllowSecondVolunteer()})
	if err := v.err(); err != nil {
		return nil, err
	}
	if idem.RequestID != "" {
		// A repeat answers with the first offer before any check: the
		// request is no longer OPEN once that offer was made.
		o, ferr := s.store.OfferByRequestID(ctx, idem)
		if ferr == nil {
			s.withDistances(ctx, []*pb.Offer{o})
			return &pb.CreateOfferResponse{Offer: o}, nil
		}
		if !errors.Is(ferr, store.ErrNotFound) {
			return nil, s.errs.toStatus(ctx, ferr, notFound{})
		}
		// A repeat sent while its first attempt was still being written
		// (the caller's deadline passed, a proxy dropped the reply) finds
		// no offer above, then is refused by that attempt's own offer:
		// the request no longer open, the volunteer at capacity. Such a
		// refusal is answered as any later repeat is.
		defer func() {
			if err == nil {
				return
			}
			if o, ferr := s.store.OfferByRequestID(ctx, idem); ferr == nil {
				s.withDistances(ctx, []*pb.Offer{o})
				resp, err = &pb.CreateOfferResponse{Offer: o}, nil
			}
		}()
	}
	in, err := s.store.MatchingInput(ctx, hrID)
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, helpRequestNotFound(hrID))
	}
	hr, prev := in.HelpRequest, in.PreviousHelpers
	if _, err := s.store.GetVolunteer(ctx, volID); err != nil {
		return nil, s.errs.toStatus(ctx, err, volunteerNotFound(volID))
	}
	if hr.State != pb.HelpRequest_STATE_OPEN {
		st := stateWord(hr.State)
		return nil, statusWith(codes.FailedPrecondition, ReasonWrongState, "the request is "+st+", not open", map[string]string{"state": st})
	}
	if store.RequestEnded(hr, s.now()) {
		// Still OPEN until the sweep comes to it; the engine would say
		// only that nobody is free then.
		return nil, s.errs.toStatus(ctx, store.ErrRequestEnded, notFound{})
	}
	if slices.Contains(in.Own, volunteerPrefix+volID) {
		// FindCandidates never names them; an id pasted by hand would
		// have them answer their own call for help, from their own door.
		return nil, notEligibleStatus("the volunteer cannot take this request: ", matcher.Exclusion{Reason: ownRequestRule}, "")
	}
	ok, why, err := s.engine.Eligible(hr, prev, volunteerPrefix+volID, s.now())
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	if !ok {
		return nil, statusWith(codes.FailedPrecondition, ReasonNotEligible,
			"the volunteer cannot take this request: "+why.Why(),
			map[string]string{"rule": string(why.Reason), "detail": why.Detail})
	}
	res, err := s.store.CreateOffer(s.auditingStep(ctx, "offer"), store.OfferParams{HelpRequestID: hrID, VolunteerID: volID, Lease: lease, Idem: idem, Check: s.offerCheck(nil),
		SecondVolunteerOK: req.GetAllowSecondVolunteer()})
	var ne notEligible
	if errors.As(err, &ne) {
		return nil, statusWith(codes.FailedPrecondition, ReasonNotEligible, "the volunteer cannot take this request: "+ne.why.Why(),
			map[string]string{"rule": string(ne.why.Reason), "detail": ne.why.Detail})
	}
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	s.track(res.Volunteer)
	if !res.Repeat {
		s.metrics.offerMade() // a repeat that raced its first attempt made none
	}
	// The offer as GetOffer gives it: an app shows it, and keeps it in its
	// view, at once, and an offer without its distance reads as one whose
	// request or volunteer has been deleted.
	s.withDistances(ctx, []*pb.Offer{res.Offer})
	return &pb.CreateOfferResponse{Offer: res.Offer}, nil
}

// GetOffer implements pb.MatchingServiceServer.
func (s *Server) GetOffer(ctx context.Context, req *pb.GetOfferRequest) (*pb.GetOfferResponse, error) {
	var v violations
	id := parseName(&v, "name", req.GetName(), offerPrefix)
	if err := v.err(); err != nil {
		return nil, err
	}
	o, err := s.offerFor(ctx, id)
	if err != nil {
		return nil, err
	}
	s.withDistances(ctx, []*pb.Offer{o})
	return &pb.GetOfferResponse{Offer: o}, nil
}

// ListOffers implements pb.MatchingServiceServer.
func (s *Server) ListOffers(ctx context.Context, req *pb.ListOffersRequest) (*pb.ListOffersResponse, error) {
	var v violations
	size := pageSize(&v, req.GetPageSize())
	f := store.OfferFilter{State: req.GetState(), Live: req.GetLive()}
	if !enumKnown(f.State) {
		v.add("state", "is not a known state")
	}
	if req.GetVolunteer() != "" {
		f.VolunteerID = parseName(&v, "volunteer", req.GetVolunteer(), volunteerPrefix)
	}
	if req.GetHelpRequest() != "" {
		f.RequestID = parseName(&v, "help_request", req.GetHelpRequest(), helpRequestPrefix)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if p := principalFrom(ctx); p != nil && p.Role == volunteer {
		if !strings.HasPrefix(p.Volunteer, volunteerPrefix) || f.VolunteerID != "" && volunteerPrefix+f.VolunteerID != p.Volunteer {
			return nil, statusWith(codes.PermissionDenied, ReasonPermissionDenied, "a volunteer token lists its own offers only", nil)
		}
		f.VolunteerID = p.Volunteer[len(volunteerPrefix):]
	}
	offers, next, err := s.store.ListOffers(ctx, f, store.Page{Size: size, Token: req.GetPageToken()})
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	s.withDistances(ctx, offers)
	return &pb.ListOffersResponse{Offers: offers, NextPageToken: next}, nil
}

// withDistances fills in how far each volunteer lives from the request,
// which is what a volunteer weighs before accepting; it is left out when
// either record is gone. Each request and volunteer is read once, however
// many of the offers name it. A volunteer who does not see the request's
// address (before accepting, after declining, once the job is over) is
// told the distance to its postcode's centre, in whole 100 m: to the
// metre, from homes of their choosing (their token may move their home),
// it would place the caller's door, which they are not to know.
func (s *Server) withDistances(ctx context.Context, offers []*pb.Offer) {
	p := principalFrom(ctx)
	requests := map[string]*pb.HelpRequest{}
	request := func(name string) *pb.HelpRequest {
		hr, ok := requests[name]
		if !ok {
			hr, _ = s.store.GetHelpRequest(ctx, strings.TrimPrefix(name, helpRequestPrefix))
			requests[name] = hr
		}
		return hr
	}
	at := map[string]*pb.LatLng{}
	where := func(name string) *pb.LatLng {
		if ll, ok := at[name]; ok {
			return ll
		}
		var ll *pb.LatLng
		switch {
		case strings.HasPrefix(name, helpRequestPrefix):
			ll = request(name).GetLocation().GetLatLng()
		case strings.HasPrefix(name, volunteerPrefix):
			if v, err := s.store.GetVolunteer(ctx, name[len(volunteerPrefix):]); err == nil {
				ll = v.GetHome().GetLatLng()
			}
		}
		at[name] = ll
		return ll
	}
	for _, o := range offers {
		a, b := where(o.HelpRequest), where(o.Volunteer)
		if a == nil || b == nil {
			continue
		}
		hr := request(o.HelpRequest)
		if p == nil || p.Role != volunteer || fullView(p, hr) {
			o.DistanceMetres = proto.Int32(offerDistance(a, b))
			continue
		}
		if c, err := s.store.LookupPostcode(ctx, hr.GetLocation().GetPostcode()); err == nil {
			a = &pb.LatLng{Latitude: c.Lat, Longitude: c.Lng}
		} else {
			a = gridCell(a)
		}
		o.DistanceMetres = proto.Int32(max(1, (offerDistance(a, b)+99)/100) * 100)
	}
}

// gridCell is the centre of the cell, some 220 m by 220 m, that holds
// ll. A request at a postcode the gazetteer does not know (a new estate)
// is where the coordinates given put it, the door itself: a volunteer
// moving their home until the figure in whole 100 m turns over would
// learn where it is exactly so far away, and from three such places put
// the door to a metre. The cell's centre tells them no more than a
// postcode's would.
func gridCell(ll *pb.LatLng) *pb.LatLng {
	const dlat, dlng = 0.002, 0.0035
	return &pb.LatLng{
		Latitude:  (math.Floor(ll.Latitude/dlat) + 0.5) * dlat,
		Longitude: (math.Floor(ll.Longitude/dlng) + 0.5) * dlng,
	}
}

// offerFor reads an offer, holding a volunteer to their own.
func (s *Server) offerFor(ctx context.Context, id string) (*pb.Offer, error) {
	o, err := s.store.GetOffer(ctx, id)
	if err == nil && !ownVolunteer(ctx, o.Volunteer) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, offerNotFound(id))
	}
	return o, nil
}

// offerDistance is the distance an offer reports, in whole metres.
func offerDistance(a, b *pb.LatLng) int32 {
	return int32(geo.DistanceMetres(a.Latitude, a.Longitude, b.Latitude, b.Longitude) + 0.5)
}

func offerNotFound(id string) notFound {
	return notFound{reason: ReasonOfferMissing, name: offerPrefix + id}
}

// AcceptOffer implements pb.MatchingServiceServer.
func (s *Server) AcceptOffer(ctx context.Context, req *pb.AcceptOfferRequest) (*pb.AcceptOfferResponse, error) {
	seen := req.GetHelpRequestEtag()
	res, err := s.offerStep(ctx, req.GetName(), func(ctx context.Context, id string) (store.LifecycleResult, error) {
		return s.acceptOffer(ctx, id, seen)
	})
	if err != nil {
		return nil, err
	}
	s.withDistances(ctx, []*pb.Offer{res.Offer}) // as GetOffer gives it
	return &pb.AcceptOfferResponse{Offer: res.Offer}, nil
}

// acceptOffer reviews the offer before the store accepts it (see
// reviewOffer), so that an edit since it was made cannot hand a request to
// someone the rules would now turn away; and the store judges it once
// more on the records as its own transaction reads them, for an edit that
// lands meanwhile.
// seen, if not empty, is the request's etag as the volunteer was shown
// it: judged in the store's transaction, so that an edit landing at the
// same moment cannot slip past it.
func (s *Server) acceptOffer(ctx context.Context, id, seen string) (store.LifecycleResult, error) {
	now := s.now()
	withdrawn, why, err := s.reviewOffer(ctx, id, now)
	switch {
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return store.LifecycleResult{}, err
	case withdrawn != nil && withdrawn.Offer.GetState() == pb.Offer_STATE_EXPIRED:
		// Its lease had passed: the review lapsed it, and that, not the
		// rule, is why the accept fails.
		return store.LifecycleResult{}, store.ErrLeaseExpired
	case withdrawn != nil:
		return store.LifecycleResult{}, notEligibleNow(ctx, why)
	}
	// Only the accept's own write is audited as one: a withdrawal below
	// is the server's follow-up.
	res, err := s.store.AcceptOffer(s.auditingStep(ctx, "accept"), id, func(req *pb.HelpRequest, vol *pb.Volunteer) error {
		if seen != "" && req.Etag != seen {
			return store.ErrEtagMismatch
		}
		return s.eligibleAsStored(req, vol, now)
	})
	var ne notEligible
	var sd *store.SameDoorError
	switch {
	case errors.As(err, &ne):
	case errors.As(err, &sd):
		ne = notEligible{why: matcher.Exclusion{Reason: sameDoorRule, Detail: sd.Coming}}
	case errors.Is(err, store.ErrOwnRequest):
		// An edit made the numbers one after the review read them.
		ne = notEligible{why: matcher.Exclusion{Reason: ownRequestRule}}
	default:
		return res, err
	}
	// Refused for good, not for now: the offer goes, so that the request
	// is open to others (or to the volunteer already at the door) at once.
	// The store took the accept within the lease (one past it is refused
	// before any rule), and now is no later than that: the volunteer
	// answered, however near the lease's end, and is not counted as one
	// who let it run out.
	w, err := s.store.WithdrawAnswered(context.WithoutCancel(ctx), id, string(ne.why.Reason), now)
	switch {
	case err == nil:
		s.track(w.Volunteer)
		s.metrics.offerEnded(w.Offer)
		s.urgentOpen(w.HelpRequest)
	case !errors.Is(err, store.ErrWrongState):
		// The offer stands until its lease ends; the refusal holds.
		s.logger.Warn("offer not withdrawn", zap.String("offer", offerPrefix+id), zap.Error(err))
		if ne.why.Reason == sameDoorRule {
			return store.LifecycleResult{}, sameDoorStatus(ctx, ne.why.Detail)
		}
		return store.LifecycleResult{}, notEligibleStatus("the volunteer can no longer take this request: ", ne.why, "")
	}
	return store.LifecycleResult{}, notEligibleNow(ctx, ne.why)
}

// offerCheck is an offer's check in its own transaction. The index judged
// the volunteer free at that time, but another offer to them may have
// been written since (by hand, or by dispatch). And an edit of the request
// or the volunteer may have committed since they were judged, its review
// finding no offer to withdraw yet: unless judged says that both records
// are as the index judged them, the rules are applied again to them as
// stored, so that the offer is never one the edit's review would have
// withdrawn.
func (s *Server) offerCheck(judged func(req *pb.HelpRequest, vol *pb.Volunteer) bool) store.AcceptCheck {
	now := s.now()
	return func(req *pb.HelpRequest, vol *pb.Volunteer) error {
		if s.engine.Clashes(req, vol, now) {
			return notEligible{why: matcher.Exclusion{Reason: matcher.Busy, Count: 1}}
		}
		if judged != nil && judged(req, vol) {
			return nil
		}
		return s.eligibleAsStored(req, vol, now)
	}
}

// eligibleAsStored judges, in a write's own transaction, the request and
// volunteer as stored by every rule: nil, or notEligible with the rule
// failed.
func (s *Server) eligibleAsStored(req *pb.HelpRequest, vol *pb.Volunteer, now time.Time) error {
	ok, why, err := s.engine.StillEligibleAsStored(req, vol, now)
	switch {
	case errors.Is(err, matcher.ErrUnknownVolunteer):
		// Nothing to judge most rules by, as reviewOffer finds; but
		// their other jobs need no place to be judged by, and a record
		// left out of matching is no leave to be at two places at once.
		if s.engine.Clashes(req, vol, now) {
			return notEligible{why: matcher.Exclusion{Reason: matcher.Busy, Count: 1}}
		}
		return nil
	case err != nil:
		return err
	case !ok:
		return notEligible{why: why}
	}
	return nil
}

// assigneeFree is an edit's check of an assigned request's new time or
// place, in its own transaction: its volunteer's other jobs must leave
// room for it (BUSY), and their dates away must leave a day for it
// (AWAY), as UpdateVolunteer refuses dates away over it from their side.
// With qualify (an edit of what the job is, or of its time), they must
// also still be someone the job may go to at all (qualified). Nothing
// else is judged: an assignment was agreed with the volunteer, who may
// come outside their usual hours or further than they said.
func (s *Server) assigneeFree(qualify bool) store.AcceptCheck {
	now := s.now()
	return func(req *pb.HelpRequest, vol *pb.Volunteer) error {
		// What they lack goes first: a job they may not do at all is
		// handed back, not moved.
		var out notEligible
		var judged error // qualified's refusal for a rule judged below
		if qualify {
			err := s.qualified(req, vol, now)
			var ne notEligible
			switch {
			case err == nil:
			case !errors.As(err, &ne):
				return err
			case ne.lacks != nil:
				out = ne
			case ne.why.Reason != matcher.Busy && ne.why.Reason != matcher.Away:
				return err
			default:
				judged = err
			}
		}
		// Their other jobs and dates away are judged even so, and named
		// among the lacks: an edit of a job under way that they already
		// lack something for stands only if it asks nothing new of them
		// (store.Lacking), and a clash it brings with a later job is new.
		var rules []matcher.Reason
		start, end := timeLeft(req, now)
		if s.engine.Clashes(req, vol, now) {
			rules = append(rules, matcher.Busy)
			out.clashes, out.clashEach = s.inTheWay(req, vol, now, start, end)
		}
		// A zone the volunteer's record names that is no longer known
		// judges nothing here: the edit is of the request, not of them.
		if gone, err := matcher.AwayThroughout(vol.GetAvailability(), start, end); err == nil && gone {
			rules = append(rules, matcher.Away)
		}
		if out.lacks == nil && len(rules) == 0 {
			return judged
		}
		if out.lacks == nil {
			out.why = matcher.Exclusion{Reason: rules[0], Count: 1}
		}
		for _, r := range rules {
			out.lacks = append(out.lacks, lackRule+string(r))
		}
		return out
	}
}

// lackRule starts a lack that is a rule the job fails beside what the
// volunteer lacks ("rule BUSY"), as assigneeFree names it.
const lackRule = "rule "

// qualified judges vol, assigned req, by the rules of who may do the job
// at all: its skills (a lift needs a driver) and its vetting (going into
// the home needs an enhanced DBS check, valid on the day). An edit that
// makes the job one they could never have been offered would otherwise
// send them all the same: of the job (assigneeFree), or of their skills
// and check (qualifiedForJobs). They are judged as if free then, near, and
// neither paused nor held, as taking the job set those aside; their
// other jobs and dates away are judged apart (assigneeFree).
func (s *Server) qualified(req *pb.HelpRequest, vol *pb.Volunteer, now time.Time) error {
	v := proto.CloneOf(vol)
	v.Paused, v.Held = false, false
	r := proto.CloneOf(req)
	r.DeclinedVolunteers = nil
	// Both at one place, whatever the request's coordinates: one stored
	// at 0, 0 before the server refused it is left out of matching, and
	// its volunteer would be judged by nothing (eligibleAsStored).
	if ll := r.GetLocation().GetLatLng(); ll == nil || !geo.IsPlace(ll.Latitude, ll.Longitude) {
		if r.Location == nil {
			r.Location = &pb.Location{}
		}
		r.Location.LatLng = &pb.LatLng{Latitude: 54, Longitude: -2} // anywhere will do
	}
	v.Home = proto.CloneOf(r.GetLocation())
	v.MaxDistanceMetres = 0
	tz := v.GetAvailability().GetTimeZone()
	v.Availability = &pb.Availability{TimeZone: tz}
	for d := pb.DayOfWeek_DAY_OF_WEEK_MONDAY; d <= pb.DayOfWeek_DAY_OF_WEEK_SUNDAY; d++ {
		v.Availability.Weekly = append(v.Availability.Weekly, &pb.AvailabilitySlot{Day: d, StartTime: &pb.TimeOfDay{}, EndTime: &pb.TimeOfDay{Hours: 24}})
	}
	// Every lack is named, not only the first the rules meet: an edit of a
	// request its volunteer already fell short of (a check lapsed since)
	// stands only if it asks nothing more of them (store.Lacking). Each
	// lack found is granted to try for the next, so each round finds a new
	// one; a request names a few skills, and edits are rare. The bound is
	// only a guard.
	var out notEligible
	for range 64 {
		err := s.eligibleAsStored(r, v, now)
		var ne notEligible
		if !errors.As(err, &ne) {
			if err != nil {
				return err
			}
			break
		}
		if out.lacks == nil {
			out.why = ne.why
		}
		switch ne.why.Reason {
		case matcher.MissingSkill:
			out.lacks = append(out.lacks, "skill "+ne.why.Detail)
			v.Skills = append(v.Skills, ne.why.Detail)
			continue
		case matcher.Vetting:
			out.lacks = append(out.lacks, "vetting "+ne.why.Detail)
			v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED}
			continue
		}
		if out.lacks == nil {
			return ne // none of the rules the clone leaves to fail
		}
		break
	}
	if out.lacks == nil {
		return nil
	}
	return out
}

// lackOf is the rule one of qualified's lacks names ("skill driver",
// "vetting enhanced"), or one of assigneeFree's ("rule BUSY"), as the
// rules met it.
func lackOf(lack string) matcher.Exclusion {
	kind, detail, _ := strings.Cut(lack, " ")
	x := matcher.Exclusion{Reason: matcher.MissingSkill, Detail: detail, Count: 1}
	switch kind {
	case "vetting":
		x.Reason = matcher.Vetting
	case strings.TrimSpace(lackRule):
		x.Reason, x.Detail = matcher.Reason(detail), ""
	}
	return x
}

// notEligible refuses an accept the rules no longer allow; lacks, from
// qualified, names all the volunteer lacks for the job.
type notEligible struct {
	why   matcher.Exclusion
	lacks []string
	// clashes names the volunteer's other jobs in the way of the edited
	// one, when they would be busy (inTheWay): staff told only "cancel or
	// move one of their requests" had to find which by hand. clashEach
	// says that moving any one of them would do.
	clashes   []string
	clashEach bool
}

// inTheWay names vol's other jobs in the way of req's (in
// [start, end)), which engine.Clashes finds them too busy for: those
// whose windows meet it and without which the rest would leave room, so
// that staff move or cancel one that lets the edit stand, not a job of a
// wide window that fits around them (each is true). Where no one job
// alone is in the way, every job whose window meets it is.
func (s *Server) inTheWay(req *pb.HelpRequest, vol *pb.Volunteer, now, start, end time.Time) (names []string, each bool) {
	meets := overlapping(vol.GetCommitments(), req.Name, start, end)
	for _, name := range meets {
		rest := &pb.Volunteer{}
		for _, c := range vol.GetCommitments() {
			if c.GetHelpRequest() != name {
				rest.Commitments = append(rest.Commitments, c)
			}
		}
		if !s.engine.Clashes(req, rest, now) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return meets, false
	}
	return names, true
}

// overlapping names the commitments other than request's own whose
// windows meet [start, end).
func overlapping(cs []*pb.Commitment, request string, start, end time.Time) []string {
	var out []string
	for _, c := range cs {
		w := c.GetWindow()
		if c.GetHelpRequest() != request && w.GetStartTime().AsTime().Before(end) && start.Before(w.GetEndTime().AsTime()) {
			out = append(out, c.GetHelpRequest())
		}
	}
	return out
}

func (e notEligible) Error() string { return "not eligible: " + string(e.why.Reason) }

// Lacking implements store.Lacking.
func (e notEligible) Lacking() []string { return e.lacks }

// Only implements store.Lacking: the refusal names the first of what an
// edit asks anew, not what the volunteer lacked already.
func (e notEligible) Only(lacks []string) error {
	if len(lacks) == 0 {
		return e
	}
	return notEligible{why: lackOf(lacks[0]), lacks: lacks, clashes: e.clashes, clashEach: e.clashEach}
}

// DeclineOffer implements pb.MatchingServiceServer.
func (s *Server) DeclineOffer(ctx context.Context, req *pb.DeclineOfferRequest) (*pb.DeclineOfferResponse, error) {
	res, err := s.offerStep(ctx, req.GetName(), func(ctx context.Context, id string) (store.LifecycleResult, error) {
		return s.store.DeclineOffer(s.auditingStep(ctx, "decline"), id)
	})
	if err != nil {
		return nil, err
	}
	s.withDistances(ctx, []*pb.Offer{res.Offer}) // as GetOffer gives it
	return &pb.DeclineOfferResponse{Offer: res.Offer}, nil
}

// lifecycleStep runs one lifecycle step on the resource named (an offer or
// a request, by prefix) and keeps the engine in step with the volunteer.
func (s *Server) lifecycleStep(ctx context.Context, name, prefix string, missing func(id string) notFound, step func(context.Context, string) (store.LifecycleResult, error)) (store.LifecycleResult, error) {
	var v violations
	id := parseName(&v, "name", name, prefix)
	if err := v.err(); err != nil {
		return store.LifecycleResult{}, err
	}
	res, err := step(ctx, id)
	if _, ok := status.FromError(err); ok && err != nil {
		return res, err // a guard's refusal, already a status
	}
	if err != nil {
		return res, s.errs.toStatus(ctx, err, missing(id))
	}
	s.track(res.Volunteer)
	s.metrics.offerEnded(res.Offer) // accepted, declined, or withdrawn by a cancel
	s.urgentOpen(res.HelpRequest)   // declined, or handed back
	return res, nil
}

func (s *Server) offerStep(ctx context.Context, name string, step func(context.Context, string) (store.LifecycleResult, error)) (store.LifecycleResult, error) {
	guarded := func(ctx context.Context, id string) (store.LifecycleResult, error) {
		if p := principalFrom(ctx); p != nil && p.Role == volunteer {
			if _, err := s.offerFor(ctx, id); err != nil {
				return store.LifecycleResult{}, err
			}
		}
		return step(ctx, id)
	}
	return s.lifecycleStep(ctx, name, offerPrefix, offerNotFound, guarded)
}

// requestStep runs a step on a request the principal may change: its own
// organisation's for a partner, its own assignment for a volunteer.
func (s *Server) requestStep(ctx context.Context, name string, step func(context.Context, string) (store.LifecycleResult, error)) (store.LifecycleResult, error) {
	guarded := func(ctx context.Context, id string) (store.LifecycleResult, error) {
		p := principalFrom(ctx)
		if p == nil || p.sees() {
			return step(ctx, id)
		}
		hr, err := s.requestFor(ctx, id, p.Role != volunteer)
		if err != nil {
			return store.LifecycleResult{}, err
		}
		if p.Role == volunteer && hr.AssignedVolunteer != p.Volunteer {
			return store.LifecycleResult{}, statusWith(codes.PermissionDenied, ReasonPermissionDenied, "a volunteer may only mark their own assignment", nil)
		}
		return step(ctx, id)
	}
	return s.lifecycleStep(ctx, name, helpRequestPrefix, helpRequestNotFound, guarded)
}

// CompleteHelpRequest implements pb.MatchingServiceServer. A volunteer's
// claim is judged again in the completion's own transaction: a request
// they handed back may since have gone to someone else, whose job their
// late "done" must not close.
func (s *Server) CompleteHelpRequest(ctx context.Context, req *pb.CompleteHelpRequestRequest) (*pb.CompleteHelpRequestResponse, error) {
	res, err := s.requestStep(ctx, req.GetName(), func(ctx context.Context, id string) (store.LifecycleResult, error) {
		p := principalFrom(ctx)
		ctx = s.auditingStep(ctx, "complete")
		if p == nil || p.Role != volunteer {
			return s.store.CompleteHelpRequest(ctx, id)
		}
		res, err := s.store.CompleteHelpRequest(ctx, id, ownAssignment(p))
		if errors.Is(err, errNotTheirs) {
			return res, statusWith(codes.PermissionDenied, ReasonPermissionDenied, "a volunteer may only mark their own assignment", nil)
		}
		return res, err
	})
	if err != nil {
		return nil, err
	}
	out, err := s.disclose(ctx, []*pb.HelpRequest{res.HelpRequest})
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	return &pb.CompleteHelpRequestResponse{HelpRequest: out[0]}, nil
}

// ReleaseHelpRequest implements pb.MatchingServiceServer: the request's
// volunteer can no longer do the job, and hands it back.
func (s *Server) ReleaseHelpRequest(ctx context.Context, req *pb.ReleaseHelpRequestRequest) (*pb.ReleaseHelpRequestResponse, error) {
	res, err := s.lifecycleStep(ctx, req.GetName(), helpRequestPrefix, helpRequestNotFound, s.releaseStep)
	if err != nil {
		return nil, err
	}
	// Resource names and roles only: who the caller is stays in the audit
	// and the event log.
	s.logger.Info("help request released", zap.String("help_request", res.HelpRequest.GetName()),
		zap.String("volunteer", res.Volunteer.GetName()), zap.Stringer("by", principalRole(ctx)))
	out, err := s.disclose(ctx, []*pb.HelpRequest{res.HelpRequest})
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	return &pb.ReleaseHelpRequestResponse{HelpRequest: out[0]}, nil
}

// releaseStep releases a request the principal may hand back: staff any,
// a volunteer only their own assignment. To a volunteer a request they
// may not see is NOT_FOUND; one they see (an offer of it to them ended)
// that is not assigned to them is WRONG_STATE if nobody holds it (their
// own release, tried again, is told that it is open) and PERMISSION_DENIED
// if another volunteer does. Their claim is judged again in the release's
// own transaction, so that a release and a new assignment landing between
// the read and the write cannot hand back another volunteer's job.
func (s *Server) releaseStep(ctx context.Context, id string) (store.LifecycleResult, error) {
	p := principalFrom(ctx)
	ctx = s.auditingStep(ctx, "release")
	if p == nil || p.sees() {
		return s.store.ReleaseHelpRequest(ctx, id)
	}
	hr, err := s.requestFor(ctx, id, p.Role != volunteer)
	if err != nil {
		return store.LifecycleResult{}, err
	}
	if p.Role != volunteer {
		return s.store.ReleaseHelpRequest(ctx, id)
	}
	notTheirs := statusWith(codes.PermissionDenied, ReasonPermissionDenied, "a volunteer may only hand back their own assignment", nil)
	if hr.AssignedVolunteer != p.Volunteer {
		if hr.State != pb.HelpRequest_STATE_ASSIGNED {
			return store.LifecycleResult{}, s.errs.toStatus(ctx, &store.StateError{Noun: "help request", State: hr.State}, notFound{})
		}
		return store.LifecycleResult{}, notTheirs
	}
	res, err := s.store.ReleaseHelpRequest(ctx, id, ownAssignment(p))
	if errors.Is(err, errNotTheirs) {
		return store.LifecycleResult{}, notTheirs
	}
	return res, err
}

// errNotTheirs refuses, in its own transaction, a volunteer's release or
// completion of a request no longer assigned to them.
var errNotTheirs = errors.New("not the volunteer's own assignment")

// ownAssignment holds the volunteer p to their own assignment, judged in
// the store's transaction (errNotTheirs).
func ownAssignment(p *Principal) store.AcceptCheck {
	return func(_ *pb.HelpRequest, vol *pb.Volunteer) error {
		if vol.Name != p.Volunteer {
			return errNotTheirs
		}
		return nil
	}
}

// principalRole is the caller's role, for logs.
func principalRole(ctx context.Context) pb.Role {
	if p := principalFrom(ctx); p != nil {
		return p.Role
	}
	return pb.Role_ROLE_UNSPECIFIED
}

// CancelHelpRequest implements pb.MatchingServiceServer.
func (s *Server) CancelHelpRequest(ctx context.Context, req *pb.CancelHelpRequestRequest) (*pb.CancelHelpRequestResponse, error) {
	res, err := s.requestStep(ctx, req.GetName(), func(ctx context.Context, id string) (store.LifecycleResult, error) {
		return s.store.CancelHelpRequest(s.auditingStep(ctx, "cancel"), id)
	})
	if err != nil {
		return nil, err
	}
	out, err := s.disclose(ctx, []*pb.HelpRequest{res.HelpRequest})
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	return &pb.CancelHelpRequestResponse{HelpRequest: out[0]}, nil
}

// Dispatch implements pb.MatchingServiceServer.
func (s *Server) Dispatch(ctx context.Context, _ *pb.DispatchRequest) (*pb.DispatchResponse, error) {
	out, err := s.dispatch(ctx, triggerRPC)
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	return out, nil
}

// maxDispatchRestarts bounds how often a dispatch starts its read again
// for keys rotated under it: rotations come an hour apart at most, bar
// erasures, so a second restart is already rare.
const maxDispatchRestarts = 3

// dispatchBatch is how many of a dispatch run's offers share a write.
const dispatchBatch = 256

// dispatch offers volunteers to every OPEN request at once. Runs are
// serialised: two at once would plan against the same free capacity. A
// caller that gives up while waiting for the run ahead leaves the queue:
// held there, it would later make a whole run, a read of every open
// request and a solve, that nobody waits for, ahead of callers who do.
// trigger says what asked for the run, for the metrics and the log.
func (s *Server) dispatch(ctx context.Context, trigger string) (*pb.DispatchResponse, error) {
	select {
	case s.dispatchSlot <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.dispatchSlot }()
	// Both may be ready when the run ahead ends, and select picks either:
	// one who gave up is let go here too, before a read of the store.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	start := time.Now()
	var tally dispatchTally
	defer s.metrics.dispatchRun(trigger, start, &tally)
	var reqs []matcher.DispatchRequest
	now := s.now()
	for tok, restarts := "", 0; ; {
		page, next, err := s.store.ListOpenMatchingInputs(ctx, store.Page{Size: 1000, Token: tok})
		if errors.Is(err, store.ErrPassStale) && restarts < maxDispatchRestarts {
			// An erasure or purge rotated the keys between pages: one
			// caller would read as two, so read the whole pass again.
			reqs, tok = reqs[:0], ""
			restarts++
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, in := range page {
			if store.RequestEnded(in.HelpRequest, now) {
				// Open only until the sweep comes to it, and no offer of
				// it can be made: counted as one nobody could take, the
				// coordinator would read that more volunteers are needed.
				continue
			}
			reqs = append(reqs, matcher.DispatchRequest{Request: withoutOwn(in), PreviousHelpers: in.PreviousHelpers, Requester: in.Requester, Accompany: in.Accompany, Crowded: in.Crowded, Door: in.Door})
		}
		if tok = next; tok == "" {
			break
		}
	}
	plan, err := s.engine.PlanDispatch(reqs, s.candidatesPerRequest, now)
	if err != nil {
		return nil, err
	}
	out := &pb.DispatchResponse{OpenRequests: int32(len(reqs)), OffersByUrgency: map[string]int32{}}
	// Each offer's records as the plan judged them: only those changed
	// since are judged again in the offer's write.
	planned := make(map[string]string, len(reqs))
	for _, r := range reqs {
		planned[r.Request.Name] = r.Request.Etag
	}
	// Offers are written dispatchBatch to a transaction: one fsync each
	// would make a large run take minutes, and one transaction for all
	// would hold up every other writer meanwhile.
	written := false // some batch committed
	// Each offer is on its request's trail, by the
	// coordinator who asked for the run, or by system for the server's
	// own: who sent a volunteer to a door is asked long after the event
	// log has let the offer go.
	audited := s.auditingStep(ctx, "offer")
	for batch := range slices.Chunk(plan.Offers, dispatchBatch) {
		ps := make([]store.OfferParams, len(batch))
		for i, o := range batch {
			judged := func(req *pb.HelpRequest, vol *pb.Volunteer) bool {
				return req.Etag == planned[o.HelpRequest] && vol.Etag == o.VolunteerEtag
			}
			ps[i] = store.OfferParams{
				HelpRequestID: strings.TrimPrefix(o.HelpRequest, helpRequestPrefix),
				VolunteerID:   strings.TrimPrefix(o.Volunteer, volunteerPrefix),
				Lease:         s.lease, Dispatched: true, Check: s.offerCheck(judged),
			}
		}
		res, errs, err := s.store.CreateOffers(audited, ps)
		if err != nil && written && ctx.Err() == nil {
			// The batches before stand, and their volunteers have heard
			// of them: an error would tell the caller that nothing was
			// done (STORAGE_FULL says so in words), and they might offer
			// those requests by hand. The run stops, reports the offers
			// it made, and the failure (a full disk) is logged as any is.
			_ = s.errs.toStatus(ctx, err, notFound{})
			break
		}
		if err != nil && written {
			// Stopped (the server's stop, or a caller that gave up) after
			// batches whose offers stand and whose volunteers have heard
			// of them: nobody reads the reply, so the log says what the
			// run did.
			s.logger.Warn("dispatch stopped part-way", zap.String("trigger", trigger), zap.Int32("open", out.OpenRequests), zap.Int32("offers", out.OffersMade), zap.Error(err))
			return nil, err
		}
		if err != nil {
			return nil, err
		}
		written = true
		for i, o := range batch {
			if errs[i] != nil {
				// The request or volunteer changed since the plan was
				// made (cancelled, offered by hand, paused): skip it
				// this run.
				s.logger.Info("dispatch offer skipped", zap.String("help_request", o.HelpRequest), zap.Error(errs[i]))
				continue
			}
			s.track(res[i].Volunteer)
			out.OffersMade++
			tally.offered++
			out.OffersByUrgency[o.Urgency.String()]++
			out.TotalScore += o.Score
		}
	}
	out.Uncovered = out.OpenRequests - out.OffersMade
	tally.leftOpen = out.Uncovered
	out.WithoutCandidates = int32(plan.NoCandidates)
	out.SameDoor = int32(plan.SameDoor)
	out.Outnumbered = int32(plan.Uncovered - plan.NoCandidates - plan.SameDoor)
	out.Took = durationpb.New(time.Since(start))
	// A run with nothing open, every interval of a quiet night, is no news
	// to an operator: at info it was 288 lines a day at a 5-minute interval.
	lvl := zap.InfoLevel
	if out.OpenRequests == 0 {
		lvl = zap.DebugLevel
	}
	// The line is the only summary kept of a run nobody asked for: it says
	// what started it, as the metrics' label does.
	s.logger.Log(lvl, "dispatched", zap.String("trigger", trigger), zap.Int32("open", out.OpenRequests), zap.Int32("offers", out.OffersMade),
		zap.Int32("without_candidates", out.WithoutCandidates), zap.Int32("outnumbered", out.Outnumbered), zap.Int32("same_door", out.SameDoor),
		zap.Int("greedy_would_cover", plan.Greedy), zap.Duration("took", time.Since(start)))
	return out, nil
}

// urgentGap is the least time between dispatch runs that a critical
// request starts: a partner's batch of them, or a burst of declines,
// would otherwise run dispatch back to back, each run a read of every open
// request.
const urgentGap = 5 * time.Second

// urgentOpen has Maintain dispatch at once, rather than at its next
// interval, when hr is a critical request open for an offer: it may have
// an hour to live, and an interval (5 minutes, or more) is a good part
// of it. Called after each write that leaves a request so: made, edited,
// declined, lapsed or handed back.
func (s *Server) urgentOpen(hr *pb.HelpRequest) {
	if hr.GetUrgency() != pb.Urgency_URGENCY_CRITICAL || hr.GetState() != pb.HelpRequest_STATE_OPEN {
		return
	}
	select {
	case s.urgent <- struct{}{}:
	default: // a run is already due
	}
}

// Maintain runs the periodic work until ctx ends: lapsing expired offers,
// expiring requests whose window has passed, and, when interval is set,
// dispatching, at each interval and as soon as a critical request is open
// (urgentOpen; at most every urgentGap). It returns ctx's error.
//
// It sweeps as it begins, through every offer and request then due:
// offers whose lease ran out while the server was down would otherwise
// hold their requests from everyone else, and their volunteers' room, for
// a whole sweep interval after a restart, or several.
func (s *Server) Maintain(ctx context.Context, sweep, dispatchEvery time.Duration) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.sweep(ctx, true)
	t := time.NewTicker(sweep)
	defer t.Stop()
	var dispatchTick <-chan time.Time
	var urgent <-chan struct{}
	if dispatchEvery > 0 {
		dt := time.NewTicker(dispatchEvery)
		defer dt.Stop()
		dispatchTick, urgent = dt.C, s.urgent
	}
	var lastRun time.Time
	var held *time.Timer // an urgent run waiting out urgentGap
	var heldC <-chan time.Time
	defer func() {
		if held != nil {
			held.Stop()
		}
	}()
	run := func(trigger string) {
		if _, err := s.dispatch(ctx, trigger); err != nil && ctx.Err() == nil {
			s.logger.Error("dispatch", zap.Error(err))
		}
		lastRun = time.Now()
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if ctx.Err() != nil {
				// select picks at random among ready cases: a tick due as
				// shutdown begins must not start work.
				return ctx.Err()
			}
			s.Sweep(ctx)
		case <-dispatchTick:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			run(triggerInterval)
		case <-urgent:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if heldC != nil {
				continue // a run is already due
			}
			if wait := urgentGap - time.Since(lastRun); !lastRun.IsZero() && wait > 0 {
				held = time.NewTimer(wait)
				heldC = held.C
				continue
			}
			run(triggerUrgent)
		case <-heldC:
			heldC = nil
			if ctx.Err() != nil {
				return ctx.Err()
			}
			run(triggerUrgent)
		}
	}
}

// Sweep lapses offers past their lease, withdraws those made while the
// clock ran ahead (store.WithdrawClockSetBack), and expires requests past
// their window, a bounded number per call so that one sweep cannot hog writes,
// and compacts events older than the retention. Calls made at once run
// one after another: overlapping sweeps would only redo each other's work.
func (s *Server) Sweep(ctx context.Context) { s.sweep(ctx, false) }

// sweepLimit is how many offers, and how many requests, one sweep expires
// at most.
const sweepLimit = 1000

// sweep is Sweep. With catchUp it expires offers and requests sweepLimit
// at a time until none is due: after a night down, a busy dispatch's
// lapsed offers can be more than one sweep's, and the rest would hold
// their requests and their volunteers' room another interval, and another.
// Each round is its own writes, so that others interleave.
func (s *Server) sweep(ctx context.Context, catchUp bool) {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	now := s.now()
	for {
		offers, err := s.store.ExpireOffers(ctx, now, sweepLimit)
		if err != nil && ctx.Err() == nil {
			s.logger.Error("expire offers", zap.Error(err))
		}
		// Offers made while the clock ran ahead are withdrawn, not lapsed:
		// counted as lapsed, they would tell the operator that volunteers let
		// them run out unanswered.
		setBack := 0
		var paused []*pb.Volunteer
		for _, r := range offers {
			s.track(r.Volunteer)
			s.metrics.offerEnded(r.Offer) // expired, or withdrawn for the clock
			s.urgentOpen(r.HelpRequest)
			if r.Offer.GetWithdrawReason() == store.WithdrawClockSetBack {
				setBack++
			}
			if r.PausedUnanswered {
				paused = append(paused, r.Volunteer)
			}
		}
		// Paused, a volunteer is offered nothing more; the offers they
		// still hold are withdrawn now, as a pause of their own would
		// withdraw them, rather than left to lapse a lease at a time.
		for _, v := range paused {
			if _, err := s.reviewVolunteerOffers(ctx, v); err != nil && ctx.Err() == nil {
				s.logger.Error("review offers of a volunteer paused for unanswered offers", zap.String("volunteer", v.Name), zap.Error(err))
			}
		}
		s.metrics.pausedUnanswered(len(paused))
		reqs, err := s.store.ExpireHelpRequests(ctx, now, sweepLimit)
		if err != nil && ctx.Err() == nil {
			s.logger.Error("expire requests", zap.Error(err))
		}
		for _, r := range reqs {
			s.track(r.Volunteer)
			s.metrics.offerEnded(r.Offer) // the offer an expired request held, withdrawn
			s.metrics.requestSwept(r.HelpRequest)
		}
		if len(offers)+len(reqs) > 0 {
			fields := []zap.Field{zap.Int("offers_lapsed", len(offers)-setBack), zap.Int("requests_expired", len(reqs))}
			if setBack > 0 {
				fields = append(fields, zap.Int("offers_withdrawn_clock_set_back", setBack))
			}
			if len(paused) > 0 {
				fields = append(fields, zap.Int("volunteers_paused_unanswered", len(paused)))
			}
			s.logger.Info("swept", fields...)
		}
		if !catchUp || ctx.Err() != nil || (len(offers) < sweepLimit && len(reqs) < sweepLimit) {
			break
		}
	}
	s.closeEndedAssignments(ctx)
	s.compactEvents(ctx)
	s.purgePersonalData(ctx)
}

// stateWord is a request's or offer's state as people say it: "offered".
func stateWord(st fmt.Stringer) string {
	return strings.ToLower(strings.TrimPrefix(st.String(), "STATE_"))
}

// warmNames reads the first and last bytes of each candidate's name and
// display name. They lie side by side in the engine's arena of names,
// somewhere in tens of megabytes, seldom in the cache: the encoder,
// copying them one after another, waited for each miss in turn (2-3.5 µs
// of CPU a page of 20 when each was a string of its own, more than the
// rest of the encoding). Here the loads do not depend on each other, so
// the misses overlap (Go has no prefetch), and the encoder finds the
// strings in the cache.
func warmNames(cs []matcher.Candidate) {
	var sink byte
	touch := func(s string) {
		if s != "" {
			sink += s[0] + s[len(s)-1] // it may lie across two cache lines
		}
	}
	for i := range cs {
		touch(cs[i].Volunteer)
		touch(cs[i].DisplayName)
	}
	runtime.KeepAlive(sink) // the loads are the point
}
