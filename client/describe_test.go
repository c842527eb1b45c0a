package client_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

func TestDescribeServerErrors(t *testing.T) {
	s := newTestServer(t)
	c := s.client(t)
	ctx := context.Background()

	bad := helpRequest("aberdeen-mutual-aid", "")
	bad.Needs = nil
	bad.Requester.Phone = "12"
	_, err := c.CreateHelpRequest(ctx, bad)
	got := client.Describe(err)
	for _, want := range []string{"Some fields are wrong: ", "help_request.needs: ", "; help_request.requester.phone: is not a phone number", "(INVALID_FIELDS)."} {
		if !strings.Contains(got, want) {
			t.Errorf("two bad fields: %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "rpc error") || strings.Contains(got, "client:") {
		t.Errorf("%q shows the wrapping meant for programmers", got)
	}

	bad = helpRequest("aberdeen-mutual-aid", "")
	bad.Location.Postcode = "ab10 9zz"
	_, err = c.CreateHelpRequest(ctx, bad)
	if got, want := client.Describe(err), "Some fields are wrong: help_request.location.postcode: postcode AB10 9ZZ is not in the gazetteer: give lat_lng as well, or check the postcode (UNKNOWN_POSTCODE)."; got != want {
		t.Errorf("unknown postcode:\n got %q\nwant %q", got, want)
	}
	if client.Reason(err) != "UNKNOWN_POSTCODE" {
		t.Errorf("Reason = %q", client.Reason(err))
	}

	_, err = c.GetHelpRequest(ctx, "helpRequests/01hzzzzzzzzzzzzzzzzzzzzzzz")
	if got, want := client.Describe(err), "Not found: helpRequests/01hzzzzzzzzzzzzzzzzzzzzzzz does not exist (HELP_REQUEST_NOT_FOUND)."; got != want {
		t.Errorf("missing request:\n got %q\nwant %q", got, want)
	}

	if _, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", "x1")); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", "x1"))
	if got, want := client.Describe(err), "Already recorded: this organisation already has a request with that external_id (EXTERNAL_ID_EXISTS)."; got != want {
		t.Errorf("external id reused:\n got %q\nwant %q", got, want)
	}

	results, err := c.ImportHelpRequests(ctx, []*pb.HelpRequest{{Organisation: "aberdeen-mutual-aid", ExternalId: "q1", Needs: []pb.Need{pb.Need_NEED_HOT_MEAL}}})
	if err != nil {
		t.Fatal(err)
	}
	got = client.DescribeRow(results[0].GetError())
	if !strings.HasPrefix(got, "Some fields are wrong: ") || !strings.Contains(got, "; location: is required") || !strings.HasSuffix(got, "(INVALID_FIELDS).") || strings.Contains(got, "row.") {
		t.Errorf("bad row: %q", got)
	}

	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetHelpRequest(ctx, "helpRequests/01hzzzzzzzzzzzzzzzzzzzzzzz")
	got = client.Describe(err)
	if !strings.HasPrefix(got, "The server cannot be reached just now (") || !strings.HasSuffix(got, "; try again shortly.") {
		t.Errorf("server down: %q", got)
	}
}

func TestDescribeOtherErrors(t *testing.T) {
	withDetail, err := status.New(codes.Unavailable, "the server is shutting down; retry shortly").WithDetails()
	if err != nil {
		t.Fatal(err)
	}
	diskFull, err := status.New(codes.ResourceExhausted, "the server's disk is full, so this was not done and nothing was changed: "+
		"tell whoever runs the server, and try again once they have freed space").WithDetails(&errdetails.ErrorInfo{Reason: "STORAGE_FULL", Domain: "doorstep.v1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("boom"), "Boom."},
		{fmt.Errorf("client: watch: %w", context.Canceled), "The call was cancelled."},
		{context.DeadlineExceeded, "The server did not answer in time."},
		{status.Error(codes.DeadlineExceeded, "context deadline exceeded"), "The server did not answer in time."},
		{status.Error(codes.Unauthenticated, ""), "Not signed in: the token is missing or not valid."},
		{status.Error(codes.Internal, "internal error"), "The server failed: internal error."},
		{withDetail.Err(), "The server cannot be reached just now (the server is shutting down; retry shortly); try again shortly."},
		// Not "Too much at once": the caller did nothing wrong, and must
		// know that nothing was saved and whom to tell.
		{diskFull.Err(), "The server's disk is full, so this was not done and nothing was changed (STORAGE_FULL); " +
			"tell whoever runs the server, and try again once they have freed space."},
		{&client.CompactedError{Requested: 3, Oldest: 40}, "Events from revision 3 are no longer kept; reload the view and watch again from revision 40."},
	}
	for _, tc := range cases {
		if got := client.Describe(tc.err); got != tc.want {
			t.Errorf("Describe(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if got := client.DescribeRow(nil); got != "" {
		t.Errorf("DescribeRow(nil) = %q", got)
	}
	if got, want := client.DescribeRow(&pb.RowError{Code: "NOT_A_CODE", Message: "odd"}), "The server failed: odd."; got != want {
		t.Errorf("unknown code: %q, want %q", got, want)
	}
	if got, want := client.DescribeRow(&pb.RowError{Code: "RESOURCE_EXHAUSTED", Reason: "STORAGE_FULL", Message: "full"}),
		"The server's disk is full, so this was not done and nothing was changed (STORAGE_FULL); tell whoever runs the server, and try again once they have freed space."; got != want {
		t.Errorf("row on a full disk: %q, want %q", got, want)
	}
	if got, want := client.DescribeRow(&pb.RowError{Code: "ALREADY_EXISTS", Reason: "EXTERNAL_ID_EXISTS", Message: "taken"}), "Already recorded: taken (EXTERNAL_ID_EXISTS)."; got != want {
		t.Errorf("row: %q, want %q", got, want)
	}
}

// A method the server was built without (a server older than this client)
// is said to be that, with what mends it: gRPC's own words name only the
// method.
func TestDescribeOlderServer(t *testing.T) {
	err := status.Error(codes.Unimplemented, "unknown method CreateBackup for service doorstep.v1.AdminService")
	want := "The server does not offer this: unknown method CreateBackup for service doorstep.v1.AdminService; it is older than this client, and has to be upgraded first."
	if got := client.Describe(fmt.Errorf("client: create backup: %w", err)); got != want {
		t.Errorf("Describe:\n got %q\nwant %q", got, want)
	}
}

// A partner's program kept its resume point, and the server's data was put
// back from an older copy: its saved revision is past the server's log
// (REVISION_AHEAD). Describe, which the program logs for whoever looks
// after it, said the events "are no longer kept" and to watch again from
// an earlier revision, which read as a contradiction and sent them looking
// at the event retention; it says what happened, as the error itself does.
func TestDescribeWatchPastTheLog(t *testing.T) {
	s := newTestServer(t)
	c := s.client(t)
	err := c.Watch(context.Background(), client.WatchOptions{StartRevision: 1000}, func(*pb.WatchEventsResponse) error { return nil })
	var ce *client.CompactedError
	if !errors.As(err, &ce) || !ce.Ahead {
		t.Fatalf("watch from past the log: %v, want a *CompactedError, Ahead", err)
	}
	got := client.Describe(err)
	if strings.Contains(got, "no longer kept") || !strings.Contains(got, "past the server's log") || !strings.Contains(got, fmt.Sprintf("from revision %d", ce.From())) {
		t.Errorf("Describe of a resume point past the log: %q, want it to say the revision is past the server's log, and to reload and watch from %d", got, ce.From())
	}
}
