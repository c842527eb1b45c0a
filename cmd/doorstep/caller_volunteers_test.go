package main

import (
	"strings"
	"testing"
)

// TestRequestNewSaysTheCallerVolunteers: Callum, a volunteer, falls ill
// and rings the helpline for shopping. The request was saved with nothing
// said of his volunteering: the job he is assigned this afternoon stayed
// his, the caller it is for waiting at the door for someone in bed, and
// dispatch went on offering him others' requests, each held for him a
// lease while he did not answer. Whoever takes the call is told that the
// number is a volunteer's, whose, what they hold, and how to pause them
// and hand each job back. A volunteer paused with nothing in hand, or a
// caller who does not volunteer, is said nothing of.
func TestRequestNewSaysTheCallerVolunteers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		phone   string // the number the caller rings from
		pause   bool   // Callum has paused (and holds nothing)
		json    bool
		want    bool // a note names Callum
		wantJob bool // and his job today, to hand back
	}{
		{name: "volunteer with a job", phone: "07700 900123", want: true, wantJob: true},
		{name: "volunteer with a job, --json", phone: "07700 900123", json: true, want: true, wantJob: true},
		{name: "volunteer with nothing in hand", phone: "07700 900123", want: true},
		{name: "volunteer paused, nothing in hand", phone: "07700 900123", pause: true},
		{name: "not a volunteer", phone: "01224 765432"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e *testEnv
			var callum, job string
			if tc.wantJob {
				e, callum, job = withJobToday(t)
			} else {
				e = newTestEnv(t)
				callum, _ = e.addVolunteers()
			}
			if tc.pause {
				e.ok("volunteer", "pause", callum)
			}
			args := []string{"request", "new", "--postcode", "AB10 1AF", "--street", "Correction Wynd", "--needs", "grocery_shopping",
				"--when", "tomorrow 10:00-12:00", "--name", "Callum Reid", "--phone", tc.phone, "--org", org}
			if tc.json {
				args = append(args, "--json")
			}
			r := e.run(args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
			}
			notes := r.stdout
			if tc.json {
				notes = r.stderr
			}
			var note string
			for _, l := range strings.Split(notes, "\n") {
				if strings.HasPrefix(l, "Note: ") && strings.Contains(l, "volunteer") {
					note = l
				}
			}
			if !tc.want {
				if note != "" {
					t.Errorf("request new printed a note of a volunteer:\n%s", note)
				}
				return
			}
			for _, want := range []string{"Callum Reid", idOf(callum), "doorstep volunteer pause " + idOf(callum)} {
				if !strings.Contains(note, want) {
					t.Errorf("request new from %s, Callum's number, printed:\n%s%s\nwant a note with %q", tc.phone, r.stdout, r.stderr, want)
				}
			}
			if got := strings.Contains(note, idOf(job)) && strings.Contains(note, "doorstep request release"); tc.wantJob && !got {
				t.Errorf("the note does not name Callum's job today, %s, with how to hand it back:\n%s", job, note)
			}
		})
	}
}
