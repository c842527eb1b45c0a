package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

var inHandStates = []pb.HelpRequest_State{pb.HelpRequest_STATE_OPEN, pb.HelpRequest_STATE_OFFERED, pb.HelpRequest_STATE_ASSIGNED}

// inHandRow is one request in hand of inHandFixture's.
type inHandRow struct {
	state   pb.HelpRequest_State
	urgency pb.Urgency
	org     string
}

// inHandFixture stores 3*maxScanned closed requests of org-a, then one
// request in hand for each row, returned in the rows' order.
func inHandFixture(t *testing.T, s *BoltStore, rows []inHandRow) []*pb.HelpRequest {
	t.Helper()
	for i := range 3 * maxScanned {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", fmt.Sprintf("old-%d", i), "AB10 1AB", ""), Idempotency{})
		mustOK(t, err, "create")
		_, err = s.CancelHelpRequest(bg, idOf(hr.Name))
		mustOK(t, err, "cancel")
	}
	v := lcVolunteer(t, s, 100)
	var out []*pb.HelpRequest
	for i, row := range rows {
		in := newHelpRequest(row.org, fmt.Sprintf("new-%d", i), "AB10 1AB", fmt.Sprintf("+4477007%05d", i))
		in.Urgency = row.urgency
		hr, err := s.CreateHelpRequest(bg, in, Idempotency{})
		mustOK(t, err, "create")
		switch row.state {
		case pb.HelpRequest_STATE_OFFERED:
			hr = lcOffer(t, s, hr, v).HelpRequest
		case pb.HelpRequest_STATE_ASSIGNED:
			off := lcOffer(t, s, hr, v)
			hr = lcMust(t, "accept")(s.AcceptOffer(bg, idOf(off.Offer.Name))).HelpRequest
		}
		if hr.State != row.state {
			t.Fatalf("fixture row %d is %v, want %v", i, hr.State, row.state)
		}
		out = append(out, hr)
	}
	return out
}

// The requests still in hand, of every state together, come on the first
// page oldest first however many closed before them, and the urgency
// filter is checked on each: a coordinator taking over a shift reads the
// critical ones in hand in one call, not page after empty page.
func TestListInHandByUrgencySkipsHistory(t *testing.T) {
	defer func(n int) { maxScanned = n }(maxScanned)
	maxScanned = 20
	s, _ := newStore(t)
	const (
		open, offered, assigned = pb.HelpRequest_STATE_OPEN, pb.HelpRequest_STATE_OFFERED, pb.HelpRequest_STATE_ASSIGNED
		low, normal, high, crit = pb.Urgency_URGENCY_LOW, pb.Urgency_URGENCY_NORMAL, pb.Urgency_URGENCY_HIGH, pb.Urgency_URGENCY_CRITICAL
	)
	rows := []inHandRow{
		{assigned, crit, "org-a"}, {open, low, "org-a"}, {offered, crit, "org-b"}, {open, high, "org-a"},
		{offered, normal, "org-a"}, {assigned, pb.Urgency_URGENCY_UNSPECIFIED, "org-a"}, {open, crit, "org-b"},
	}
	hrs := inHandFixture(t, s, rows)
	pick := func(keep func(r inHandRow) bool) []string {
		var out []string
		for i, r := range rows {
			if keep(r) {
				out = append(out, hrs[i].Name)
			}
		}
		return out
	}
	tests := []struct {
		name string
		f    HelpRequestFilter
		want []string
	}{
		{"in hand", HelpRequestFilter{States: inHandStates}, pick(func(inHandRow) bool { return true })},
		{"in hand, critical", HelpRequestFilter{States: inHandStates, MinUrgency: crit}, pick(func(r inHandRow) bool { return r.urgency == crit })},
		{"in hand, high and above", HelpRequestFilter{States: inHandStates, MinUrgency: high}, pick(func(r inHandRow) bool { return r.urgency >= high })},
		{"in hand, normal and above (unset counts)", HelpRequestFilter{States: inHandStates, MinUrgency: normal}, pick(func(r inHandRow) bool { return r.urgency != low })},
		{"offered or assigned", HelpRequestFilter{States: []pb.HelpRequest_State{assigned, offered}}, pick(func(r inHandRow) bool { return r.state != open })},
		{"org-a in hand, critical", HelpRequestFilter{States: inHandStates, Organisation: "org-a", MinUrgency: crit}, pick(func(r inHandRow) bool { return r.org == "org-a" && r.urgency == crit })},
		{"in hand at a postcode", HelpRequestFilter{States: inHandStates, PostcodePrefix: "AB10 ", MinUrgency: high}, pick(func(r inHandRow) bool { return r.urgency >= high })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, tok, err := s.ListHelpRequests(bg, tt.f, Page{Size: 50})
			mustOK(t, err, "list")
			if got := names(page); !slices.Equal(got, tt.want) || tok != "" {
				t.Fatalf("first page = %v, token %q; want %v and no token", got, tok, tt.want)
			}
			if got := names(listAllHR(t, s, tt.f, 1)); !slices.Equal(got, tt.want) {
				t.Errorf("a page at a time: %v, want %v", got, tt.want)
			}
		})
	}
}

