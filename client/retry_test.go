package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// faults injects UNAVAILABLE into unary calls on the server side and
// counts the calls that reach it.
type faults struct {
	mu    sync.Mutex
	calls map[string]int
	// lose[m] replies of method m are lost: the handler runs, then the
	// caller sees UNAVAILABLE, as when a connection drops after the
	// server committed.
	lose map[string]int
	// refuse[m] calls of method m fail with UNAVAILABLE before the
	// handler runs; -1 refuses every call.
	refuse map[string]int
	// refuseFrom[m] refuses call number refuseFrom[m] of method m (from
	// 1) and every later one.
	refuseFrom map[string]int
	// hold[m] makes calls of method m wait until the caller gives up.
	hold map[string]bool
}

func newFaults() *faults {
	return &faults{calls: map[string]int{}, lose: map[string]int{}, refuse: map[string]int{}, refuseFrom: map[string]int{}, hold: map[string]bool{}}
}

func (f *faults) option() grpc.ServerOption { return grpc.ChainUnaryInterceptor(f.unary) }

func (f *faults) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	m := info.FullMethod
	f.mu.Lock()
	f.calls[m]++
	refuse := f.refuse[m] != 0 || (f.refuseFrom[m] > 0 && f.calls[m] >= f.refuseFrom[m])
	if f.refuse[m] > 0 {
		f.refuse[m]--
	}
	lose := f.lose[m] > 0
	if lose {
		f.lose[m]--
	}
	hold := f.hold[m]
	f.mu.Unlock()
	switch {
	case hold:
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	case refuse:
		return nil, status.Error(codes.Unavailable, "test: refused")
	}
	resp, err := handler(ctx, req)
	if lose {
		return nil, status.Error(codes.Unavailable, "test: reply lost")
	}
	return resp, err
}

func (f *faults) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *faults) set(field map[string]int, method string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	field[method] = n
}

func TestCreateHelpRequestRetriedAfterLostReplyStoresOnce(t *testing.T) {
	f := newFaults()
	s := newTestServer(t, f.option())
	c := s.client(t)
	ctx := context.Background()
	const method = pb.HelpRequestService_CreateHelpRequest_FullMethodName

	f.set(f.lose, method, 1)
	hr, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", ""))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if got := f.count(method); got != 2 {
		t.Errorf("server saw %d calls, want 2 (the lost one and the retry)", got)
	}
	if got := s.countStored(t); got != 1 {
		t.Fatalf("%d requests stored, want 1", got)
	}
	stored, err := c.GetHelpRequest(ctx, hr.GetName())
	if err != nil || stored.GetName() != hr.GetName() {
		t.Errorf("the retry returned %q, not the stored request: %v", hr.GetName(), err)
	}

	// Through the bare stub, without a request_id of the caller's own:
	// the client supplies one, so the retry is just as safe.
	f.set(f.lose, method, 1)
	req := &pb.CreateHelpRequestRequest{HelpRequest: helpRequest("aberdeen-mutual-aid", "")}
	if _, err := c.HelpRequests.CreateHelpRequest(ctx, req); err != nil {
		t.Fatalf("create through the stub: %v", err)
	}
	if req.RequestId != "" {
		t.Errorf("the caller's message was changed: request_id = %q", req.RequestId)
	}
	if got := s.countStored(t); got != 2 {
		t.Errorf("%d requests stored, want 2", got)
	}
}

func TestCreateVolunteerRetriedAfterLostReplyStoresOnce(t *testing.T) {
	f := newFaults()
	s := newTestServer(t, f.option())
	c := s.client(t)
	ctx := context.Background()
	f.set(f.lose, pb.VolunteerService_CreateVolunteer_FullMethodName, 2)
	v, err := c.CreateVolunteer(ctx, volunteer("aberdeen-mutual-aid"))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if got := f.count(pb.VolunteerService_CreateVolunteer_FullMethodName); got != 3 {
		t.Errorf("server saw %d calls, want 3", got)
	}
	var names []string
	for v, err := range c.AllVolunteers(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, v.GetName())
	}
	if len(names) != 1 || names[0] != v.GetName() {
		t.Errorf("stored %v, want just %s", names, v.GetName())
	}
}

