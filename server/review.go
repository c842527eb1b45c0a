package server

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/doorstep-aid/doorstep/matcher"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// A pending offer was checked when it was made. An edit to its request
// (new needs, place or time) or to its volunteer (paused, moved, vetting
// or hours changed) can make it one the rules would never have made: the
// edit's handler then reviews it, and withdraws it if the volunteer can no
// longer take the request, so that the request is open to others at once
// rather than when the lease lapses, and the volunteer's app hears of it
// (OFFER_WITHDRAWN). An accept reviews its offer first too, which covers
// an edit that lands while the accept is on its way.

// sameDoorRule is the review's reason for withdrawing an offer that would
// send a second volunteer to a door (Detail: the volunteer going there).
const sameDoorRule matcher.Reason = ReasonSameDoor

// ownRequestRule is the reason an offer's volunteer may not take it: the
// request was made from their own phone number (they asked for help
// themselves, or share the number with the caller). Dispatch and
// FindCandidates pass over them; an offer by hand, or one made while the
// numbers told them apart, must not stand either.
const ownRequestRule matcher.Reason = "OWN_REQUEST"

// notEligibleStatus is the refusal of an offer or an accept for why,
// between prefix ("the volunteer cannot take this request: ") and suffix.
func notEligibleStatus(prefix string, why matcher.Exclusion, suffix string) error {
	words := why.Why()
	if why.Reason == ownRequestRule {
		words = "it is their own request, made from their phone number"
	}
	return statusWith(codes.FailedPrecondition, ReasonNotEligible, prefix+words+suffix,
		map[string]string{"rule": string(why.Reason), "detail": why.Detail})
}

// reviewOffer withdraws the PENDING offer id if its volunteer is no longer
// eligible for its request, or if another volunteer is now going to its
// door at a meeting time. It reports what the withdrawal changed (nil
// if the offer stands, or was answered meanwhile) and why. The review
// finishes even if the caller gives up, since the edit that called for it
// has been made. answered, if given, is when the volunteer accepted it:
// withdrawn, it was answered (store.WithdrawAnswered).
func (s *Server) reviewOffer(ctx context.Context, id string, answered time.Time) (*store.LifecycleResult, matcher.Exclusion, error) {
	// The edit's audit records were written with the edit; the
	// withdrawal is the server's own follow-up, and written with them
	// again it would put a second change of the contact on record.
	ctx = store.WithAudit(context.WithoutCancel(ctx))
	o, err := s.store.GetOffer(ctx, id)
	if err != nil || o.State != pb.Offer_STATE_PENDING {
		return nil, matcher.Exclusion{}, err
	}
	in, err := s.store.MatchingInput(ctx, strings.TrimPrefix(o.HelpRequest, helpRequestPrefix))
	if err != nil {
		return nil, matcher.Exclusion{}, err
	}
	hr, prev := in.HelpRequest, in.PreviousHelpers
	if store.RequestEnded(hr, s.now()) {
		// Nobody is free for a time gone by; the sweep expires it, and
		// an accept is refused as too late, which is what happened.
		return nil, matcher.Exclusion{}, nil
	}
	ok, why, err := s.engine.StillEligible(hr, prev, o.Volunteer, s.now())
	switch {
	case slices.Contains(in.Own, o.Volunteer):
		// An edit made the numbers one (the caller's corrected, or the
		// volunteer's changed to it): the offer is of their own request.
		ok, why, err = false, matcher.Exclusion{Reason: ownRequestRule}, nil
	case errors.Is(err, matcher.ErrUnknownVolunteer):
		// Left out of matching (logged when it was): nothing to judge
		// most rules by, but their other jobs, and the door, need no
		// place.
		v, err := s.store.GetVolunteer(ctx, strings.TrimPrefix(o.Volunteer, volunteerPrefix))
		if err != nil {
			return nil, matcher.Exclusion{}, err
		}
		ok = !s.engine.Clashes(hr, v, s.now())
		if !ok {
			why = matcher.Exclusion{Reason: matcher.Busy, Count: 1}
		}
	case err != nil:
		return nil, matcher.Exclusion{}, err
	}
	if ok {
		// The rules hold, but an edit (a new time or place, either of the
		// caller's requests, or a call from afar made a visit) may have
		// brought it to a door another volunteer is going to then: one
		// door, one volunteer.
		if o.AllowSecondVolunteer {
			return nil, matcher.Exclusion{}, nil
		}
		err := s.store.DoorAllows(ctx, strings.TrimPrefix(o.HelpRequest, helpRequestPrefix), o.Volunteer)
		var sd *store.SameDoorError
		if !errors.As(err, &sd) {
			return nil, matcher.Exclusion{}, err // nil: the offer stands
		}
		why = matcher.Exclusion{Reason: sameDoorRule, Detail: sd.Coming}
	}
	var res store.LifecycleResult
	if answered.IsZero() {
		res, err = s.store.WithdrawOffer(ctx, id, string(why.Reason))
	} else {
		res, err = s.store.WithdrawAnswered(ctx, id, string(why.Reason), answered)
	}
	if errors.Is(err, store.ErrWrongState) {
		return nil, matcher.Exclusion{}, nil // answered or withdrawn meanwhile
	}
	if err != nil {
		return nil, matcher.Exclusion{}, err
	}
	s.track(res.Volunteer)
	s.metrics.offerEnded(res.Offer)
	s.urgentOpen(res.HelpRequest)
	// EXPIRED rather than WITHDRAWN when its lease had already passed.
	s.logger.Info("offer withdrawn", zap.String("offer", o.Name), zap.String("rule", string(why.Reason)), zap.Stringer("state", res.Offer.GetState()))
	if res.PausedUnanswered {
		// That lapse was the last the volunteer may leave unanswered:
		// paused, they keep no other offer either (see sweep).
		s.metrics.pausedUnanswered(1)
		v, err := s.reviewVolunteerOffers(ctx, res.Volunteer)
		if err != nil {
			return nil, matcher.Exclusion{}, err
		}
		res.Volunteer = v
	}
	return &res, why, nil
}

