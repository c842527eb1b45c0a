package main

import (
	"strings"
	"testing"
)

// TestRequestNewSaysTheCallerVolunteersInEitherForm: Siobhán volunteers
// on her Irish mobile, given as "+353 87 123 4567" (stored +353871234567);
// ill, she rings for help and the number is typed as it is dialled at
// home after the code, "+353 087 123 4567", which is stored with its
// zero (+3530871234567). Looked up in the one form, the note said
// nothing of her: her job stayed hers and dispatch went on offering her
// others' requests. Both forms of the number are one person's, as
// erasure and export take them.
func TestRequestNewSaysTheCallerVolunteersInEitherForm(t *testing.T) {
	for _, tc := range []struct{ volPhone, reqPhone string }{
		{"+353 87 123 4567", "+353 087 123 4567"},
		{"+353 087 123 4567", "+353 (0)87 123 4567"},
	} {
		t.Run(tc.reqPhone, func(t *testing.T) {
			e := newTestEnv(t)
			out := e.ok("volunteer", "add", "--name", "Siobhan Kelly", "--phone", tc.volPhone, "--postcode", "AB10 1AB",
				"--available", "daily 08:00-20:00", "--org", org)
			vol := firstName(t, out, "volunteers")
			r := e.run("request", "new", "--postcode", "AB10 1AF", "--street", "Correction Wynd", "--needs", "grocery_shopping",
				"--when", "tomorrow 10:00-12:00", "--name", "Siobhan Kelly", "--phone", tc.reqPhone, "--org", org)
			if r.code != 0 {
				t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "doorstep volunteer pause "+idOf(vol)) {
				t.Errorf("request new from %s, her number as %s, printed:\n%s\nwant a note naming her, %s, with how to pause her",
					tc.reqPhone, tc.volPhone, r.stdout, idOf(vol))
			}
		})
	}
}