// TestCreateOfferRetriedAfterLostReplyOffersOnce: the first attempt made
// the offer, so a retry without its request_id would be refused (the
// request is no longer open); with it, the caller gets the offer made.
func TestCreateOfferRetriedAfterLostReplyOffersOnce(t *testing.T) {
	f := newFaults()
	s := newTestServer(t, f.option())
	c := s.client(t)
	ctx := context.Background()
	const method = pb.MatchingService_CreateOffer_FullMethodName
	v, err := c.CreateVolunteer(ctx, freeVolunteer("aberdeen-mutual-aid"))
	if err != nil {
		t.Fatal(err)
	}
	hr, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", ""))
	if err != nil {
		t.Fatal(err)
	}
	f.set(f.lose, method, 1)
	req := &pb.CreateOfferRequest{HelpRequest: hr.GetName(), Volunteer: v.GetName()}
	resp, err := c.Matching.CreateOffer(ctx, req)
	if err != nil {
		t.Fatalf("offer: %v", err)
	}
	if got := f.count(method); got != 2 {
		t.Errorf("server saw %d calls, want 2 (the lost one and the retry)", got)
	}
	if req.RequestId != "" {
		t.Errorf("the caller's message was changed: request_id = %q", req.RequestId)
	}
	got, err := c.GetHelpRequest(ctx, hr.GetName())
	if err != nil || got.GetOffer() != resp.GetOffer().GetName() || got.GetState() != pb.HelpRequest_STATE_OFFERED {
		t.Errorf("request %v (%v) does not hold the offer returned, %s", got, err, resp.GetOffer().GetName())
	}
	vol, err := c.Volunteers.GetVolunteer(ctx, &pb.GetVolunteerRequest{Name: v.GetName()})
	if err != nil || vol.GetVolunteer().GetPendingOffers() != 1 {
		t.Errorf("volunteer has %d pending offers (%v), want 1", vol.GetVolunteer().GetPendingOffers(), err)
	}
}

func TestNonIdempotentCallsAreNotRetried(t *testing.T) {
	f := newFaults()
	s := newTestServer(t, f.option())
	c := s.client(t)
	ctx := context.Background()
	hr, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", ""))
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		method string
		call   func() error
	}{
		{pb.HelpRequestService_UpdateHelpRequest_FullMethodName, func() error {
			_, err := c.HelpRequests.UpdateHelpRequest(ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "No etag"},
				UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}},
			})
			return err
		}},
		{pb.HelpRequestService_DeleteHelpRequest_FullMethodName, func() error {
			_, err := c.HelpRequests.DeleteHelpRequest(ctx, &pb.DeleteHelpRequestRequest{Name: hr.Name, Etag: hr.Etag})
			return err
		}},
		{pb.MatchingService_AcceptOffer_FullMethodName, func() error {
			_, err := c.Matching.AcceptOffer(ctx, &pb.AcceptOfferRequest{Name: "offers/x"})
			return err
		}},
		{pb.MatchingService_DeclineOffer_FullMethodName, func() error {
			_, err := c.Matching.DeclineOffer(ctx, &pb.DeclineOfferRequest{Name: "offers/x"})
			return err
		}},
		{pb.MatchingService_CompleteHelpRequest_FullMethodName, func() error {
			_, err := c.Matching.CompleteHelpRequest(ctx, &pb.CompleteHelpRequestRequest{Name: hr.Name})
			return err
		}},
		{pb.MatchingService_ReleaseHelpRequest_FullMethodName, func() error {
			_, err := c.Matching.ReleaseHelpRequest(ctx, &pb.ReleaseHelpRequestRequest{Name: hr.Name})
			return err
		}},
		{pb.MatchingService_Dispatch_FullMethodName, func() error {
			_, err := c.Matching.Dispatch(ctx, &pb.DispatchRequest{})
			return err
		}},
	}
	for _, tc := range calls {
		f.set(f.refuse, tc.method, -1)
		err := tc.call()
		if status.Code(err) != codes.Unavailable {
			t.Errorf("%s: err = %v, want UNAVAILABLE", tc.method, err)
		}
		if got := f.count(tc.method); got != 1 {
			t.Errorf("%s: server saw %d calls, want 1", tc.method, got)
		}
	}

	// A cancel whose reply is lost took effect once, and the caller is
	// told UNAVAILABLE rather than a misleading WRONG_STATE from a retry.
	const cancelMethod = pb.MatchingService_CancelHelpRequest_FullMethodName
	f.set(f.lose, cancelMethod, 1)
	_, err = c.Matching.CancelHelpRequest(ctx, &pb.CancelHelpRequestRequest{Name: hr.Name})
	if status.Code(err) != codes.Unavailable || f.count(cancelMethod) != 1 {
		t.Errorf("cancel: err = %v after %d calls, want UNAVAILABLE after 1", err, f.count(cancelMethod))
	}
	got, err := c.GetHelpRequest(ctx, hr.Name)
	if err != nil || got.GetState() != pb.HelpRequest_STATE_CANCELLED {
		t.Errorf("after the lost cancel: state %v, %v; want CANCELLED", got.GetState(), err)
	}
}

