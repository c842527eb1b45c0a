package server_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

var allRoles = []pb.Role{pb.Role_ROLE_ADMIN, pb.Role_ROLE_COORDINATOR, pb.Role_ROLE_HELPLINE, pb.Role_ROLE_PARTNER, pb.Role_ROLE_VOLUNTEER}

// principals makes a token for every role (the partner in org
// "aberdeen-mutual-aid", the volunteer as vol) and returns their secrets.
func (h *harness) principals(vol string) map[pb.Role]string {
	h.t.Helper()
	out := map[pb.Role]string{}
	for _, r := range allRoles {
		t := &pb.Token{DisplayName: r.String(), Role: r}
		switch r {
		case pb.Role_ROLE_PARTNER:
			t.Organisation = "aberdeen-mutual-aid"
		case pb.Role_ROLE_VOLUNTEER:
			t.Volunteer = vol
		}
		out[r] = h.newToken(h.st, t)
	}
	return out
}

// doorstepMethods is every method of every doorstep.v1 service.
func doorstepMethods(t *testing.T) []protoreflect.MethodDescriptor {
	t.Helper()
	var out []protoreflect.MethodDescriptor
	protoregistry.GlobalFiles.RangeFilesByPackage("doorstep.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				out = append(out, sd.Methods().Get(j))
			}
		}
		return true
	})
	if len(out) < 29 {
		t.Fatalf("found only %d methods", len(out))
	}
	return out
}

func fullName(m protoreflect.MethodDescriptor) string {
	return "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
}

// call makes one call of m with an empty request and returns its error:
// for a stream, the error of its first message.
func call(ctx context.Context, conn *grpc.ClientConn, m protoreflect.MethodDescriptor) error {
	in, err := protoregistry.GlobalTypes.FindMessageByName(m.Input().FullName())
	if err != nil {
		return err
	}
	out, err := protoregistry.GlobalTypes.FindMessageByName(m.Output().FullName())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if !m.IsStreamingServer() {
		return conn.Invoke(ctx, fullName(m), in.New().Interface(), out.New().Interface())
	}
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, fullName(m))
	if err != nil {
		return err
	}
	if err := stream.SendMsg(in.New().Interface()); err != nil {
		return err
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	err = stream.RecvMsg(out.New().Interface())
	if status.Code(err) == codes.DeadlineExceeded {
		return nil // a stream that opened and waits for events is allowed
	}
	return err
}

