package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPhoneWithExtensionSaysSo: staff typing a switchboard number with
// its extension ("01224 123456 ext 12", a care home's) were told it "is
// not a phone number", and at volunteer add not even what one looks like.
// Each place a number is typed says it is the extension, and what to do.
func TestPhoneWithExtensionSaysSo(t *testing.T) {
	e := newTestEnv(t)
	req := e.newRequest()
	jsonl := filepath.Join(t.TempDir(), "rows.jsonl")
	if err := os.WriteFile(jsonl, []byte(`{"needs":["NEED_GROCERY_SHOPPING"],"deadline":"2026-03-12T10:00:00Z","location":{"postcode":"AB10 1AB"},`+
		`"requester":{"display_name":"Ann","phone":"01224 123456 ext 12"},"organisation":"aberdeen-mutual-aid","external_id":"x1"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(csv, []byte("external_id,postcode,needs,name,phone,when\nx2,AB10 1AB,grocery_shopping,Ann,01224 123456 ext 12,tomorrow 10:00-12:00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"request", "new", "--postcode", "AB10 1AB", "--needs", "grocery_shopping", "--when", "tomorrow 10:00-12:00",
			"--name", "Ann", "--phone", "01224 123456 ext 12", "--org", org}, "in the details"},
		{[]string{"request", "edit", req, "--phone", "01224 123456 ext 12"}, "in the details"},
		{[]string{"volunteer", "add", "--name", "Ann", "--phone", "01224 123456 ext 12", "--postcode", "AB10 1AF",
			"--available", "daily 08:00-20:00", "--org", org}, "reaches them"},
		{[]string{"import", jsonl, "--org", org}, "in the details"},
		{[]string{"import", csv, "--org", org}, "in the details"},
	} {
		r := e.run(tc.args...)
		out := r.stdout + r.stderr
		if r.code == 0 || !strings.Contains(out, "extension") || !strings.Contains(out, tc.want) {
			t.Errorf("doorstep %s: exit %d, %q; want it refused as an extension, saying %q", strings.Join(tc.args, " "), r.code, out, tc.want)
		}
	}
}
