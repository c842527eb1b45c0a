package main

import (
	"strings"
	"testing"
)

// TestRequestEditNamesWhoseRequestIsLeftOnOldNumber: Margaret and Bill
// share a landline, each with a request in hand on it. Margaret rings
// with her new mobile and the helpline records it on hers. The note
// named Bill's request as the caller's other request still on the old
// number, "if it is not the caller's any more, change it there too", with
// nothing to say it was Bill's: read to Margaret, her husband's
// prescription became hers, and the command given moved it to her
// mobile, where his volunteer could not reach him. A request asked for by
// someone else on the number says whose it is.
func TestRequestEditNamesWhoseRequestIsLeftOnOldNumber(t *testing.T) {
	for _, tc := range []struct {
		name  string
		asker string // who asked for the other request on the landline
		want  bool   // the note says whose it is
	}{
		{name: "her husband's", asker: "Bill Ironside", want: true},
		{name: "her own", asker: "Margaret Ironside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			other := e.newRequest("--name", tc.asker, "--needs", "prescription_collection", "--when", "12 mar 10:00-12:00")
			mine := e.newRequest("--needs", "grocery_shopping")
			for _, flags := range [][]string{nil, {"--linear"}} {
				out := e.ok(append([]string{"request", "edit", mine, "--phone", "07700 900777"}, flags...)...)
				var note string
				for _, l := range strings.Split(out, "\n") {
					if strings.HasPrefix(l, "Note: ") && strings.Contains(l, idOf(other)) {
						note = l
					}
				}
				if note == "" {
					t.Fatalf("request edit --phone %v:\n%s\nwant a note of %s, still on the landline", flags, out, tc.asker)
				}
				if got := strings.Contains(note, "asked for by "+tc.asker); got != tc.want {
					t.Errorf("request edit --phone %v:\n%s\nsays the request was asked for by %s: %v, want %v", flags, note, tc.asker, got, tc.want)
				}
				e.ok("request", "edit", mine, "--phone", "01224 123456") // back, for the next
			}
		})
	}
}
