package server_test

import (
	"errors"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestStreamMessagesAreRateLimited: reflection is one stream that takes
// request after request; a script looping on it with any token (a
// volunteer's will do) was served at full speed, past the token's rate,
// which counted the stream once. Each message now counts.
func TestStreamMessagesAreRateLimited(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithRateLimit(1, 10))
	vol := h.createVol(validVolunteer())
	conn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "stolen phone", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: vol.Name}))
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	answered := 0
	for range 50 {
		err = stream.Send(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "doorstep.v1.HelpRequestService"}})
		if err == nil || errors.Is(err, io.EOF) {
			_, err = stream.Recv() // a Send to a stream the server ended says only EOF
		}
		if err != nil {
			break
		}
		answered++
	}
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("after %d answers: %v, want RESOURCE_EXHAUSTED past the burst of 10", answered, err)
	}
}

// TestStreamNotChargedForWaiting: a stream's next message was charged when
// the server began to wait for it, not when it came, so a client that
// asked one thing on a stream opened with its token's last call, then
// closed its side, met RESOURCE_EXHAUSTED for a message it never sent. A
// message is now charged when it arrives, and the end of the client's
// side is not a message.
func TestStreamNotChargedForWaiting(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithRateLimit(0.001, 1))
	vol := h.createVol(validVolunteer())
	conn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "phone", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: vol.Name}))
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("the stream's first request: %v", err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("after one request and the end of the client's side: %v, want the stream's clean end", err)
	}
}
