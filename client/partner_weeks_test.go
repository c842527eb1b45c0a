package client_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// partnerLedger is what a food bank's own system keeps of its requests in
// Doorstep: its reference for each, and what it last heard of each.
type partnerLedger struct {
	name   map[string]string // its reference -> "helpRequests/{id}"
	ref    map[string]string // "helpRequests/{id}" -> its reference
	state  map[string]pb.HelpRequest_State
	gone   map[string]bool // deleted, by name
	events map[string]int  // each event handled, counted
	resume int64           // saved after every response handled
}

func (l *partnerLedger) file(results []*pb.BatchCreateHelpRequestsResult, rows []*pb.HelpRequest) (created, existing, failed int) {
	for _, r := range results {
		switch {
		case r.GetError() != nil:
			failed++
			continue
		case r.GetExisting():
			existing++
		default:
			created++
		}
		ref, name := rows[r.GetIndex()].GetExternalId(), r.GetHelpRequest().GetName()
		if old, ok := l.name[ref]; ok && old != name {
			panic(fmt.Sprintf("reference %s came back as %s, filed as %s", ref, name, old))
		}
		l.name[ref], l.ref[name] = name, ref
	}
	return created, existing, failed
}

// catchUp runs the partner's watch from its saved revision until it has
// handled through revision head, dying (as its process might) after every
// second response and starting again from what it saved.
func (l *partnerLedger) catchUp(t *testing.T, p *client.Client, head int64) {
	t.Helper()
	crash := errors.New("partner process died")
	for round := 0; l.resume <= head; round++ {
		if round > 1000 {
			t.Fatalf("the partner's watch got no further than revision %d of %d", l.resume, head)
		}
		handled := 0
		err := p.Watch(context.Background(), client.WatchOptions{StartRevision: l.resume, MustConnect: true}, func(r *pb.WatchEventsResponse) error {
			for _, e := range r.GetEvents() {
				if e.GetOrganisation() != "torry-food-bank" {
					t.Errorf("partner heard of another organisation's %v", e.GetType())
				}
				l.events[fmt.Sprintf("%d %v %s %s %s", e.GetRevision(), e.GetType(), e.GetHelpRequest(), e.GetOffer(), e.GetVolunteer())]++
				switch {
				case e.GetType() == pb.Event_TYPE_HELP_REQUEST_DELETED:
					l.gone[e.GetHelpRequest()] = true
				case e.GetHelpRequest() != "" && e.GetState() != pb.HelpRequest_STATE_UNSPECIFIED:
					l.state[e.GetHelpRequest()] = e.GetState()
				}
			}
			l.resume = r.GetRevision() + 1
			if handled++; handled == 2 || l.resume > head {
				return crash
			}
			return nil
		})
		if !errors.Is(err, crash) {
			t.Fatalf("partner's watch from %d: %s", l.resume, client.Describe(err))
		}
	}
}

