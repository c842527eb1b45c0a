package client_test

import (
	"context"
	"strings"
	"testing"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestReadBackFullPagesOfLongRequests: a partner whose notes are long and
// not in English (2000 characters, the limit, of two or three bytes each)
// reads its requests back a page of 1000, the most the server sends. Such
// a page is over 4 MiB, gRPC's default for what a client receives, so the
// first page failed with "grpc: received message larger than max" and the
// partner could read nothing back; the server sends it, so the client now
// takes it.
func TestReadBackFullPagesOfLongRequests(t *testing.T) {
	s := newTestServer(t)
	c := s.client(t)
	ctx := context.Background()
	rows := partnerRows(1000, nil)
	for _, r := range rows {
		r.Details = strings.Repeat("€", 2000)
		r.Location.AddressLines = []string{strings.Repeat("é", 100), strings.Repeat("é", 100)}
	}
	if _, err := c.ImportHelpRequests(ctx, rows); err != nil {
		t.Fatal(client.Describe(err))
	}
	n := 0
	for hr, err := range c.AllHelpRequests(ctx, &pb.ListHelpRequestsRequest{Organisation: "torry-food-bank", PageSize: 1000}) {
		if err != nil {
			t.Fatalf("after %d requests: %s", n, client.Describe(err))
		}
		if hr.GetDetails() != rows[0].Details {
			t.Fatalf("request %d came back with other details", n)
		}
		n++
	}
	if n != len(rows) {
		t.Errorf("read back %d requests, want %d", n, len(rows))
	}
}
