package server_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestRolesKeptFromOthersRecords: whatever the access table holds, a
// partner's token reaches no volunteer's record, no candidates and no
// offers (it sees its organisation's requests only), a volunteer's
// token makes or lists no requests and no volunteers and offers nobody,
// and only an admin's reaches AdminService. TestAuthorisationMatrix reads
// the table it checks, so a role added to a line there passed it: a
// partner given FindCandidates would read volunteers' names and distances.
func TestRolesKeptFromOthersRecords(t *testing.T) {
	h := newHarness(t)
	vol := h.createVol(validVolunteer())
	secrets := h.principals(vol.Name)
	denied := map[pb.Role][]string{
		pb.Role_ROLE_PARTNER: {
			"VolunteerService/CreateVolunteer", "VolunteerService/GetVolunteer", "VolunteerService/ListVolunteers",
			"VolunteerService/UpdateVolunteer", "VolunteerService/DeleteVolunteer",
			"MatchingService/FindCandidates", "MatchingService/CreateOffer", "MatchingService/GetOffer",
			"MatchingService/ListOffers", "MatchingService/AcceptOffer", "MatchingService/DeclineOffer",
			"MatchingService/CompleteHelpRequest", "MatchingService/ReleaseHelpRequest", "MatchingService/Dispatch",
		},
		pb.Role_ROLE_VOLUNTEER: {
			"HelpRequestService/CreateHelpRequest", "HelpRequestService/BatchCreateHelpRequests",
			"HelpRequestService/ListHelpRequests", "HelpRequestService/UpdateHelpRequest", "HelpRequestService/DeleteHelpRequest",
			"VolunteerService/CreateVolunteer", "VolunteerService/ListVolunteers", "VolunteerService/DeleteVolunteer",
			"MatchingService/FindCandidates", "MatchingService/CreateOffer", "MatchingService/CancelHelpRequest",
			"MatchingService/Dispatch",
		},
	}
	byName := map[string]protoreflect.MethodDescriptor{}
	for _, m := range doorstepMethods(t) {
		name := strings.TrimPrefix(fullName(m), "/doorstep.v1.")
		byName[name] = m
		if m.Parent().Name() == "AdminService" {
			for _, r := range []pb.Role{pb.Role_ROLE_COORDINATOR, pb.Role_ROLE_HELPLINE, pb.Role_ROLE_PARTNER, pb.Role_ROLE_VOLUNTEER} {
				denied[r] = append(denied[r], name)
			}
		}
	}
	for role, names := range denied {
		conn := h.as(secrets[role])
		for _, name := range names {
			m, ok := byName[name]
			if !ok {
				t.Errorf("no method %s", name)
				continue
			}
			if code, reason, _ := errorOf(t, call(h.ctx, conn, m)); code != codes.PermissionDenied || reason != "PERMISSION_DENIED" {
				t.Errorf("%s as %s: %v %s, want PERMISSION_DENIED", name, role, code, reason)
			}
		}
	}
}