// TestPartnerWeeks is a food bank's integration over two days, written as
// its program would be from the package docs: a morning import by its own
// references (the first run dying part way and run again), corrections
// (a postcode it had wrong, a row refused, a client entered twice under
// two references), withdrawals, and a watch that its process restarts
// from its saved revision again and again, while coordinators offer,
// assign, complete and the sweep expires. At the end its ledger, kept only
// from import results and events, agrees with what the server holds, each
// event was handled once, and a listing of its organisation made while
// records change names every request once.
func TestPartnerWeeks(t *testing.T) {
	var offset atomic.Int64
	s := newTestServer(t)
	s.serverOpts = []server.Option{
		server.WithClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }),
		server.WithWatchTimings(10*time.Millisecond, 30*time.Second),
	}
	if err := s.restart(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	coord := s.client(t, client.WithRetry(8, 5*time.Millisecond))
	secret, hash, err := server.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.st.CreateToken(ctx, &pb.Token{DisplayName: "Torry import", Role: pb.Role_ROLE_PARTNER, Organisation: "torry-food-bank"}, hash, false); err != nil {
		t.Fatal(err)
	}
	p, err := s.dial(client.WithToken(secret), client.WithRetry(8, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	// Another organisation's work goes on beside the partner's throughout.
	other := func(n int) {
		for i := range n {
			hr := helpRequest("aberdeen-mutual-aid", "")
			hr.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(time.Now().Add(time.Duration(offset.Load()) + 24*time.Hour))}
			if _, err := coord.CreateHelpRequest(ctx, hr); err != nil {
				t.Fatalf("other organisation's request %d: %s", i, client.Describe(err))
			}
		}
	}
	// head is how far the server's log has got, as an admin's watch says.
	head := func() int64 {
		var rev int64
		errHead := errors.New("head")
		if err := coord.Watch(ctx, client.WatchOptions{}, func(r *pb.WatchEventsResponse) error { rev = r.GetRevision(); return errHead }); !errors.Is(err, errHead) {
			t.Fatal(err)
		}
		return rev
	}
	l := &partnerLedger{name: map[string]string{}, ref: map[string]string{}, state: map[string]pb.HelpRequest_State{}, gone: map[string]bool{}, events: map[string]int{}, resume: head() + 1}

	morning := func(day, n int) []*pb.HelpRequest {
		rows := make([]*pb.HelpRequest, n)
		for i := range rows {
			rows[i] = helpRequest("", fmt.Sprintf("TFB-%d-%04d", day, i))
			rows[i].Requester.Phone = fmt.Sprintf("01224 %d%05d", day, i)
		}
		return rows
	}

	// Day 1: the import dies after its first 120 rows, and is run again.
	rows := morning(1, 300)
	rows[5].Location.Postcode = "AB10 9ZZ" // mistyped: refused
	rows[8].Location.Postcode = "AB10 1AB" // wrong but real: stored
	rows[7].Requester = rows[6].Requester  // one client, entered twice
	rows[7].Timing = rows[6].Timing        // for the same delivery
	rows[7].Location = rows[6].Location    // at the same door
	results, err := p.ImportHelpRequests(ctx, rows[:120])
	if err != nil {
		t.Fatal(client.Describe(err))
	}
	l.file(results, rows[:120])
	other(20)
	results, err = p.ImportHelpRequests(ctx, rows)
	if err != nil {
		t.Fatal(client.Describe(err))
	}
	if c, e, f := l.file(results, rows); c != 180 || e != 119 || f != 1 {
		t.Errorf("import run again: %d created, %d already there, %d failed; want 180, 119, 1", c, e, f)
	}
	if r := results[5].GetError(); r.GetReason() != "UNKNOWN_POSTCODE" {
		t.Errorf("mistyped postcode: %v", r)
	}

	// Corrections: the refused row sent again, put right; the wrong
	// postcode changed; the second entry of one client withdrawn.
	rows[5].Location.Postcode = "AB10 1AF"
	results, err = p.ImportHelpRequests(ctx, rows[5:6])
	if err != nil || results[0].GetError() != nil || results[0].GetExisting() {
		t.Fatalf("corrected row: %v %v", results, err)
	}
	l.file(results, rows[5:6])
	if _, err := p.HelpRequests.UpdateHelpRequest(ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: l.name["TFB-1-0008"], Location: &pb.Location{Postcode: "AB10 1AF"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.postcode"}},
	}); err != nil {
		t.Fatal(client.Describe(err))
	}
	if _, err := p.Matching.CancelHelpRequest(ctx, &pb.CancelHelpRequestRequest{Name: l.name["TFB-1-0007"]}); err != nil {
		t.Fatal(client.Describe(err))
	}
	// A withdrawal whose reply was lost, sent again, says it was done.
	_, err = p.Matching.CancelHelpRequest(ctx, &pb.CancelHelpRequestRequest{Name: l.name["TFB-1-0007"]})
	if client.Reason(err) != "WRONG_STATE" || client.Metadata(err, "state") != "cancelled" {
		t.Errorf("cancel sent again: %s, want WRONG_STATE saying cancelled", client.Describe(err))
	}
	l.catchUp(t, p, head())

	// Coordinators at work: offered, assigned, fulfilled, declined; the
	// partner withdraws one it no longer needs and deletes a test row.
	vol, err := coord.CreateVolunteer(ctx, freeVolunteer("aberdeen-mutual-aid"))
	if err != nil {
		t.Fatal(client.Describe(err))
	}
	vol2 := freeVolunteer("aberdeen-mutual-aid")
	vol2.Contact.Phone = "07700 900456"
	vol2.Capacity = 5
	v2, err := coord.CreateVolunteer(ctx, vol2)
	if err != nil {
		t.Fatal(client.Describe(err))
	}
	offer := func(ref, v string) string {
		t.Helper()
		o, err := coord.Matching.CreateOffer(ctx, &pb.CreateOfferRequest{HelpRequest: l.name[ref], Volunteer: v})
		if err != nil {
			t.Fatalf("offer %s: %s", ref, client.Describe(err))
		}
		return o.GetOffer().GetName()
	}
	if _, err := coord.Matching.AcceptOffer(ctx, &pb.AcceptOfferRequest{Name: offer("TFB-1-0020", vol.GetName())}); err != nil {
		t.Fatal(client.Describe(err))
	}
	if _, err := coord.Matching.CompleteHelpRequest(ctx, &pb.CompleteHelpRequestRequest{Name: l.name["TFB-1-0020"]}); err != nil {
		t.Fatal(client.Describe(err))
	}
	if _, err := coord.Matching.AcceptOffer(ctx, &pb.AcceptOfferRequest{Name: offer("TFB-1-0021", vol.GetName())}); err != nil {
		t.Fatal(client.Describe(err))
	}
	if _, err := coord.Matching.DeclineOffer(ctx, &pb.DeclineOfferRequest{Name: offer("TFB-1-0022", v2.GetName())}); err != nil {
		t.Fatal(client.Describe(err))
	}
	offer("TFB-1-0023", v2.GetName())
	if _, err := p.Matching.CancelHelpRequest(ctx, &pb.CancelHelpRequestRequest{Name: l.name["TFB-1-0024"]}); err != nil {
		t.Fatal(client.Describe(err))
	}
	if _, err := p.HelpRequests.DeleteHelpRequest(ctx, &pb.DeleteHelpRequestRequest{Name: l.name["TFB-1-0299"]}); err != nil {
		t.Fatal(client.Describe(err))
	}
	other(20)

	// The partner lists its organisation while coordinators change it.
	listed := map[string]int{}
	done := make(chan error, 1)
	go func() {
		for i := 30; i < 60; i++ {
			if _, err := coord.Matching.CancelHelpRequest(ctx, &pb.CancelHelpRequestRequest{Name: l.name[fmt.Sprintf("TFB-1-%04d", i)]}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for hr, err := range p.AllHelpRequests(ctx, &pb.ListHelpRequestsRequest{PageSize: 25}) {
		if err != nil {
			t.Fatal(client.Describe(err))
		}
		listed[hr.GetExternalId()]++
		if l.name[hr.GetExternalId()] != hr.GetName() {
			t.Errorf("listed %s as %s, filed as %s", hr.GetExternalId(), hr.GetName(), l.name[hr.GetExternalId()])
		}
	}
	if err := <-done; err != nil {
		t.Fatal(client.Describe(err))
	}
	for ref, n := range listed {
		if n != 1 {
			t.Errorf("%s listed %d times", ref, n)
		}
	}
	if len(listed) != 299 {
		t.Errorf("listed %d requests, want the 299 not deleted", len(listed))
	}
	l.catchUp(t, p, head())

	// Day 2: yesterday's file is sent again beside today's; yesterday's
	// deliveries whose day has passed expire.
	offset.Store(int64(50 * time.Hour))
	rows2 := morning(2, 150)
	for _, r := range rows2 {
		r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(time.Now().Add(96 * time.Hour))}
	}
	all := append(append([]*pb.HelpRequest(nil), rows[:299]...), rows2...)
	results, err = p.ImportHelpRequests(ctx, all)
	if err != nil {
		t.Fatal(client.Describe(err))
	}
	if c, e, f := l.file(results, all); c != 150 || e != 299 || f != 0 {
		t.Errorf("day 2: %d created, %d already there, %d failed; want 150, 299, 0", c, e, f)
	}
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	srv.Sweep(ctx)
	other(5)
	l.catchUp(t, p, head())

	// What the partner heard agrees with what the server holds.
	for ev, n := range l.events {
		if n != 1 {
			t.Errorf("event %s handled %d times", ev, n)
		}
	}
	byState := map[pb.HelpRequest_State]int{}
	for ref, name := range l.name {
		hr, err := p.GetHelpRequest(ctx, name)
		if l.gone[name] {
			if status.Code(err) != codes.NotFound {
				t.Errorf("%s deleted, as the partner heard, but reads %v", ref, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %s", ref, client.Describe(err))
		}
		if hr.GetState() != l.state[name] {
			t.Errorf("%s is %v; the partner heard %v", ref, hr.GetState(), l.state[name])
		}
		byState[hr.GetState()]++
	}
	want := map[pb.HelpRequest_State]int{
		pb.HelpRequest_STATE_FULFILLED: 1, pb.HelpRequest_STATE_ASSIGNED: 1,
		pb.HelpRequest_STATE_CANCELLED: 32, pb.HelpRequest_STATE_EXPIRED: 265,
		pb.HelpRequest_STATE_OPEN: 150,
	}
	for st, n := range want {
		if byState[st] != n {
			t.Errorf("%d requests %v, want %d (all: %v)", byState[st], st, n, byState)
		}
	}
}
