package server_test

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestRemoteHolderFarAwayNotUncounted: a befriending call, given from
// anywhere, is counted within 50 km of the caller, and its offer may be
// held by a befriender farther off, the nearest free. The holder was
// taken out of the counts all the same, and out went another's: a
// befriender near, fully booked, and staff read "there is nobody else".
// One never counted is not taken out.
func TestRemoteHolderFarAwayNotUncounted(t *testing.T) {
	h := newHarness(t)
	basic := func(v *pb.Volunteer) {
		v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC}
		v.Contact.Phone = "07700 900222"
	}
	// Inverness, some 150 km from the caller in Aberdeen.
	far := h.createVol(matchVolunteer("Fiona", "IV2 3AA", basic, func(v *pb.Volunteer) {
		v.Home.LatLng = &pb.LatLng{Latitude: 57.4778, Longitude: -4.2247}
		v.Contact.Phone = "07700 900333"
	}))
	near := h.createVol(matchVolunteer("Bea", "AB10 1AF", basic))
	other := h.createHR(shopping(callerPhone("01224 654321")))
	h.offer(other.Name, near.Name) // Bea is fully booked
	call := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Needs = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}
		r.RemoteOk = true
	}))
	if got := h.candidates(call.Name); len(got) != 1 || got[0] != far.Name {
		t.Fatalf("candidates for the call: %v, want Fiona alone", got)
	}
	h.offer(call.Name, far.Name)
	resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: call.Name})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Exclusions) != 1 || resp.Exclusions[0].Reason != "AT_CAPACITY" || resp.Exclusions[0].Count != 1 || resp.Summary != "1 is fully booked" {
		t.Errorf("held by Fiona, 150 km off: %q, %v; want Bea counted, fully booked", resp.Summary, resp.Exclusions)
	}
}

// TestRemoteHolderFarAwayIsSomebody: a befriending call offered to the
// only befriender, 150 km off, beyond the 50 km its counts take in, said
// "no volunteer is registered who could help", with one holding it: staff
// read that nobody could take it, of a call someone is taking. Its holder
// is somebody: there is nobody else.
func TestRemoteHolderFarAwayIsSomebody(t *testing.T) {
	h := newHarness(t)
	far := h.createVol(matchVolunteer("Fiona", "IV2 3AA", func(v *pb.Volunteer) {
		v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC}
		v.Home.LatLng = &pb.LatLng{Latitude: 57.4778, Longitude: -4.2247}
	}))
	call := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Needs = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}
		r.RemoteOk = true
	}))
	h.offer(call.Name, far.Name)
	resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: call.Name})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Candidates) != 0 || len(resp.Exclusions) != 0 || resp.Summary != "there is nobody else" {
		t.Errorf("held by Fiona, 150 km off: %q, %v, %v; want there is nobody else", resp.Summary, resp.Candidates, resp.Exclusions)
	}
}
