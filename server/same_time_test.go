package server_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// sameTimeWindow makes a request's time the window [base+from, base+to).
func sameTimeWindow(base time.Time, from, to time.Duration) func(*pb.HelpRequest) {
	return func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(base.Add(from)), EndTime: timestamppb.New(base.Add(to))}}
	}
}

// sameTimeDeadline makes a request's time [create_time, base+at).
func sameTimeDeadline(base time.Time, at time.Duration) func(*pb.HelpRequest) {
	return func(r *pb.HelpRequest) { r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(base.Add(at))} }
}

func (h *harness) createSameTime(edit ...func(*pb.HelpRequest)) *pb.CreateHelpRequestResponse {
	h.t.Helper()
	resp, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: shopping(edit...)})
	if err != nil {
		h.t.Fatalf("create help request: %v", err)
	}
	return resp
}

func sameNames(got, want []string) bool {
	return slices.Equal(got, want) || len(got) == 0 && len(want) == 0
}

// TestSameTimeRequestsOnCreate: a create names the same caller's other
// live requests whose time overlaps its own, and no others.
func TestSameTimeRequestsOnCreate(t *testing.T) {
	h := newHarness(t)
	base := time.Now().Add(24 * time.Hour).Truncate(time.Minute)
	win := func(from, to time.Duration) func(*pb.HelpRequest) { return sameTimeWindow(base, from, to) }
	dl := func(at time.Duration) func(*pb.HelpRequest) { return sameTimeDeadline(base, at) }
	cases := []struct {
		name          string
		first, second func(*pb.HelpRequest)
		otherPhone    bool
		listed        bool
	}{
		{"same window", win(0, 2*time.Hour), win(0, 2*time.Hour), false, true},
		{"overlapping", win(0, 2*time.Hour), win(time.Hour, 3*time.Hour), false, true},
		{"within", win(0, 4*time.Hour), win(time.Hour, 2*time.Hour), false, true},
		{"adjacent after", win(0, 2*time.Hour), win(2*time.Hour, 4*time.Hour), false, false},
		{"adjacent before", win(2*time.Hour, 4*time.Hour), win(0, 2*time.Hour), false, false},
		{"apart", win(0, time.Hour), win(5*time.Hour, 6*time.Hour), false, false},
		{"window before a deadline", dl(3 * time.Hour), win(time.Hour, 2*time.Hour), false, true},
		{"window from a deadline on", dl(3 * time.Hour), win(3*time.Hour, 5*time.Hour), false, false},
		{"deadline over a window", win(time.Hour, 2*time.Hour), dl(3 * time.Hour), false, true},
		{"two deadlines", dl(3 * time.Hour), dl(10 * time.Hour), false, true},
		{"another phone", win(0, 2*time.Hour), win(0, 2*time.Hour), true, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			phone := fmt.Sprintf("01224 5000%02d", i)
			first := h.createSameTime(c.first, callerPhone(phone))
			if len(first.SameTimeRequests) != 0 {
				t.Fatalf("the caller's first request names %v", first.SameTimeRequests)
			}
			second := []func(*pb.HelpRequest){c.second, callerPhone(phone)}
			if c.otherPhone {
				second[1] = callerPhone(fmt.Sprintf("01224 6000%02d", i))
			}
			got := h.createSameTime(second...).SameTimeRequests
			var want []string
			if c.listed {
				want = []string{first.HelpRequest.Name}
			}
			if !sameNames(got, want) {
				t.Errorf("same_time_requests = %v, want %v", got, want)
			}
		})
	}
}