// TestAuthorisationMatrix calls every method of every service as every
// role, with no token, an unknown, an expired and a revoked one, and
// checks each answer against the access table.
func TestAuthorisationMatrix(t *testing.T) {
	h := newHarness(t)
	vol := h.createVol(validVolunteer())
	secrets := h.principals(vol.Name)
	expired := h.newToken(h.st, &pb.Token{DisplayName: "old", Role: pb.Role_ROLE_ADMIN, ExpireTime: timestamppb.New(time.Now().Add(-time.Minute))})
	revoked := h.newToken(h.st, &pb.Token{DisplayName: "gone", Role: pb.Role_ROLE_ADMIN})
	toks, _, err := h.st.ListTokens(h.ctx, store.Page{Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.RevokeToken(h.ctx, strings.TrimPrefix(toks[len(toks)-1].Name, "tokens/")); err != nil {
		t.Fatal(err)
	}
	table := server.Access()
	conns := map[string]*grpc.ClientConn{
		"no token": h.as(""), "unknown": h.as("ds_notatoken"), "expired": h.as(expired), "revoked": h.as(revoked),
	}
	for _, r := range allRoles {
		conns[r.String()] = h.as(secrets[r])
	}
	checked := 0
	for _, m := range doorstepMethods(t) {
		roles, inTable := table[fullName(m)]
		if !inTable {
			t.Errorf("%s is missing from the access table, so nobody may call it", fullName(m))
		}
		for who, conn := range conns {
			err := call(h.ctx, conn, m)
			code := status.Code(err)
			var want string
			switch {
			case !strings.HasPrefix(who, "ROLE_"):
				if code != codes.Unauthenticated {
					want = "UNAUTHENTICATED"
				}
			case !slices.Contains(roles, pb.Role(pb.Role_value[who])):
				if code != codes.PermissionDenied {
					want = "PERMISSION_DENIED"
				}
			case code == codes.Unauthenticated || code == codes.PermissionDenied || code == codes.ResourceExhausted || code == codes.Unimplemented:
				want = "allowed"
			}
			if want != "" {
				t.Errorf("%s as %s: %v, want %s", fullName(m), who, err, want)
			}
			checked++
		}
	}
	t.Logf("%d calls checked", checked)
}

func TestHealthNeedsNoToken(t *testing.T) {
	h := newHarness(t)
	for _, m := range server.OpenMethods() {
		if _, ok := server.Access()[m]; ok {
			t.Errorf("%s is both open and in the table", m)
		}
	}
	resp, err := healthpb.NewHealthClient(h.as("")).Check(h.ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health check without a token: %v %v", resp, err)
	}
}

// TestPartnerCannotProbeOtherOrganisations stores 10,000 requests of
// another organisation and checks that a partner gets NOT_FOUND for every
// one of their ids, exactly as for ids that do not exist.
func TestPartnerCannotProbeOtherOrganisations(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithRateLimit(0, 0))
	vol := h.createVol(validVolunteer())
	secrets := h.principals(vol.Name)
	partnerConn := h.as(secrets[pb.Role_ROLE_PARTNER])
	hrs := pb.NewHelpRequestServiceClient(partnerConn)
	match := pb.NewMatchingServiceClient(partnerConn)

	own := h.createHR(validHelpRequest()) // aberdeen-mutual-aid: the partner's own
	const n = 10000
	names := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			hr := validHelpRequest()
			hr.Organisation = "other-food-bank"
			hr.Requester.Phone = fmt.Sprintf("07700 9%05d", i)
			out, err := h.st.CreateHelpRequest(h.ctx, hr, store.Idempotency{})
			if err != nil {
				t.Error(err)
				return
			}
			names[i] = out.Name
		})
	}
	wg.Wait()

	missing := func(err error) string {
		st := status.Convert(err)
		return st.Code().String() + " " + strings.ReplaceAll(st.Message(), "", "")
	}
	// What an id that does not exist gets, with the id itself taken out.
	ghost := "helpRequests/01arz3ndektsv4rrffq69g5fav"
	_, err := hrs.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: ghost})
	want := strings.ReplaceAll(missing(err), ghost, "ID")
	if status.Code(err) != codes.NotFound {
		t.Fatalf("ghost: %v", err)
	}
	var probed atomic.Int64
	for i := 0; i < n; i += 1 {
		name := names[i]
		_, err := hrs.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: name})
		if got := strings.ReplaceAll(missing(err), name, "ID"); got != want {
			t.Fatalf("get %d: %q, want %q", i, got, want)
		}
		probed.Add(1)
		if i%500 == 0 { // the changing calls too, on a sample
			up := &pb.HelpRequest{Name: name, Details: "x"}
			if _, err := hrs.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: up}); status.Code(err) != codes.NotFound {
				t.Errorf("update: %v", err)
			}
			if _, err := hrs.DeleteHelpRequest(h.ctx, &pb.DeleteHelpRequestRequest{Name: name}); status.Code(err) != codes.NotFound {
				t.Errorf("delete: %v", err)
			}
			if _, err := match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: name}); status.Code(err) != codes.NotFound {
				t.Errorf("cancel: %v", err)
			}
		}
	}
	if probed.Load() != n {
		t.Fatalf("probed %d", probed.Load())
	}
	// Lists show only their own.
	list, err := hrs.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{PageSize: 1000})
	if err != nil || len(list.HelpRequests) != 1 || list.HelpRequests[0].Name != own.Name {
		t.Errorf("partner list: %d requests, %v", len(list.GetHelpRequests()), err)
	}
	if _, err := hrs.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{Organisation: "other-food-bank"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("list of another organisation: %v", err)
	}
	// And creates for another organisation are refused.
	other := validHelpRequest()
	other.Organisation = "other-food-bank"
	if _, err := hrs.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: other}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("create for another organisation: %v", err)
	}
	// Their own request they can read in full.
	got, err := hrs.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: own.Name})
	if err != nil || got.HelpRequest.GetRequester().GetPhone() == "" {
		t.Errorf("own request: %v %v", got, err)
	}
}