func TestIdempotentCallRetriedUntilAttemptsRunOut(t *testing.T) {
	f := newFaults()
	s := newTestServer(t, f.option())
	c := s.client(t, client.WithRetry(3, time.Millisecond))
	const method = pb.GazetteerService_LookupPostcode_FullMethodName
	f.set(f.refuse, method, -1)
	_, err := c.Gazetteer.LookupPostcode(context.Background(), &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("err = %v, want UNAVAILABLE", err)
	}
	if got := f.count(method); got != 4 {
		t.Errorf("server saw %d calls, want 4 (1 + 3 retries)", got)
	}

	// Errors other than UNAVAILABLE are the answer, not an outage.
	f.set(f.refuse, method, 0)
	_, err = c.Gazetteer.LookupPostcode(context.Background(), &pb.LookupPostcodeRequest{Postcode: "AB10 9ZZ"})
	if status.Code(err) != codes.NotFound || f.count(method) != 5 {
		t.Errorf("unknown postcode: %v after %d calls in all, want NOT_FOUND after 5", err, f.count(method))
	}

	// WithRetry(0, ...) turns retries off.
	c0 := s.client(t, client.WithRetry(0, time.Millisecond))
	f.set(f.refuse, method, 1)
	if _, err := c0.Gazetteer.LookupPostcode(context.Background(), &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"}); status.Code(err) != codes.Unavailable {
		t.Errorf("with retries off: %v, want UNAVAILABLE", err)
	}
	if got := f.count(method); got != 6 {
		t.Errorf("with retries off the server saw %d calls in all, want 6", got)
	}
}

// An update with an etag is retried: if the lost attempt applied, the
// retry finds the etag stale and says ABORTED, and a read shows the
// change, applied once.
func TestUpdateWithEtagRetriedAppliesOnce(t *testing.T) {
	f := newFaults()
	s := newTestServer(t, f.option())
	c := s.client(t)
	ctx := context.Background()
	hr, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", ""))
	if err != nil {
		t.Fatal(err)
	}
	const method = pb.HelpRequestService_UpdateHelpRequest_FullMethodName
	f.set(f.lose, method, 1)
	_, err = c.HelpRequests.UpdateHelpRequest(ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "Two loaves, not one", Etag: hr.Etag},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}},
	})
	if status.Code(err) != codes.Aborted || client.Reason(err) != "ETAG_MISMATCH" {
		t.Errorf("err = %v, want ABORTED with ETAG_MISMATCH", err)
	}
	if got := f.count(method); got != 2 {
		t.Errorf("server saw %d calls, want 2", got)
	}
	got, err := c.GetHelpRequest(ctx, hr.Name)
	if err != nil || got.GetDetails() != "Two loaves, not one" {
		t.Errorf("details = %q, %v; want the update applied", got.GetDetails(), err)
	}
}

func TestRetryWaitRespectsContext(t *testing.T) {
	f := newFaults()
	s := newTestServer(t, f.option())
	const method = pb.HelpRequestService_GetHelpRequest_FullMethodName
	f.set(f.refuse, method, -1)
	c := s.client(t, client.WithRetry(5, 10*time.Second))
	name := "helpRequests/01hzzzzzzzzzzzzzzzzzzzzzzz"

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.HelpRequests.GetHelpRequest(ctx, &pb.GetHelpRequestRequest{Name: name})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("cancelled call took %v: the wait ignored ctx", took)
	}
	if status.Code(err) != codes.Canceled {
		t.Errorf("err = %v, want CANCELLED", err)
	}
	if got := f.count(method); got != 1 {
		t.Errorf("server saw %d calls, want 1", got)
	}

	// A deadline that would pass during the wait ends the call at once
	// with the outage, not later with DEADLINE_EXCEEDED.
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start = time.Now()
	_, err = c.HelpRequests.GetHelpRequest(ctx, &pb.GetHelpRequestRequest{Name: name})
	if took := time.Since(start); took > time.Second {
		t.Errorf("call took %v, want an early return", took)
	}
	if status.Code(err) != codes.Unavailable {
		t.Errorf("err = %v, want UNAVAILABLE", err)
	}
}

