package client_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// A partner's app lists the urgent requests still in hand with InHand and
// a least urgency, across pages; closed and less urgent ones are left out.
func TestAllHelpRequestsInHandByUrgency(t *testing.T) {
	s := newTestServer(t)
	c := s.client(t)
	ctx := context.Background()
	var want []string
	for i, u := range []pb.Urgency{pb.Urgency_URGENCY_CRITICAL, pb.Urgency_URGENCY_LOW, pb.Urgency_URGENCY_HIGH, pb.Urgency_URGENCY_CRITICAL, pb.Urgency_URGENCY_NORMAL} {
		in := helpRequest("aberdeen-mutual-aid", "")
		in.Urgency = u
		hr, err := c.CreateHelpRequest(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			if _, err := c.Matching.CancelHelpRequest(ctx, &pb.CancelHelpRequestRequest{Name: hr.Name}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if u >= pb.Urgency_URGENCY_HIGH {
			want = append(want, hr.Name)
		}
	}
	var got []string
	for hr, err := range c.AllHelpRequests(ctx, &pb.ListHelpRequestsRequest{States: client.InHand(), MinUrgency: pb.Urgency_URGENCY_HIGH, PageSize: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, hr.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("urgent in hand = %v, want %v", got, want)
	}
	if a, b := client.InHand(), client.InHand(); &a[0] == &b[0] {
		t.Error("InHand shares its slice between callers")
	}
}

// RequestEnded judges a request's end as the server does: a window's end
// or a deadline strictly before now; never with neither.
func TestRequestEndedAsTheServer(t *testing.T) {
	now := time.Date(2026, 3, 10, 11, 30, 0, 0, time.UTC)
	window := func(end time.Time) *pb.HelpRequest {
		return &pb.HelpRequest{Timing: &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(end.Add(-2 * time.Hour)), EndTime: timestamppb.New(end)}}}
	}
	deadline := func(end time.Time) *pb.HelpRequest {
		return &pb.HelpRequest{Timing: &pb.HelpRequest_Deadline{Deadline: timestamppb.New(end)}}
	}
	tests := []struct {
		name  string
		hr    *pb.HelpRequest
		ended bool
	}{
		{"window ended", window(now.Add(-time.Minute)), true},
		{"window ends now", window(now), false},
		{"window still on", window(now.Add(time.Hour)), false},
		{"deadline passed", deadline(now.Add(-time.Second)), true},
		{"deadline now", deadline(now), false},
		{"deadline ahead", deadline(now.Add(time.Hour)), false},
		{"no time", &pb.HelpRequest{}, false},
		{"window without an end", &pb.HelpRequest{Timing: &pb.HelpRequest_Window{Window: &pb.TimeWindow{}}}, false},
	}
	for _, tt := range tests {
		end, ended := client.RequestEnded(tt.hr, now)
		if ended != tt.ended || ended != store.RequestEnded(tt.hr, now) {
			t.Errorf("%s: ended %v, want %v (store says %v)", tt.name, ended, tt.ended, store.RequestEnded(tt.hr, now))
		}
		if tt.name == "window ended" && !end.Equal(now.Add(-time.Minute)) {
			t.Errorf("%s: end %v", tt.name, end)
		}
	}
}
