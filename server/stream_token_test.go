package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// tokenName finds the stored name of the token with displayName.
func (h *harness) tokenName(displayName string) string {
	h.t.Helper()
	toks, _, err := h.st.ListTokens(h.ctx, store.Page{Size: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, tk := range toks {
		if tk.DisplayName == displayName {
			return tk.Name
		}
	}
	h.t.Fatalf("no token %q", displayName)
	return ""
}

// TestRevokedTokenEndsOpenStream: a partner's token revoked (a lost phone,
// a partner that left) while its event stream is open ends the stream
// with UNAUTHENTICATED; the stream tells nothing more of the
// organisation's requests, offers and volunteers.
func TestRevokedTokenEndsOpenStream(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithWatchTimings(20*time.Millisecond, time.Minute))
	secret := h.newToken(h.st, &pb.Token{DisplayName: "lost-phone", Role: pb.Role_ROLE_PARTNER, Organisation: "aberdeen-mutual-aid"})
	w := h.watch(pb.NewEventServiceClient(h.as(secret)), &pb.WatchEventsRequest{})
	h.waitFor(w, 0)

	admin := pb.NewAdminServiceClient(h.conn)
	if _, err := admin.RevokeToken(h.ctx, &pb.RevokeTokenRequest{Name: h.tokenName("lost-phone")}); err != nil {
		t.Fatal(err)
	}
	// A unary call with the token is refused at once...
	_, err := pb.NewGazetteerServiceClient(h.as(secret)).LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"})
	wantFailure(t, err, codes.Unauthenticated, server.ReasonUnauthenticated)

	// ...and the stream it opened before ends rather than go on telling
	// of the organisation's changes.
	created := h.createHR(validHelpRequest()) // aberdeen-mutual-aid
	wantStreamEnds(t, w, "revoked", func(e *pb.Event) bool { return e.HelpRequest == created.Name })
}

// TestExpiredTokenEndsOpenStream: a volunteer token that expires while its
// stream is open ends the stream; the events naming the volunteer stop.
func TestExpiredTokenEndsOpenStream(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock, server.WithWatchTimings(20*time.Millisecond, time.Minute))
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	secret := h.newToken(h.st, &pb.Token{DisplayName: "day-pass", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: ann.Name,
		ExpireTime: timestamppb.New(clock.now().Add(time.Hour))})
	w := h.watch(pb.NewEventServiceClient(h.as(secret)), &pb.WatchEventsRequest{})
	h.waitFor(w, 0)

	clock.advance(2 * time.Hour) // the token has expired
	_, err := pb.NewGazetteerServiceClient(h.as(secret)).LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"})
	wantFailure(t, err, codes.Unauthenticated, server.ReasonUnauthenticated)

	hr := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(clock.now().Add(time.Hour)), EndTime: timestamppb.New(clock.now().Add(5 * time.Hour))}}
	}))
	off := h.offer(hr.Name, ann.Name)
	wantStreamEnds(t, w, "expired", func(e *pb.Event) bool { return e.Offer == off.Name })
}

// wantStreamEnds waits up to 3 s for w, whose token is no longer valid
// (why), to end with UNAUTHENTICATED, failing if it delivers an event that
// leaked says it should not have.
func wantStreamEnds(t *testing.T, w *watcher, why string, leaked func(*pb.Event) bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-w.done:
			if code := codeOf(w.err); code != codes.Unauthenticated {
				t.Errorf("stream ended with %v, want UNAUTHENTICATED", w.err)
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
		evs, _ := w.events()
		for _, e := range evs {
			if leaked(e) {
				t.Fatalf("the %s token's open stream still receives events: %v", why, e)
			}
		}
	}
	t.Fatalf("the %s token's stream is still open 3 s later", why)
}

func codeOf(err error) codes.Code { return status.Code(err) }