// TestStagedDisclosure follows what a volunteer sees of a request before
// accepting, while assigned, and after completing it, and what another
// volunteer sees.
func TestStagedDisclosure(t *testing.T) {
	h := newHarness(t)
	v := h.createVol(matchVolunteer("Callum", "AB10 1AF"))
	other := h.createVol(matchVolunteer("Isla", "AB10 1AF"))
	hr := h.createHR(shopping())
	vSecret := h.newToken(h.st, &pb.Token{DisplayName: "v", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: v.Name})
	oSecret := h.newToken(h.st, &pb.Token{DisplayName: "o", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: other.Name})
	vConn, oConn := h.as(vSecret), h.as(oSecret)
	vHR, oHR := pb.NewHelpRequestServiceClient(vConn), pb.NewHelpRequestServiceClient(oConn)
	vMatch, oMatch := pb.NewMatchingServiceClient(vConn), pb.NewMatchingServiceClient(oConn)

	// Before any offer, the request is not theirs to see.
	if _, err := vHR.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr.Name}); status.Code(err) != codes.NotFound {
		t.Fatalf("before the offer: %v", err)
	}
	off := h.offer(hr.Name, v.Name)
	limited := func(stage string) {
		t.Helper()
		got, err := vHR.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr.Name})
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		r := got.HelpRequest
		if r.Requester != nil || r.Details != "" || r.Vulnerability != nil || len(r.Location.GetAddressLines()) > 0 || r.Location.GetLatLng() != nil {
			t.Errorf("%s: the volunteer sees personal data: %v", stage, r)
		}
		if r.Location.GetStreet() != "Union Street" || r.Location.GetPostcode() != "AB10 1" || len(r.Needs) == 0 || r.GetWindow() == nil {
			t.Errorf("%s: the volunteer does not see street, sector, needs and window: %v", stage, r)
		}
	}
	limited("offered")
	got, err := vMatch.GetOffer(h.ctx, &pb.GetOfferRequest{Name: off.Name})
	if err != nil || got.Offer.GetDistanceMetres() <= 0 {
		t.Errorf("offer as seen by its volunteer: %v %v", got, err)
	}
	// The other volunteer sees neither, and cannot answer for them.
	if _, err := oHR.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr.Name}); status.Code(err) != codes.NotFound {
		t.Errorf("other volunteer reads the request: %v", err)
	}
	if _, err := oMatch.GetOffer(h.ctx, &pb.GetOfferRequest{Name: off.Name}); status.Code(err) != codes.NotFound {
		t.Errorf("other volunteer reads the offer: %v", err)
	}
	if _, err := oMatch.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: off.Name}); status.Code(err) != codes.NotFound {
		t.Errorf("other volunteer accepts: %v", err)
	}
	if _, err := pb.NewVolunteerServiceClient(oConn).GetVolunteer(h.ctx, &pb.GetVolunteerRequest{Name: v.Name}); status.Code(err) != codes.NotFound {
		t.Errorf("other volunteer reads a volunteer: %v", err)
	}

	if _, err := vMatch.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: off.Name}); err != nil {
		t.Fatal(err)
	}
	full, err := vHR.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr.Name})
	if err != nil || full.HelpRequest.GetRequester().GetPhone() != "+441224123456" || len(full.HelpRequest.Location.GetAddressLines()) != 2 {
		t.Fatalf("assigned: %v %v", full, err)
	}
	if _, err := oMatch.CompleteHelpRequest(h.ctx, &pb.CompleteHelpRequestRequest{Name: hr.Name}); status.Code(err) != codes.NotFound {
		t.Errorf("other volunteer completes: %v", err)
	}
	done, err := vMatch.CompleteHelpRequest(h.ctx, &pb.CompleteHelpRequestRequest{Name: hr.Name})
	if err != nil || done.HelpRequest.Requester != nil {
		t.Fatalf("complete: %v %v", done, err)
	}
	limited("fulfilled")
	// Exactly one read of the request's contact by this volunteer is on
	// record: the one while assigned.
	recs, _, err := h.st.ListAuditRecords(h.ctx, store.AuditFilter{Resource: hr.Name, Action: "read_contact"}, store.Page{Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	var byVolunteer int
	for _, r := range recs {
		if r.Role == pb.Role_ROLE_VOLUNTEER {
			byVolunteer++
		}
	}
	if byVolunteer != 1 {
		t.Errorf("%d audited reads by the volunteer, want 1", byVolunteer)
	}
}

// TestAuditCountsEqualContactReads makes reads of contact details through
// every call that returns them and compares the audit log.
func TestAuditCountsEqualContactReads(t *testing.T) {
	h := newHarness(t)
	secret := h.newToken(h.st, &pb.Token{DisplayName: "desk", Role: pb.Role_ROLE_HELPLINE})
	conn := h.as(secret)
	hrs, vols := pb.NewHelpRequestServiceClient(conn), pb.NewVolunteerServiceClient(conn)
	var made []*pb.HelpRequest
	for range 5 {
		r, err := hrs.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: validHelpRequest()})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, r.HelpRequest)
	}
	v, err := vols.CreateVolunteer(h.ctx, &pb.CreateVolunteerRequest{Volunteer: validVolunteer()})
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	for _, hr := range made[:3] {
		if _, err := hrs.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr.Name}); err != nil {
			t.Fatal(err)
		}
		reads++
	}
	list, err := hrs.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{PageSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	reads += len(list.HelpRequests)
	if _, err := vols.GetVolunteer(h.ctx, &pb.GetVolunteerRequest{Name: v.Volunteer.Name}); err != nil {
		t.Fatal(err)
	}
	reads++
	vl, err := vols.ListVolunteers(h.ctx, &pb.ListVolunteersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	reads += len(vl.Volunteers)
	// A refused read is not a read.
	_, _ = hrs.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: "helpRequests/01arz3ndektsv4rrffq69g5fav"})
	// A change to personal fields is recorded as such, one per change.
	// Its answer, the whole record, is a read besides.
	up := &pb.HelpRequest{Name: made[0].Name, Requester: &pb.Contact{DisplayName: "M Ironside", Phone: "01224 123456"}}
	if _, err := hrs.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: up}); err != nil {
		t.Fatal(err)
	}
	reads++
	up = &pb.HelpRequest{Name: made[1].Name, Urgency: pb.Urgency_URGENCY_HIGH}
	if _, err := hrs.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: up}); err != nil {
		t.Fatal(err)
	}
	reads++

	actor := ""
	toks, _, _ := h.st.ListTokens(h.ctx, store.Page{Size: 10})
	for _, tk := range toks {
		if tk.DisplayName == "desk" {
			actor = tk.Name
		}
	}
	count := map[string]int{}
	for tok := ""; ; {
		recs, next, err := h.st.ListAuditRecords(h.ctx, store.AuditFilter{Actor: actor}, store.Page{Size: 100, Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			count[r.Action]++
			if r.Role != pb.Role_ROLE_HELPLINE || r.Method == "" || r.Resource == "" || len(r.Fields) == 0 {
				t.Errorf("incomplete audit record %v", r)
			}
		}
		if tok = next; tok == "" {
			break
		}
	}
	if count["read_contact"] != reads {
		t.Errorf("%d audited reads, %d reads made", count["read_contact"], reads)
	}
	if count["create"] != 6 || count["update"] != 1 {
		t.Errorf("audited changes %v, want 6 creates and 1 update (the urgency change touches nothing personal)", count)
	}
}

