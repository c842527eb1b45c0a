package server

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// Object-level access and staged disclosure. The table in auth.go says
// which roles may make a call; these say which records a partner or a
// volunteer may touch within it, and how much of a record each sees. A
// record a principal may not see is NOT_FOUND, exactly as a missing one,
// so that ids cannot be probed.

// Personal fields, as audit records name them. A request's coordinates
// are among them: read off a map, they pin the house as the address lines
// do (volunteers see neither before accepting, and an erasure takes both).
var (
	requestPersonal   = []string{"requester", "details", "location.address_lines", "location.lat_lng", "vulnerability"}
	volunteerPersonal = []string{"contact", "home"}
)

// mayReadRequest says whether the principal may see hr at all.
func (s *Server) mayReadRequest(ctx context.Context, p *Principal, hr *pb.HelpRequest) (bool, error) {
	switch {
	case p.sees():
		return true, nil
	case p.Role == partner:
		return hr.Organisation == p.Organisation, nil
	case p.Role == volunteer:
		if hr.AssignedVolunteer == p.Volunteer {
			return true, nil
		}
		if mine, err := s.offeredNow(ctx, p, hr); mine || err != nil {
			return mine, err
		}
		// An offer to them that has ended (declined, lapsed, withdrawn)
		// still names the request in their app and their event stream:
		// they see what it was, as before accepting (see disclose).
		if !strings.HasPrefix(p.Volunteer, volunteerPrefix) {
			return false, nil
		}
		past, _, err := s.store.ListOffers(ctx, store.OfferFilter{
			VolunteerID: p.Volunteer[len(volunteerPrefix):], RequestID: strings.TrimPrefix(hr.Name, helpRequestPrefix),
		}, store.Page{Size: 1})
		return len(past) > 0, err
	}
	return false, nil
}

// offeredNow says whether hr waits on a pending offer to the volunteer p.
func (s *Server) offeredNow(ctx context.Context, p *Principal, hr *pb.HelpRequest) (bool, error) {
	if hr.State != pb.HelpRequest_STATE_OFFERED || hr.Offer == "" {
		return false, nil
	}
	o, err := s.store.GetOffer(ctx, hr.Offer[len(offerPrefix):])
	if err != nil {
		return false, err
	}
	return o.Volunteer == p.Volunteer, nil
}

// mayChangeRequest says whether the principal may change hr: partners
// their organisation's, the others with the role to call at all.
func mayChangeRequest(p *Principal, hr *pb.HelpRequest) bool {
	return p.sees() || (p.Role == partner && hr.Organisation == p.Organisation)
}

// fullView says whether the principal sees hr's personal data: staff and
// the request's own partner always, its volunteer only while assigned.
func fullView(p *Principal, hr *pb.HelpRequest) bool {
	switch p.Role {
	case partner:
		return hr.Organisation == p.Organisation
	case volunteer:
		return hr.State == pb.HelpRequest_STATE_ASSIGNED && hr.AssignedVolunteer == p.Volunteer
	}
	return p.sees()
}

// volunteerView is what a volunteer sees of a request before accepting
// it (and after the assignment ends): what the help is, when, and roughly
// where, never the house, the phone or who asked.
func volunteerView(hr *pb.HelpRequest) *pb.HelpRequest {
	out := &pb.HelpRequest{
		Name: hr.Name, Needs: hr.Needs, RequiredSkills: hr.RequiredSkills, Urgency: hr.Urgency,
		RemoteOk: hr.RemoteOk, State: hr.State, Organisation: hr.Organisation, EntersHome: hr.EntersHome,
		CreateTime: hr.CreateTime, UpdateTime: hr.UpdateTime, Etag: hr.Etag, Offer: hr.Offer, AssignedVolunteer: hr.AssignedVolunteer,
		CloseTime: hr.CloseTime,
	}
	switch t := hr.Timing.(type) {
	case *pb.HelpRequest_Window:
		out.Timing = &pb.HelpRequest_Window{Window: t.Window}
	case *pb.HelpRequest_Deadline:
		out.Timing = &pb.HelpRequest_Deadline{Deadline: t.Deadline}
	}
	if loc := hr.Location; loc != nil {
		out.Location = &pb.Location{Street: loc.Street, Postcode: geo.PostcodeSector(loc.Postcode)}
	}
	return out
}

