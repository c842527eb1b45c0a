package server_test

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// TestEraseCanary stores a request and a volunteer carrying a unique
// canary, exports them, erases them through the API, and then looks for
// the canary in the raw bytes of the data file and its key file.
func TestEraseCanary(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	const canary = "Canary-7f3a9c"
	hr := validHelpRequest()
	hr.RequiredSkills = nil
	hr.Requester = &pb.Contact{DisplayName: canary + " Requester", Phone: "07700 900777"}
	hr.Details = "Leave it with " + canary
	hr.Location.AddressLines = []string{"7 " + canary + " Lane"}
	made := h.createHR(hr)
	v := validVolunteer()
	v.Contact = &pb.Contact{DisplayName: canary + " Volunteer", Phone: "07700 900777"}
	h.createVol(v)
	other := h.createHR(validHelpRequest()) // someone else's, untouched

	exp, err := admin.ExportPersonalData(h.ctx, &pb.ExportPersonalDataRequest{Phone: "+447700900777"})
	if err != nil || len(exp.HelpRequests) != 1 || len(exp.Volunteers) != 1 || exp.HelpRequests[0].Details != hr.Details {
		t.Fatalf("export: %v %v", exp, err)
	}
	// A live offer blocks erasure, changing nothing.
	vol2 := h.createVol(matchVolunteer("Isla", "AB10 1AF"))
	off := h.offer(made.Name, vol2.Name)
	_, err = admin.ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "07700 900777"})
	wantFailure(t, err, codes.FailedPrecondition, server.ReasonHasCommitments)
	// A pending offer is ended by declining it: the refusal says so, not
	// only "cancel or complete", and that where dispatch runs on its own a
	// declined request may be offered again, so cancelling it is surer.
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "decline the offer") || !strings.Contains(msg, "automatic dispatch") {
		t.Errorf("refusal %q does not say how to end an offer, and that dispatch may offer it again", msg)
	}
	if got := statusMeta(t, err, "resource"); got != made.Name || !strings.Contains(status.Convert(err).Message(), made.Name) {
		t.Errorf("erasure refusal %v (resource %q) does not name the offered request %s", err, got, made.Name)
	}
	if _, err := h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: off.Name}); err != nil {
		t.Fatal(err)
	}

	resp, err := admin.ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "07700 900777"})
	if err != nil || resp.HelpRequestsErased != 1 || resp.VolunteersErased != 1 {
		t.Fatalf("erase: %v %v", resp, err)
	}
	got := h.getHR(made.Name)
	if got.GetRequester().GetDisplayName() != "" || got.GetRequester().GetPhone() != "" || got.Details != "" || len(got.Location.GetAddressLines()) > 0 || got.PersonalDataRemovedTime == nil {
		t.Errorf("after erasure the request still holds %v", got)
	}
	if len(got.Needs) == 0 || got.Location.GetPostcode() == "" {
		t.Errorf("erasure lost the statistics: %v", got)
	}
	if o := h.getHR(other.Name); o.GetRequester().GetPhone() == "" {
		t.Errorf("someone else's request lost its contact: %v", o)
	}
	exp, err = admin.ExportPersonalData(h.ctx, &pb.ExportPersonalDataRequest{Phone: "07700 900777"})
	if err != nil || len(exp.HelpRequests)+len(exp.Volunteers) != 0 {
		t.Errorf("export after erasure: %v %v", exp, err)
	}
	for _, path := range []string{h.path, h.path + ".keys"} {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(canary)) || bytes.Contains(raw, []byte("447700900777")) {
			t.Errorf("%s still holds the canary or the phone number", path)
		}
	}
	// Both the export and the erasure are on record.
	for _, action := range []string{"export", "erase"} {
		recs, _, err := h.st.ListAuditRecords(h.ctx, store.AuditFilter{Action: action}, store.Page{Size: 10})
		if err != nil || len(recs) == 0 {
			t.Errorf("no %s audit record: %v", action, err)
		}
	}
	_, err = admin.ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "not a phone"})
	if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || len(fields) != 1 || fields[0] != "phone" {
		t.Errorf("bad phone: %v", err)
	}
}

// TestSweepPurgesClosedRequests checks the retention: a request closed for
// longer than it loses its personal data, an open one keeps it.
func TestSweepPurgesClosedRequests(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock, server.WithPersonalDataRetention(48*time.Hour))
	closed := h.createHR(validHelpRequest())
	open := h.createHR(validHelpRequest())
	if _, err := h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: closed.Name}); err != nil {
		t.Fatal(err)
	}
	h.srv.Sweep(h.ctx)
	if got := h.getHR(closed.Name); got.GetRequester().GetPhone() == "" {
		t.Fatal("purged within the retention")
	}
	clock.advance(49 * time.Hour)
	h.srv.Sweep(h.ctx)
	if got := h.getHR(closed.Name); got.GetRequester().GetPhone() != "" || got.PersonalDataRemovedTime == nil {
		t.Errorf("closed request after the retention: %v", got)
	}
	// The open one has expired by now (its window passed) but closed only
	// at this sweep, so it keeps its data for another retention period.
	if got := h.getHR(open.Name); got.GetRequester().GetPhone() == "" {
		t.Errorf("a request that just closed lost its data: %v", got)
	}
	recs, _, err := h.st.ListAuditRecords(h.ctx, store.AuditFilter{Action: "purge", Resource: closed.Name}, store.Page{Size: 10})
	if err != nil || len(recs) != 1 || recs[0].Actor != "system" {
		t.Errorf("purge audit: %v %v", recs, err)
	}

	// Purges (each ending in a key rotation) run at most hourly.
	late := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(clock.now().Add(24 * time.Hour))}
	}))
	if _, err := h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: late.Name}); err != nil {
		t.Fatal(err)
	}
	keeps := func(when string, want bool) {
		t.Helper()
		if got := h.getHR(late.Name); (got.GetRequester().GetPhone() != "") != want {
			t.Errorf("%s: request keeps its data = %v, want %v", when, !want, want)
		}
	}
	clock.advance(47*time.Hour + 50*time.Minute)
	h.srv.Sweep(h.ctx) // a purge: the last was two days ago
	keeps("within its retention", true)
	clock.advance(20 * time.Minute)
	h.srv.Sweep(h.ctx)
	keeps("past its retention, 20 minutes after the last purge", true)
	clock.advance(41 * time.Minute)
	h.srv.Sweep(h.ctx)
	keeps("an hour after the last purge", false)
}