func TestRateLimitIsPerPrincipal(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithRateLimit(20, 10))
	noisy := pb.NewGazetteerServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "noisy", Role: pb.Role_ROLE_HELPLINE})))
	quiet := pb.NewGazetteerServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "quiet", Role: pb.Role_ROLE_HELPLINE})))
	var throttled atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := noisy.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"})
				if status.Code(err) == codes.ResourceExhausted {
					throttled.Add(1)
				} else if err != nil {
					t.Error(err)
				}
			}
		})
	}
	// The quiet principal, at its own modest pace, is never refused.
	for range 15 {
		if _, err := quiet.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"}); err != nil {
			t.Errorf("quiet principal: %v", err)
		}
		time.Sleep(60 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if throttled.Load() == 0 {
		t.Error("the noisy principal was never throttled")
	}
	_, err := noisy.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"})
	if err != nil && status.Code(err) == codes.ResourceExhausted {
		time.Sleep(200 * time.Millisecond) // the bucket refills
		if _, err := noisy.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"}); err != nil {
			t.Errorf("after a pause: %v", err)
		}
	}
}

func TestStreamsPerPrincipal(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithMaxStreams(2))
	a := pb.NewEventServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "a", Role: pb.Role_ROLE_COORDINATOR})))
	w1 := h.watch(a, &pb.WatchEventsRequest{})
	w2 := h.watch(a, &pb.WatchEventsRequest{})
	h.waitFor(w1, 0)
	h.waitFor(w2, 0)
	stream, err := a.WatchEvents(h.ctx, &pb.WatchEventsRequest{})
	if err == nil {
		_, err = stream.Recv()
	}
	wantFailure(t, err, codes.ResourceExhausted, server.ReasonTooManyStreams)
	// Another principal is not affected.
	w3 := h.watch(h.ev, &pb.WatchEventsRequest{})
	h.waitFor(w3, 0)
}

