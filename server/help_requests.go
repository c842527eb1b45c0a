package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/doorstep-aid/doorstep/geo"
	"github.com/doorstep-aid/doorstep/matcher"
	"github.com/doorstep-aid/doorstep/phone"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

const helpRequestPrefix = "helpRequests/"

var helpRequestMask = maskRules{
	mutable: []string{
		"needs", "details", "required_skills", "urgency", "window", "deadline", "remote_ok",
		"location", "location.postcode", "location.street", "location.address_lines", "location.lat_lng",
		"requester", "requester.display_name", "requester.phone", "vulnerability", "enters_home",
	},
	fixed: map[string]string{
		"name": "is output only", "state": "is changed by offers and assignments, not by update",
		"organisation": "cannot be changed after create", "external_id": "cannot be changed after create",
		"create_time": "is output only", "update_time": "is output only", "etag": "is output only",
		"location.coordinates_source": "is output only",
		"offer":                       "is output only", "assigned_volunteer": "is output only", "declined_volunteers": "is output only",
	},
}

func helpRequestNotFound(id string) notFound {
	return notFound{reason: ReasonHelpRequestMissing, name: helpRequestPrefix + id}
}

// CreateHelpRequest implements pb.HelpRequestServiceServer.
func (s *Server) CreateHelpRequest(ctx context.Context, req *pb.CreateHelpRequestRequest) (*pb.CreateHelpRequestResponse, error) {
	var v violations
	idem := idempotency(ctx, &v, req.GetRequestId(), &pb.CreateHelpRequestRequest{HelpRequest: req.GetHelpRequest()})
	if req.GetHelpRequest() == nil {
		v.add("help_request", "is required")
		return nil, v.err()
	}
	if idem.RequestID != "" {
		// A retry answers with the first result (AIP-155) before any
		// check: a window that has passed since was not past then. The
		// partner's scope keeps another organisation's record out, and
		// the read of its contact details is audited like any other.
		first, err := s.store.HelpRequestByRequestID(ctx, idem)
		if err == nil {
			shown, err := s.disclose(ctx, []*pb.HelpRequest{first})
			if err != nil {
				return nil, s.errs.toStatus(ctx, err, notFound{})
			}
			return &pb.CreateHelpRequestResponse{HelpRequest: shown[0], SameTimeRequests: s.sameTime(ctx, first)[0]}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, s.errs.toStatus(ctx, err, notFound{})
		}
	}
	hr := req.HelpRequest // the request is this call's own: normalise it in place
	if err := partnerOrganisation(ctx, hr); err != nil {
		return nil, err
	}
	if err := s.checkNewHelpRequest(ctx, &v, "help_request", hr); err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	ctx = s.auditing(ctx, "create", "", requestPersonalSet(hr))
	out, err := s.store.CreateHelpRequest(ctx, hr, idem)
	if errors.Is(err, store.ErrExternalIDExists) {
		return nil, s.externalIDTaken(ctx, hr.Organisation, hr.ExternalId)
	}
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	s.urgentOpen(out)
	return &pb.CreateHelpRequestResponse{HelpRequest: out, SameTimeRequests: s.sameTime(ctx, out)[0]}, nil
}

// sameTime names, for each of hrs as stored (nil where a row failed), the
// requester's other live requests at an overlapping time that the caller
// may read as ListHelpRequests lets it: a partner its own organisation's,
// staff any (see CreateHelpRequestResponse.same_time_requests). Only names
// are handed out, so no read of personal data is put on record. A failed
// lookup is logged and answers none: the requests are stored, and the
// note is informative only.
func (s *Server) sameTime(ctx context.Context, hrs ...*pb.HelpRequest) [][]string {
	out := make([][]string, len(hrs))
	org := ""
	if p := principalFrom(ctx); p != nil && !p.sees() {
		if p.Role != partner {
			return out
		}
		org = p.Organisation
	}
	found, err := s.store.SameTimeRequests(ctx, hrs, org)
	if err != nil {
		s.logger.Warn("same-time lookup failed: the requests are stored, answered without their same_time_requests",
			zap.String("method", methodFrom(ctx)), zap.Int("requests", len(hrs)), zap.Error(err))
		return out
	}
	for i := range min(len(found), len(out)) {
		for _, id := range found[i] {
			out[i] = append(out[i], helpRequestPrefix+id)
		}
	}
	return out
}

