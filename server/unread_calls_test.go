package server_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestUnreadCallsBoundedPerToken: gRPC reads a unary call's whole message
// before the rate limit is asked, and holds what has come of it until
// the rest does. One token's calls sent all of a 1 MiB message but its
// last byte, 200 on each of 2 connections, took doorstepd from 18 MB to
// 430 MB of heap, past its burst of 200 and whatever the rate; more
// connections, more memory, until the OOM killer ended it. A token may
// now have as many calls whose message is still coming as its burst; the
// next is refused as over its rate, and other tokens' are not.
func TestUnreadCallsBoundedPerToken(t *testing.T) {
	h := newHarness(t)
	// The bound only keeps a call the server waits on from hanging the
	// test.
	ctx, cancel := context.WithTimeout(h.ctx, 20*time.Second)
	defer cancel()
	held, release := context.WithCancel(ctx)
	conns := []*grpc.ClientConn{h.as(h.adminSecret), h.as(h.adminSecret)}
	list := &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}
	for i := range server.DefaultBurst {
		// Headers, and a message that never comes.
		if _, err := conns[i%2].NewStream(held, list, pb.VolunteerService_ListVolunteers_FullMethodName); err != nil {
			t.Fatal(err)
		}
	}
	// The tap runs on a connection's reader, in order: a health check
	// answered on each connection has come after its unread calls.
	for _, conn := range conns {
		if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	call := func(conn *grpc.ClientConn) error {
		_, err := pb.NewVolunteerServiceClient(conn).ListVolunteers(ctx, &pb.ListVolunteersRequest{})
		return err
	}
	for i, conn := range append(conns, h.as(h.adminSecret)) {
		if err := call(conn); status.Code(err) != codes.ResourceExhausted {
			t.Errorf("a call on connection %d with %d of the token's unread: %v, want RESOURCE_EXHAUSTED", i, server.DefaultBurst, err)
		}
	}
	other := h.newToken(h.st, &pb.Token{DisplayName: "other coordinator", Role: pb.Role_ROLE_COORDINATOR})
	if err := call(h.as(other)); err != nil {
		t.Errorf("another token's call: %v", err)
	}
	// Once those calls end, the token's calls are answered again (as soon
	// as the server has seen them end).
	release()
	for {
		err := call(conns[0])
		if err == nil {
			break
		}
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("a call once the unread ones ended: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatal("the token's calls were still refused after its unread calls ended")
		case <-time.After(10 * time.Millisecond):
		}
	}
}
