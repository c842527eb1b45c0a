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

// TestPhoneWordsSixDigitCodes: a dozen small places share their town's
// four-digit code with a five-digit one of their own (Langholm's 013873
// within Dumfries's 01387, Brampton's 016977, Sedbergh's 015396), and
// Brampton and some forty other areas still have numbers a digit short.
// Langholm's numbers were shown as Dumfries's with a six-digit number
// ("01387 375432", said as the wrong exchange) and the short ones not
// grouped at all ("0169773456"); they are grouped as Ofcom writes them.
func TestPhoneWordsSixDigitCodes(t *testing.T) {
	for _, tc := range []struct{ e164, want string }{
		{"+441387375432", "013873 75432"},
		{"+441387123456", "01387 123456"},
		{"+441697712345", "016977 12345"},
		{"+44169773456", "016977 3456"},
		{"+441539612345", "015396 12345"},
		{"+441524212345", "015242 12345"},
		{"+441946712345", "019467 12345"},
		{"+441768312345", "017683 12345"},
		{"+44120412345", "01204 12345"},
		{"+441204123456", "01204 123456"},
	} {
		if got := phoneWords(tc.e164); got != tc.want {
			t.Errorf("phoneWords(%s) = %q, want %q", tc.e164, got, tc.want)
		}
	}
}