func TestAdminTokens(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	// A partner token needs a registered organisation.
	_, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "fb", Role: pb.Role_ROLE_PARTNER, Organisation: "granite-foodbank"}})
	if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || !slices.Equal(fields, []string{"token.organisation"}) {
		t.Fatalf("partner of an unknown organisation: %v", err)
	}
	if _, err := admin.CreateOrganisation(h.ctx, &pb.CreateOrganisationRequest{Organisation: &pb.Organisation{Name: "organisations/granite-foodbank", DisplayName: "Granite Food Bank"}}); err != nil {
		t.Fatal(err)
	}
	_, err = admin.CreateOrganisation(h.ctx, &pb.CreateOrganisationRequest{Organisation: &pb.Organisation{Name: "organisations/granite-foodbank", DisplayName: "Again"}})
	wantFailure(t, err, codes.AlreadyExists, server.ReasonAlreadyExists)
	resp, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "fb", Role: pb.Role_ROLE_PARTNER, Organisation: "granite-foodbank"}})
	if err != nil || !strings.HasPrefix(resp.Secret, "ds_") || resp.Token.Creator == "" {
		t.Fatalf("create token: %v %v", resp, err)
	}
	partnerConn := h.as(resp.Secret)
	hr := validHelpRequest()
	hr.Organisation = ""
	created, err := pb.NewHelpRequestServiceClient(partnerConn).CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
	if err != nil || created.HelpRequest.Organisation != "granite-foodbank" {
		t.Fatalf("partner create: %v %v", created, err)
	}
	// The secret is not stored, nor listed.
	list, err := admin.ListTokens(h.ctx, &pb.ListTokensRequest{})
	if err != nil || strings.Contains(fmt.Sprint(list), resp.Secret) {
		t.Fatalf("list tokens: %v", err)
	}
	if _, err := admin.RevokeToken(h.ctx, &pb.RevokeTokenRequest{Name: resp.Token.Name}); err != nil {
		t.Fatal(err)
	}
	_, err = pb.NewGazetteerServiceClient(partnerConn).LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"})
	wantFailure(t, err, codes.Unauthenticated, server.ReasonUnauthenticated)
	_, err = admin.RevokeToken(h.ctx, &pb.RevokeTokenRequest{Name: resp.Token.Name})
	wantFailure(t, err, codes.FailedPrecondition, server.ReasonWrongState)

	tests := []struct {
		name  string
		tok   *pb.Token
		field string
	}{
		{"no role", &pb.Token{DisplayName: "x"}, "token.role"},
		{"no name", &pb.Token{Role: pb.Role_ROLE_HELPLINE}, "token.display_name"},
		{"organisation on helpline", &pb.Token{DisplayName: "x", Role: pb.Role_ROLE_HELPLINE, Organisation: "granite-foodbank"}, "token.organisation"},
		{"volunteer without record", &pb.Token{DisplayName: "x", Role: pb.Role_ROLE_VOLUNTEER}, "token.volunteer"},
		{"volunteer unknown", &pb.Token{DisplayName: "x", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: "volunteers/01arz3ndektsv4rrffq69g5fav"}, "token.volunteer"},
		{"expired at birth", &pb.Token{DisplayName: "x", Role: pb.Role_ROLE_HELPLINE, ExpireTime: timestamppb.New(time.Now().Add(-time.Hour))}, "token.expire_time"},
	}
	for _, tt := range tests {
		_, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: tt.tok})
		if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || !slices.Equal(fields, []string{tt.field}) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestBootstrapAdminToken(t *testing.T) {
	st, err := store.Open(t.TempDir() + "/d.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	first, err := server.BootstrapAdminToken(context.Background(), st)
	if err != nil || !strings.HasPrefix(first, "ds_") {
		t.Fatalf("first: %q %v", first, err)
	}
	again, err := server.BootstrapAdminToken(context.Background(), st)
	if err != nil || again != "" {
		t.Fatalf("second: %q %v", again, err)
	}
}

// TestPartnerBatchAndEventsScoped checks that a partner's batch rows and
// event stream are held to its organisation.
func TestPartnerBatchAndEventsScoped(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithWatchTimings(20*time.Millisecond, time.Minute))
	secret := h.newToken(h.st, &pb.Token{DisplayName: "fb", Role: pb.Role_ROLE_PARTNER, Organisation: "granite-city-foodbank"})
	conn := h.as(secret)
	w := h.watch(pb.NewEventServiceClient(conn), &pb.WatchEventsRequest{StartRevision: 1})
	mine, theirs := bulkRow("fb-1"), bulkRow("fb-2")
	theirs.Organisation = "other-org"
	resp, err := pb.NewHelpRequestServiceClient(conn).BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{mine, theirs}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Results[0].Error != nil || resp.Results[1].GetError().GetCode() != "PERMISSION_DENIED" {
		t.Errorf("partner batch: %v", resp.Results)
	}
	h.createHR(validHelpRequest()) // another organisation's change
	h.waitFor(w, h.revision())
	evs, _ := w.events()
	if len(evs) != 1 || evs[0].Organisation != "granite-city-foodbank" {
		t.Errorf("partner events: %q", eventKeys(evs))
	}
	stream, err := pb.NewEventServiceClient(conn).WatchEvents(h.ctx, &pb.WatchEventsRequest{Organisation: "aberdeen-mutual-aid"})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("partner watching another organisation: %v", err)
	}
}