// externalIDTaken refuses a request whose external_id its organisation
// already uses, naming the request that has it (metadata "resource"): a
// partner whose first reply was lost, and who sent no request_id, reads
// that one back rather than guessing, as List cannot look it up.
func (s *Server) externalIDTaken(ctx context.Context, org, externalID string) error {
	var meta map[string]string
	if held, err := s.store.GetHelpRequestByExternalID(ctx, org, externalID); err == nil {
		meta = map[string]string{"resource": held.Name}
	}
	return statusWith(codes.AlreadyExists, ReasonExternalIDExists, "this organisation already has a request with that external_id", meta)
}

// checkNewHelpRequest clears the output-only fields of a request to be
// created, normalises the rest in place and notes what is wrong in v,
// naming fields under prefix. Its error is a failure to look up the
// postcode, not a fault of the request.
func (s *Server) checkNewHelpRequest(ctx context.Context, v *violations, prefix string, hr *pb.HelpRequest) error {
	hr.Name, hr.State, hr.CreateTime, hr.UpdateTime, hr.Etag = "", pb.HelpRequest_STATE_UNSPECIFIED, nil, nil, ""
	hr.Offer, hr.AssignedVolunteer, hr.DeclinedVolunteers = "", "", nil
	hr.Organisation = checkOrganisation(v, prefix+".organisation", hr.Organisation)
	houseOutOfStreet(v, prefix+".location", hr.Location)
	cleanHelpRequest(v, prefix, hr, helpRequestCheck{now: s.now(), timingChanged: true, remoteChanged: true, nameSet: true, detailsSet: true})
	if len(*v) == 0 {
		return s.resolveLocation(ctx, v, prefix+".location", hr.Location, hr.Location.LatLng != nil, nil)
	}
	return nil
}

// GetHelpRequest implements pb.HelpRequestServiceServer.
func (s *Server) GetHelpRequest(ctx context.Context, req *pb.GetHelpRequestRequest) (*pb.GetHelpRequestResponse, error) {
	var v violations
	id := parseName(&v, "name", req.GetName(), helpRequestPrefix)
	if err := v.err(); err != nil {
		return nil, err
	}
	hr, err := s.requestFor(ctx, id, false)
	if err != nil {
		return nil, err
	}
	out, err := s.disclose(ctx, []*pb.HelpRequest{hr})
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	return &pb.GetHelpRequestResponse{HelpRequest: out[0]}, nil
}