func TestCallTimeoutBoundsRetries(t *testing.T) {
	f := newFaults()
	s := newTestServer(t, f.option())
	ctx := context.Background()

	f.mu.Lock()
	f.hold[pb.HelpRequestService_ListHelpRequests_FullMethodName] = true
	f.mu.Unlock()
	c := s.client(t, client.WithCallTimeout(100*time.Millisecond))
	start := time.Now()
	_, err := c.HelpRequests.ListHelpRequests(ctx, &pb.ListHelpRequestsRequest{})
	if status.Code(err) != codes.DeadlineExceeded || time.Since(start) > 2*time.Second {
		t.Errorf("held call: %v after %v, want DEADLINE_EXCEEDED after 100ms", err, time.Since(start))
	}

	// Every attempt fails at once; the timeout still ends the call.
	f.set(f.refuse, pb.GazetteerService_LookupPostcode_FullMethodName, -1)
	c = s.client(t, client.WithCallTimeout(300*time.Millisecond), client.WithRetry(1000, 20*time.Millisecond))
	start = time.Now()
	_, err = c.Gazetteer.LookupPostcode(ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("retries ran on for %v past a 300ms call timeout", took)
	}
	if status.Code(err) != codes.Unavailable {
		t.Errorf("err = %v, want UNAVAILABLE", err)
	}
	if n := f.count(pb.GazetteerService_LookupPostcode_FullMethodName); n < 2 {
		t.Errorf("%d attempts, want retries within the timeout", n)
	}
}

func TestTokenIsSent(t *testing.T) {
	var mu sync.Mutex
	var got []string
	record := func(ctx context.Context) {
		md, _ := metadata.FromIncomingContext(ctx)
		mu.Lock()
		got = append(got, md.Get("authorization")...)
		mu.Unlock()
	}
	s := newTestServer(t,
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			record(ctx)
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			record(ss.Context())
			return status.Error(codes.PermissionDenied, "test: streams stop here")
		}))
	s.mu.Lock()
	_, err := s.addToken(s.st, "s3cret-token", pb.Role_ROLE_COORDINATOR)
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	c := s.client(t, client.WithToken("s3cret-token"))
	ctx := context.Background()
	if _, err := c.Gazetteer.LookupPostcode(ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"}); err != nil {
		t.Fatal(err)
	}
	err = c.Watch(ctx, client.WatchOptions{}, func(*pb.WatchEventsResponse) error { return nil })
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("watch: %v", err)
	}
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}
	want := []string{"Bearer s3cret-token", "Bearer s3cret-token"}
	if g := take(); len(g) != len(want) || g[0] != want[0] || g[1] != want[1] {
		t.Errorf("authorization metadata = %q, want %q for the call and the stream", g, want)
	}

	// Without a token nothing is sent, and the server says so.
	c2 := s.client(t, client.WithToken(""))
	_, err = c2.Gazetteer.LookupPostcode(ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"})
	if g := take(); status.Code(err) != codes.Unauthenticated || len(g) != 0 {
		t.Errorf("without a token: %v, metadata %q", err, g)
	}
}

