package main

import (
	"strings"
	"testing"
	"time"
)

// TestVolunteerEditNamesTheJobsTheyStillHold: a snow day. Callum, who
// drove to a job at 13:00 today, rings: his car is off the road, or he is
// staying with his daughter across town, or he can only manage evenings.
// Each edit is taken (the server does not judge an assigned job again by
// their reach or hours), but, as a pause does, it must tell whoever took
// the call that the job today is still his and how to hand it back:
// otherwise the caller waits for someone who cannot come.
func TestVolunteerEditNamesTheJobsTheyStillHold(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit []string
	}{
		{"move across town", []string{"--postcode", "AB14 0AB", "--street", "Main St"}},
		{"car off the road", []string{"--travel", "walking"}},
		{"not so far", []string{"--max-distance", "100m"}},
		{"evenings only", []string{"--available", "daily 18:00-20:00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, callum, job := withJobToday(t)

			r := e.run(append([]string{"volunteer", "edit", callum}, tc.edit...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
			}
			if want := "doorstep request release " + idOf(job); !strings.Contains(r.stdout, job) || !strings.Contains(r.stdout, want) {
				t.Errorf("the edit says nothing of %s, which Callum is still assigned today (want it named, with %q):\n%s", job, want, r.stdout)
			}
		})
	}
}

// TestVolunteerEditGivingUpDrivingNamesTheLift: Callum is assigned a lift
// any time from this morning to Thursday evening (a window already begun).
// His car is off the road, so staff take driver off his skills. The server
// takes it (a job whose window has begun is not judged again: he may be
// at the door already), so the lift is still his, and the edit must say
// so, with how to hand it back: he cannot give it, and nobody else is
// looking. So for a check recorded lower while he holds a visit inside a
// caller's home.
func TestVolunteerEditGivingUpDrivingNamesTheLift(t *testing.T) {
	for _, tc := range []struct {
		name      string
		job, edit []string
	}{
		{"car off the road", []string{"--needs", "transport"}, []string{"--skills", "dog-friendly"}},
		{"check lowered", []string{"--needs", "errands", "--enters-home"}, []string{"--dbs", "basic"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			callum, _ := e.addVolunteers()
			e.ok("volunteer", "edit", callum, "--dbs", "enhanced", "--dbs-expires", "2028-03-31")
			job := firstName(t, e.ok(append([]string{"request", "new", "--postcode", "AB10 1AB", "--street", "union st",
				"--window-start", "today 10:00", "--window-end", "thu 18:00", "--name", "Margaret Ironside", "--phone", "01224 123456", "--org", org}, tc.job...)...), "helpRequests")
			e.ok("offer", "accept", firstName(t, e.ok("offer", "make", job, callum), "offers"))
			e.clock.advance(2 * time.Hour) // 11:00: the window has begun

			r := e.run(append([]string{"volunteer", "edit", callum}, tc.edit...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
			}
			if want := "doorstep request release " + idOf(job); !strings.Contains(r.stdout, want) {
				t.Errorf("the edit says nothing of %s, still his (want %q):\n%s", job, want, r.stdout)
			}
		})
	}
}

// TestVolunteerEditOnFootKeepsNoLifts: Callum's car is snowed in, and
// staff record that he goes on foot now (--travel walking). Lifts are
// matched by the skill driver alone, which he keeps, so he is still
// offered lifts near home: staff must be told, with how to stop them.
func TestVolunteerEditOnFootKeepsNoLifts(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	r := e.run("volunteer", "edit", callum, "--travel", "walking")
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if want := "--skills 'dog-friendly'"; !strings.Contains(r.stderr, "driver") || !strings.Contains(r.stderr, want) {
		t.Errorf("--travel walking left him offered lifts without a word (want a note naming driver and %q): stderr %q", want, r.stderr)
	}
	// Given up with it, or without a car's skill at all, there is nothing to say.
	if r := e.run("volunteer", "edit", callum, "--travel", "cycling", "--skills", "dog-friendly"); r.code != 0 || r.stderr != "" {
		t.Errorf("--travel cycling --skills dog-friendly said %q (exit %d)", r.stderr, r.code)
	}
}

// TestVolunteerEditNamesNoJobForNoNews: the jobs still held are named
// after a change that can keep a volunteer from one; a street's spelling
// mended, their phone, or the skill list given again as it was, had the
// helpline read out a job to hand back over nothing.
func TestVolunteerEditNamesNoJobForNoNews(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit []string
	}{
		{"street spelling", []string{"--street", "Union St."}},
		{"phone", []string{"--phone", "07700 900999"}},
		{"travel as it was", []string{"--travel", "car"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, callum, _ := withJobToday(t)
			r := e.run(append([]string{"volunteer", "edit", callum}, tc.edit...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, "request release") {
				t.Errorf("the edit names a job to hand back:\n%s%s", r.stdout, r.stderr)
			}
		})
	}
}

// withJobToday is a test env whose volunteer Callum has accepted a job
// today at 13:00.
func withJobToday(t *testing.T) (e *testEnv, callum, job string) {
	t.Helper()
	e = newTestEnv(t)
	callum, _ = e.addVolunteers()
	job = e.newRequest("--when", "today 13:00-15:00", "--postcode", "AB11 5AA", "--street", "Market St")
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", job, callum), "offers"))
	return e, callum, job
}
