package main

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestListTokenRefusedMidListingSaysRunAgain: a list read page by page
// whose next page the server refused as not of this query (a server
// restarted onto another version between two pages) read "The page token
// is not a token from a previous page of this same query (page_token)"
// and exited 2, bad input: helpline staff had typed no token and nothing
// wrong. It says the list changed on the server while it was read and to
// run the command again, and exits 1.
func TestListTokenRefusedMidListingSaysRunAgain(t *testing.T) {
	// Pages of one, and every token after the first refused, as a server
	// that no longer takes its predecessor's tokens refuses them.
	stale := grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		type paged interface {
			GetPageToken() string
		}
		switch r := req.(type) {
		case *pb.ListHelpRequestsRequest:
			r.PageSize = 1
		case *pb.ListVolunteersRequest:
			r.PageSize = 1
		case *pb.ListAuditRecordsRequest:
			r.PageSize = 1
		}
		if p, ok := req.(paged); ok && p.GetPageToken() != "" {
			switch r := req.(type) {
			case *pb.ListHelpRequestsRequest:
				r.PageToken = "AQAAAAA"
			case *pb.ListVolunteersRequest:
				r.PageToken = "AQAAAAA"
			case *pb.ListAuditRecordsRequest:
				r.PageToken = "AQAAAAA"
			}
		}
		return h(ctx, req)
	})
	e := newTestEnvWith(t, stale)
	e.asAdmin()
	for range 2 {
		e.newRequest()
	}
	e.addVolunteers()
	for _, args := range [][]string{
		{"request", "list"},
		{"request", "list", "--state", "all"},
		{"volunteer", "list"},
		{"admin", "audit"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := e.run(args...)
			if r.code != exitFailed || !strings.Contains(r.stderr, "run the command again") || strings.Contains(r.stderr, "page token") {
				t.Errorf("exit %d, stderr %q; want exit %d and to run it again", r.code, r.stderr, exitFailed)
			}
		})
	}
}