// disclose shapes requests for the principal and puts every read of
// personal data on record before it is handed out.
func (s *Server) disclose(ctx context.Context, hrs []*pb.HelpRequest) ([]*pb.HelpRequest, error) {
	p := principalFrom(ctx)
	if p == nil {
		return hrs, nil
	}
	var recs []*pb.AuditRecord
	out := make([]*pb.HelpRequest, len(hrs))
	for i, hr := range hrs {
		if !fullView(p, hr) {
			out[i] = volunteerView(hr)
			if p.Role == volunteer && hr.AssignedVolunteer != p.Volunteer {
				// A request whose offer to them ended: who has it now is
				// another volunteer's business.
				mine, err := s.offeredNow(ctx, p, hr)
				if err != nil {
					return nil, err
				}
				if !mine {
					out[i].Offer, out[i].AssignedVolunteer = "", ""
				}
			}
			continue
		}
		out[i] = hr
		if hr.PersonalDataRemovedTime == nil {
			recs = append(recs, s.auditRecord(ctx, "read_contact", hr.Name, requestRead(hr)))
		}
	}
	if err := s.store.RecordAudit(ctx, recs); err != nil {
		return nil, err
	}
	return out, nil
}

// discloseVolunteers puts every read of volunteers' personal data on
// record; only staff and the volunteer themself reach these reads.
func (s *Server) discloseVolunteers(ctx context.Context, vols []*pb.Volunteer) error {
	if principalFrom(ctx) == nil {
		return nil
	}
	recs := make([]*pb.AuditRecord, 0, len(vols))
	for _, v := range vols {
		recs = append(recs, s.auditRecord(ctx, "read_contact", v.Name, volunteerPersonal))
	}
	return s.store.RecordAudit(ctx, recs)
}

// auditRecord describes what the caller does to resource.
func (s *Server) auditRecord(ctx context.Context, action, resource string, fields []string) *pb.AuditRecord {
	r := &pb.AuditRecord{Action: action, Resource: resource, Fields: fields, Method: methodFrom(ctx), Actor: "system"}
	if p := principalFrom(ctx); p != nil {
		r.Actor, r.Role, r.Organisation = p.Token, p.Role, p.Organisation
	}
	return r
}

// auditing returns ctx with an audit record for the change about to be
// written, so that the store records it in the change's own transaction.
// A change that touches no personal field is not recorded.
func (s *Server) auditing(ctx context.Context, action, resource string, fields []string) context.Context {
	if len(fields) == 0 {
		return ctx
	}
	return store.WithAudit(ctx, s.auditRecord(ctx, action, resource, fields))
}

// auditingStep returns ctx with an audit record of a lifecycle step
// (action) its caller takes, written in the step's own transaction, on the
// trail of the request it changes. It is no change
// of personal data, but who offered a request to a volunteer, marked it
// done, cancelled it, handed it back or answered an offer for a volunteer
// is what staff putting a mistake right need to know, after the event log
// has let it go.
func (s *Server) auditingStep(ctx context.Context, action string) context.Context {
	return store.WithAudit(ctx, s.auditRecord(ctx, action, "", nil))
}

// auditingUpdate returns ctx with the audit records of an update, written
// in the update's own transaction: the change of the personal fields among
// paths, and, for a caller, the read of every personal field, since the
// answer hands back the whole record whatever the update changed.
// Changes of the fields in guarded, which are not personal data but whose
// every change someone may need to account for (a coordinator's hold on a
// volunteer), are on record as well.
func (s *Server) auditingUpdate(ctx context.Context, resource string, paths, personal []string, guarded ...string) context.Context {
	return s.auditingUpdateRead(ctx, resource, paths, personal, personal, guarded...)
}

// auditingUpdateRead is auditingUpdate where the answer hands back read,
// not every personal field (a request's coordinates at its postcode's
// centre: requestRead).
func (s *Server) auditingUpdateRead(ctx context.Context, resource string, paths, personal, read []string, guarded ...string) context.Context {
	var recs []*pb.AuditRecord
	if changed := personalPaths(paths, append(slices.Clip(personal), guarded...)); len(changed) > 0 {
		recs = append(recs, s.auditRecord(ctx, "update", resource, changed))
	}
	if principalFrom(ctx) != nil { // as disclose: only callers' reads
		recs = append(recs, s.auditRecord(ctx, "read_contact", resource, read))
	}
	if len(recs) == 0 {
		return ctx
	}
	return store.WithAudit(ctx, recs...)
}