func TestVolunteerUpdatesOwnRecordButNotVetting(t *testing.T) {
	h := newHarness(t)
	v := h.createVol(validVolunteer())
	other := h.createVol(validVolunteer())
	vols := pb.NewVolunteerServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "v", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: v.Name})))
	if _, err := vols.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: &pb.Volunteer{Name: v.Name, Paused: true},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}}}); err != nil {
		t.Errorf("pause own record: %v", err)
	}
	_, err := vols.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: &pb.Volunteer{Name: v.Name, Vetting: &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"vetting"}}})
	wantFailure(t, err, codes.PermissionDenied, server.ReasonPermissionDenied)
	_, err = vols.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: &pb.Volunteer{Name: other.Name, Paused: true},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}}})
	if status.Code(err) != codes.NotFound {
		t.Errorf("update another volunteer: %v", err)
	}
	if got := h.getVol(v.Name); !got.Paused || got.Vetting.GetLevel() != validVolunteer().Vetting.Level {
		t.Errorf("after the updates: paused %v, vetting %v", got.Paused, got.Vetting)
	}
}

// TestVolunteerWatchesOwnEvents: a volunteer's stream carries the events
// that name them (their offers and their record) and nothing else.
func TestVolunteerWatchesOwnEvents(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithWatchTimings(20*time.Millisecond, time.Minute))
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AF"))
	conn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "ann", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: ann.Name}))
	w := h.watch(pb.NewEventServiceClient(conn), &pb.WatchEventsRequest{StartRevision: 1})

	r1, r2 := h.createHR(shopping()), h.createHR(shopping(callerPhone("01224 765432")))
	toAnn := h.offer(r1.Name, ann.Name)
	h.offer(r2.Name, bob.Name)
	if _, err := h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: toAnn.Name}); err != nil {
		t.Fatal(err)
	}
	h.waitFor(w, h.revision())
	got, _ := w.events()
	var want []*pb.Event
	for _, e := range h.logged(1) {
		if e.Volunteer == ann.Name {
			want = append(want, e)
		}
	}
	if !slices.Equal(eventKeys(got), eventKeys(want)) {
		t.Errorf("Ann's stream: %q, want %q", eventKeys(got), eventKeys(want))
	}
	var types []pb.Event_Type
	for _, e := range got {
		types = append(types, e.Type)
	}
	if !slices.Equal(types, []pb.Event_Type{pb.Event_TYPE_VOLUNTEER_CREATED, pb.Event_TYPE_OFFER_CREATED, pb.Event_TYPE_OFFER_DECLINED}) {
		t.Errorf("Ann's stream holds %v", types)
	}
}

