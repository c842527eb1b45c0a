package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// unreadRefusal is the tap's refusal of a call over the token's count of
// calls whose message has not all come; the limiter's says otherwise.
func unreadRefusal(err error) bool {
	return status.Code(err) == codes.ResourceExhausted && strings.Contains(status.Convert(err).Message(), "message has not yet come")
}

// holdUnread opens n calls on conn that send their headers and never
// their message, until ctx ends, and waits until the tap has seen them
// (it runs in order on the connection's reader: a health check answered
// after them has come after them).
func holdUnread(t *testing.T, ctx context.Context, conn *grpc.ClientConn, n int) {
	t.Helper()
	desc := &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}
	for range n {
		if _, err := conn.NewStream(ctx, desc, pb.VolunteerService_ListVolunteers_FullMethodName); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
}

// TestUnreadCallsReleasedOnEveryPath: a token's count of calls whose
// message has not all come must go back down once on every way a call
// can end, or the token is locked out for good after enough of them (a
// helpline desk refused RATE_LIMITED until the server restarts); and
// never twice, or it could hold more than its bound. Each way is taken
// many times, by one token, then the token must have exactly its bound
// of such calls open at once again.
func TestUnreadCallsReleasedOnEveryPath(t *testing.T) {
	const burst = 40
	// A slow rate, so that the limiter refuses some of the calls below
	// too (after the tap counted them).
	h := newHarnessWithClock(t, nil, server.WithRateLimit(1, burst))
	ctx, cancel := context.WithTimeout(h.ctx, 60*time.Second)
	defer cancel()
	desk := h.newToken(h.st, &pb.Token{DisplayName: "helpline desk", Role: pb.Role_ROLE_HELPLINE})
	conn := h.as(desk)
	vols := pb.NewVolunteerServiceClient(conn)
	// Held throughout, so that a count let go twice shows: it would take
	// these out of the count too.
	const kept = 10
	holdUnread(t, ctx, conn, kept)
	paths := map[string]func() error{
		"served, or refused by the limiter": func() error {
			_, err := vols.ListVolunteers(ctx, &pb.ListVolunteersRequest{})
			return err
		},
		"refused by role (unary)": func() error {
			_, err := pb.NewAdminServiceClient(conn).ListTokens(ctx, &pb.ListTokensRequest{})
			return err
		},
		"refused by role (stream)": func() error {
			s, err := pb.NewEventServiceClient(conn).WatchEvents(ctx, &pb.WatchEventsRequest{})
			if err == nil {
				_, err = s.Recv()
			}
			return err
		},
		"a message that is no protobuf": func() error {
			var out []byte
			return conn.Invoke(ctx, pb.VolunteerService_ListVolunteers_FullMethodName, []byte{0xff, 0xff, 0xff}, &out, grpc.ForceCodec(rawCodec{}))
		},
		"a method the server does not have": func() error {
			var out []byte
			return conn.Invoke(ctx, "/doorstep.v1.VolunteerService/NoSuchMethod", []byte{}, &out, grpc.ForceCodec(rawCodec{}))
		},
		"a reflection stream, two requests": func() error {
			s, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
			if err != nil {
				return err
			}
			for range 2 {
				if err := s.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
					return err
				}
				if _, err := s.Recv(); err != nil {
					return err
				}
			}
			return s.CloseSend()
		},
		"cancelled by the client before its message": func() error {
			c, stop := context.WithCancel(ctx)
			holdUnread(t, c, conn, 1)
			stop()
			return nil
		},
		"past its deadline before its message": func() error {
			c, stop := context.WithTimeout(ctx, time.Millisecond)
			defer stop()
			s, err := conn.NewStream(c, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, pb.VolunteerService_ListVolunteers_FullMethodName)
			if err == nil {
				err = s.RecvMsg(new(pb.ListVolunteersResponse))
			}
			return err
		},
		"refused at the tap for its unread calls": func() error {
			refusedAt(t, ctx, conn, burst-kept)
			return nil
		},
	}
	for range 5 {
		for name, call := range paths {
			for range 10 {
				if err := call(); ctx.Err() != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
		}
	}
	// The server sees a call end a moment after its client does: until
	// the token has room for its bound less one and one more, try again.
	for {
		c, stop := context.WithCancel(ctx)
		holdUnread(t, c, conn, burst-kept-1)
		_, err := vols.ListVolunteers(ctx, &pb.ListVolunteersRequest{})
		stop()
		if !unreadRefusal(err) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after every way a call ends, the token may not have %d unread calls and one more: %v", burst-1, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	// And no more: a count let go twice would let it.
	refusedAt(t, ctx, conn, burst-kept)
}

// refusedAt holds n unread calls on conn and waits until a call of the
// same token is refused for them. Calls that ended a moment ago may still
// be counted, and some of the n refused in their place: those are tried
// again once the server has seen them end.
func refusedAt(t *testing.T, ctx context.Context, conn *grpc.ClientConn, n int) {
	t.Helper()
	for {
		c, stop := context.WithCancel(ctx)
		holdUnread(t, c, conn, n)
		_, err := pb.NewVolunteerServiceClient(conn).ListVolunteers(ctx, &pb.ListVolunteersRequest{})
		stop()
		if unreadRefusal(err) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("a call with %d of the token's calls unread was never refused: %v", n, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