func TestDialRequiresSecurityChoice(t *testing.T) {
	ctx := context.Background()
	if _, err := client.Dial(ctx, "localhost:50051"); err == nil {
		t.Error("Dial with neither WithTLS nor WithInsecure succeeded")
	}
	if _, err := client.Dial(ctx, "localhost:50051", client.WithInsecure(), client.WithTLS(&tls.Config{})); err == nil {
		t.Error("Dial with both WithTLS and WithInsecure succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := client.Dial(cancelled, "localhost:50051", client.WithInsecure()); !errors.Is(err, context.Canceled) {
		t.Errorf("Dial with a cancelled context: %v", err)
	}
	c, err := client.Dial(ctx, "localhost:50051", client.WithTLS(&tls.Config{ServerName: "doorstep.example"}), client.WithToken("t"))
	if err != nil {
		t.Fatalf("Dial with TLS: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
}

func TestIsRetryable(t *testing.T) {
	cases := []struct {
		method string
		req    any
		want   bool
	}{
		{pb.HelpRequestService_GetHelpRequest_FullMethodName, &pb.GetHelpRequestRequest{}, true},
		{pb.HelpRequestService_ListHelpRequests_FullMethodName, &pb.ListHelpRequestsRequest{}, true},
		{pb.VolunteerService_GetVolunteer_FullMethodName, &pb.GetVolunteerRequest{}, true},
		{pb.VolunteerService_ListVolunteers_FullMethodName, &pb.ListVolunteersRequest{}, true},
		{pb.GazetteerService_LookupPostcode_FullMethodName, &pb.LookupPostcodeRequest{}, true},
		{pb.MatchingService_FindCandidates_FullMethodName, &pb.FindCandidatesRequest{}, true},
		{pb.MatchingService_GetOffer_FullMethodName, &pb.GetOfferRequest{}, true},
		{pb.MatchingService_ListOffers_FullMethodName, &pb.ListOffersRequest{}, true},
		{pb.HelpRequestService_BatchCreateHelpRequests_FullMethodName, &pb.BatchCreateHelpRequestsRequest{}, true},
		{pb.HelpRequestService_CreateHelpRequest_FullMethodName, &pb.CreateHelpRequestRequest{}, true},
		{pb.VolunteerService_CreateVolunteer_FullMethodName, &pb.CreateVolunteerRequest{RequestId: "x"}, true},
		{pb.HelpRequestService_UpdateHelpRequest_FullMethodName, &pb.UpdateHelpRequestRequest{HelpRequest: &pb.HelpRequest{Etag: "7"}}, true},
		{pb.HelpRequestService_UpdateHelpRequest_FullMethodName, &pb.UpdateHelpRequestRequest{HelpRequest: &pb.HelpRequest{}}, false},
		{pb.VolunteerService_UpdateVolunteer_FullMethodName, &pb.UpdateVolunteerRequest{Volunteer: &pb.Volunteer{Etag: "7"}}, true},
		{pb.VolunteerService_UpdateVolunteer_FullMethodName, &pb.UpdateVolunteerRequest{}, false},
		{pb.HelpRequestService_DeleteHelpRequest_FullMethodName, &pb.DeleteHelpRequestRequest{Etag: "7"}, false},
		{pb.VolunteerService_DeleteVolunteer_FullMethodName, &pb.DeleteVolunteerRequest{}, false},
		{pb.MatchingService_CreateOffer_FullMethodName, &pb.CreateOfferRequest{}, true},
		{pb.MatchingService_AcceptOffer_FullMethodName, &pb.AcceptOfferRequest{}, false},
		{pb.MatchingService_DeclineOffer_FullMethodName, &pb.DeclineOfferRequest{}, false},
		{pb.MatchingService_CompleteHelpRequest_FullMethodName, &pb.CompleteHelpRequestRequest{}, false},
		{pb.MatchingService_ReleaseHelpRequest_FullMethodName, &pb.ReleaseHelpRequestRequest{}, false},
		{pb.MatchingService_CancelHelpRequest_FullMethodName, &pb.CancelHelpRequestRequest{}, false},
		{pb.MatchingService_Dispatch_FullMethodName, &pb.DispatchRequest{}, false},
		{pb.AdminService_ExportPersonalData_FullMethodName, &pb.ExportPersonalDataRequest{}, true},
		{pb.AdminService_ErasePersonalData_FullMethodName, &pb.ErasePersonalDataRequest{}, false},
		{pb.AdminService_CreateToken_FullMethodName, &pb.CreateTokenRequest{}, false},
		{pb.AdminService_RevokeToken_FullMethodName, &pb.RevokeTokenRequest{}, false},
		{pb.AdminService_CreateOrganisation_FullMethodName, &pb.CreateOrganisationRequest{}, false},
		{pb.EventService_WatchEvents_FullMethodName, &pb.WatchEventsRequest{}, false},
		{"/grpc.health.v1.Health/Check", nil, false},
	}
	for _, tc := range cases {
		if got := client.IsRetryable(tc.method, tc.req); got != tc.want {
			t.Errorf("IsRetryable(%s, %T) = %v, want %v", tc.method, tc.req, got, tc.want)
		}
	}
}