// The bearer scheme is read in any case (RFC 7235: a scheme is
// case-insensitive), with spaces around the secret;
// any other scheme, or none, is no token.
func TestAuthorizationHeaderForms(t *testing.T) {
	h := newHarness(t)
	secret := h.adminSecret
	for _, c := range []struct {
		name   string
		values []string
		want   codes.Code
	}{
		{"Bearer", []string{"Bearer " + secret}, codes.OK},
		{"lower case scheme", []string{"bearer " + secret}, codes.OK},
		{"upper case scheme", []string{"BEARER " + secret}, codes.OK},
		{"mixed case scheme", []string{"BeArEr " + secret}, codes.OK},
		{"scheme alone", []string{"Bearer"}, codes.Unauthenticated},
		{"scheme and a space", []string{"Bearer "}, codes.Unauthenticated},
		{"a space inside the secret", []string{"Bearer " + secret[:5] + " " + secret[5:]}, codes.Unauthenticated},
		{"spaces around the secret", []string{"Bearer   " + secret + "  "}, codes.OK},
		{"second header holds it", []string{"Basic dXNlcjpwYXNz", "Bearer " + secret}, codes.OK},
		{"no scheme", []string{secret}, codes.Unauthenticated},
		{"another scheme", []string{"Basic " + secret}, codes.Unauthenticated},
		{"wrong secret", []string{"Bearer ds_notatoken"}, codes.Unauthenticated},
		{"no header", nil, codes.Unauthenticated},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := h.ctx
			for _, v := range c.values {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
			}
			_, err := pb.NewGazetteerServiceClient(h.as("")).LookupPostcode(ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"})
			if got := status.Code(err); got != c.want {
				t.Errorf("got %v (%v), want %v", got, err, c.want)
			}
		})
	}
}