// ListHelpRequests implements pb.HelpRequestServiceServer.
func (s *Server) ListHelpRequests(ctx context.Context, req *pb.ListHelpRequestsRequest) (*pb.ListHelpRequestsResponse, error) {
	var v violations
	size := pageSize(&v, req.GetPageSize())
	f := store.HelpRequestFilter{State: req.GetState(), MinUrgency: req.GetMinUrgency()}
	if !enumKnown(f.State) {
		v.add("state", "is not a known state")
	}
	f.States = listStates(&v, req.GetStates(), f.State)
	if !enumKnown(f.MinUrgency) {
		v.add("min_urgency", "is not a known urgency: URGENCY_LOW, URGENCY_NORMAL, URGENCY_HIGH or URGENCY_CRITICAL")
	}
	if req.GetPostcode() != "" {
		prefix, err := geo.NormalisePostcodePrefix(req.GetPostcode())
		if err != nil {
			v.add("postcode", "must be a postcode (AB10 1AB), sector (AB10 1) or district (AB10)")
		}
		f.PostcodePrefix = prefix
	}
	if req.GetOrganisation() != "" {
		f.Organisation = checkOrganisation(&v, "organisation", req.GetOrganisation())
	}
	if p := principalFrom(ctx); p != nil && p.Role == partner {
		if otherOrganisation(p, f.Organisation) {
			return nil, statusWith(codes.PermissionDenied, ReasonPermissionDenied, "a partner token lists its own organisation's requests only", nil)
		}
		f.Organisation = p.Organisation
	}
	if req.GetRequesterPhone() != "" {
		number, err := phone.Normalise(req.GetRequesterPhone())
		if err != nil {
			v.add("requester_phone", "is not a phone number")
		}
		f.Phone = number
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	found, next, err := fitPage(size, req.GetPageToken(), func(p store.Page) ([]*pb.HelpRequest, string, error) {
		return s.store.ListHelpRequests(ctx, f, p)
	})
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	out, err := s.disclose(ctx, found)
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	return &pb.ListHelpRequestsResponse{HelpRequests: out, NextPageToken: next}, nil
}

// listStates checks ListHelpRequestsRequest.states, given beside state:
// each a known state, named once, and not both fields.
func listStates(v *violations, states []pb.HelpRequest_State, state pb.HelpRequest_State) []pb.HelpRequest_State {
	if len(states) == 0 {
		return nil
	}
	if state != pb.HelpRequest_STATE_UNSPECIFIED {
		v.add("states", "cannot be given with state: name every state in states")
		return nil
	}
	for i, st := range states {
		switch {
		case v.full():
			return nil
		case st == pb.HelpRequest_STATE_UNSPECIFIED || !enumKnown(st):
			v.add(fmt.Sprintf("states[%d]", i), "is not a known state")
		case slices.Contains(states[:i], st):
			v.add(fmt.Sprintf("states[%d]", i), "repeats "+st.String())
		}
	}
	return states
}

// UpdateHelpRequest implements pb.HelpRequestServiceServer. Without an etag
// it reads, changes and writes back, retrying if another write got in
// between; with one, a change in between is ABORTED.
func (s *Server) UpdateHelpRequest(ctx context.Context, req *pb.UpdateHelpRequestRequest) (*pb.UpdateHelpRequestResponse, error) {
	var v violations
	in := req.GetHelpRequest()
	if in == nil {
		v.add("help_request", "is required")
		return nil, v.err()
	}
	id := parseName(&v, "help_request.name", in.GetName(), helpRequestPrefix)
	paths := helpRequestMask.resolveMask(&v, req.GetUpdateMask(), in)
	if err := v.err(); err != nil {
		return nil, err
	}
	// The organisation never changes, so one check covers every attempt.
	if _, err := s.requestFor(ctx, id, true); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		cur, err := s.store.GetHelpRequest(ctx, id)
		if err != nil {
			return nil, s.errs.toStatus(ctx, err, helpRequestNotFound(id))
		}
		if in.Etag != "" && in.Etag != cur.Etag {
			return nil, s.errs.toStatus(ctx, store.ErrEtagMismatch, notFound{})
		}
		if cur.PersonalDataRemovedTime != nil {
			// What is left is the record of what happened, closed for
			// good; an edit would be judged against contact details that
			// are gone, or put personal data back.
			return nil, statusWith(codes.FailedPrecondition, ReasonPersonalDataRemoved,
				"the request's personal data was erased: it is kept only as a record of what happened; take a new request instead", nil)
		}
		next := proto.Clone(cur).(*pb.HelpRequest)
		applyMask(next, in, paths)
		keptOnOneLine(paths, "requester", next.Requester, "location", next.Location)
		var v violations
		if touches(paths, "location.street") {
			houseOutOfStreet(&v, "help_request.location", next.Location) // only a street this update sets
		}
		// A window or deadline sent back as it was read (an update without
		// a mask, or with "*") is no new time: once it has passed, as an
		// assigned request's does before anyone marks it done, it must not
		// be refused as one in the past.
		timingChanged := (touches(paths, "window") || touches(paths, "deadline")) &&
			!(proto.Equal(cur.GetWindow(), next.GetWindow()) && proto.Equal(cur.GetDeadline(), next.GetDeadline()))
		if timingChanged && store.ClosedState(cur.State) {
			// Nothing matches a closed request again: a new time would be
			// taken and the caller left waiting for a visit never booked.
			st := stateWord(cur.State)
			return nil, statusWith(codes.FailedPrecondition, ReasonWrongState,
				"the request is "+st+" and is never matched again: take a new request for the new time",
				map[string]string{"state": st})
		}
		// The same needs sent back in another order are no change: an
		// app's form may list them its own way.
		remoteChanged := next.RemoteOk != cur.RemoteOk || next.EntersHome != cur.EntersHome ||
			!slices.Equal(slices.Sorted(slices.Values(next.Needs)), slices.Sorted(slices.Values(cur.Needs)))
		if !touches(paths, "location") && next.Location != nil {
			// As for a volunteer: coordinates stored off Earth refuse
			// only an edit of the place. The stored one is put back below.
			next.Location = proto.CloneOf(next.Location)
			next.Location.LatLng = nil
		}
		// A name or details sent back as read (an app that sends the whole
		// record, or the requester named whole), even reformatted
		// (sameText), are not set by this call,
		// as a window sent back is no new time: one stored before a name of
		// nothing to read was refused must not refuse an edit of something
		// else.
		nameSet := touches(paths, "requester.display_name") && !sameText(next.GetRequester().GetDisplayName(), cur.GetRequester().GetDisplayName(), false)
		detailsSet := touches(paths, "details") && !sameText(next.Details, cur.Details, true) ||
			touches(paths, "needs") && !slices.Equal(slices.Sorted(slices.Values(next.Needs)), slices.Sorted(slices.Values(cur.Needs)))
		cleanHelpRequest(&v, "help_request", next, helpRequestCheck{now: s.now(), timingChanged: timingChanged, remoteChanged: remoteChanged,
			nameSet: nameSet, detailsSet: detailsSet, keptPhone: cur.GetRequester().GetPhone()})
		if !touches(paths, "location") {
			next.Location = cur.Location
		} else if len(v) == 0 {
			given := latLngGiven(paths, "location", next.Location, cur.Location)
			if err := s.resolveLocation(ctx, &v, "help_request.location", next.Location, given, cur.Location); err != nil {
				return nil, s.errs.toStatus(ctx, err, notFound{})
			}
		}
		if err := v.err(); err != nil {
			return nil, err
		}
		if proto.Equal(next, cur) {
			// Nothing changes (a form saved as it was read): a new etag
			// would refuse other staff's edits of what they read as a
			// conflict over nothing, and have every watching app read
			// the request again. Its contact is handed out all the same.
			out, err := s.disclose(ctx, []*pb.HelpRequest{cur})
			if err != nil {
				return nil, s.errs.toStatus(ctx, err, notFound{})
			}
			return &pb.UpdateHelpRequestResponse{HelpRequest: out[0]}, nil
		}
		// What the job is, and when (a DBS check must be valid on the
		// day), decide who may do it at all: an edit of those is judged
		// against an assigned volunteer's skills and vetting too.
		qualify := timingChanged || remoteChanged || !slices.Equal(slices.Sorted(slices.Values(next.RequiredSkills)), slices.Sorted(slices.Values(cur.RequiredSkills)))
		// The records are of this attempt's change: the fields it moved
		// though no path named them, and the read of the answer, whose
		// coordinates are a pin only where they were given.
		// A mask naming the whole location does not change a pin where
		// there was none before or after, only a postcode's centre.
		moved := doorMoved(paths, cur.GetLocation(), next.GetLocation())
		personal := requestPersonal
		if !slices.Contains(requestRead(cur), "location.lat_lng") {
			personal = requestRead(next)
		}
		wctx := s.auditingUpdateRead(ctx, helpRequestPrefix+id, append(slices.Clip(paths), moved...), personal, requestRead(next))
		out, err := s.store.UpdateHelpRequest(wctx, next, s.assigneeFree(qualify))
		var sd *store.SameDoorError
		if errors.As(err, &sd) {
			coming, md := "another volunteer", map[string]string(nil)
			if who := comingFor(ctx, sd.Coming); who != "" {
				coming, md = who, map[string]string{"volunteer_coming": who}
			}
			return nil, statusWith(codes.FailedPrecondition, ReasonSameDoor,
				"with this edit the request's volunteer and "+coming+" would both be at the caller's door at one time: "+
					"cancel or move one of the requests first", md)
		}
		var ne notEligible
		if errors.As(err, &ne) && ne.why.Reason == matcher.Away {
			return nil, statusWith(codes.FailedPrecondition, ReasonNotEligible,
				"with this edit the request's volunteer would be away on every day left for it: "+
					"hand it back first (ReleaseHelpRequest), so that someone else can go, or choose another time",
				map[string]string{"rule": string(ne.why.Reason)})
		}
		if errors.As(err, &ne) && (ne.why.Reason == matcher.MissingSkill || ne.why.Reason == matcher.Vetting) {
			return nil, statusWith(codes.FailedPrecondition, ReasonNotEligible,
				"with this edit the request would need what its volunteer has not ("+ne.why.Why()+"): "+
					"hand it back first (ReleaseHelpRequest), so that someone who has can go",
				map[string]string{"rule": string(ne.why.Reason)})
		}
		if errors.As(err, &ne) {
			md, other := map[string]string{"rule": string(ne.why.Reason)}, "their other one"
			// As for SAME_DOOR's volunteer_coming: a partner or a
			// volunteer may not read the other job, perhaps another
			// group's.
			if p := principalFrom(ctx); len(ne.clashes) > 0 && (p == nil || p.sees()) {
				md["clashes_with"] = strings.Join(ne.clashes, ",")
				switch {
				case len(ne.clashes) == 1:
				case ne.clashEach:
					other = "one of their others"
				default:
					other = "some of their others"
				}
				other += " (" + strings.Join(ne.clashes, ", ") + ")"
			}
			return nil, statusWith(codes.FailedPrecondition, ReasonNotEligible,
				"with this edit the request's volunteer would be at two places at once ("+ne.why.Why()+"): "+
					"cancel or move this request or "+other+" first", md)
		}
		if errors.Is(err, store.ErrEtagMismatch) && in.Etag == "" && attempt < updateRetries {
			if err := backoff(ctx, attempt); err != nil {
				return nil, s.errs.toStatus(ctx, err, notFound{})
			}
			continue
		}
		if err != nil {
			return nil, s.errs.toStatus(ctx, err, helpRequestNotFound(id))
		}
		if reviewed, err := s.reviewRequestOffer(ctx, out); err != nil {
			// The edit stands; the offer is judged again at its accept.
			s.logger.Warn("offer review failed", zap.String("help_request", out.Name), zap.Error(err))
		} else {
			out = reviewed
		}
		s.urgentOpen(out) // made critical, or its offer withdrawn by the edit
		return &pb.UpdateHelpRequestResponse{HelpRequest: out}, nil
	}
}

