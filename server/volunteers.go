package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/doorstep-aid/doorstep/geo"
	"github.com/doorstep-aid/doorstep/matcher"
	"github.com/doorstep-aid/doorstep/phone"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

const volunteerPrefix = "volunteers/"

var volunteerMask = maskRules{
	mutable: []string{
		"contact", "contact.display_name", "contact.phone",
		"home", "home.postcode", "home.street", "home.address_lines", "home.lat_lng",
		"max_distance_metres", "travel_mode", "skills", "vetting", "availability", "capacity", "paused", "held",
	},
	fixed: map[string]string{
		"name": "is output only", "organisation": "cannot be changed after create",
		"create_time": "is output only", "update_time": "is output only", "etag": "is output only",
		"home.coordinates_source": "is output only",
		"active_assignments":      "is output only", "pending_offers": "is output only", "recent_assignment_times": "is output only",
		"commitments": "is output only", "unanswered_offers": "is output only", "last_unanswered_time": "is output only",
	},
}

func volunteerNotFound(id string) notFound {
	return notFound{reason: ReasonVolunteerMissing, name: volunteerPrefix + id}
}

// CreateVolunteer implements pb.VolunteerServiceServer.
func (s *Server) CreateVolunteer(ctx context.Context, req *pb.CreateVolunteerRequest) (*pb.CreateVolunteerResponse, error) {
	var v violations
	idem := idempotency(ctx, &v, req.GetRequestId(), &pb.CreateVolunteerRequest{Volunteer: req.GetVolunteer()})
	if req.GetVolunteer() == nil {
		v.add("volunteer", "is required")
		return nil, v.err()
	}
	if idem.RequestID != "" {
		// A retry answers with the first result (AIP-155) before any
		// check: the checks are of the moment the first call was made.
		first, err := s.store.VolunteerByRequestID(ctx, idem)
		if err == nil {
			if err := s.discloseVolunteers(ctx, []*pb.Volunteer{first}); err != nil {
				return nil, s.errs.toStatus(ctx, err, notFound{})
			}
			return &pb.CreateVolunteerResponse{Volunteer: first}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, s.errs.toStatus(ctx, err, notFound{})
		}
	}
	vol := req.Volunteer // the request is this call's own: normalise it in place
	vol.Name, vol.CreateTime, vol.UpdateTime, vol.Etag = "", nil, nil, ""
	vol.ActiveAssignments, vol.PendingOffers, vol.RecentAssignmentTimes, vol.Commitments = 0, 0, nil, nil
	vol.UnansweredOffers, vol.LastUnansweredTime = 0, nil
	vol.Organisation = checkOrganisation(&v, "volunteer.organisation", vol.Organisation)
	houseOutOfStreet(&v, "volunteer.home", vol.Home)
	cleanVolunteer(&v, "volunteer", vol, "")
	requireVisible(&v, "volunteer.contact.display_name", vol.GetContact().GetDisplayName())
	if len(v) == 0 {
		if err := s.resolveLocation(ctx, &v, "volunteer.home", vol.Home, vol.Home.LatLng != nil, nil); err != nil {
			return nil, s.errs.toStatus(ctx, err, notFound{})
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	fields := volunteerPersonal
	if vol.Held {
		// A hold's every change is on record (see UpdateVolunteer): one
		// set at registration too, or its lifting would be its only trace.
		fields = append(slices.Clip(fields), "held")
	}
	if vol.Vetting.GetLevel() > pb.Vetting_DBS_LEVEL_NONE {
		// So is a DBS check's, whoever vouched for it.
		fields = append(slices.Clip(fields), "vetting")
	}
	out, err := s.store.CreateVolunteer(s.auditing(ctx, "create", "", fields), vol, idem)
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	s.track(out)
	return &pb.CreateVolunteerResponse{Volunteer: out}, nil
}

// GetVolunteer implements pb.VolunteerServiceServer.
func (s *Server) GetVolunteer(ctx context.Context, req *pb.GetVolunteerRequest) (*pb.GetVolunteerResponse, error) {
	var v violations
	name := req.GetName()
	if name == volunteerPrefix+"me" {
		// An app handed only a token learns from this whose it is.
		p := principalFrom(ctx)
		if p == nil || p.Role != volunteer || p.Volunteer == "" {
			return nil, invalidField("name", ReasonInvalidFields, "volunteers/me is the volunteer a volunteer's own token names; give volunteers/{id}")
		}
		name = p.Volunteer
	}
	id := parseName(&v, "name", name, volunteerPrefix)
	if err := v.err(); err != nil {
		return nil, err
	}
	if !ownVolunteer(ctx, volunteerPrefix+id) {
		return nil, s.errs.toStatus(ctx, store.ErrNotFound, volunteerNotFound(id))
	}
	out, err := s.store.GetVolunteer(ctx, id)
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, volunteerNotFound(id))
	}
	if err := s.discloseVolunteers(ctx, []*pb.Volunteer{out}); err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	return &pb.GetVolunteerResponse{Volunteer: out}, nil
}

