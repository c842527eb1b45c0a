package phone

import "testing"

func TestNormalisePhone(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"01224 123456", "+441224123456"},
		{"(01224) 123-456", "+441224123456"},
		{"07700 900123", "+447700900123"},
		{"+44 7700 900123", "+447700900123"},
		{"+44 (0)1224 123456", "+441224123456"},
		{"0044 1224 123456", "+441224123456"},
		{"020 7946 0018", "+442079460018"},
		{"+1 415 555 2671", "+14155552671"},
		{"+353 1 234 5678", "+35312345678"},
		// The country code in brackets, as business cards and web forms
		// print it.
		{"(+44) 7700 900123", "+447700900123"},
		{"(+44) (0)1224 123456", "+441224123456"},
		{"(+353) 87 123 4567", "+353871234567"},
		{"(0+44) 7700 900123", ""},
		{"++44 7700 900123", ""},
		{"", ""},
		{"12345", ""},
		{"0800 12", ""},
		{"01224 123456 ext 4", ""},
		{"+44 0000 000000", ""},
		{"+0 123 456 789", ""},
		{"07700 9001234567", ""},
		{"0+1224", ""},
		// One trunk zero after a country code is dropped; a second is no
		// number: stored with one left (+3530871234567) it read as a
		// caller's older records, and the number's new-call rewrite gave
		// those correctly stored +353871234567 the form that does not
		// connect.
		{"+353 087 123 4567", "+353871234567"},
		{"+353 00 87 123 4567", ""},
		{"+353 (0)087 123 4567", "+353871234567"},
		{"+353 (0)0 87 123 4567", "+353871234567"},
		{"+39 06 1234 5678", "+390612345678"},
		{"+353 0", ""},
	}
	for _, tt := range tests {
		got, err := Normalise(tt.in)
		if (err == nil) != (tt.want != "") || got != tt.want {
			t.Errorf("Normalise(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		// What is stored reads back as itself: Today of a number
		// stored today is that number, never another form of it.
		if again, err := Normalise(got); got != "" && (err != nil || again != got) {
			t.Errorf("Normalise(%q) = %q, read again %q, %v", tt.in, got, again, err)
		}
	}
}

// TestPhoneExtensionInBrackets: a letterhead or a care home's web page
// prints its extension in brackets, "01224 123456 (ext. 12)"; typed so,
// it was refused as not a phone number rather than said to be the
// extension, as the same number without the brackets is.
func TestPhoneExtensionInBrackets(t *testing.T) {
	for _, s := range []string{"01224 123456 (ext. 12)", "01224 123456 (ext 12)", "01224 123456 (x12)", "+44 1224 123456 ( extension 12 )"} {
		if _, err := Normalise(s); err != ErrExtension {
			t.Errorf("Normalise(%q) = %v, want %v", s, err, ErrExtension)
		}
	}
	// A number in brackets is still a number, and other text still not one.
	for _, tc := range []struct {
		in   string
		want error
	}{{"(01224) 123456", nil}, {"01224 123456 (home)", ErrBad}, {"01224 123456 (12)", ErrBad}} {
		if _, err := Normalise(tc.in); err != tc.want {
			t.Errorf("Normalise(%q) = %v, want %v", tc.in, err, tc.want)
		}
	}
}
