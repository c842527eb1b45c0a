package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

var inHand = []pb.HelpRequest_State{pb.HelpRequest_STATE_OPEN, pb.HelpRequest_STATE_OFFERED, pb.HelpRequest_STATE_ASSIGNED}

// inHandFixture stores 32 requests, one for each state of OPEN, OFFERED,
// ASSIGNED and CANCELLED, each urgency, and each of two organisations,
// half of them in AB10 and half in AB11. It returns them as stored, in
// creation order.
func inHandFixture(t *testing.T, h *harness) []*pb.HelpRequest {
	t.Helper()
	states := append(slices.Clone(inHand), pb.HelpRequest_STATE_CANCELLED)
	urgencies := []pb.Urgency{pb.Urgency_URGENCY_LOW, pb.Urgency_URGENCY_NORMAL, pb.Urgency_URGENCY_HIGH, pb.Urgency_URGENCY_CRITICAL}
	vol, err := h.st.CreateVolunteer(h.ctx, &pb.Volunteer{
		Contact: &pb.Contact{DisplayName: "Callum Reid", Phone: "+447700900123"}, Home: &pb.Location{Postcode: "AB10 1AF"},
		TravelMode: pb.TravelMode_TRAVEL_MODE_CAR, Capacity: 50, Organisation: "aberdeen-mutual-aid",
	}, store.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*pb.HelpRequest
	for i := range 32 {
		in := validHelpRequest()
		in.Urgency = urgencies[(i/4)%4]
		in.Requester.Phone = fmt.Sprintf("01224 %06d", i%3)
		in.Location.Postcode = []string{"AB10 1AB", "AB11 5QN"}[(i/16)%2]
		if i%2 == 1 {
			in.Organisation = "torry-food-bank"
		}
		hr := h.createHR(in)
		id := strings.TrimPrefix(hr.Name, "helpRequests/")
		switch states[i%4] {
		case pb.HelpRequest_STATE_OFFERED, pb.HelpRequest_STATE_ASSIGNED:
			res, err := h.st.CreateOffer(h.ctx, store.OfferParams{HelpRequestID: id, VolunteerID: strings.TrimPrefix(vol.Name, "volunteers/"), Lease: time.Hour, SecondVolunteerOK: true})
			if err != nil {
				t.Fatal(err)
			}
			hr = res.HelpRequest
			if states[i%4] == pb.HelpRequest_STATE_ASSIGNED {
				if res, err = h.st.AcceptOffer(h.ctx, strings.TrimPrefix(res.Offer.Name, "offers/")); err != nil {
					t.Fatal(err)
				}
				hr = res.HelpRequest
			}
		case pb.HelpRequest_STATE_CANCELLED:
			res, err := h.st.CancelHelpRequest(h.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			hr = res.HelpRequest
		}
		if hr.State != states[i%4] {
			t.Fatalf("fixture %d is %v", i, hr.State)
		}
		out = append(out, hr)
	}
	return out
}

// listHarness is a harness without the per-token call rate: these tests
// page one request at a time through many filters, far faster than
// anyone reads.
func listHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWithClock(t, nil, server.WithRateLimit(0, 0))
}

// listAll follows next_page_token through every page of req with conn's
// service, checking that no page is larger than asked.
func listAll(t *testing.T, h *harness, hrc pb.HelpRequestServiceClient, req *pb.ListHelpRequestsRequest) []string {
	t.Helper()
	req = proto.Clone(req).(*pb.ListHelpRequestsRequest)
	var names []string
	for pages := 0; ; pages++ {
		resp, err := hrc.ListHelpRequests(h.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if req.PageSize > 0 && int32(len(resp.HelpRequests)) > req.PageSize {
			t.Fatalf("page of %d, asked for %d", len(resp.HelpRequests), req.PageSize)
		}
		for _, r := range resp.HelpRequests {
			names = append(names, r.Name)
		}
		if resp.NextPageToken == "" {
			return names
		}
		if pages > 100 {
			t.Fatal("pagination does not end")
		}
		req.PageToken = resp.NextPageToken
	}
}

// A coordinator taking over a shift lists what is still in hand, OPEN,
// OFFERED and ASSIGNED together, and what is urgent, alone or with any
// other filter, page by page.
func TestListHelpRequestsInHandAndUrgency(t *testing.T) {
	h := listHarness(t)
	all := inHandFixture(t, h)
	const (
		high = pb.Urgency_URGENCY_HIGH
		crit = pb.Urgency_URGENCY_CRITICAL
	)
	live := func(r *pb.HelpRequest) bool { return slices.Contains(inHand, r.State) }
	tests := []struct {
		name string
		req  *pb.ListHelpRequestsRequest
		keep func(r *pb.HelpRequest) bool
		// byPostcode: the list is ordered by postcode, then age.
		byPostcode bool
	}{
		{"in hand", &pb.ListHelpRequestsRequest{States: inHand}, live, false},
		{"in hand, named in another order", &pb.ListHelpRequestsRequest{States: []pb.HelpRequest_State{pb.HelpRequest_STATE_ASSIGNED, pb.HelpRequest_STATE_OPEN, pb.HelpRequest_STATE_OFFERED}}, live, false},
		{"offered or assigned", &pb.ListHelpRequestsRequest{States: inHand[1:]}, func(r *pb.HelpRequest) bool { return r.State != pb.HelpRequest_STATE_OPEN && live(r) }, false},
		{"open or cancelled", &pb.ListHelpRequestsRequest{States: []pb.HelpRequest_State{pb.HelpRequest_STATE_CANCELLED, pb.HelpRequest_STATE_OPEN}},
			func(r *pb.HelpRequest) bool {
				return r.State == pb.HelpRequest_STATE_OPEN || r.State == pb.HelpRequest_STATE_CANCELLED
			}, false},
		{"high and above", &pb.ListHelpRequestsRequest{MinUrgency: high}, func(r *pb.HelpRequest) bool { return r.Urgency >= high }, false},
		{"critical only", &pb.ListHelpRequestsRequest{MinUrgency: crit}, func(r *pb.HelpRequest) bool { return r.Urgency == crit }, false},
		{"low and above is all", &pb.ListHelpRequestsRequest{MinUrgency: pb.Urgency_URGENCY_LOW}, func(*pb.HelpRequest) bool { return true }, false},
		{"in hand, critical", &pb.ListHelpRequestsRequest{States: inHand, MinUrgency: crit}, func(r *pb.HelpRequest) bool { return live(r) && r.Urgency == crit }, false},
		{"one state, high", &pb.ListHelpRequestsRequest{State: pb.HelpRequest_STATE_OFFERED, MinUrgency: high},
			func(r *pb.HelpRequest) bool { return r.State == pb.HelpRequest_STATE_OFFERED && r.Urgency >= high }, false},
		{"in hand, organisation, high", &pb.ListHelpRequestsRequest{States: inHand, Organisation: "torry-food-bank", MinUrgency: high},
			func(r *pb.HelpRequest) bool {
				return live(r) && r.Organisation == "torry-food-bank" && r.Urgency >= high
			}, false},
		{"in hand in a district, high", &pb.ListHelpRequestsRequest{States: inHand, Postcode: "ab11", MinUrgency: high},
			func(r *pb.HelpRequest) bool { return live(r) && r.Location.Postcode == "AB11 5QN" && r.Urgency >= high }, true},
		{"in hand in a sector", &pb.ListHelpRequestsRequest{States: inHand, Postcode: "AB10 1"},
			func(r *pb.HelpRequest) bool { return live(r) && r.Location.Postcode == "AB10 1AB" }, true},
		{"in hand by phone, critical", &pb.ListHelpRequestsRequest{States: inHand, RequesterPhone: "+44 1224 000001", MinUrgency: crit},
			func(r *pb.HelpRequest) bool {
				return live(r) && r.Requester.Phone == "+441224000001" && r.Urgency == crit
			}, false},
	}
	for _, tt := range tests {
		var want []*pb.HelpRequest
		for _, r := range all {
			if tt.keep(r) {
				want = append(want, r)
			}
		}
		if tt.byPostcode {
			slices.SortStableFunc(want, func(a, b *pb.HelpRequest) int { return strings.Compare(a.Location.Postcode, b.Location.Postcode) })
		}
		var wantNames []string
		for _, r := range want {
			wantNames = append(wantNames, r.Name)
		}
		if len(wantNames) == 0 || len(wantNames) == len(all) && tt.req.MinUrgency != pb.Urgency_URGENCY_LOW {
			t.Fatalf("%s: the fixture gives %d of %d; fix the test", tt.name, len(wantNames), len(all))
		}
		for _, size := range []int32{1, 3, 0} {
			t.Run(fmt.Sprintf("%s/size=%d", tt.name, size), func(t *testing.T) {
				req := proto.Clone(tt.req).(*pb.ListHelpRequestsRequest)
				req.PageSize = size
				if got := listAll(t, h, h.hr, req); !slices.Equal(got, wantNames) {
					t.Errorf("listed %v\nwant %v", got, wantNames)
				}
			})
		}
	}
}

// A wrong state or urgency is INVALID_ARGUMENT naming the field, as a
// wrong state always was.
func TestListHelpRequestsBadStatesAndUrgency(t *testing.T) {
	h := listHarness(t)
	open := pb.HelpRequest_STATE_OPEN
	tests := []struct {
		name   string
		req    *pb.ListHelpRequestsRequest
		fields []string
	}{
		{"unspecified state", &pb.ListHelpRequestsRequest{States: []pb.HelpRequest_State{pb.HelpRequest_STATE_UNSPECIFIED}}, []string{"states[0]"}},
		{"unknown state", &pb.ListHelpRequestsRequest{States: []pb.HelpRequest_State{open, 77}}, []string{"states[1]"}},
		{"repeated state", &pb.ListHelpRequestsRequest{States: []pb.HelpRequest_State{open, pb.HelpRequest_STATE_ASSIGNED, open}}, []string{"states[2]"}},
		{"state and states", &pb.ListHelpRequestsRequest{State: open, States: []pb.HelpRequest_State{pb.HelpRequest_STATE_OFFERED}}, []string{"states"}},
		{"unknown urgency", &pb.ListHelpRequestsRequest{MinUrgency: 9}, []string{"min_urgency"}},
		{"negative urgency", &pb.ListHelpRequestsRequest{MinUrgency: -1}, []string{"min_urgency"}},
		{"both wrong", &pb.ListHelpRequestsRequest{States: []pb.HelpRequest_State{8}, MinUrgency: 5}, []string{"states[0]", "min_urgency"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.hr.ListHelpRequests(h.ctx, tt.req)
			if code, reason, fields := errorOf(t, err); code != codes.InvalidArgument || reason != "INVALID_FIELDS" || !slices.Equal(fields, tt.fields) {
				t.Errorf("got %v, %s, fields %v; want INVALID_ARGUMENT (INVALID_FIELDS) naming %v", code, reason, fields, tt.fields)
			}
		})
	}
}

// A page token holds only for the filter it came with: the same states in
// another order, or one state given either way, are the same filter; any
// change of states or urgency is refused, naming page_token.
func TestListHelpRequestsTokensAcrossFilters(t *testing.T) {
	h := listHarness(t)
	inHandFixture(t, h)
	open := pb.HelpRequest_STATE_OPEN
	first := func(req *pb.ListHelpRequestsRequest) string {
		t.Helper()
		req = proto.Clone(req).(*pb.ListHelpRequestsRequest)
		req.PageSize = 1
		resp, err := h.hr.ListHelpRequests(h.ctx, req)
		if err != nil || resp.NextPageToken == "" {
			t.Fatalf("first page of %v: token %q, %v", req, resp.GetNextPageToken(), err)
		}
		return resp.NextPageToken
	}
	use := func(req *pb.ListHelpRequestsRequest, token string) error {
		req = proto.Clone(req).(*pb.ListHelpRequestsRequest)
		req.PageSize, req.PageToken = 1, token
		_, err := h.hr.ListHelpRequests(h.ctx, req)
		return err
	}
	same := [][2]*pb.ListHelpRequestsRequest{
		{{States: inHand}, {States: []pb.HelpRequest_State{pb.HelpRequest_STATE_OFFERED, pb.HelpRequest_STATE_ASSIGNED, open}}},
		{{State: open}, {States: []pb.HelpRequest_State{open}}},
		{{States: inHand, MinUrgency: pb.Urgency_URGENCY_HIGH}, {States: inHand, MinUrgency: pb.Urgency_URGENCY_HIGH}},
	}
	for _, pair := range same {
		if err := use(pair[1], first(pair[0])); err != nil {
			t.Errorf("token of %v taken to %v: %v", pair[0], pair[1], err)
		}
	}
	filters := []*pb.ListHelpRequestsRequest{
		{},
		{State: open},
		{States: inHand},
		{States: inHand[:2]},
		{MinUrgency: pb.Urgency_URGENCY_HIGH},
		{States: inHand, MinUrgency: pb.Urgency_URGENCY_HIGH},
		{States: inHand, MinUrgency: pb.Urgency_URGENCY_CRITICAL},
		{States: inHand, Organisation: "torry-food-bank"},
	}
	for i, made := range filters {
		tok := first(made)
		for j, used := range filters {
			if i == j {
				continue
			}
			err := use(used, tok)
			if code, reason, fields := errorOf(t, err); code != codes.InvalidArgument || reason != "INVALID_PAGE_TOKEN" || !slices.Equal(fields, []string{"page_token"}) {
				t.Errorf("token of {%v} taken to {%v}: %v", made, used, err)
			}
		}
	}
}

// A partner's token lists only its own organisation's requests in hand,
// whatever urgency it asks for, and is refused another's as before.
func TestListHelpRequestsInHandPartnerIsolation(t *testing.T) {
	h := listHarness(t)
	all := inHandFixture(t, h)
	hrc := pb.NewHelpRequestServiceClient(h.partnerConn())
	var want []string
	for _, r := range all {
		if r.Organisation == "aberdeen-mutual-aid" && slices.Contains(inHand, r.State) && r.Urgency == pb.Urgency_URGENCY_CRITICAL {
			want = append(want, r.Name)
		}
	}
	req := &pb.ListHelpRequestsRequest{States: inHand, MinUrgency: pb.Urgency_URGENCY_CRITICAL, PageSize: 1}
	if got := listAll(t, h, hrc, req); !slices.Equal(got, want) || len(want) == 0 {
		t.Errorf("partner's critical in hand = %v, want %v", got, want)
	}
	req.Organisation = "torry-food-bank"
	_, err := hrc.ListHelpRequests(h.ctx, req)
	if code, _, _ := errorOf(t, err); code != codes.PermissionDenied {
		t.Errorf("another organisation's: %v, want PERMISSION_DENIED", err)
	}
}
