package store

import (
	"fmt"
	"testing"
)

// A full page's token stands for a record the filter takes, not for any
// key after it in an index every group shares: past the last record a
// partner may list by a phone number or a postcode there is no token
// (another group's requests there are none of its business), unless the
// walk reached maxScanned looking, whose token goes on from there and
// loses nothing. Each case lists organisation A's requests one a page.
func TestFullPageTokenOnlyBeforeATakenRecord(t *testing.T) {
	defer func(n int) { maxScanned = n }(maxScanned)
	maxScanned = 5
	for _, tc := range []struct {
		name   string
		theirs int // B's requests, made after A's first
		mine   int // A's made after those
		pages  int // pages A reads
		empty  int // of them, with no request
	}{
		{"nothing after", 0, 0, 1, 0},
		{"another group's after, within the bound", 3, 0, 1, 0},
		{"another group's after, past the bound", 12, 0, 3, 2},
		{"its own after another group's", 3, 1, 2, 0},
		{"its own after the bound", 12, 1, 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t)
			create := func(org string, n int) {
				for i := range n {
					_, err := s.CreateHelpRequest(bg, newHelpRequest(org, fmt.Sprintf("%s-%d", org, i), "AB10 1AB", "01224 123456"), Idempotency{})
					mustOK(t, err, "create")
				}
			}
			create("group-a", 1)
			create("group-b", tc.theirs)
			for i := range tc.mine {
				_, err := s.CreateHelpRequest(bg, newHelpRequest("group-a", fmt.Sprintf("later-%d", i), "AB10 1AB", "01224 123456"), Idempotency{})
				mustOK(t, err, "create")
			}
			for _, f := range []HelpRequestFilter{
				{Organisation: "group-a", Phone: "01224123456"},
				{Organisation: "group-a", PostcodePrefix: "AB10 1AB"},
			} {
				listed, pages, empty := 0, 0, 0
				for tok := ""; ; {
					got, next, err := s.ListHelpRequests(bg, f, Page{Size: 1, Token: tok})
					mustOK(t, err, "list")
					pages++
					listed += len(got)
					if len(got) == 0 {
						empty++
					}
					if tok = next; tok == "" {
						break
					}
				}
				if listed != 1+tc.mine || pages != tc.pages || empty != tc.empty {
					t.Errorf("%+v: %d requests over %d pages, %d empty; want %d over %d, %d empty", f, listed, pages, empty, 1+tc.mine, tc.pages, tc.empty)
				}
			}
		})
	}
}
