package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRelayUKPrefixSaysSo: a deaf caller gives their number with the
// Relay UK prefix they are rung through ("18001 01224 123456"). Staff
// were told it "is not a phone number", typed it again without the
// prefix, and the volunteer rang a textphone with nothing to say so.
// Each place a number is typed says it is the prefix, and what to do.
func TestRelayUKPrefixSaysSo(t *testing.T) {
	e := newTestEnv(t)
	req := e.newRequest()
	const relayed = "18001 01224 123456"
	jsonl := filepath.Join(t.TempDir(), "rows.jsonl")
	if err := os.WriteFile(jsonl, []byte(`{"needs":["NEED_GROCERY_SHOPPING"],"deadline":"2026-03-12T10:00:00Z","location":{"postcode":"AB10 1AB"},`+
		`"requester":{"display_name":"Ann","phone":"`+relayed+`"},"organisation":"aberdeen-mutual-aid","external_id":"x1"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(csv, []byte("external_id,postcode,needs,name,phone,when\nx2,AB10 1AB,grocery_shopping,Ann,"+relayed+",tomorrow 10:00-12:00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"request", "new", "--postcode", "AB10 1AB", "--needs", "grocery_shopping", "--when", "tomorrow 10:00-12:00",
			"--name", "Ann", "--phone", relayed, "--org", org}, "in the details"},
		{[]string{"request", "edit", req, "--phone", relayed}, "in the details"},
		{[]string{"volunteer", "add", "--name", "Ann", "--phone", relayed, "--postcode", "AB10 1AF",
			"--available", "daily 08:00-20:00", "--org", org}, "without it"},
		{[]string{"request", "find", "--phone", relayed}, "without it"},
		{[]string{"volunteer", "find", "--phone", relayed}, "without it"},
		{[]string{"import", jsonl, "--org", org}, "in the details"},
		{[]string{"import", csv, "--org", org}, "in the details"},
	} {
		r := e.run(tc.args...)
		out := r.stdout + r.stderr
		if r.code == 0 || !strings.Contains(out, "Relay UK") || !strings.Contains(out, tc.want) {
			t.Errorf("doorstep %s: exit %d, %q; want it refused as having the Relay UK prefix, saying %q", strings.Join(tc.args, " "), r.code, out, tc.want)
		}
	}
}