// TestSameTimeRequestsLiveOnly: OFFERED and ASSIGNED requests are live and
// named; CANCELLED, FULFILLED and EXPIRED ones are not.
func TestSameTimeRequestsLiveOnly(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	base := clock.now()
	win := sameTimeWindow(base, time.Hour, 2*time.Hour)
	later := sameTimeWindow(base, time.Hour, 8*time.Hour) // still ahead after the clock moves
	volunteer := func(name string) string {
		return h.createVol(matchVolunteer(name, "AB10 1AB")).Name
	}
	assign := func(hr string) {
		o := h.offer(hr, volunteer("Volunteer for "+hr))
		if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name   string
		state  func(hr string)
		listed bool
	}{
		{"open", func(string) {}, true},
		{"offered", func(hr string) { h.offer(hr, volunteer("Volunteer for "+hr)) }, true},
		{"assigned", assign, true},
		{"cancelled", func(hr string) {
			if _, err := h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: hr}); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"fulfilled", func(hr string) {
			assign(hr)
			if _, err := h.match.CompleteHelpRequest(h.ctx, &pb.CompleteHelpRequestRequest{Name: hr}); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			phone := fmt.Sprintf("01224 5100%02d", i)
			first := h.createSameTime(win, callerPhone(phone)).HelpRequest.Name
			c.state(first)
			got := h.createSameTime(later, callerPhone(phone)).SameTimeRequests
			var want []string
			if c.listed {
				want = []string{first}
			}
			if !sameNames(got, want) {
				t.Errorf("%s: same_time_requests = %v, want %v", h.getHR(first).State, got, want)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		first := h.createSameTime(win, callerPhone("01224 510099")).HelpRequest.Name
		clock.advance(3 * time.Hour)
		h.srv.Sweep(h.ctx)
		if st := h.getHR(first).State; st != pb.HelpRequest_STATE_EXPIRED {
			t.Fatalf("first request %v, want EXPIRED", st)
		}
		// [base+1h, base+8h) overlaps the expired [base+1h, base+2h).
		if got := h.createSameTime(later, callerPhone("01224 510099")).SameTimeRequests; len(got) != 0 {
			t.Errorf("same_time_requests = %v, want none: the other request expired", got)
		}
	})
}

// TestSameTimeRequestsPartnerScope: a partner is told of its own
// organisation's requests only, never another's; staff are told of all.
func TestSameTimeRequestsPartnerScope(t *testing.T) {
	h := newHarness(t)
	mine := pb.NewHelpRequestServiceClient(h.partnerConn()) // aberdeen-mutual-aid
	admin := pb.NewAdminServiceClient(h.conn)
	if _, err := admin.CreateOrganisation(h.ctx, &pb.CreateOrganisationRequest{Organisation: &pb.Organisation{
		Name: "organisations/granite-foodbank", DisplayName: "Granite Food Bank"}}); err != nil {
		t.Fatal(err)
	}
	tok, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "other partner", Role: pb.Role_ROLE_PARTNER, Organisation: "granite-foodbank"}})
	if err != nil {
		t.Fatal(err)
	}
	theirs := pb.NewHelpRequestServiceClient(h.as(tok.Secret))
	create := func(c pb.HelpRequestServiceClient) *pb.CreateHelpRequestResponse {
		t.Helper()
		hr := shopping()
		hr.Organisation = ""
		resp, err := c.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	first := create(mine)
	other := create(theirs)
	if len(other.SameTimeRequests) != 0 {
		t.Errorf("another organisation's partner is told of %v, want none", other.SameTimeRequests)
	}
	again := create(mine)
	if want := []string{first.HelpRequest.Name}; !slices.Equal(again.SameTimeRequests, want) {
		t.Errorf("the partner is told of %v, want only its own %v", again.SameTimeRequests, want)
	}
	staff := h.createSameTime()
	if want := []string{first.HelpRequest.Name, other.HelpRequest.Name, again.HelpRequest.Name}; !slices.Equal(staff.SameTimeRequests, want) {
		t.Errorf("staff are told of %v, want every one, oldest first: %v", staff.SameTimeRequests, want)
	}
	// Batches keep to the same scope.
	row := bulkRow("granite-1")
	row.Organisation = ""
	row.Needs, row.Timing = shopping().Needs, shopping().Timing
	resp, err := theirs.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{row}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Results[0].SameTimeRequests, []string{other.HelpRequest.Name}; !slices.Equal(got, want) {
		t.Errorf("a partner's batch row is told of %v, want only its organisation's %v", got, want)
	}
}

// TestSameTimeRequestsBatch: rows of one batch for one caller at one time
// name each other, as well as what was stored before; a row found stored
// already answers as things stand now.
func TestSameTimeRequestsBatch(t *testing.T) {
	h := newHarness(t)
	earlier := h.createSameTime(func(r *pb.HelpRequest) { r.Organisation = "granite-city-foodbank" }).HelpRequest.Name
	rows := func() []*pb.HelpRequest {
		x, y, z := bulkRow("x"), bulkRow("y"), bulkRow("z")
		z.Requester.Phone = "01224 999999"
		later := shopping(sameTimeWindow(time.Now(), 30*time.Hour, 31*time.Hour))
		w := bulkRow("w")
		w.Timing = later.Timing // same caller, another day
		return []*pb.HelpRequest{x, y, z, w}
	}
	batch := func() []*pb.BatchCreateHelpRequestsResult {
		t.Helper()
		resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: rows()})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.Results {
			if r.Error != nil {
				t.Fatalf("row %d: %v", r.Index, r.Error)
			}
		}
		return resp.Results
	}
	res := batch()
	x, y := res[0].HelpRequest.Name, res[1].HelpRequest.Name
	check := func(when string, want [][]string) {
		t.Helper()
		for i, r := range res {
			if !sameNames(r.SameTimeRequests, want[i]) {
				t.Errorf("%s: row %d (existing %v): same_time_requests = %v, want %v", when, i, r.Existing, r.SameTimeRequests, want[i])
			}
		}
	}
	check("first run", [][]string{{earlier, y}, {earlier, x}, nil, nil})
	if _, err := h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: earlier}); err != nil {
		t.Fatal(err)
	}
	res = batch()
	check("run again after a cancel", [][]string{{y}, {x}, nil, nil})
}

