package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestVolunteerShowUnanswered: staff ringing a volunteer the server paused
// for leaving offers unanswered need to know that it was the server, and
// that a resume is all it takes; a count short of the pause is worth a
// line too, as a coordinator may ring before it comes to that. So does
// volunteer list, where a coordinator taking over a shift looks first.
func TestVolunteerShowUnanswered(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		paused               bool
		unanswered           int32
		paused1, unanswered1 string // the rows; "" for none
		status               string
		column               string // volunteer list's PAUSED
	}{
		{"paused by the server", true, 3, "yes, after offers to them went unanswered 3 times in a row: resume them when they can answer offers again (doorstep volunteer resume 01kk0000000000000000000000)", "", "paused (offers unanswered)", "yes (offers unanswered)"},
		{"paused by themselves", true, 0, "yes", "", "paused", "yes"},
		{"one lapse so far", false, 1, "no", "an offer to them went unanswered", "active", "no"},
		{"two", false, 2, "no", "offers to them went unanswered twice in a row", "active", "no"},
		{"none", false, 0, "no", "", "active", "no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			a := &app{ctx: context.Background(), stdout: &out, now: time.Now}
			v := &pb.Volunteer{Name: "volunteers/01kk0000000000000000000000", Contact: &pb.Contact{DisplayName: "Morag Smith"},
				Home: &pb.Location{Postcode: "AB10 1AB"}, Capacity: 1, Paused: tc.paused, UnansweredOffers: tc.unanswered}
			if err := a.printVolunteer(v); err != nil {
				t.Fatal(err)
			}
			rows := map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if k, v, ok := strings.Cut(line, "  "); ok {
					rows[k] = strings.TrimSpace(v)
				}
			}
			if rows["Paused"] != tc.paused1 || rows["Unanswered"] != tc.unanswered1 {
				t.Errorf("volunteer show:\n%s\nwant Paused %q, Unanswered %q", out.String(), tc.paused1, tc.unanswered1)
			}
			if got := volunteerStatus(v); got != tc.status {
				t.Errorf("status %q, want %q", got, tc.status)
			}
			// A list read at a handover: the server's pause, which a
			// resume undoes, is not the volunteer's own.
			if got := pausedWord(v); got != tc.column {
				t.Errorf("volunteer list PAUSED %q, want %q", got, tc.column)
			}
		})
	}
}

// TestEditLosingToTheServersPause: a coordinator's edit that lost to the
// server pausing the volunteer (offers to them ran out unanswered) said
// "they paused", sending staff to ask the volunteer why they had, when
// it was the server, and a resume when they can answer again is what it
// takes.
func TestEditLosingToTheServersPause(t *testing.T) {
	a := &app{ctx: context.Background(), stdout: io.Discard, now: time.Now}
	name := "volunteers/01kk0000000000000000000000"
	before := &pb.Volunteer{Name: name, Capacity: 2, PendingOffers: 2, UnansweredOffers: 2, Etag: "a"}
	now := &pb.Volunteer{Name: name, Capacity: 2, Paused: true, UnansweredOffers: 3, Etag: "b"}
	msg := a.lostTo(name, "volunteer", before, now).Error()
	if strings.Contains(msg, "they paused") || !strings.Contains(msg, "gone unanswered") {
		t.Errorf("lost to the server's pause: %q; want it to say offers went unanswered, not that they paused", msg)
	}
	now.UnansweredOffers = 0 // their own
	if msg := a.lostTo(name, "volunteer", before, now).Error(); !strings.Contains(msg, "they paused") {
		t.Errorf("lost to their own pause: %q; want 'they paused'", msg)
	}
}

// TestUnholdOfAVolunteerTheServerPaused: lifting the hold of a volunteer
// the server paused meanwhile (offers to them ran out unanswered) said
// "they have paused: they are offered nothing until they resume", so
// staff waited on a volunteer who never chose to pause.
func TestUnholdOfAVolunteerTheServerPaused(t *testing.T) {
	e := newTestEnv(t)
	e.env["DOORSTEP_TOKEN"] = e.coordinator
	callum, _ := e.addVolunteers()
	for _, when := range []string{"tomorrow 10:00-11:00", "tomorrow 13:00-14:00", "tomorrow 16:00-17:00"} {
		req := e.newRequest("--when", when)
		e.ok("offer", "make", req, callum)
		e.clock.advance(time.Hour)
		if _, err := e.st.ExpireOffers(context.Background(), e.clock.now(), 10); err != nil {
			t.Fatal(err)
		}
	}
	e.ok("volunteer", "hold", callum)
	out := e.ok("volunteer", "unhold", callum)
	if strings.Contains(out, "they have paused") || !strings.Contains(out, "doorstep volunteer resume "+idOf(callum)) {
		t.Errorf("volunteer unhold said %q; want the server's pause named, and the resume", out)
	}
}

// TestVolunteerShowWhenUnanswered: staff ringing a volunteer the server
// paused are told when the last offer ran out, to ask about that day.
func TestVolunteerShowWhenUnanswered(t *testing.T) {
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	a := &app{ctx: context.Background(), stdout: &out, now: func() time.Time { return now }}
	v := &pb.Volunteer{Name: "volunteers/01kk0000000000000000000000", Contact: &pb.Contact{DisplayName: "Morag Smith"},
		Home: &pb.Location{Postcode: "AB10 1AB"}, Capacity: 1, Paused: true, UnansweredOffers: 3,
		LastUnansweredTime: timestamppb.New(now.Add(-30 * time.Minute))}
	if err := a.printVolunteer(v); err != nil {
		t.Fatal(err)
	}
	want := "yes, after offers to them went unanswered 3 times in a row, the last at " + fmtTime(now.Add(-30*time.Minute), now) + ": resume them"
	if !strings.Contains(out.String(), want) {
		t.Errorf("volunteer show:\n%s\nwant %q", out.String(), want)
	}
}

// TestVolunteerShowOneUnanswered: with one miss on their record, staff
// read "an offer to them went unanswered, the last at 14:30", a "last" of
// one that sends them looking for others; it is said once, with its time.
func TestVolunteerShowOneUnanswered(t *testing.T) {
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	for _, paused := range []bool{false, true} {
		var out bytes.Buffer
		a := &app{ctx: context.Background(), stdout: &out, now: func() time.Time { return now }}
		v := &pb.Volunteer{Name: "volunteers/01kk0000000000000000000000", Contact: &pb.Contact{DisplayName: "Morag Smith"},
			Home: &pb.Location{Postcode: "AB10 1AB"}, Capacity: 1, Paused: paused, UnansweredOffers: 1,
			LastUnansweredTime: timestamppb.New(now.Add(-30 * time.Minute))}
		if err := a.printVolunteer(v); err != nil {
			t.Fatal(err)
		}
		want := "an offer to them went unanswered at " + fmtTime(now.Add(-30*time.Minute), now)
		if !strings.Contains(out.String(), want) || strings.Contains(out.String(), "the last") {
			t.Errorf("volunteer show (paused %v):\n%s\nwant %q", paused, out.String(), want)
		}
	}
}
