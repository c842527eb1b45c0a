package main

import "testing"

// TestPhoneWordsGroupsAsSaid: staff read a stored number out to a caller
// or a volunteer, in the groups it is said in. Edinburgh's and Glasgow's
// numbers (0131, 0141), the other large cities' (0113 to 0191), and the
// 03 and 08 numbers of councils and charities were shown as if their
// area code had five digits ("01314 960000"), which nobody says.
func TestPhoneWordsGroupsAsSaid(t *testing.T) {
	for _, tc := range []struct{ e164, want string }{
		{"+441224123456", "01224 123456"},
		{"+447700900123", "07700 900123"},
		{"+442079460018", "020 7946 0018"},
		{"+441314960000", "0131 496 0000"},
		{"+441414960000", "0141 496 0000"},
		{"+441134960000", "0113 496 0000"},
		{"+441914960000", "0191 496 0000"},
		{"+443001234567", "0300 123 4567"},
		{"+448001234567", "0800 123 4567"},
		{"+448081234567", "0808 123 4567"},
		{"+441481123456", "01481 123456"},
		{"+441624123456", "01624 123456"},
		{"+44800123456", "0800 123456"},
		{"+353871234567", "+353871234567"},
	} {
		if got := phoneWords(tc.e164); got != tc.want {
			t.Errorf("phoneWords(%s) = %q, want %q", tc.e164, got, tc.want)
		}
	}
}
