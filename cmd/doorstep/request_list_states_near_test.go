package main

import (
	"strings"
	"testing"
)

// TestRequestListStatesUnquotedNearUnquoted: "--near AB10 1AB" and
// "--state open offered" are each read without quotes alone, but together
// the words after the options mixed a postcode's second half with state
// words, and staff met "AB10 1AB offered" as a postcode never typed.
// State words among them are states; the rest is still the place.
func TestRequestListStatesUnquotedNearUnquoted(t *testing.T) {
	e, open, offered := openAndOffered(t)
	for _, args := range [][]string{
		{"--near", "AB10", "1AB", "--state", "open", "offered"},
		{"--state", "open", "offered", "--near", "AB10", "1AB"},
		{"AB10", "1AB", "open", "offered"},
		{"in", "hand", "--near", "AB10", "1AB"},
	} {
		out := e.ok(append([]string{"request", "list"}, args...)...)
		for _, id := range []string{open, offered} {
			if !strings.Contains(out, idOf(id)) {
				t.Errorf("request list %v leaves out %s:\n%s", args, id, out)
			}
		}
	}
}
