package server_test

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// phoned gives a matchVolunteer its own phone number (they share one
// otherwise, and an erasure by phone would take them all).
func phoned(phone string) func(*pb.Volunteer) {
	return func(v *pb.Volunteer) { v.Contact.Phone = phone }
}

// candNames is the names FindCandidates ranks for hr.
func candNames(t *testing.T, h *harness, hr string) []string {
	t.Helper()
	resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr, PageSize: 50})
	if err != nil {
		t.Fatalf("find: %v", err)
	}
	var out []string
	for _, c := range resp.Candidates {
		out = append(out, c.Volunteer)
	}
	return out
}
