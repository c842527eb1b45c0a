package server_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestCallWithoutUsableTokenRefusedBeforeItsMessage: the token was looked
// at only once the call's whole message had come. Anyone who could reach
// the port, with no token, could open a call, declare a message of
// --max-recv-bytes and send all of it but the last byte, and the server
// held it, for as long as the connection lasted: 500 such calls on one
// connection to doorstepd took its memory from 35 MB to 570 MB, with
// nothing logged. A call that needs a token and has none that can be used
// is now refused as soon as its headers come, its message never read.
func TestCallWithoutUsableTokenRefusedBeforeItsMessage(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	gone, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "gone", Role: pb.Role_ROLE_COORDINATOR}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RevokeToken(h.ctx, &pb.RevokeTokenRequest{Name: gone.Token.Name}); err != nil {
		t.Fatal(err)
	}
	expired := h.newToken(h.st, &pb.Token{DisplayName: "expired", Role: pb.Role_ROLE_COORDINATOR, ExpireTime: ts(-time.Hour)})
	conn := h.dial()
	for _, tc := range []struct{ name, token, method string }{
		{"no token", "", pb.HelpRequestService_CreateHelpRequest_FullMethodName},
		{"unknown token", "ds_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", pb.HelpRequestService_CreateHelpRequest_FullMethodName},
		{"revoked token", gone.Secret, pb.VolunteerService_CreateVolunteer_FullMethodName},
		{"expired token", expired, pb.AdminService_CreateToken_FullMethodName},
		{"event stream, no token", "", pb.EventService_WatchEvents_FullMethodName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The bound only keeps a call the server waits on from hanging
			// the test.
			ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
			defer cancel()
			if tc.token != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tc.token)
			}
			// The headers go; the message never does.
			s, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, tc.method)
			if err != nil {
				t.Fatal(err)
			}
			err = s.RecvMsg(new(pb.HelpRequest))
			if status.Code(err) != codes.Unauthenticated {
				t.Errorf("a call whose message had not come: %v, want UNAUTHENTICATED before the message is read", err)
			}
		})
	}
}
