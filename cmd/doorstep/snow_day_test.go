package main

import (
	"strings"
	"testing"
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
			e := newTestEnv(t)
			callum, _ := e.addVolunteers()
			job := e.newRequest("--when", "today 13:00-15:00", "--postcode", "AB11 5AA", "--street", "Market St")
			e.ok("offer", "accept", firstName(t, e.ok("offer", "make", job, callum), "offers"))

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