// reviewRequestOffer brings the engine in step with the volunteer holding
// a request just edited (the store moved their commitment with its
// window), reviews the request's pending offer, and returns the request as
// it now stands.
func (s *Server) reviewRequestOffer(ctx context.Context, hr *pb.HelpRequest) (*pb.HelpRequest, error) {
	ctx = context.WithoutCancel(ctx)
	holder := hr.AssignedVolunteer
	if hr.State == pb.HelpRequest_STATE_OFFERED && hr.Offer != "" {
		o, err := s.store.GetOffer(ctx, strings.TrimPrefix(hr.Offer, offerPrefix))
		if err != nil {
			return nil, err
		}
		holder = o.Volunteer
	}
	if hr.State != pb.HelpRequest_STATE_OFFERED && hr.State != pb.HelpRequest_STATE_ASSIGNED {
		return hr, nil
	}
	v, err := s.store.GetVolunteer(ctx, strings.TrimPrefix(holder, volunteerPrefix))
	if err != nil {
		return nil, err
	}
	s.track(v)
	if hr.State != pb.HelpRequest_STATE_OFFERED {
		return hr, nil
	}
	res, _, err := s.reviewOffer(ctx, strings.TrimPrefix(hr.Offer, offerPrefix), time.Time{})
	if err != nil {
		return nil, err
	}
	if res == nil {
		return hr, nil
	}
	return res.HelpRequest, nil // the whole record, as the withdrawal left it
}

// reviewVolunteerOffers reviews the pending offers of a volunteer just
// edited, and returns the volunteer as they now stand.
func (s *Server) reviewVolunteerOffers(ctx context.Context, v *pb.Volunteer) (*pb.Volunteer, error) {
	if v.PendingOffers == 0 {
		return v, nil
	}
	id := strings.TrimPrefix(v.Name, volunteerPrefix)
	var ids []string
	page := store.Page{Size: 100}
	for {
		offers, next, err := s.store.ListOffers(ctx, store.OfferFilter{VolunteerID: id, State: pb.Offer_STATE_PENDING}, page)
		if err != nil {
			return nil, err
		}
		for _, o := range offers {
			ids = append(ids, strings.TrimPrefix(o.Name, offerPrefix))
		}
		if next == "" {
			break
		}
		page.Token = next
	}
	for _, oid := range ids {
		res, _, err := s.reviewOffer(ctx, oid, time.Time{})
		if err != nil {
			return nil, err
		}
		if res != nil {
			v = res.Volunteer // the whole record, as the withdrawal left it
		}
	}
	return v, nil
}

// notEligibleNow is the refusal of an accept whose offer the review has
// just withdrawn.
func notEligibleNow(ctx context.Context, why matcher.Exclusion) error {
	if why.Reason == sameDoorRule {
		return sameDoorStatus(ctx, why.Detail)
	}
	return notEligibleStatus("the volunteer can no longer take this request: ", why, "; the offer is withdrawn")
}