// DeleteHelpRequest implements pb.HelpRequestServiceServer.
func (s *Server) DeleteHelpRequest(ctx context.Context, req *pb.DeleteHelpRequestRequest) (*pb.DeleteHelpRequestResponse, error) {
	var v violations
	id := parseName(&v, "name", req.GetName(), helpRequestPrefix)
	if err := v.err(); err != nil {
		return nil, err
	}
	if _, err := s.requestFor(ctx, id, true); err != nil {
		return nil, err
	}
	ctx = s.auditing(ctx, "delete", helpRequestPrefix+id, requestPersonal)
	if err := s.store.DeleteHelpRequest(ctx, id, req.GetEtag()); err != nil {
		return nil, s.errs.toStatus(ctx, err, helpRequestNotFound(id))
	}
	return &pb.DeleteHelpRequestResponse{}, nil
}

// doorMoved names the personal fields of a request's place that an edit
// changed though none of its paths named them, which its audit record
// must name too: a house typed with the street goes into the address
// lines, and a move to a new postcode without a new pin takes that
// postcode's centre for the coordinates given off a map (the postcode's
// centre is no one's, and a move from one to another no change of
// personal data).
func doorMoved(paths []string, cur, next *pb.Location) []string {
	var out []string
	if !slices.Equal(next.GetAddressLines(), cur.GetAddressLines()) && len(personalPaths(paths, []string{"location.address_lines"})) == 0 {
		out = append(out, "location.address_lines")
	}
	given := func(l *pb.Location) bool {
		return l.GetCoordinatesSource() == pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN
	}
	if (given(cur) || given(next)) && !proto.Equal(next.GetLatLng(), cur.GetLatLng()) && len(personalPaths(paths, []string{"location.lat_lng"})) == 0 {
		out = append(out, "location.lat_lng")
	}
	return out
}