// personalPaths are the personal fields among an update's paths.
func personalPaths(paths, personal []string) []string {
	var out []string
	for _, f := range personal {
		if slices.ContainsFunc(paths, func(p string) bool { return p == "*" || p == f || hasPathPrefix(p, f) || hasPathPrefix(f, p) }) {
			out = append(out, f)
		}
	}
	return out
}

func hasPathPrefix(path, prefix string) bool {
	return len(path) > len(prefix) && path[:len(prefix)] == prefix && path[len(prefix)] == '.'
}

// requestRead names the personal fields a read of hr hands out: all of
// them, but its coordinates only where they were given. The postcode's
// centre is no one's, and a read naming it would tell a safeguarding lead
// that a pin on the door was handed out where there was none.
func requestRead(hr *pb.HelpRequest) []string {
	if hr.GetLocation().GetCoordinatesSource() == pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN {
		return requestPersonal
	}
	return slices.DeleteFunc(slices.Clone(requestPersonal), func(f string) bool { return f == "location.lat_lng" })
}

// requestPersonalSet names the personal fields a new request holds.
func requestPersonalSet(hr *pb.HelpRequest) []string {
	var out []string
	if hr.Requester != nil {
		out = append(out, "requester")
	}
	if hr.Details != "" {
		out = append(out, "details")
	}
	if len(hr.GetLocation().GetAddressLines()) > 0 {
		out = append(out, "location.address_lines")
	}
	if hr.GetLocation().GetCoordinatesSource() == pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN {
		out = append(out, "location.lat_lng") // the postcode's centre is no one's
	}
	if hr.Vulnerability != nil {
		out = append(out, "vulnerability")
	}
	return out
}

// partnerOrganisation holds a partner to its own organisation on create:
// an empty organisation becomes theirs, another is refused. One that is
// no organisation at all ("organisations/granite-food", as AdminService
// names it) is left to checkOrganisation, which names the field: the
// partner may well have meant its own.
func partnerOrganisation(ctx context.Context, hr *pb.HelpRequest) error {
	p := principalFrom(ctx)
	if p == nil || p.Role != partner {
		return nil
	}
	// As checkOrganisation will normalise it: a partner writing its own
	// organisation in capitals means its own.
	hr.Organisation = strings.ToLower(strings.TrimSpace(hr.Organisation))
	if hr.Organisation == "" {
		hr.Organisation = p.Organisation
	}
	if otherOrganisation(p, hr.Organisation) {
		return statusWith(codes.PermissionDenied, ReasonPermissionDenied, "a partner token creates requests for its own organisation only", nil)
	}
	return nil
}

// otherOrganisation says whether org, as checkOrganisation normalises it,
// is a well-formed organisation other than partner p's own.
func otherOrganisation(p *Principal, org string) bool {
	return orgRE.MatchString(org) && org != p.Organisation
}

// requestFor reads a request the principal means to act on: NOT_FOUND
// when it may not see it, PERMISSION_DENIED when it may see but not
// change it (a volunteer).
func (s *Server) requestFor(ctx context.Context, id string, change bool) (*pb.HelpRequest, error) {
	hr, err := s.store.GetHelpRequest(ctx, id)
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, helpRequestNotFound(id))
	}
	p := principalFrom(ctx)
	if p == nil {
		return hr, nil
	}
	ok, err := s.mayReadRequest(ctx, p, hr)
	if err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	if !ok {
		return nil, s.errs.toStatus(ctx, store.ErrNotFound, helpRequestNotFound(id))
	}
	if change && !mayChangeRequest(p, hr) {
		return nil, statusWith(codes.PermissionDenied, ReasonPermissionDenied, "this token may not change this request", nil)
	}
	return hr, nil
}

// ownVolunteer holds a volunteer to their own record: another is NOT_FOUND.
func ownVolunteer(ctx context.Context, name string) bool {
	p := principalFrom(ctx)
	return p == nil || p.Role != volunteer || p.Volunteer == name
}