// An organisation with few requests lists its own in hand by its own
// history, not by walking another group's backlog in hand; and the walks
// by organisation and by state take up each other's tokens.
func TestListInHandByOrganisationSkipsOthersBacklog(t *testing.T) {
	defer func(n int) { maxScanned = n }(maxScanned)
	maxScanned = 20
	s, _ := newStore(t)
	var want []string
	for i := range 3 * maxScanned {
		_, err := s.CreateHelpRequest(bg, newHelpRequest("food-bank", fmt.Sprintf("fb-%d", i), "AB10 1AB", ""), Idempotency{})
		mustOK(t, err, "create")
		if i%20 == 5 {
			hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", fmt.Sprintf("a-%d", i), "AB10 1AB", ""), Idempotency{})
			mustOK(t, err, "create")
			want = append(want, hr.Name)
		}
	}
	f := HelpRequestFilter{States: inHandStates, Organisation: "org-a"}
	page, tok, err := s.ListHelpRequests(bg, f, Page{Size: 50})
	mustOK(t, err, "list")
	if got := names(page); !slices.Equal(got, want) || tok != "" {
		t.Fatalf("org-a's in hand = %v, token %q; want %v and no token", got, tok, want)
	}
	first, tok, err := s.ListHelpRequests(bg, f, Page{Size: 1})
	mustOK(t, err, "list")
	// The food bank's intake ends: now the states are the shorter walk.
	for i := range 3 * maxScanned {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", fmt.Sprintf("closed-%d", i), "AB10 1AB", ""), Idempotency{})
		mustOK(t, err, "create")
		_, err = s.CancelHelpRequest(bg, idOf(hr.Name))
		mustOK(t, err, "cancel")
	}
	got := names(first)
	for tok != "" {
		var page []*pb.HelpRequest
		page, tok, err = s.ListHelpRequests(bg, f, Page{Size: 1, Token: tok})
		mustOK(t, err, "list")
		got = append(got, names(page)...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("across the change of walk: %v, want %v", got, want)
	}
}

// A page token holds for the filter it was made for: the same states in
// another order, or one state given either way, are the same filter; any
// other states or urgency is not.
func TestListInHandPageTokens(t *testing.T) {
	s, _ := newStore(t)
	for i := range 4 {
		in := newHelpRequest("org-a", fmt.Sprintf("r-%d", i), "AB10 1AB", "")
		in.Urgency = pb.Urgency_URGENCY_CRITICAL
		_, err := s.CreateHelpRequest(bg, in, Idempotency{})
		mustOK(t, err, "create")
	}
	open := pb.HelpRequest_STATE_OPEN
	token := func(f HelpRequestFilter) string {
		t.Helper()
		_, tok, err := s.ListHelpRequests(bg, f, Page{Size: 1})
		mustOK(t, err, "list")
		if tok == "" {
			t.Fatal("no token")
		}
		return tok
	}
	same := [][2]HelpRequestFilter{
		{{States: inHandStates}, {States: []pb.HelpRequest_State{pb.HelpRequest_STATE_ASSIGNED, open, pb.HelpRequest_STATE_OFFERED}}},
		{{State: open}, {States: []pb.HelpRequest_State{open}}},
		{{States: inHandStates, MinUrgency: pb.Urgency_URGENCY_HIGH}, {State: open, States: []pb.HelpRequest_State{pb.HelpRequest_STATE_OFFERED, pb.HelpRequest_STATE_ASSIGNED}, MinUrgency: pb.Urgency_URGENCY_HIGH}},
	}
	for _, pair := range same {
		if _, _, err := s.ListHelpRequests(bg, pair[1], Page{Size: 1, Token: token(pair[0])}); err != nil {
			t.Errorf("token of %+v with %+v: %v", pair[0], pair[1], err)
		}
	}
	filters := []HelpRequestFilter{
		{},
		{State: open},
		{States: inHandStates},
		{States: []pb.HelpRequest_State{open, pb.HelpRequest_STATE_OFFERED}},
		{MinUrgency: pb.Urgency_URGENCY_HIGH},
		{States: inHandStates, MinUrgency: pb.Urgency_URGENCY_HIGH},
		{States: inHandStates, MinUrgency: pb.Urgency_URGENCY_CRITICAL},
	}
	for i, made := range filters {
		tok := token(made)
		for j, used := range filters {
			if i == j {
				continue
			}
			if _, _, err := s.ListHelpRequests(bg, used, Page{Size: 1, Token: tok}); !errors.Is(err, ErrBadPageToken) {
				t.Errorf("token of %+v taken by %+v: %v", made, used, err)
			}
		}
	}
}