// ListVolunteers implements pb.VolunteerServiceServer.
func (s *Server) ListVolunteers(ctx context.Context, req *pb.ListVolunteersRequest) (*pb.ListVolunteersResponse, error) {
	var v violations
	size := pageSize(&v, req.GetPageSize())
	var f store.VolunteerFilter
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
	if req.GetSkill() != "" {
		f.Skill = strings.ToLower(strings.TrimSpace(req.GetSkill()))
		if !skillRE.MatchString(f.Skill) {
			v.add("skill", "must be a skill tag: lower-case letters, digits and hyphens")
		}
	}
	if req.GetPhone() != "" {
		number, err := phone.Normalise(req.GetPhone())
		if err != nil {
			v.add("phone", "is not a phone number")
		}
		f.Phone = number
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	out, next, err := fitPage(size, req.GetPageToken(), func(p store.Page) ([]*pb.Volunteer, string, error) {
		return s.store.ListVolunteers(ctx, f, p)
	})
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	if err := s.discloseVolunteers(ctx, out); err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	return &pb.ListVolunteersResponse{Volunteers: out, NextPageToken: next}, nil
}

// UpdateVolunteer implements pb.VolunteerServiceServer, as UpdateHelpRequest.
func (s *Server) UpdateVolunteer(ctx context.Context, req *pb.UpdateVolunteerRequest) (*pb.UpdateVolunteerResponse, error) {
	var v violations
	in := req.GetVolunteer()
	if in == nil {
		v.add("volunteer", "is required")
		return nil, v.err()
	}
	id := parseName(&v, "volunteer.name", in.GetName(), volunteerPrefix)
	paths := volunteerMask.resolveMask(&v, req.GetUpdateMask(), in)
	if err := v.err(); err != nil {
		return nil, err
	}
	if !ownVolunteer(ctx, volunteerPrefix+id) {
		return nil, s.errs.toStatus(ctx, store.ErrNotFound, volunteerNotFound(id))
	}
	base := ctx
	ctx = s.auditingUpdate(base, volunteerPrefix+id, paths, volunteerPersonal)
	for attempt := 1; ; attempt++ {
		cur, err := s.store.GetVolunteer(ctx, id)
		if err != nil {
			return nil, s.errs.toStatus(ctx, err, volunteerNotFound(id))
		}
		if in.Etag != "" && in.Etag != cur.Etag {
			return nil, s.errs.toStatus(ctx, store.ErrEtagMismatch, notFound{})
		}
		next := proto.Clone(cur).(*pb.Volunteer)
		applyMask(next, in, paths)
		keptOnOneLine(paths, "contact", next.Contact, "home", next.Home)
		// A reach left at its default follows the way of travelling: a
		// walker who gets a car goes as far as a driver does, a driver who
		// sells it only as far as they walk. One they chose stays.
		if next.TravelMode != cur.TravelMode && !touches(paths, "max_distance_metres") && cur.MaxDistanceMetres == defaultDistance[cur.TravelMode] {
			next.MaxDistanceMetres = 0 // cleanVolunteer fills in the new default
		}
		var v violations
		if touches(paths, "home.street") {
			houseOutOfStreet(&v, "volunteer.home", next.Home) // only a street this update sets
		}
		if !touches(paths, "home") && next.Home != nil {
			// Coordinates stored off Earth (before the server checked)
			// leave the volunteer out of matching until their place is
			// edited; an edit of anything else (a hold) is not refused
			// over them. The stored home is put back below.
			next.Home = proto.CloneOf(next.Home)
			next.Home.LatLng = nil
		}
		// Only a name this call changes: one sent back as read (the whole
		// record, or the contact named whole) stored before a name of
		// nothing to read was refused must not refuse an edit of something
		// else.
		nameSet := touches(paths, "contact.display_name") && !sameText(next.GetContact().GetDisplayName(), cur.GetContact().GetDisplayName(), false)
		cleanVolunteer(&v, "volunteer", next, cur.GetContact().GetPhone())
		if nameSet {
			requireVisible(&v, "volunteer.contact.display_name", next.GetContact().GetDisplayName())
		}
		if p := principalFrom(ctx); p != nil && p.Role == volunteer {
			if err := s.selfEditAllowed(cur, next); err != nil {
				return nil, err
			}
		} else if p != nil && p.Role == helpline && cur.Held && !next.Held {
			// Staff on a call may raise a concern and hold; whether it is
			// settled is for the volunteers' coordinator.
			return nil, statusWith(codes.PermissionDenied, ReasonPermissionDenied, "the helpline cannot lift a coordinator's hold; ask a coordinator", nil)
		}
		// Capacity may not drop below what the volunteer already holds; the
		// etag check on write catches an offer made since this read.
		if held := cur.ActiveAssignments + cur.PendingOffers; next.Capacity < held {
			v.add("volunteer.capacity", fmt.Sprintf("is below the %d offers and assignments they hold now; finish or decline those first", held))
		}
		if !touches(paths, "home") {
			next.Home = cur.Home
		} else if len(v) == 0 {
			given := latLngGiven(paths, "home", next.Home, cur.Home)
			if err := s.resolveLocation(ctx, &v, "volunteer.home", next.Home, given, cur.Home); err != nil {
				return nil, s.errs.toStatus(ctx, err, notFound{})
			}
		}
		if err := v.err(); err != nil {
			return nil, err
		}
		if p := principalFrom(ctx); p != nil && p.Role == volunteer && cur.PendingOffers > 0 && next.GetContact().GetPhone() != cur.GetContact().GetPhone() {
			// A number made a caller's withdraws the offer of that
			// caller's request (OWN_REQUEST) and any other leaves it
			// waiting: read back, the offer would confirm a guess at
			// the number of someone they may not see until they
			// accept. Refused whatever the number, the refusal says
			// nothing; staff see callers' numbers anyway. An offer
			// made since cur was read fails the write on its etag.
			return nil, statusWith(codes.FailedPrecondition, ReasonOffersWaiting,
				"a volunteer cannot change their own phone number while offers wait for their answer: accept or decline them first, or ask a coordinator to change it", nil)
		}
		if err := s.awayFromNoJob(ctx, cur, next); err != nil {
			return nil, err
		}
		if err := s.qualifiedForJobs(ctx, cur, next); err != nil {
			return nil, err
		}
		if proto.Equal(next, cur) {
			// Nothing changes (a resume of a volunteer not paused): the
			// etag stays, as for a request.
			if err := s.discloseVolunteers(ctx, []*pb.Volunteer{cur}); err != nil {
				return nil, s.errs.toStatus(ctx, err, notFound{})
			}
			return &pb.UpdateVolunteerResponse{Volunteer: cur}, nil
		}
		wctx := ctx
		// A hold's every change is on record, as personal data's are, and
		// so is a DBS check's (the organisation's word that they may go
		// into homes: who recorded it revoked at 9pm, or raised one never
		// made, is asked after the event log has let it go); but only a
		// change: a whole-record edit ("*") that leaves either as it was
		// must not read as someone setting or lifting it.
		var guarded []string
		if next.Held != cur.Held {
			guarded = append(guarded, "held")
		}
		if !proto.Equal(next.Vetting, cur.Vetting) {
			guarded = append(guarded, "vetting")
		}
		if len(guarded) > 0 {
			wctx = s.auditingUpdate(base, volunteerPrefix+id, paths, volunteerPersonal, guarded...)
		}
		out, err := s.store.UpdateVolunteer(wctx, next)
		if errors.Is(err, store.ErrEtagMismatch) && in.Etag == "" && attempt < updateRetries {
			if err := backoff(ctx, attempt); err != nil {
				return nil, s.errs.toStatus(ctx, err, notFound{})
			}
			continue
		}
		if err != nil {
			return nil, s.errs.toStatus(ctx, err, volunteerNotFound(id))
		}
		s.track(out)
		if reviewed, err := s.reviewVolunteerOffers(ctx, out); err != nil {
			// The edit stands; each offer is judged again at its accept.
			s.logger.Warn("offer review failed", zap.String("volunteer", out.Name), zap.Error(err))
		} else {
			out = reviewed
		}
		return &pb.UpdateVolunteerResponse{Volunteer: out}, nil
	}
}

// awayFromNoJob refuses new away dates that take in every day left to do
// one of the volunteer's assignments, where the dates before did not: the
// requester would wait for someone on holiday. The job is handed back
// first (ReleaseHelpRequest), so that it is open to others, or other dates
// chosen. An offer still
// awaiting an answer is not in the way: the edit's review withdraws it.
// An accept since cur was read changes the record, and the write then
// fails on its etag and is judged again.
func (s *Server) awayFromNoJob(ctx context.Context, cur, next *pb.Volunteer) error {
	// The days of the dates away are the volunteer's own: a new time
	// zone moves them, and can move them over a job as new dates can.
	if cur.ActiveAssignments == 0 || len(next.GetAvailability().GetAway()) == 0 ||
		slices.EqualFunc(cur.GetAvailability().GetAway(), next.GetAvailability().GetAway(), func(a, b *pb.DateRange) bool { return proto.Equal(a, b) }) &&
			cur.GetAvailability().GetTimeZone() == next.GetAvailability().GetTimeZone() {
		return nil
	}
	now := s.now()
	return s.eachAssignment(ctx, cur, func(hr *pb.HelpRequest) error {
		start, end := timeLeft(hr, now)
		gone, err := matcher.AwayThroughout(next.Availability, start, end)
		if err != nil {
			return s.errs.toStatus(ctx, err, notFound{})
		}
		if gone {
			// Dates away that already left no day for it (a trip
			// booked before, with the free days since gone by) are
			// not this edit's doing: shortening that trip, or
			// booking another, must not wait on the job.
			// (A zone no longer known judges the edit alone.)
			before, err := matcher.AwayThroughout(cur.Availability, start, end)
			gone = err != nil || !before
		}
		if gone {
			return statusWith(codes.FailedPrecondition, ReasonHasCommitments,
				fmt.Sprintf("they would be away on every day left for %s, which they are assigned: hand it back first (ReleaseHelpRequest), so that someone else can go, or choose other dates", hr.Name),
				map[string]string{"help_request": hr.Name, "rule": string(matcher.Away)})
		}
		return nil
	})
}

// qualifiedForJobs refuses an edit of the volunteer's skills or DBS check
// that would leave them without what one of their assignments needs (they
// gave up driving, and are to give a lift; staff recorded their check
// revoked, or running out before the day, and they are to go inside a
// caller's home), that the record before did not lack: they would be sent all
// the same, as an edit of the request that asked it of them would send
// them (see qualified, which judges both). The job is handed back first
// (ReleaseHelpRequest), so that someone who can go does. A job under way
// is not judged: they are there already, and the edit is of what they may
// be sent to next. As with awayFromNoJob, an accept since cur was read,
// or an edit of one of their jobs (which renews their record, judged in
// its transaction), fails the write on its etag, and it is judged again.
func (s *Server) qualifiedForJobs(ctx context.Context, cur, next *pb.Volunteer) error {
	// The time zone says on which of their days a job falls, and so
	// whether their check is valid on the day.
	if cur.ActiveAssignments == 0 || slices.Equal(cur.Skills, next.Skills) && proto.Equal(cur.Vetting, next.Vetting) &&
		cur.GetAvailability().GetTimeZone() == next.GetAvailability().GetTimeZone() {
		return nil
	}
	now := s.now()
	return s.eachAssignment(ctx, cur, func(hr *pb.HelpRequest) error {
		if start, end := timeLeft(hr, now); !start.Before(end) || hr.GetWindow() != nil && !hr.GetWindow().GetStartTime().AsTime().After(now) {
			return nil // under way, or its time is over
		}
		// lacking is all v lacks for the job, by the rules of who may do
		// it at all.
		lacking := func(v *pb.Volunteer) ([]string, error) {
			var ne notEligible
			err := s.qualified(hr, v, now)
			switch {
			case errors.As(err, &ne):
				return ne.lacks, nil
			case err != nil:
				return nil, s.errs.toStatus(ctx, err, notFound{})
			}
			return nil, nil
		}
		after, err := lacking(next)
		if err != nil || len(after) == 0 {
			return err
		}
		// What they lacked before the edit too (their check has run out
		// since they took it) is not this edit's doing; a lack it adds
		// is, and would outlast the other (their check renewed, a
		// volunteer who gave up driving is sent on the lift), as an edit
		// of the request that adds one is refused (store.Lacking).
		before, err := lacking(cur)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(after, func(l string) bool { return !slices.Contains(before, l) })
		if i < 0 {
			return nil
		}
		why := lackOf(after[i])
		return statusWith(codes.FailedPrecondition, ReasonHasCommitments,
			fmt.Sprintf("with this edit they could not do %s, which they are assigned (%s): hand it back first (ReleaseHelpRequest), so that someone who can go does", hr.Name, why.Why()),
			map[string]string{"help_request": hr.Name, "rule": string(why.Reason), "detail": why.Detail})
	})
}

// eachAssignment calls f with each request the volunteer cur is assigned,
// as stored now, until f returns an error, which it returns.
func (s *Server) eachAssignment(ctx context.Context, cur *pb.Volunteer, f func(hr *pb.HelpRequest) error) error {
	id := strings.TrimPrefix(cur.Name, volunteerPrefix)
	page := store.Page{Size: 100}
	for {
		offers, token, err := s.store.ListOffers(ctx, store.OfferFilter{VolunteerID: id, State: pb.Offer_STATE_ACCEPTED, Live: true}, page)
		if err != nil {
			return s.errs.toStatus(ctx, err, notFound{})
		}
		for _, o := range offers {
			hr, err := s.store.GetHelpRequest(ctx, strings.TrimPrefix(o.HelpRequest, helpRequestPrefix))
			if errors.Is(err, store.ErrNotFound) {
				continue // erased since
			}
			if err != nil {
				return s.errs.toStatus(ctx, err, notFound{})
			}
			if err := f(hr); err != nil {
				return err
			}
		}
		if token == "" {
			return nil
		}
		page.Token = token
	}
}

// timeLeft is the time left to do hr's job at now: what is left of its
// window, or from now to its deadline (empty once either has passed).
func timeLeft(hr *pb.HelpRequest, now time.Time) (start, end time.Time) {
	start, end = now, now
	switch t := hr.Timing.(type) {
	case *pb.HelpRequest_Window:
		start, end = t.Window.GetStartTime().AsTime(), t.Window.GetEndTime().AsTime()
		if start.Before(now) {
			start = now // only what is left of it
		}
	case *pb.HelpRequest_Deadline:
		end = t.Deadline.AsTime()
	}
	return start, end
}

// selfEditAllowed refuses what a volunteer's own token may not change of
// their record. The organisation vouches for a DBS check and for a skill a
// need requires (a driving licence, for lifts), and a coordinator's hold
// is theirs to lift: a volunteer may change anything else of theirs, and
// may give up such a skill, but may not claim one.
func (s *Server) selfEditAllowed(cur, next *pb.Volunteer) error {
	switch {
	case !proto.Equal(next.Vetting, cur.Vetting):
		return statusWith(codes.PermissionDenied, ReasonPermissionDenied, "a volunteer cannot change their own vetting; ask a coordinator", nil)
	case next.Held != cur.Held:
		return statusWith(codes.PermissionDenied, ReasonPermissionDenied, "a volunteer cannot put themselves on hold or lift a hold; ask a coordinator", nil)
	}
	for _, skill := range next.Skills {
		if !slices.Contains(cur.Skills, skill) && s.vouchedSkill(skill) {
			return statusWith(codes.PermissionDenied, ReasonPermissionDenied,
				fmt.Sprintf("a volunteer cannot add the skill %q themselves: the organisation vouches for it, as for vetting; ask a coordinator", skill), nil)
		}
	}
	return nil
}

// vouchedSkill reports whether a need's rule requires skill, as
// transport requires "driver" by default.
func (s *Server) vouchedSkill(skill string) bool {
	for _, rule := range s.matcherConfig.Needs {
		if slices.Contains(rule.Skills, skill) {
			return true
		}
	}
	return false
}

// DeleteVolunteer implements pb.VolunteerServiceServer.
func (s *Server) DeleteVolunteer(ctx context.Context, req *pb.DeleteVolunteerRequest) (*pb.DeleteVolunteerResponse, error) {
	var v violations
	id := parseName(&v, "name", req.GetName(), volunteerPrefix)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.store.DeleteVolunteer(s.auditing(ctx, "delete", volunteerPrefix+id, volunteerPersonal), id, req.GetEtag()); err != nil {
		return nil, s.errs.toStatus(ctx, err, volunteerNotFound(id))
	}
	s.untrack(volunteerPrefix + id)
	return &pb.DeleteVolunteerResponse{}, nil
}