// TestSameTimeRequestsRetry: the repeat of a create (same request_id)
// answers as things stand at the repeat.
func TestSameTimeRequestsRetry(t *testing.T) {
	h := newHarness(t)
	req := &pb.CreateHelpRequestRequest{HelpRequest: shopping(), RequestId: "7f1c2b4e-9a8d-4c3b-8e2f-1a2b3c4d5e6f"}
	first, err := h.hr.CreateHelpRequest(h.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	second := h.createSameTime()
	repeat, err := h.hr.CreateHelpRequest(h.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if repeat.HelpRequest.Name != first.HelpRequest.Name {
		t.Fatalf("the repeat answers %s, want %s", repeat.HelpRequest.Name, first.HelpRequest.Name)
	}
	if want := []string{second.HelpRequest.Name}; !slices.Equal(repeat.SameTimeRequests, want) {
		t.Errorf("the repeat names %v, want %v (as things stand now)", repeat.SameTimeRequests, want)
	}
	if _, err := h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: first.HelpRequest.Name}); err != nil {
		t.Fatal(err)
	}
	repeat, err = h.hr.CreateHelpRequest(h.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(repeat.SameTimeRequests) != 0 {
		t.Errorf("the repeat of a cancelled request names %v, want none", repeat.SameTimeRequests)
	}
}

// TestSameTimeRequestsNotAudited: the lookup hands out names only, so it
// writes no read_contact record of the requests it finds.
func TestSameTimeRequestsNotAudited(t *testing.T) {
	h := newHarness(t)
	audit := func() []*pb.AuditRecord {
		t.Helper()
		recs, _, err := h.st.ListAuditRecords(h.ctx, store.AuditFilter{}, store.Page{Size: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	first := h.createSameTime().HelpRequest.Name
	before := len(audit())
	second := h.createSameTime()
	if len(second.SameTimeRequests) != 1 {
		t.Fatalf("same_time_requests = %v, want the first request", second.SameTimeRequests)
	}
	rows := []*pb.HelpRequest{bulkRow("a"), bulkRow("b")}
	resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: rows})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.Results[0].SameTimeRequests); n != 3 {
		t.Fatalf("batch row names %d requests, want 3", n)
	}
	recs := audit()
	if got := len(recs) - before; got != 3 {
		t.Errorf("%d audit records added, want 3 (the three creates)", got)
	}
	for _, r := range recs[:len(recs)-before] { // newest first
		if r.Action != "create" || r.Resource == first {
			t.Errorf("audit record %s of %s added", r.Action, r.Resource)
		}
	}
}

// failingSameTime fails the lookup of same-time requests.
type failingSameTime struct{ store.Store }

func (failingSameTime) SameTimeRequests(context.Context, []*pb.HelpRequest, string) ([][]string, error) {
	return nil, errors.New("lookup failed")
}

// TestSameTimeRequestsLookupFails: a failed lookup does not fail the
// create, which is stored; the log says so without personal data.
func TestSameTimeRequestsLookupFails(t *testing.T) {
	h := newHarness(t)
	h.close()
	h.wrap = func(st store.Store) store.Store { return failingSameTime{st} }
	h.reopen()
	first := h.createSameTime()
	second := h.createSameTime()
	if len(second.SameTimeRequests) != 0 || second.HelpRequest.GetName() == "" || first.HelpRequest.GetName() == "" {
		t.Fatalf("create answered %v", second)
	}
	resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{bulkRow("a")}})
	if err != nil || resp.Results[0].Error != nil || resp.Results[0].HelpRequest == nil {
		t.Fatalf("batch answered %v, %v", resp, err)
	}
	logged := h.logs.FilterMessageSnippet("same-time").All()
	if len(logged) < 2 {
		t.Fatalf("%d log entries of the failed lookup, want one for each call", len(logged))
	}
	hr := shopping()
	for _, e := range logged {
		text := fmt.Sprint(e.Message, e.ContextMap())
		for _, secret := range []string{"123456", hr.Requester.DisplayName, hr.Location.AddressLines[1]} {
			if strings.Contains(text, secret) {
				t.Errorf("log %q holds personal data %q", text, secret)
			}
		}
	}
}

// TestSameTimeRequestsBounded: a number many requests share names the
// oldest store.MaxSameTime of them, not a page of names.
func TestSameTimeRequestsBounded(t *testing.T) {
	h := newHarness(t)
	var names []string
	for range store.MaxSameTime + 2 {
		names = append(names, h.createSameTime().HelpRequest.Name)
	}
	if got := h.createSameTime().SameTimeRequests; !slices.Equal(got, names[:store.MaxSameTime]) {
		t.Errorf("same_time_requests = %v, want the oldest %d: %v", got, store.MaxSameTime, names[:store.MaxSameTime])
	}
}
